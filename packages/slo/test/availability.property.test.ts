import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allowedDowntime,
  compose,
  formatPercent,
  inParallel,
  inSeries,
  kOfN,
  ninesCount,
  PERIOD_MS,
  PERIODS,
  parseTarget,
  redundant,
  targetForDowntime,
} from '../src/index.js';

const availability = fc.double({ min: 0, max: 1, noNaN: true });
const availabilities = fc.array(availability, { minLength: 1, maxLength: 8 });
/** Targets in (0, 1), biased towards the interesting nines. */
const target = fc.oneof(
  fc.double({ min: 1e-6, max: 1 - 1e-9, noNaN: true }),
  fc.integer({ min: 1, max: 9 }).map((n) => 1 - 10 ** -n),
);
const period = fc.constantFrom(...PERIODS);

describe('composition properties', () => {
  it('in series is never above the weakest part, in parallel never below the strongest', () => {
    fc.assert(
      fc.property(availabilities, (as) => {
        const series = inSeries(...as);
        const parallel = inParallel(...as);
        expect(series).toBeLessThanOrEqual(Math.min(...as));
        expect(parallel).toBeGreaterThanOrEqual(Math.max(...as));
        expect(series).toBeGreaterThanOrEqual(0);
        expect(parallel).toBeLessThanOrEqual(1);
        expect(series).toBeLessThanOrEqual(parallel);
      }),
    );
  });

  it('identities: 1 and 0 in series and in parallel', () => {
    fc.assert(
      fc.property(availabilities, (as) => {
        expect(inSeries(...as, 1)).toBe(inSeries(...as));
        expect(inSeries(...as, 0)).toBe(0);
        expect(inParallel(...as, 1)).toBe(1);
        expect(inParallel(...as, 0)).toBeCloseTo(inParallel(...as), 14);
      }),
    );
  });

  it('is monotonic: a better part never makes the whole worse', () => {
    fc.assert(
      fc.property(availabilities, fc.nat(), availability, (as, at, better) => {
        const i = at % as.length;
        const improved = as.slice();
        improved[i] = Math.max(as[i]!, better);
        expect(inSeries(...improved)).toBeGreaterThanOrEqual(inSeries(...as));
        expect(inParallel(...improved)).toBeGreaterThanOrEqual(inParallel(...as));
      }),
    );
  });

  it('order does not matter', () => {
    fc.assert(
      fc.property(availabilities, (as) => {
        const reversed = as.slice().reverse();
        expect(inSeries(...reversed)).toBeCloseTo(inSeries(...as), 14);
        expect(inParallel(...reversed)).toBeCloseTo(inParallel(...as), 14);
      }),
    );
  });

  it('redundancy grows with n; quorums sit between redundancy and series', () => {
    fc.assert(
      fc.property(availability, fc.integer({ min: 1, max: 20 }), fc.nat(), (a, n, kSeed) => {
        const k = 1 + (kSeed % n);
        expect(redundant(a, n + 1)).toBeGreaterThanOrEqual(redundant(a, n));
        expect(redundant(a, n)).toBeCloseTo(inParallel(...Array(n).fill(a)), 12);
        const q = kOfN(a, k, n);
        expect(q).toBeLessThanOrEqual(redundant(a, n) + 1e-12);
        expect(q).toBeGreaterThanOrEqual(inSeries(...Array(n).fill(a)) - 1e-12);
        expect(kOfN(a, 1, n)).toBeCloseTo(redundant(a, n), 12);
        expect(kOfN(a, n, n)).toBeCloseTo(a ** n, 12);
        if (k < n) expect(kOfN(a, k + 1, n)).toBeLessThanOrEqual(q + 1e-12);
      }),
    );
  });

  it('compose equals the functions it stands for', () => {
    fc.assert(
      fc.property(availability, availability, availability, (a, b, c) => {
        expect(compose({ series: [a, { parallel: [b, c] }] })).toBe(inSeries(a, inParallel(b, c)));
        expect(compose({ parallel: [{ series: [a, b] }, c] })).toBe(inParallel(inSeries(a, b), c));
      }),
    );
  });
});

describe('nines table properties', () => {
  it('allowed downtime falls as the target rises, and scales with the period', () => {
    fc.assert(
      fc.property(target, target, period, (t1, t2, p) => {
        const [lo, hi] = t1 <= t2 ? [t1, t2] : [t2, t1];
        expect(allowedDowntime(hi, p)).toBeLessThanOrEqual(allowedDowntime(lo, p));
        expect(allowedDowntime(lo, p)).toBeGreaterThan(0);
        expect(allowedDowntime(lo, p)).toBeLessThan(PERIOD_MS[p]);
        expect(allowedDowntime(lo, 'year')).toBeCloseTo(12 * allowedDowntime(lo, 'month'), 3);
      }),
    );
  });

  it('targetForDowntime inverts allowedDowntime', () => {
    fc.assert(
      fc.property(target, period, (t, p) => {
        expect(targetForDowntime(allowedDowntime(t, p), p)).toBeCloseTo(t, 9);
      }),
    );
  });

  it('nines grow with the target and whole nines count exactly', () => {
    fc.assert(
      fc.property(target, target, (t1, t2) => {
        const [lo, hi] = t1 <= t2 ? [t1, t2] : [t2, t1];
        expect(ninesCount(hi)).toBeGreaterThanOrEqual(ninesCount(lo));
      }),
    );
    for (let n = 1; n <= 9; n++) expect(ninesCount(Number(`0.${'9'.repeat(n)}`))).toBe(n);
  });

  it('parseTarget reads back what formatPercent writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999 }), (micro) => {
        const t = micro / 1_000_000;
        expect(parseTarget(formatPercent(t))).toBe(t);
      }),
    );
  });
});
