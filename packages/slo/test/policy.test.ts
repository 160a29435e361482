import { describe, expect, it } from 'vitest';
import {
  BUDGET_STATES,
  budgetState,
  DEFAULT_ERROR_BUDGET_POLICY,
  type ErrorBudgetPolicy,
  errorBudgetPolicy,
  evaluatePolicy,
} from '../src/index.js';

const policy = DEFAULT_ERROR_BUDGET_POLICY;

describe('errorBudgetPolicy defaults (Google example policy)', () => {
  it('at risk below 25 % remaining, exhausted at 0, postmortem above 20 %, P0 and security exempt', () => {
    expect(policy).toEqual({
      atRiskBelow: 0.25,
      exhaustedAtOrBelow: 0,
      freezeFrom: 'exhausted',
      postmortemAbove: 0.2,
      exemptions: ['P0', 'security'],
    });
    expect(errorBudgetPolicy()).toEqual(policy);
    expect(Object.isFrozen(policy) && Object.isFrozen(policy.exemptions)).toBe(true);
    expect(BUDGET_STATES).toEqual(['healthy', 'at-risk', 'exhausted']);
  });

  it('states at and around the thresholds', () => {
    expect(budgetState(policy, 1)).toBe('healthy');
    expect(budgetState(policy, 0.25)).toBe('healthy');
    expect(budgetState(policy, 0.2499)).toBe('at-risk');
    expect(budgetState(policy, 0.0001)).toBe('at-risk');
    expect(budgetState(policy, 0)).toBe('exhausted');
    expect(budgetState(policy, -2)).toBe('exhausted');
  });
});

describe('evaluatePolicy', () => {
  it('healthy: releases proceed', () => {
    const d = evaluatePolicy(policy, { budgetRemaining: 0.8 });
    expect(d).toEqual({
      state: 'healthy',
      freeze: false,
      exempted: false,
      reasons: ['error budget healthy: 80% remaining; releases proceed'],
      postmortems: [],
    });
    expect(Object.isFrozen(d) && Object.isFrozen(d.reasons)).toBe(true);
  });

  it('at risk: no freeze by default, a reason to prioritise reliability', () => {
    const d = evaluatePolicy(policy, { budgetRemaining: 0.1 });
    expect([d.state, d.freeze]).toEqual(['at-risk', false]);
    expect(d.reasons).toEqual([
      'error budget at risk: 10% remaining, below 25%; prioritise reliability work',
    ]);
  });

  it('exhausted: changes freeze except the exempt kinds', () => {
    const d = evaluatePolicy(policy, { budgetRemaining: -0.032 });
    expect([d.state, d.freeze, d.exempted]).toEqual(['exhausted', true, false]);
    expect(d.reasons).toEqual([
      'error budget exhausted: -3.2% remaining, at or below 0%',
      'changes frozen except P0, security changes until the budget recovers',
    ]);
    const fix = evaluatePolicy(policy, { budgetRemaining: -0.032, exemption: 'security' });
    expect([fix.state, fix.freeze, fix.exempted]).toEqual(['exhausted', false, true]);
    expect(fix.reasons[1]).toBe('freeze lifted for this change: it is a "security" change');
    // An exemption outside a freeze changes nothing.
    const calm = evaluatePolicy(policy, { budgetRemaining: 0.9, exemption: 'P0' });
    expect([calm.freeze, calm.exempted, calm.reasons.length]).toEqual([false, false, 1]);
  });

  it('flags incidents that burned more than 20 % of the budget for a postmortem', () => {
    const d = evaluatePolicy(policy, {
      budgetRemaining: 0.4,
      incidents: [
        { id: 'INC-1', budgetConsumed: 0.34 },
        { id: 'INC-2', budgetConsumed: 0.2 }, // exactly 20 % is not "more than"
        { id: 'INC-3', budgetConsumed: 0.05 },
        { id: 'INC-4', budgetConsumed: 1.5 },
      ],
    });
    expect(d.postmortems).toEqual([
      { id: 'INC-1', budgetConsumed: 0.34 },
      { id: 'INC-4', budgetConsumed: 1.5 },
    ]);
    expect(d.reasons.slice(1)).toEqual([
      'incident INC-1 consumed 34% of the budget, more than 20%: postmortem required',
      'incident INC-4 consumed 150% of the budget, more than 20%: postmortem required',
    ]);
  });

  it('follows the configured thresholds and freeze state', () => {
    const strict = errorBudgetPolicy({
      atRiskBelow: 0.5,
      exhaustedAtOrBelow: 0.1,
      freezeFrom: 'at-risk',
      postmortemAbove: 0.1,
      exemptions: [],
    });
    const d = evaluatePolicy(strict, {
      budgetRemaining: 0.3,
      incidents: [{ id: 'a', budgetConsumed: 0.15 }],
    });
    expect([d.state, d.freeze]).toEqual(['at-risk', true]);
    expect(d.reasons).toContain('changes frozen until the budget recovers');
    expect(d.postmortems.map((i) => i.id)).toEqual(['a']);
    expect(evaluatePolicy(strict, { budgetRemaining: 0.1 }).state).toBe('exhausted');

    const never = errorBudgetPolicy({ freezeFrom: 'never' });
    expect(evaluatePolicy(never, { budgetRemaining: -1 })).toMatchObject({
      state: 'exhausted',
      freeze: false,
    });

    const tolerant = errorBudgetPolicy({ exhaustedAtOrBelow: -0.1, atRiskBelow: -0.1 });
    expect(budgetState(tolerant, 0)).toBe('healthy'); // at-risk switched off
    expect(budgetState(tolerant, -0.1)).toBe('exhausted');
  });

  it('accepts a plain policy object, validating it', () => {
    const plain: ErrorBudgetPolicy = { ...policy, atRiskBelow: 0.5 };
    expect(evaluatePolicy(plain, { budgetRemaining: 0.4 }).state).toBe('at-risk');
    expect(() => evaluatePolicy({ ...policy, atRiskBelow: -0.5 }, { budgetRemaining: 0 })).toThrow(
      /evaluatePolicy: "policy" is invalid: .*"atRiskBelow"/,
    );
  });

  it('rejects bad input, naming the field', () => {
    const e = (input: unknown) => () => evaluatePolicy(policy, input as never);
    expect(e({ budgetRemaining: Number.NaN })).toThrow(/"budgetRemaining" must be a finite number/);
    expect(e({})).toThrow(/"budgetRemaining".*undefined/);
    expect(e({ budgetRemaining: Number.NEGATIVE_INFINITY })).toThrow(/"budgetRemaining"/);
    expect(e(null)).toThrow(/input must be an object/);
    expect(e({ budgetRemaining: 1, remaining: 1 })).toThrow(/unknown field "remaining"/);
    expect(e({ budgetRemaining: 1, incidents: {} })).toThrow(/"incidents" must be an array/);
    expect(e({ budgetRemaining: 1, incidents: [1] })).toThrow(/"incidents\[0\]"/);
    expect(e({ budgetRemaining: 1, incidents: [{ id: '', budgetConsumed: 0.1 }] })).toThrow(
      /"incidents\[0\].id"/,
    );
    expect(e({ budgetRemaining: 1, incidents: [{ id: 'x', budgetConsumed: -0.1 }] })).toThrow(
      /"incidents\[0\].budgetConsumed"/,
    );
    expect(
      e({
        budgetRemaining: 1,
        incidents: [
          { id: 'x', budgetConsumed: 0.1 },
          { id: 'x', budgetConsumed: 0.1 },
        ],
      }),
    ).toThrow(/"incidents\[1\].id" repeats "x"/);
    expect(e({ budgetRemaining: 0, exemption: 'hotfix' })).toThrow(
      /"exemption" must be one of the policy's exemptions \(P0, security\), got string "hotfix"/,
    );
    expect(() => budgetState(policy, Number.NaN)).toThrow(/budgetState: "budgetRemaining"/);
  });

  it('rejects bad options, naming them', () => {
    expect(() => errorBudgetPolicy({ atRiskBelow: 1.5 })).toThrow(/"atRiskBelow"/);
    expect(() => errorBudgetPolicy({ atRiskBelow: -0.1 })).toThrow(
      /"atRiskBelow" must be >= exhaustedAtOrBelow \(0\)/,
    );
    expect(() => errorBudgetPolicy({ exhaustedAtOrBelow: 1 })).toThrow(
      /"exhaustedAtOrBelow" must be below 1/,
    );
    expect(() => errorBudgetPolicy({ exhaustedAtOrBelow: -2 })).toThrow(/"exhaustedAtOrBelow"/);
    expect(() => errorBudgetPolicy({ freezeFrom: 'healthy' as never })).toThrow(/"freezeFrom"/);
    expect(() => errorBudgetPolicy({ postmortemAbove: 0 })).toThrow(/"postmortemAbove"/);
    expect(() => errorBudgetPolicy({ postmortemAbove: 20 })).toThrow(/"postmortemAbove"/);
    expect(() => errorBudgetPolicy({ exemptions: 'P0' as never })).toThrow(/"exemptions"/);
    expect(() => errorBudgetPolicy({ exemptions: ['P0', ' '] })).toThrow(/"exemptions\[1\]"/);
    expect(() => errorBudgetPolicy({ atRisk: 0.3 } as never)).toThrow(/unknown option "atRisk"/);
    expect(() => errorBudgetPolicy(null as never)).toThrow(/options must be an object/);
  });
});
