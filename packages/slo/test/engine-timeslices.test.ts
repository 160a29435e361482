import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Slo, sloTracker } from '../src/index.js';
import { availabilitySlo, DAY, HOUR, MIN, TestClock } from './engine-helpers.js';

function slicesSlo(sliceSeconds = 60, sliceTarget = 0.95, overrides: Partial<Slo> = {}): Slo {
  return availabilitySlo({
    name: 'orders-minutes',
    budgeting: { type: 'timeslices', sliceSeconds, sliceTarget },
    ...overrides,
  });
}

/** Starts on a slice boundary so each test knows which slice it writes to. */
function setup(slo: Slo = slicesSlo(), resolutionMs?: number) {
  const clock = new TestClock();
  const t = sloTracker(slo, resolutionMs === undefined ? { clock } : { clock, resolutionMs });
  return { clock, t };
}

describe('timeslices: validation', () => {
  const rejects = (b: unknown, re: RegExp, overrides: Partial<Slo> = {}, resolutionMs?: number) =>
    expect(() =>
      sloTracker(
        availabilitySlo({ budgeting: b as Slo['budgeting'], ...overrides }),
        resolutionMs === undefined ? {} : { resolutionMs },
      ),
    ).toThrow(re);

  it('names slo.budgeting.sliceSeconds and sliceTarget', () => {
    const sliceSeconds = /slo\.budgeting\.sliceSeconds must be a whole number of seconds >= 1/;
    rejects({ type: 'timeslices', sliceSeconds: 0, sliceTarget: 0.9 }, sliceSeconds);
    rejects({ type: 'timeslices', sliceSeconds: 1.5, sliceTarget: 0.9 }, sliceSeconds);
    rejects({ type: 'timeslices', sliceSeconds: '60', sliceTarget: 0.9 }, sliceSeconds);
    const target = /slo\.budgeting\.sliceTarget must be a fraction in \(0, 1\]/;
    rejects({ type: 'timeslices', sliceSeconds: 60, sliceTarget: 0 }, target);
    rejects({ type: 'timeslices', sliceSeconds: 60, sliceTarget: 1.01 }, target);
    rejects({ type: 'timeslices', sliceSeconds: 60 }, target);
    rejects(null, /slo\.budgeting must be an object, got null/);
  });

  it('slices must be a multiple or a divisor of the resolution', () => {
    rejects(
      { type: 'timeslices', sliceSeconds: 90, sliceTarget: 0.9 },
      /slo\.budgeting\.sliceSeconds must be a multiple or a divisor of the resolution \(60 s\), got 90/,
    );
    rejects(
      { type: 'timeslices', sliceSeconds: 45, sliceTarget: 0.9 },
      /slo\.budgeting\.sliceSeconds must be a multiple or a divisor of the resolution \(30 s\)/,
      {},
      30_000,
    );
    expect(() => sloTracker(slicesSlo(10))).not.toThrow();
    expect(() => sloTracker(slicesSlo(300))).not.toThrow();
    expect(() => sloTracker(slicesSlo(20), { resolutionMs: 5000 })).not.toThrow();
  });

  it('calendar slices must divide 15 minutes, and no slice exceeds the period', () => {
    const calendar = { window: { type: 'calendar', unit: 'month', timeZone: 'UTC' } } as const;
    rejects(
      { type: 'timeslices', sliceSeconds: 1200, sliceTarget: 0.9 },
      /slo\.budgeting\.sliceSeconds must divide 15 minutes/,
      calendar,
    );
    expect(() => sloTracker(slicesSlo(900, 0.9, calendar))).not.toThrow();
    rejects(
      { type: 'timeslices', sliceSeconds: 2 * 86_400, sliceTarget: 0.9 },
      /slo\.budgeting\.sliceSeconds must not exceed the period/,
      { window: { type: 'rolling', days: 1 } },
    );
  });
});

describe('timeslices: slices and the budget', () => {
  it('judges the open slice only when it closes', () => {
    const { clock, t } = setup();
    t.record({ good: false });
    expect(t.window(5 * MIN).errorRatio).toBe(0);
    expect(t.window(5 * MIN).slices).toEqual({ sliceMs: MIN, elapsed: 5, good: 5, bad: 0 });
    clock.advance(MIN);
    const w = t.window(5 * MIN);
    expect(w.slices).toEqual({ sliceMs: MIN, elapsed: 5, good: 4, bad: 1 });
    expect(w.errorRatio).toBeCloseTo(1 / 5, 12);
    expect(w.burnRate).toBeCloseTo(1 / 5 / 0.001, 6);
    // Events are those of the judged (closed) slices.
    expect(w.bad).toBe(1);
  });

  it('a slice exactly at the target is good; one event below is bad', () => {
    const { clock, t } = setup(slicesSlo(60, 0.9));
    t.record({ good: 9, bad: 1 });
    clock.advance(MIN);
    t.record({ good: 8, bad: 2 });
    clock.advance(MIN);
    expect(t.window(2 * MIN).slices).toEqual({ sliceMs: MIN, elapsed: 2, good: 1, bad: 1 });
  });

  it('a slice without events is good, and zero traffic never gives NaN', () => {
    const { clock, t } = setup();
    expect(t.attainment()).toBe(1);
    clock.advance(3 * DAY);
    const b = t.budget();
    expect(b.attainment).toBe(1);
    expect(b.consumed).toBe(0);
    expect(b.slices?.bad).toBe(0);
    expect(t.burnRate(HOUR)).toBe(0);
    expect(Number.isNaN(t.forecast().burnRate)).toBe(false);
  });

  it('every bad slice costs the same, whatever its traffic (time-weighted)', () => {
    const { clock, t } = setup();
    t.record({ good: 0, bad: 1 });
    clock.advance(MIN);
    t.record({ good: 0, bad: 10_000 });
    clock.advance(MIN);
    t.record({ good: 1_000_000 });
    clock.advance(MIN);
    const b = t.budget();
    expect(b.slices).toMatchObject({ sliceMs: MIN, bad: 2, inPeriod: 30 * 24 * 60 });
    expect(b.slices!.allowedBad).toBeCloseTo(43.2, 9);
    expect(b.slices!.remainingBad).toBeCloseTo(41.2, 9);
    expect(b.consumed).toBeCloseTo(2 / 43.2, 12);
    expect(b.remainingMinutes).toBeCloseTo(41.2, 9);
    // Rolling: every slice of the period has elapsed (no events before tracking counts as good).
    expect(b.attainment).toBeCloseTo(1 - 2 / (30 * 24 * 60), 12);
    expect(t.burnRate(30 * DAY)).toBeCloseTo(b.consumed, 12);
  });

  it('slices finer than the resolution rotate on their own boundary', () => {
    const { clock, t } = setup(slicesSlo(10));
    t.record({ good: false });
    clock.advance(10_000);
    t.record({ good: true });
    clock.advance(10_000);
    expect(t.sliceMs).toBe(10_000);
    expect(t.window(MIN).slices).toEqual({ sliceMs: 10_000, elapsed: 6, good: 5, bad: 1 });
  });

  it('slices coarser than the resolution count whole slices', () => {
    const { clock, t } = setup(slicesSlo(300));
    t.record({ good: 1, bad: 1 });
    clock.advance(4 * MIN);
    expect(t.window(HOUR).slices?.bad).toBe(0);
    clock.advance(MIN);
    // One bad 5-minute slice of the 12 in an hour; windows round up to whole slices.
    expect(t.window(HOUR).errorRatio).toBeCloseTo(1 / 12, 12);
    expect(t.window(MIN).slices).toEqual({ sliceMs: 5 * MIN, elapsed: 1, good: 0, bad: 1 });
  });

  it('calendar periods count the slices elapsed since the period start', () => {
    const calendar = { window: { type: 'calendar', unit: 'month', timeZone: 'UTC' } } as const;
    const { clock, t } = setup(slicesSlo(900, 0.99, calendar));
    expect(t.budget().slices?.elapsed).toBe(0);
    expect(t.attainment()).toBe(1);
    t.record({ good: false });
    clock.advance(HOUR);
    const b = t.budget();
    expect(b.slices).toMatchObject({ elapsed: 4, bad: 1, good: 3, inPeriod: 31 * 96 });
    expect(b.attainment).toBe(3 / 4);
    expect(b.consumed).toBeCloseTo(1 / (0.001 * 31 * 96), 12);
  });

  it('holds the slice ring in memoryBytes', () => {
    const occurrences = sloTracker(availabilitySlo());
    const slices = sloTracker(slicesSlo());
    expect(slices.memoryBytes).toBeGreaterThan(occurrences.memoryBytes);
    expect(occurrences.sliceMs).toBeNull();
    expect(occurrences.window(HOUR).slices).toBeNull();
    expect(occurrences.budget().slices).toBeNull();
  });
});

describe('timeslices: properties', () => {
  const step = fc.record({
    dt: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 * MIN }) },
      { weight: 1, arbitrary: fc.integer({ min: -HOUR, max: 0 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 10 * DAY }) },
    ),
    good: fc.nat(100),
    bad: fc.nat(20),
  });
  const shape = fc.record({
    // 420 s does not divide a day: the period then holds a partial slice, counted whole.
    sliceSeconds: fc.constantFrom(10, 30, 60, 300, 420, 900),
    sliceTarget: fc.double({ min: 0.01, max: 1, noNaN: true }),
    days: fc.constantFrom(1, 7, 28),
  });

  it('bad slices never exceed elapsed slices; nothing is NaN; budget identities hold', () => {
    fc.assert(
      fc.property(shape, fc.array(step, { maxLength: 50 }), (sh, steps) => {
        const clock = new TestClock();
        const slo = slicesSlo(sh.sliceSeconds, sh.sliceTarget, {
          window: { type: 'rolling', days: sh.days },
        });
        const t = sloTracker(slo, { clock });
        for (const s of steps) {
          clock.advance(s.dt);
          if (s.good + s.bad > 0) t.record({ good: s.good, bad: s.bad });
        }
        const b = t.budget();
        const sl = b.slices!;
        expect(sl.bad).toBeGreaterThanOrEqual(0);
        expect(sl.bad).toBeLessThanOrEqual(sl.elapsed);
        expect(sl.good + sl.bad).toBe(sl.elapsed);
        expect(sl.elapsed).toBeLessThanOrEqual(sl.inPeriod);
        expect(b.attainment).toBeGreaterThanOrEqual(0);
        expect(b.attainment).toBeLessThanOrEqual(1);
        expect(b.consumed).toBeCloseTo(sl.bad / sl.allowedBad, 12);
        expect(b.remaining).toBeCloseTo(1 - b.consumed, 12);
        // Rolling: the whole period has elapsed, so the budget spent is the period's burn rate.
        expect(sl.elapsed).toBe(sl.inPeriod);
        expect(t.burnRate(sh.days * DAY)).toBeCloseTo(b.consumed, 12);
        for (const w of [MIN, HOUR, DAY]) {
          const ws = t.window(w);
          expect(Number.isFinite(ws.errorRatio) && Number.isFinite(ws.burnRate)).toBe(true);
          expect(ws.slices!.bad).toBeLessThanOrEqual(ws.slices!.elapsed);
          expect(ws.slices!.bad).toBeLessThanOrEqual(sl.bad);
        }
        const e = t.evaluateAlerts();
        for (const p of [...e.page.pairs, ...e.ticket.pairs]) {
          expect(Number.isFinite(p.longErrorRatio) && Number.isFinite(p.shortErrorRatio)).toBe(
            true,
          );
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a slice whose ratio is exactly the target is good; any lower target keeps it good', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.nat(1_000_000), (good, bad) => {
        const target = good / (good + bad);
        const { clock, t } = setup(slicesSlo(60, target));
        t.record({ good, bad });
        clock.advance(MIN);
        expect(t.window(MIN).slices?.bad).toBe(0);
        if (bad > 0) {
          // One more bad event puts the slice below the target.
          const worse = setup(slicesSlo(60, target));
          worse.t.record({ good, bad: bad + 1 });
          worse.clock.advance(MIN);
          expect(worse.t.window(MIN).slices?.bad).toBe(1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('restore(snapshot()) gives back the same state', () => {
    fc.assert(
      fc.property(shape, fc.array(step, { maxLength: 40 }), (sh, steps) => {
        const clock = new TestClock();
        const slo = slicesSlo(sh.sliceSeconds, sh.sliceTarget, {
          window: { type: 'rolling', days: sh.days },
        });
        const a = sloTracker(slo, { clock });
        for (const s of steps) {
          clock.advance(s.dt);
          if (s.good + s.bad > 0) a.record({ good: s.good, bad: s.bad });
        }
        const snap = JSON.parse(JSON.stringify(a.snapshot()));
        const b = sloTracker(slo, { clock, snapshot: snap });
        expect(b.snapshot()).toEqual(a.snapshot());
        expect(b.budget()).toEqual(a.budget());
        expect(b.window(HOUR)).toEqual(a.window(HOUR));
        // Both go on identically.
        clock.advance(sh.sliceSeconds * 1000);
        a.record({ good: false });
        b.record({ good: false });
        clock.advance(sh.sliceSeconds * 1000);
        expect(b.budget()).toEqual(a.budget());
      }),
      { numRuns: 100 },
    );
  });
});
