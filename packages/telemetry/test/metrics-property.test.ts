import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import {
  histogramQuantiles,
  LATENCY_BUCKETS,
  LATENCY_MAX_SECONDS,
  LATENCY_MIN_SECONDS,
  LATENCY_RELATIVE_ERROR,
  latencyBucket,
  latencyBucketMidpoint,
  nearestRank,
  SliceWindow,
} from '../src/metrics/window.js';

/** Strictly ascending finite bounds. */
const bounds = fc
  .uniqueArray(fc.double({ min: -10, max: 1000, noNaN: true, noDefaultInfinity: true }), {
    minLength: 1,
    maxLength: 20,
  })
  .map((xs) => [...new Set(xs.map((x) => (Object.is(x, -0) ? 0 : x)))].sort((a, b) => a - b));

/** Observations, including ones that must be dropped. */
const observation = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: 0, max: 2000, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1, -1e-9) },
  { weight: 1, arbitrary: fc.constantFrom(0, 0.005, 0.1, 1, 10) },
);

/** Reads `name_bucket{...le="x"} n` lines of one series back. */
function renderedBuckets(text: string, name: string): { le: string; value: number }[] {
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm');
  return [...text.matchAll(re)].map((m) => ({ le: m[1]!, value: Number(m[2]) }));
}

describe('histogram math against a naive count', () => {
  it('bucket counts, cumulative rendering, sum, count and drops', () => {
    fc.assert(
      fc.property(bounds, fc.array(observation, { maxLength: 200 }), (b, values) => {
        const r = createMetricsRegistry();
        const h = r.histogram({ name: 'h', help: 'H.', buckets: b });
        for (const v of values) h.observe(v);
        const naive = new Array<number>(b.length + 1).fill(0);
        let sum = 0;
        let dropped = 0;
        for (const v of values) {
          if (!(v >= 0) || v === Number.POSITIVE_INFINITY) {
            dropped++;
            continue;
          }
          let i = 0;
          while (i < b.length && v > b[i]!) i++;
          naive[i]!++;
          sum += v;
        }
        const data = r.collect()[0];
        if (data?.type !== 'histogram') throw new Error('expected a histogram');
        expect(data.series[0]!.counts).toEqual(naive);
        expect(h.count).toBe(values.length - dropped);
        expect(h.sum).toBe(sum);
        expect(h.dropped).toBe(dropped);
        // Rendered: cumulative, monotone, ending at the count under +Inf.
        const lines = renderedBuckets(r.render(), 'h');
        expect(lines.map((l) => l.le)).toEqual([...b.map(String), '+Inf']);
        let cum = 0;
        lines.forEach((l, i) => {
          cum += naive[i]!;
          expect(l.value).toBe(cum);
          if (i > 0) expect(l.value).toBeGreaterThanOrEqual(lines[i - 1]!.value);
        });
        expect(lines.at(-1)!.value).toBe(h.count);
      }),
      { numRuns: 300 },
    );
  });
});

/** Positive durations inside the range with a relative-error guarantee. */
const inRange = fc.double({
  min: LATENCY_MIN_SECONDS,
  max: LATENCY_MAX_SECONDS,
  maxExcluded: true,
  noNaN: true,
});

describe('log-linear latency buckets', () => {
  it('are monotone and every value lies within 1/32 of its bucket midpoint', () => {
    fc.assert(
      fc.property(inRange, inRange, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(latencyBucket(lo)).toBeLessThanOrEqual(latencyBucket(hi));
        const i = latencyBucket(a);
        expect(i).toBeGreaterThan(0);
        expect(i).toBeLessThan(LATENCY_BUCKETS - 1);
        const mid = latencyBucketMidpoint(i);
        expect(Math.abs(mid - a) / a).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR + 1e-12);
      }),
      { numRuns: 2000 },
    );
  });

  it('put octave edges in the bucket they start', () => {
    for (let e = -17; e < 8; e++) {
      const v = 2 ** e;
      const i = latencyBucket(v);
      expect(latencyBucket(v * (1 - 2 ** -40))).toBe(i - 1);
      expect(latencyBucketMidpoint(i)).toBeGreaterThan(v);
    }
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(LATENCY_MIN_SECONDS / 2)).toBe(0);
    expect(latencyBucket(LATENCY_MAX_SECONDS)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucket(1e6)).toBe(LATENCY_BUCKETS - 1);
  });

  it('quantile estimates stay within the documented relative error of the nearest-rank value', () => {
    fc.assert(
      fc.property(
        fc.array(inRange, { minLength: 1, maxLength: 400 }),
        fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (values, qs) => {
          const hist = new Float64Array(LATENCY_BUCKETS);
          for (const v of values) hist[latencyBucket(v)]!++;
          const sorted = [...values].sort((a, b) => a - b);
          const est = histogramQuantiles(hist, values.length, sorted[0]!, sorted.at(-1)!, qs);
          qs.forEach((q, j) => {
            const truth = sorted[nearestRank(q, values.length) - 1]!;
            const e = est[j]!;
            expect(e).not.toBeNull();
            expect(Math.abs(e - truth) / truth).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR + 1e-12);
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('quantiles are null without values and exact for a single value', () => {
    const hist = new Float64Array(LATENCY_BUCKETS);
    expect(histogramQuantiles(hist, 0, Infinity, -Infinity, [0.5, 0.99])).toEqual([null, null]);
    hist[latencyBucket(0.123)] = 1;
    expect(histogramQuantiles(hist, 1, 0.123, 0.123, [0.5, 0.99])).toEqual([0.123, 0.123]);
  });
});

interface Rec {
  readonly t: number;
  readonly slice: number;
  readonly cls: number;
  readonly seconds: number;
}

describe('SliceWindow against a naive list of requests', () => {
  const SLICE = 1000;
  const N = 5;
  const step = fc.record({
    dt: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 1500 }) },
      { weight: 1, arbitrary: fc.integer({ min: -2500, max: 0 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 12_000 }) },
    ),
    cls: fc.integer({ min: 0, max: 4 }),
    seconds: fc.double({ min: 0, max: 5, noNaN: true }),
    query: fc.option(
      fc.record({ count: fc.integer({ min: 1, max: N }), offset: fc.integer({ min: 0, max: N }) }),
    ),
  });

  it('summarize() equals the requests whose slice falls in the range', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const start = 1_000_000;
        const w = new SliceWindow(SLICE, N, true, start, 0.5);
        let t = start;
        let head = Math.floor(start / SLICE);
        const recs: Rec[] = [];
        for (const s of steps) {
          t += s.dt;
          // A clock that went back keeps writing to the newest slice.
          head = Math.max(head, Math.floor(t / SLICE));
          w.add(t, s.cls, s.seconds, latencyBucket(s.seconds));
          recs.push({ t, slice: head, cls: s.cls, seconds: s.seconds });
          if (s.query === null) continue;
          const { count, offset } = s.query;
          if (count + offset > N) continue;
          const last = head - offset;
          const inRangeRecs = recs.filter((r) => r.slice > last - count && r.slice <= last);
          const got = w.summarize(t, count, offset, [0.5]);
          expect(got.requests).toBe(inRangeRecs.length);
          for (let k = 0; k < 5; k++) {
            expect(got.classes[k]).toBe(inRangeRecs.filter((r) => r.cls === k).length);
          }
          expect(got.atOrBelow).toBe(inRangeRecs.filter((r) => r.seconds <= 0.5).length);
          const sum = inRangeRecs.reduce((a, r) => a + r.seconds, 0);
          expect(got.sumSeconds).toBeCloseTo(sum, 9);
          if (inRangeRecs.length > 0) {
            expect(got.max).toBe(Math.max(...inRangeRecs.map((r) => r.seconds)));
            expect(got.min).toBe(Math.min(...inRangeRecs.map((r) => r.seconds)));
          } else {
            expect(got.quantiles[0]).toBeNull();
          }
          const from = Math.max((last - count + 1) * SLICE, start);
          const to = offset === 0 ? Math.max(t, from) : (last + 1) * SLICE;
          expect(got.coveredMs).toBe(Math.max(0, to - from));
        }
      }),
      { numRuns: 300 },
    );
  });
});
