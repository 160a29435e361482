import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WindowStats } from '../src/experiment/metrics/recorder.js';
import {
  availabilityBurnRate,
  errorRatio,
  latencyBurnRate,
  quantileSeconds,
  requestRate,
  slowShare,
} from '../src/experiment/metrics/sli.js';

const INF = Number.POSITIVE_INFINITY;

function stats(partial: Partial<WindowStats>): WindowStats {
  return {
    requests: 0,
    errors: 0,
    buckets: [],
    fromMs: 0,
    toMs: 0,
    coveredMs: 0,
    complete: true,
    ...partial,
  };
}

const example = stats({
  requests: 100,
  errors: 3,
  buckets: [
    { le: 0.1, count: 50 },
    { le: 0.2, count: 80 },
    { le: 0.5, count: 95 },
    { le: INF, count: 100 },
  ],
  fromMs: 10_000,
  toMs: 60_000,
  coveredMs: 50_000,
});

describe('SLI math: exact small examples', () => {
  it('error ratio, burn rates, slow share, rate', () => {
    expect(errorRatio(example)).toBe(0.03);
    expect(availabilityBurnRate(example, 0.99)).toBeCloseTo(3, 12);
    expect(slowShare(example, 0.2)).toBe(0.2);
    expect(slowShare(example, 0.1)).toBe(0.5);
    expect(slowShare(example, 0.5)).toBe(0.05);
    expect(latencyBurnRate(example, 0.2, 0.9)).toBeCloseTo(2, 12);
    expect(requestRate(example)).toBe(2);
  });

  it('quantiles interpolate inside the bucket, +Inf gives the highest finite boundary', () => {
    expect(quantileSeconds(example, 0.5)).toBeCloseTo(0.1, 12);
    expect(quantileSeconds(example, 0.25)).toBeCloseTo(0.05, 12);
    expect(quantileSeconds(example, 0.65)).toBeCloseTo(0.15, 12);
    expect(quantileSeconds(example, 0.9)).toBeCloseTo(0.2 + 0.3 * (10 / 15), 12);
    expect(quantileSeconds(example, 0.99)).toBe(0.5);
    expect(quantileSeconds(example, 1)).toBe(0.5);
    expect(quantileSeconds(example, 0)).toBe(0);
    // First bucket empty: q = 0 is the lower bound of the first non-empty bucket.
    const later = stats({
      requests: 4,
      buckets: [
        { le: 0.1, count: 0 },
        { le: 0.3, count: 4 },
        { le: INF, count: 4 },
      ],
    });
    expect(quantileSeconds(later, 0)).toBe(0.1);
    expect(quantileSeconds(later, 0.5)).toBeCloseTo(0.2, 12);
  });

  it('treats non-monotone cumulative counts as histogram_quantile does (running maximum)', () => {
    const odd = stats({
      requests: 10,
      buckets: [
        { le: 0.1, count: 6 },
        { le: 0.2, count: 5 },
        { le: INF, count: 10 },
      ],
    });
    expect(slowShare(odd, 0.2)).toBe(0.4);
    expect(quantileSeconds(odd, 0.55)).toBeCloseTo(0.1 * (5.5 / 6), 12);
  });

  it('answers undefined when there is nothing to judge', () => {
    const none = stats({
      buckets: [
        { le: 0.2, count: 0 },
        { le: INF, count: 0 },
      ],
    });
    expect(errorRatio(none)).toBeUndefined();
    expect(availabilityBurnRate(none, 0.999)).toBeUndefined();
    expect(slowShare(none, 0.2)).toBeUndefined();
    expect(latencyBurnRate(none, 0.2, 0.99)).toBeUndefined();
    expect(quantileSeconds(none, 0.99)).toBeUndefined();
    expect(requestRate(stats({ requests: 0, coveredMs: 0 }))).toBeUndefined();
    expect(requestRate(stats({ requests: 0, coveredMs: 1000 }))).toBe(0);
    expect(slowShare(stats({ requests: 5 }), 0.2)).toBeUndefined(); // no buckets at all
    expect(quantileSeconds(stats({ requests: 5, buckets: [{ le: INF, count: 5 }] }), 0.5)).toBe(
      undefined,
    );
  });

  it('a threshold that is not a boundary fails, listing the boundaries', () => {
    expect(() => slowShare(example, 0.3)).toThrow(
      'slowShare: threshold 0.3 s is not a bucket boundary, so the share above it cannot be counted exactly (boundaries: 0.1, 0.2, 0.5, +Inf)',
    );
    expect(() => latencyBurnRate(example, 0.25, 0.99)).toThrow(
      /^latencyBurnRate: threshold 0\.25 s is not a bucket boundary.*\(boundaries: 0\.1, 0\.2, 0\.5, \+Inf\)/,
    );
    // Also with no traffic: the mistake shows before the first request does.
    const quiet = stats({ buckets: example.buckets.map((b) => ({ le: b.le, count: 0 })) });
    expect(() => slowShare(quiet, 0.3)).toThrow(/not a bucket boundary/);
  });
});

// --- properties ---------------------------------------------------------------------------------

/** Random consistent WindowStats: ascending finite boundaries + +Inf, cumulative counts. */
const statsArb = fc
  .record({
    les: fc.uniqueArray(fc.double({ min: 0.001, max: 100, noNaN: true }), {
      minLength: 1,
      maxLength: 8,
    }),
    perBucket: fc.array(fc.nat(1000), { minLength: 9, maxLength: 9 }),
    errorShare: fc.double({ min: 0, max: 1, noNaN: true }),
    coveredMs: fc.nat(3_600_000),
  })
  .map(({ les, perBucket, errorShare, coveredMs }) => {
    const sorted = [...les].sort((a, b) => a - b);
    let c = 0;
    const buckets = [...sorted, INF].map((le, i) => {
      c += perBucket[i] ?? 0;
      return { le, count: c };
    });
    return stats({
      requests: c,
      errors: Math.floor(c * errorShare),
      buckets,
      coveredMs,
    });
  });

const objectiveArb = fc.double({ min: 0.5, max: 0.99999, noNaN: true });

describe('SLI math properties', () => {
  it('error ratio is in [0, 1] and burn rate = ratio / (1 - objective)', () => {
    fc.assert(
      fc.property(statsArb, objectiveArb, (s, objective) => {
        const r = errorRatio(s);
        if (s.requests === 0) {
          expect(r).toBeUndefined();
          expect(availabilityBurnRate(s, objective)).toBeUndefined();
          return;
        }
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThanOrEqual(1);
        expect(availabilityBurnRate(s, objective)).toBeCloseTo((r as number) / (1 - objective), 9);
      }),
      { numRuns: 500 },
    );
  });

  it('quantile is monotone in q and lies within the bucket holding its rank', () => {
    fc.assert(
      fc.property(
        statsArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (s, q1, q2) => {
          const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
          const a = quantileSeconds(s, lo);
          const b = quantileSeconds(s, hi);
          if (s.requests === 0) {
            expect(a).toBeUndefined();
            return;
          }
          expect(a).toBeDefined();
          expect(b as number).toBeGreaterThanOrEqual((a as number) - 1e-9);
          // Within bounds: between 0 and the highest finite boundary, and in the rank's bucket.
          const finite = s.buckets.filter((x) => x.le !== INF);
          const top = finite[finite.length - 1]!.le;
          expect(b as number).toBeLessThanOrEqual(top + 1e-9);
          expect(a as number).toBeGreaterThanOrEqual(0);
          const rank = hi * s.requests;
          const i = s.buckets.findIndex((x) => (rank === 0 ? x.count > 0 : x.count >= rank));
          const upper = s.buckets[i]!.le === INF ? top : s.buckets[i]!.le;
          const lower = i === 0 ? 0 : s.buckets[i - 1]!.le;
          expect(b as number).toBeGreaterThanOrEqual(lower - 1e-9);
          expect(b as number).toBeLessThanOrEqual(upper + 1e-9);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('slow share matches the buckets, falls as the threshold rises, and its burn rate scales', () => {
    fc.assert(
      fc.property(statsArb, objectiveArb, (s, objective) => {
        let prev = 1;
        for (const b of s.buckets) {
          if (b.le === INF) continue;
          const share = slowShare(s, b.le);
          if (s.requests === 0) {
            expect(share).toBeUndefined();
            continue;
          }
          expect(share).toBeCloseTo((s.requests - b.count) / s.requests, 12);
          expect(share as number).toBeLessThanOrEqual(prev);
          prev = share as number;
          expect(latencyBurnRate(s, b.le, objective)).toBeCloseTo(
            (share as number) / (1 - objective),
            9,
          );
          // The quantile at (just under) the share of fast requests is at most the threshold.
          if (b.count > 0) {
            const q = quantileSeconds(s, b.count / s.requests - 1e-12);
            expect(q as number).toBeLessThanOrEqual(b.le);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('request rate is requests per second of covered time', () => {
    fc.assert(
      fc.property(statsArb, (s) => {
        const r = requestRate(s);
        if (s.coveredMs === 0) expect(r).toBeUndefined();
        else expect(r).toBeCloseTo(s.requests / (s.coveredMs / 1000), 9);
      }),
    );
  });
});

// --- bad input ----------------------------------------------------------------------------------

describe('SLI math bad input', () => {
  const badStats: Array<[unknown, RegExp]> = [
    [undefined, /argument "stats" must be a WindowStats, got undefined/],
    [null, /argument "stats" must be a WindowStats, got null/],
    [[1], /argument "stats" must be a WindowStats, got Array/],
  ];

  it('every function names a bad stats argument', () => {
    const calls: Array<[string, (s: unknown) => unknown]> = [
      ['errorRatio', (s) => errorRatio(s as WindowStats)],
      ['availabilityBurnRate', (s) => availabilityBurnRate(s as WindowStats, 0.99)],
      ['slowShare', (s) => slowShare(s as WindowStats, 0.2)],
      ['latencyBurnRate', (s) => latencyBurnRate(s as WindowStats, 0.2, 0.99)],
      ['quantileSeconds', (s) => quantileSeconds(s as WindowStats, 0.5)],
      ['requestRate', (s) => requestRate(s as WindowStats)],
    ];
    for (const [name, call] of calls) {
      for (const [value, message] of badStats) {
        expect(() => call(value)).toThrow(TypeError);
        expect(() => call(value)).toThrow(new RegExp(`^${name}: ${message.source}`));
      }
    }
  });

  it('checks the fields each function reads', () => {
    expect(() => errorRatio(stats({ requests: -1 }))).toThrow(
      /errorRatio: argument "stats.requests" must be a non-negative number, got number -1/,
    );
    expect(() => errorRatio(stats({ requests: Number.NaN }))).toThrow(/got NaN/);
    expect(() => errorRatio(stats({ requests: 1, errors: 2 }))).toThrow(
      /errorRatio: argument "stats.errors" \(2\) exceeds "stats.requests" \(1\)/,
    );
    expect(() => requestRate(stats({ requests: 1, coveredMs: -5 }))).toThrow(
      /requestRate: argument "stats.coveredMs" must be a non-negative number/,
    );
    const b = (buckets: unknown) =>
      stats({ requests: 1, buckets: buckets as WindowStats['buckets'] });
    expect(() => slowShare(b('x'), 0.2)).toThrow(
      /slowShare: argument "stats.buckets" must be an array/,
    );
    expect(() => slowShare(b([{ le: '0.2', count: 1 }]), 0.2)).toThrow(
      /argument "stats.buckets\[0\]" must be \{ le, count \}/,
    );
    expect(() =>
      quantileSeconds(
        b([
          { le: 0.2, count: -1 },
          { le: INF, count: 1 },
        ]),
        0.5,
      ),
    ).toThrow(/argument "stats.buckets\[0\].count" must be a non-negative number/);
    expect(() =>
      quantileSeconds(
        b([
          { le: 0.5, count: 1 },
          { le: 0.2, count: 1 },
          { le: INF, count: 1 },
        ]),
        0.5,
      ),
    ).toThrow(/"stats.buckets" must be in ascending order of le, got 0.2 after 0.5/);
    expect(() => quantileSeconds(b([{ le: 0.5, count: 1 }]), 0.5)).toThrow(
      /quantileSeconds: argument "stats.buckets" must end with le = \+Inf/,
    );
  });

  it('names a bad objective, threshold or q', () => {
    for (const o of [0, 1, 1.5, -0.1, Number.NaN, '0.99', undefined]) {
      expect(() => availabilityBurnRate(example, o as number)).toThrow(
        /^availabilityBurnRate: argument "objective" must be a number between 0 and 1 \(exclusive\)/,
      );
      expect(() => latencyBurnRate(example, 0.2, o as number)).toThrow(
        /^latencyBurnRate: argument "objective" must be/,
      );
    }
    for (const t of [0, -0.2, INF, Number.NaN, '0.2', undefined]) {
      expect(() => slowShare(example, t as number)).toThrow(
        /^slowShare: argument "thresholdSeconds" must be a positive number/,
      );
    }
    for (const q of [-0.01, 1.01, Number.NaN, '0.5', undefined]) {
      expect(() => quantileSeconds(example, q as number)).toThrow(
        /^quantileSeconds: argument "q" must be a number in \[0, 1\]/,
      );
    }
  });
});
