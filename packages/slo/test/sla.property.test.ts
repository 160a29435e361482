import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { creditFor, evaluateSla, type SlaTier, sla } from '../src/index.js';

/** A valid SLA: thresholds strictly descending, credits non-decreasing, first at the objective or below. */
const arbSla = fc
  .tuple(
    fc.double({ min: 0.5, max: 0.99999, noNaN: true }),
    fc.uniqueArray(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }),
    fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
  )
  .map(([objective, shares, credits]) => {
    const belows = shares.map((s) => s * objective).sort((a, b) => b - a);
    const sorted = credits.slice(0, belows.length).sort((a, b) => a - b);
    const tiers: SlaTier[] = [];
    for (let i = 0; i < belows.length; i++) {
      if (i > 0 && belows[i]! >= belows[i - 1]!) continue;
      tiers.push({ below: belows[i]!, credit: sorted[i]! });
    }
    return sla({ objective, tiers });
  });
const measured = fc.double({ min: 0, max: 1, noNaN: true });

describe('sla properties', () => {
  it('credit never increases as availability rises', () => {
    fc.assert(
      fc.property(arbSla, measured, measured, (s, m1, m2) => {
        const [lo, hi] = m1 <= m2 ? [m1, m2] : [m2, m1];
        expect(creditFor(s, hi)).toBeLessThanOrEqual(creditFor(s, lo));
      }),
    );
  });

  it('met iff measured reaches the objective; a met period earns nothing', () => {
    fc.assert(
      fc.property(arbSla, measured, (s, m) => {
        const e = evaluateSla(s, m);
        expect(e.met).toBe(m >= s.objective);
        if (e.met) expect(e.credit).toBe(0);
        expect(e.credit).toBe(creditFor(s, m));
        expect(e.credit === 0).toBe(e.tier === null);
        if (e.tier) {
          expect(m).toBeLessThan(e.tier.below);
          const next = s.tiers[e.tierIndex + 1];
          if (next) expect(m).toBeGreaterThanOrEqual(next.below);
        }
      }),
    );
  });

  it('counts and the ratio they make agree; zero total is never a breach', () => {
    fc.assert(
      fc.property(arbSla, fc.nat(1_000_000), fc.nat(1_000_000), (s, a, b) => {
        const [good, total] = a <= b ? [a, b] : [b, a];
        const e = evaluateSla(s, { good, total });
        if (total === 0) {
          expect([e.noData, e.met, e.credit, e.measured]).toEqual([true, true, 0, null]);
        } else {
          expect(e).toEqual(evaluateSla(s, good / total));
        }
      }),
    );
  });
});
