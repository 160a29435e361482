import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUDGET_STATES,
  DEFAULT_ERROR_BUDGET_POLICY,
  errorBudgetPolicy,
  evaluatePolicy,
  type FreezeFrom,
} from '../src/index.js';

const remaining = fc.double({ min: -5, max: 5, noNaN: true });
const arbPolicy = fc
  .tuple(
    fc.double({ min: -1, max: 0.99, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.constantFrom<FreezeFrom>('exhausted', 'at-risk', 'never'),
    fc.double({ min: 0.01, max: 1, noNaN: true }),
  )
  .map(([exhausted, gap, freezeFrom, postmortemAbove]) =>
    errorBudgetPolicy({
      exhaustedAtOrBelow: exhausted,
      atRiskBelow: Math.min(1, exhausted + gap * (1 - exhausted)),
      freezeFrom,
      postmortemAbove,
    }),
  );
const rank = (s: (typeof BUDGET_STATES)[number]) => BUDGET_STATES.indexOf(s);

describe('policy properties', () => {
  it('the state never gets better as the budget remaining falls', () => {
    fc.assert(
      fc.property(arbPolicy, remaining, remaining, (p, r1, r2) => {
        const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
        const worse = evaluatePolicy(p, { budgetRemaining: lo });
        const better = evaluatePolicy(p, { budgetRemaining: hi });
        expect(rank(worse.state)).toBeGreaterThanOrEqual(rank(better.state));
        if (better.freeze) expect(worse.freeze).toBe(true);
      }),
    );
  });

  it('by default, freeze iff exhausted iff nothing remains', () => {
    fc.assert(
      fc.property(remaining, (r) => {
        const d = evaluatePolicy(DEFAULT_ERROR_BUDGET_POLICY, { budgetRemaining: r });
        expect(d.freeze).toBe(d.state === 'exhausted');
        expect(d.state === 'exhausted').toBe(r <= 0);
        expect(d.state === 'at-risk').toBe(r > 0 && r < 0.25);
      }),
    );
  });

  it('freeze follows freezeFrom; an exemption always lifts it', () => {
    fc.assert(
      fc.property(arbPolicy, remaining, (p, r) => {
        const d = evaluatePolicy(p, { budgetRemaining: r });
        const expected = p.freezeFrom !== 'never' && rank(d.state) >= rank(p.freezeFrom);
        expect(d.freeze).toBe(expected);
        const exempt = evaluatePolicy(p, { budgetRemaining: r, exemption: 'P0' });
        expect(exempt.freeze).toBe(false);
        expect(exempt.exempted).toBe(expected);
        expect(exempt.state).toBe(d.state);
      }),
    );
  });

  it('postmortems are exactly the incidents above the threshold, in order', () => {
    fc.assert(
      fc.property(
        arbPolicy,
        fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { maxLength: 10 }),
        (p, consumed) => {
          const incidents = consumed.map((budgetConsumed, i) => ({ id: `i${i}`, budgetConsumed }));
          const d = evaluatePolicy(p, { budgetRemaining: 0.5, incidents });
          expect(d.postmortems).toEqual(
            incidents.filter((i) => i.budgetConsumed > p.postmortemAbove),
          );
          expect(d.reasons.filter((r) => r.includes('postmortem')).length).toBe(
            d.postmortems.length,
          );
        },
      ),
    );
  });
});
