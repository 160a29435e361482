import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sloTracker } from '../src/index.js';
import { availabilitySlo, DAY, HOUR, MIN, TestClock } from './engine-helpers.js';

const PERIOD = 7 * DAY;
const slo = availabilitySlo({ window: { type: 'rolling', days: 7 } });

/** A step: move the clock (possibly back, possibly far), then record counts. */
const step = fc.record({
  dt: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 10 * MIN }) },
    { weight: 1, arbitrary: fc.integer({ min: -3 * HOUR, max: 0 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 10 * DAY }) },
  ),
  good: fc.nat(1000),
  bad: fc.nat(50),
});

function finiteAll(values: readonly number[]): boolean {
  return values.every((v) => Number.isFinite(v));
}

describe('engine properties', () => {
  it('budget identities hold, counts are never negative, nothing is NaN (clock jumps included)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const clock = new TestClock();
        const t = sloTracker(slo, { clock });
        for (const s of steps) {
          clock.advance(s.dt);
          if (s.good + s.bad > 0) t.record({ good: s.good, bad: s.bad });
        }
        const b = t.budget();
        const { slices, ...numbers } = b;
        expect(slices).toBeNull();
        expect(finiteAll(Object.values(numbers))).toBe(true);
        expect(b.good).toBeGreaterThanOrEqual(0);
        expect(b.bad).toBeGreaterThanOrEqual(0);
        expect(b.remaining).toBeCloseTo(1 - b.consumed, 12);
        // Over the whole period, budget consumed is the burn rate (window / period = 1).
        expect(t.burnRate(PERIOD)).toBeCloseTo(b.consumed, 12);
        expect(b.attainment).toBeGreaterThanOrEqual(0);
        expect(b.attainment).toBeLessThanOrEqual(1);
        for (const w of [5 * MIN, HOUR, 6 * HOUR, DAY, 3 * DAY]) {
          const s = t.window(w);
          expect(finiteAll([s.good, s.bad, s.errorRatio, s.burnRate])).toBe(true);
          expect(s.good).toBeGreaterThanOrEqual(0);
          expect(s.bad).toBeGreaterThanOrEqual(0);
          // A shorter window never holds more events than the period.
          expect(s.total).toBeLessThanOrEqual(b.total);
        }
        const e = t.evaluateAlerts();
        for (const p of [...e.page.pairs, ...e.ticket.pairs]) {
          expect(finiteAll([p.longErrorRatio, p.shortErrorRatio])).toBe(true);
        }
        const f = t.forecast();
        if (f.exhaustedAt !== null) expect(f.exhaustedAt).toBeGreaterThanOrEqual(clock.t - MIN);
      }),
      { numRuns: 150 },
    );
  });

  it('burn rate x window / period == share of the budget consumed in that window (steady traffic)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(100), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 400 }),
        (badPerMinute, windowMinutes) => {
          const perMinute = 1000;
          const clock = new TestClock();
          const t = sloTracker(slo, { clock });
          for (let i = 0; i < badPerMinute.length; i++) {
            if (i > 0) clock.advance(MIN);
            t.record({ good: perMinute - badPerMinute[i]!, bad: badPerMinute[i]! });
          }
          const w = Math.min(windowMinutes, 360) * MIN;
          const badInWindow = badPerMinute.slice(-w / MIN).reduce((a, b) => a + b, 0);
          // The whole budget at steady traffic: (1 - objective) x events in a full period.
          const periodEvents = perMinute * (PERIOD / MIN);
          const share = badInWindow / ((1 - slo.objective) * periodEvents);
          const minutesWithTraffic = Math.min(badPerMinute.length, w / MIN);
          // With fewer minutes of traffic than the window, the window is that long in effect.
          expect((t.burnRate(w) * minutesWithTraffic * MIN) / PERIOD).toBeCloseTo(share, 9);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('events older than a window stop counting; younger ones count (exact to one bucket)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 * HOUR }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 6 * 60 }),
        fc.integer({ min: 0, max: 8 * HOUR }),
        (offsets, minutes, later) => {
          // Windows are whole buckets (a window of 90 s counts 2 one-minute buckets).
          const w = minutes * MIN;
          const start = Date.UTC(2026, 0, 1);
          const times = offsets.map((o) => start + o).sort((a, b) => a - b);
          const clock = new TestClock(start);
          const t = sloTracker(slo, { clock });
          for (const at of times) {
            clock.t = at;
            t.record({ bad: 1 });
          }
          clock.t = times.at(-1)! + later;
          const now = clock.t;
          const got = t.window(w).bad;
          const older = times.filter((x) => now - x >= w).length;
          const younger = times.filter((x) => now - x < w - MIN).length;
          expect(got).toBeLessThanOrEqual(times.length - older);
          expect(got).toBeGreaterThanOrEqual(younger);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('long windows never count an event older than asked, and miss at most one coarse bucket', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6 * DAY }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 7 * HOUR, max: PERIOD }),
        (offsets, w) => {
          const start = Date.UTC(2026, 0, 1);
          const times = offsets.map((o) => start + o).sort((a, b) => a - b);
          const clock = new TestClock(start);
          const t = sloTracker(slo, { clock });
          for (const at of times) {
            clock.t = at;
            t.record({ good: 1 });
          }
          const now = clock.t;
          const got = t.window(w).good;
          expect(got).toBeLessThanOrEqual(times.filter((x) => now - x < w).length);
          expect(got).toBeGreaterThanOrEqual(times.filter((x) => now - x < w - HOUR - MIN).length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('with zero traffic: attainment 1, budget untouched, burn 0, whatever the clock does', () => {
    fc.assert(
      fc.property(
        fc.array(
          step.map((s) => s.dt),
          { maxLength: 20 },
        ),
        (dts) => {
          const clock = new TestClock();
          const t = sloTracker(slo, { clock });
          for (const dt of dts) {
            clock.advance(dt);
            t.evaluateAlerts();
          }
          expect(t.attainment()).toBe(1);
          expect(t.budget().remaining).toBe(1);
          expect(t.burnRate(HOUR)).toBe(0);
          expect(t.forecast().exhaustedAt).toBeNull();
        },
      ),
      { numRuns: 50 },
    );
  });

  it('restore(snapshot()) equals the state before', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.boolean(), (steps, viaJson) => {
        const clock = new TestClock();
        const a = sloTracker(slo, { clock });
        for (const s of steps) {
          clock.advance(s.dt);
          if (s.good + s.bad > 0) a.record({ good: s.good, bad: s.bad });
          if (s.bad > 40) a.evaluateAlerts();
        }
        const snap = a.snapshot();
        const b = sloTracker(slo, { clock });
        b.restore(viaJson ? JSON.parse(JSON.stringify(snap)) : snap);
        expect(b.snapshot()).toEqual(snap);
        expect(b.budget()).toEqual(a.budget());
        expect(b.evaluateAlerts()).toEqual(a.evaluateAlerts());
      }),
      { numRuns: 100 },
    );
  });
});
