import { describe, expect, it } from 'vitest';
import { creditFor, describeSlaEvaluation, evaluateSla, type Sla, sla } from '../src/index.js';

/** AWS Compute, region-level SLA (monthly uptime): < 99.99 % 10 %, < 99 % 30 %, < 95 % 100 %. */
const region = sla({
  name: 'compute-region',
  objective: 0.9999,
  tiers: [
    { below: 0.9999, credit: 0.1 },
    { below: 0.99, credit: 0.3 },
    { below: 0.95, credit: 1 },
  ],
});

/** AWS Compute, instance-level SLA: < 99.5 % 10 %, < 99 % 30 %, < 95 % 100 %. */
const instance = sla({
  objective: 0.995,
  tiers: [
    { below: 0.995, credit: 0.1 },
    { below: 0.99, credit: 0.3 },
    { below: 0.95, credit: 1 },
  ],
});

describe('sla credit tiers (a cloud provider region SLA)', () => {
  it('credits the deepest tier the month falls under', () => {
    expect(creditFor(region, 1)).toBe(0);
    expect(creditFor(region, 0.99995)).toBe(0);
    expect(creditFor(region, 0.9999)).toBe(0); // "< 99.99 %": exactly at it is met
    expect(creditFor(region, 0.9995)).toBe(0.1);
    expect(creditFor(region, 0.99)).toBe(0.1); // "< 99.99 % and >= 99.0 %"
    expect(creditFor(region, 0.985)).toBe(0.3);
    expect(creditFor(region, 0.95)).toBe(0.3);
    expect(creditFor(region, 0.9499)).toBe(1);
    expect(creditFor(region, 0)).toBe(1);
    expect(creditFor(instance, 0.996)).toBe(0);
    expect(creditFor(instance, 0.994)).toBe(0.1);
  });

  it('evaluates a period from good and total minutes', () => {
    // A 30-day month has 43,200 minutes; 99.99 % allows 4.32 of them.
    const minutes = 43_200;
    const ok = evaluateSla(region, { good: minutes - 4, total: minutes });
    expect(ok).toEqual({
      measured: (minutes - 4) / minutes,
      noData: false,
      met: true,
      tier: null,
      tierIndex: -1,
      credit: 0,
    });
    const bad = evaluateSla(region, { good: minutes - 60, total: minutes }); // one hour down
    expect(bad.met).toBe(false);
    expect(bad.tierIndex).toBe(0);
    expect(bad.tier).toEqual({ below: 0.9999, credit: 0.1 });
    expect(bad.credit).toBe(0.1);
    expect(Object.isFrozen(bad)).toBe(true);
    expect(evaluateSla(region, { good: 9_999, total: 10_000 }).met).toBe(true);
    expect(evaluateSla(region, 0.5).tierIndex).toBe(2);
  });

  it('a period without data is not a breach', () => {
    const none = evaluateSla(region, { good: 0, total: 0 });
    expect(none).toEqual({
      measured: null,
      noData: true,
      met: true,
      tier: null,
      tierIndex: -1,
      credit: 0,
    });
    expect(describeSlaEvaluation(region, none)).toBe('no data against 99.99%: met, no credit');
  });

  it('missed without credit when the first tier is below the objective', () => {
    const s = sla({ objective: 0.999, tiers: [{ below: 0.99, credit: 0.25 }] });
    const e = evaluateSla(s, 0.995);
    expect([e.met, e.credit, e.tier]).toEqual([false, 0, null]);
    expect(describeSlaEvaluation(s, e)).toBe('99.5% against 99.9%: missed, no credit');
    expect(describeSlaEvaluation(s, evaluateSla(s, 0.98))).toBe(
      '98% against 99.9%: missed, credit 25%',
    );
    expect(describeSlaEvaluation(s, evaluateSla(s, 0.9995))).toBe('99.95% against 99.9%: met');
    expect(
      describeSlaEvaluation(region, evaluateSla(region, { good: 43_140, total: 43_200 })),
    ).toBe('99.861% against 99.99%: missed, credit 10%');
    // Never printed as the objective itself when it was missed.
    expect(describeSlaEvaluation(region, evaluateSla(region, 0.99989999))).toBe(
      '99.989999% against 99.99%: missed, credit 10%',
    );
  });

  it('is frozen and copies the tiers', () => {
    const tiers = [{ below: 0.99, credit: 0.1 }];
    const s = sla({ objective: 0.99, tiers });
    tiers[0]!.credit = 0.9;
    expect(s.tiers[0]!.credit).toBe(0.1);
    expect(Object.isFrozen(s) && Object.isFrozen(s.tiers) && Object.isFrozen(s.tiers[0])).toBe(
      true,
    );
    expect(region.name).toBe('compute-region');
    expect('name' in instance).toBe(false);
  });
});

describe('sla validation', () => {
  const tier = { below: 0.99, credit: 0.1 };
  it('rejects a bad objective', () => {
    expect(() => sla({ objective: 1, tiers: [tier] })).toThrow(/sla: "objective".*no error budget/);
    expect(() => sla({ objective: 99.9, tiers: [tier] })).toThrow(/"objective".*a percent\?/);
    expect(() => sla({ objective: Number.NaN, tiers: [tier] })).toThrow(/"objective"/);
  });

  it('rejects bad tiers, naming the field', () => {
    expect(() => sla({ objective: 0.99, tiers: [] })).toThrow(/"tiers" must be a non-empty array/);
    expect(() => sla({ objective: 0.99 } as never)).toThrow(/"tiers"/);
    expect(() => sla({ objective: 0.99, tiers: [null as never] })).toThrow(/"tiers\[0\]"/);
    expect(() => sla({ objective: 0.99, tiers: [{ below: 0, credit: 0.1 }] })).toThrow(
      /"tiers\[0\].below" must be in \(0, 1\]/,
    );
    expect(() => sla({ objective: 0.99, tiers: [{ below: 1.5, credit: 0.1 }] })).toThrow(
      /"tiers\[0\].below"/,
    );
    expect(() => sla({ objective: 0.99, tiers: [{ below: 0.99, credit: 0 }] })).toThrow(
      /"tiers\[0\].credit" must be in \(0, 1\]/,
    );
    expect(() => sla({ objective: 0.99, tiers: [{ below: 0.99, credit: 1.1 }] })).toThrow(
      /"tiers\[0\].credit"/,
    );
    expect(() => sla({ objective: 0.99, tiers: [{ below: 0.995, credit: 0.1 }] })).toThrow(
      /"tiers\[0\].below" must not be above the objective/,
    );
    expect(() =>
      sla({
        objective: 0.99,
        tiers: [
          { below: 0.95, credit: 0.1 },
          { below: 0.99, credit: 0.3 },
        ],
      }),
    ).toThrow(/"tiers\[1\].below" must be below tiers\[0\].below/);
    expect(() =>
      sla({
        objective: 0.99,
        tiers: [
          { below: 0.99, credit: 0.1 },
          { below: 0.99, credit: 0.3 },
        ],
      }),
    ).toThrow(/"tiers\[1\].below"/);
    expect(() =>
      sla({
        objective: 0.99,
        tiers: [
          { below: 0.99, credit: 0.5 },
          { below: 0.95, credit: 0.3 },
        ],
      }),
    ).toThrow(/"tiers\[1\].credit" must be >= tiers\[0\].credit/);
    expect(() =>
      sla({ objective: 0.99, tiers: [{ below: 0.99, credit: 0.1, refund: true } as never] }),
    ).toThrow(/unknown field "tiers\[0\].refund"/);
  });

  it('rejects unknown options and a bad name', () => {
    expect(() => sla({ objective: 0.99, tiers: [tier], target: 1 } as never)).toThrow(
      /unknown option "target"/,
    );
    expect(() => sla({ objective: 0.99, tiers: [tier], name: '' })).toThrow(/"name"/);
    expect(() => sla(null as never)).toThrow(/options must be an object/);
  });

  it('rejects bad measurements, naming the field', () => {
    expect(() => creditFor(region, 1.01)).toThrow(/creditFor: "measured"/);
    expect(() => creditFor(region, Number.NaN)).toThrow(/"measured".*NaN/);
    expect(() => evaluateSla(region, -0.1)).toThrow(/evaluateSla: "measured"/);
    expect(() => evaluateSla(region, { good: 11, total: 10 })).toThrow(
      /"good" must be in \[0, 10\]/,
    );
    expect(() => evaluateSla(region, { good: 1, total: 0 })).toThrow(/"good"/);
    expect(() => evaluateSla(region, { good: 0, total: -1 })).toThrow(/"total"/);
    expect(() => evaluateSla(region, { good: Number.NaN, total: 1 })).toThrow(/"good"/);
    expect(() => evaluateSla(region, '99%' as never)).toThrow(/"measured" must be/);
  });

  it('validates an SLA that was not made by sla()', () => {
    const plain: Sla = { objective: 0.99, tiers: [{ below: 0.99, credit: 0.2 }] };
    expect(creditFor(plain, 0.5)).toBe(0.2);
    const broken = { objective: 0.99, tiers: [{ below: 0.999, credit: 0.2 }] };
    expect(() => creditFor(broken, 0.5)).toThrow(/creditFor: "sla" is invalid: .*tiers\[0\].below/);
    expect(() => evaluateSla(broken, 0.5)).toThrow(/evaluateSla: "sla" is invalid/);
  });
});
