import { describe, expect, it } from 'vitest';
import { type Slo, sloTracker } from '../src/index.js';
import { availabilitySlo, DAY, HOUR, latencySlo, MIN, TestClock } from './engine-helpers.js';

describe('sloTracker: zero and low traffic', () => {
  it('treats no traffic as a healthy service, never NaN', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    clock.advance(10 * DAY);
    expect(t.attainment()).toBe(1);
    const b = t.budget();
    expect(b.consumed).toBe(0);
    expect(b.remaining).toBe(1);
    expect(b.remainingEvents).toBe(0);
    expect(b.budgetMinutes).toBeCloseTo(43.2, 9);
    expect(b.remainingMinutes).toBeCloseTo(43.2, 9);
    expect(t.burnRate(5 * MIN)).toBe(0);
    expect(t.errorRatio(HOUR)).toBe(0);
    expect(t.forecast().exhaustedAt).toBeNull();
    expect(t.evaluateAlerts().page.firing).toBe(false);
  });
});

describe('sloTracker: budget for 99.9 % over 30 days', () => {
  it('counts budget in fraction, minutes of full outage and events', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    t.record({ good: 9_995, bad: 5 });
    const b = t.budget();
    expect(b.total).toBe(10_000);
    expect(b.attainment).toBeCloseTo(0.9995, 12);
    expect(b.consumed).toBeCloseTo(0.5, 9);
    expect(b.remaining).toBeCloseTo(0.5, 9);
    expect(b.remainingMinutes).toBeCloseTo(21.6, 9);
    expect(b.allowedBadEvents).toBeCloseTo(10, 9);
    expect(b.remainingEvents).toBeCloseTo(5, 9);
  });

  it('lets the budget go negative when overspent', () => {
    const t = sloTracker(availabilitySlo(), { clock: new TestClock() });
    t.record({ good: 990, bad: 10 });
    expect(t.budget().remaining).toBeCloseTo(-9, 9);
    expect(t.budget().remainingEvents).toBeCloseTo(-9, 9);
    expect(t.forecast().msLeft).toBe(0);
  });

  it('counts single events and latency events against the threshold (inclusive)', () => {
    const t = sloTracker(latencySlo(), { clock: new TestClock() });
    t.record({ durationMs: 200 });
    t.record({ durationMs: 200.5 });
    t.record({ good: true });
    t.record({ good: false });
    const w = t.window(MIN);
    expect(w.good).toBe(2);
    expect(w.bad).toBe(2);
  });
});

describe('sloTracker: windows', () => {
  it('drops events older than a window, exact to one bucket', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    t.record({ bad: 1 });
    clock.advance(4 * MIN);
    expect(t.window(5 * MIN).bad).toBe(1);
    clock.advance(MIN);
    expect(t.window(5 * MIN).bad).toBe(0);
    expect(t.window(HOUR).bad).toBe(1);
  });

  it('computes burn rates per window and forecasts exhaustion', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    // 1.44 % errors: burn rate 14.4, which spends a 30-day budget in 50 hours.
    t.record({ good: 9_856, bad: 144 });
    expect(t.burnRate(HOUR)).toBeCloseTo(14.4, 9);
    const f = t.forecast(HOUR);
    expect(f.burnRate).toBeCloseTo(14.4, 9);
    // remaining is 1 - 14.4 * (its share of the 30 days) = 1 - 14.4 here: overspent already.
    expect(f.remaining).toBeCloseTo(1 - 14.4, 9);
    expect(f.exhaustedAt).toBe(clock.t);
  });

  it('forecasts from the recent burn when the budget is still there', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    for (let i = 0; i < 24 * 20; i++) {
      t.record({ good: 1000 });
      clock.advance(HOUR);
    }
    // 20 days of clean traffic, then one hour at burn rate 10.
    t.record({ good: 990, bad: 10 });
    const f = t.forecast(HOUR);
    expect(f.burnRate).toBeCloseTo(10, 9);
    const b = t.budget();
    expect(f.msLeft).toBeCloseTo((b.remaining * 30 * DAY) / 10, 0);
    clock.advance(2 * HOUR);
    expect(t.forecast(HOUR).exhaustedAt).toBeNull();
  });

  it('survives big clock jumps forward and back without negative counts', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    t.record({ good: 10, bad: 1 });
    clock.advance(-3 * HOUR);
    t.record({ bad: 1 });
    expect(t.window(MIN).bad).toBe(2);
    clock.advance(400 * DAY);
    expect(t.budget().total).toBe(0);
    t.record({ good: 1 });
    expect(t.attainment()).toBe(1);
  });

  it('keeps memory constant whatever the traffic', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    const before = t.memoryBytes;
    for (let i = 0; i < 10_000; i++) {
      t.record({ good: 1_000_000 });
      clock.advance(7 * MIN);
    }
    expect(t.memoryBytes).toBe(before);
    expect(before).toBeLessThan(32 * 1024);
  });
});

describe('sloTracker: resolution', () => {
  it('makes short windows exact to the chosen bucket width', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock, resolutionMs: 10_000 });
    t.record({ bad: 1 });
    clock.advance(5 * MIN - 10_001);
    expect(t.window(5 * MIN).bad).toBe(1);
    clock.advance(10_001);
    expect(t.window(5 * MIN).bad).toBe(0);
    // Long windows still see it through the coarse buckets.
    expect(t.window(DAY).bad).toBe(1);
    expect(t.budget().bad).toBe(1);
  });
});

describe('sloTracker: calendar windows', () => {
  it('starts a month at local midnight in the time zone', () => {
    const clock = new TestClock(Date.UTC(2026, 1, 28, 23, 0)); // Feb 28 18:00 in New York
    const t = sloTracker(
      availabilitySlo({
        window: { type: 'calendar', unit: 'month', timeZone: 'America/New_York' },
      }),
      { clock },
    );
    t.record({ bad: 1 });
    clock.t = Date.UTC(2026, 2, 1, 6, 0); // Mar 1 01:00 EST
    t.record({ good: 5 });
    clock.t = Date.UTC(2026, 2, 15, 12, 0);
    const b = t.budget();
    expect(b.periodStart).toBe(Date.UTC(2026, 2, 1, 5, 0));
    expect(b.periodEnd).toBe(Date.UTC(2026, 3, 1, 4, 0)); // April starts in EDT
    expect(b.total).toBe(5);
    expect(b.bad).toBe(0);
    // (1 - 0.999) x (31 days - the DST hour) in minutes.
    expect(b.budgetMinutes).toBeCloseTo(0.001 * (31 * 1440 - 60), 6);
  });

  it('forgets the previous month at the boundary and keeps the current one across a restore', () => {
    const slo = availabilitySlo({ window: { type: 'calendar', unit: 'month', timeZone: 'UTC' } });
    const clock = new TestClock(Date.UTC(2026, 4, 31, 23, 50));
    const t = sloTracker(slo, { clock });
    t.record({ good: 10, bad: 10 });
    clock.t = Date.UTC(2026, 5, 1, 0, 5);
    t.record({ good: 99, bad: 1 });
    expect(t.budget().total).toBe(100);
    // The hour window still spans the boundary: alerts do not reset with the month.
    expect(t.window(HOUR).total).toBe(120);
    const restored = sloTracker(slo, { clock, snapshot: t.snapshot() });
    expect(restored.budget()).toEqual(t.budget());
    expect(restored.forecast()).toEqual(t.forecast());
  });

  it('starts a quarter in a zone with a half-hour offset', () => {
    const clock = new TestClock(Date.UTC(2026, 4, 10));
    const t = sloTracker(
      availabilitySlo({ window: { type: 'calendar', unit: 'quarter', timeZone: 'Asia/Kolkata' } }),
      { clock },
    );
    const b = t.budget();
    expect(b.periodStart).toBe(Date.UTC(2026, 2, 31, 18, 30));
    expect(b.periodEnd).toBe(Date.UTC(2026, 5, 30, 18, 30));
  });
});

describe('sloTracker: bad input', () => {
  const clock = new TestClock();
  const slo = availabilitySlo();

  it('rejects bad SLOs naming the field', () => {
    expect(() => sloTracker(null as unknown as Slo)).toThrow(/slo must be an object/);
    expect(() => sloTracker(availabilitySlo({ objective: 1 }))).toThrow(/slo\.objective/);
    expect(() => sloTracker(availabilitySlo({ window: { type: 'rolling', days: 0 } }))).toThrow(
      /slo\.window\.days/,
    );
    expect(() =>
      sloTracker(
        availabilitySlo({ window: { type: 'calendar', unit: 'month', timeZone: 'Mars/Olympus' } }),
      ),
    ).toThrow(/slo\.window\.timeZone/);
    expect(() =>
      sloTracker(availabilitySlo({ budgeting: { type: 'ratio' } as unknown as Slo['budgeting'] })),
    ).toThrow(/slo\.budgeting\.type must be "occurrences" or "timeslices", got "ratio"/);
    expect(() =>
      sloTracker(latencySlo({ sli: { type: 'latency', thresholdSeconds: -1, buckets: [] } })),
    ).toThrow(/slo\.sli\.thresholdSeconds/);
  });

  it('rejects bad options naming the option', () => {
    expect(() => sloTracker(slo, { clock: {} as never })).toThrow(/"clock"/);
    expect(() => sloTracker(slo, { resolutionMs: 7000 })).toThrow(/"resolutionMs"/);
    expect(() => sloTracker(slo, { resolutionMs: 500 })).toThrow(/"resolutionMs"/);
    expect(() => sloTracker(slo, { minEvents: -1 })).toThrow(/"minEvents"/);
    expect(() => sloTracker(slo, { bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
    expect(() =>
      sloTracker(slo, {
        alertWindows: [
          { severity: 'page', budgetPercent: 2, longWindowMs: MIN, shortWindowMs: HOUR },
        ],
      }),
    ).toThrow(/alertWindows\[0\]\.shortWindowMs/);
  });

  it('rejects bad events and windows naming the field', () => {
    const t = sloTracker(slo, { clock });
    expect(() => t.record(null as never)).toThrow(/event must be an object/);
    expect(() => t.record({ good: -1 })).toThrow(/event\.good/);
    expect(() => t.record({ good: 1.5 })).toThrow(/event\.good/);
    expect(() => t.record({ bad: Number.NaN })).toThrow(/event\.bad/);
    expect(() => t.record({} as never)).toThrow(/needs good/);
    expect(() => t.record({ durationMs: 5 })).toThrow(/durationMs needs a latency SLO/);
    const l = sloTracker(latencySlo(), { clock });
    expect(() => l.record({ durationMs: -1 })).toThrow(/event\.durationMs/);
    expect(() => t.window(0)).toThrow(/windowMs/);
    expect(() => t.window(31 * DAY)).toThrow(/windowMs/);
    expect(t.budget().total).toBe(0);
  });
});
