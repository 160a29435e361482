import { describe, expect, it, vi } from 'vitest';
import {
  type AlertFiredEvent,
  type AlertResolvedEvent,
  burnRateFactor,
  DEFAULT_ALERT_WINDOWS,
  type Slo,
  type SloTracker,
  sloTracker,
} from '../src/index.js';
import { availabilitySlo, DAY, HOUR, MIN, TestClock } from './engine-helpers.js';

const STEP = 10_000;

function setup(slo: Slo = availabilitySlo(), minEvents?: number) {
  const clock = new TestClock();
  const t = sloTracker(slo, minEvents === undefined ? { clock } : { clock, minEvents });
  const fired: AlertFiredEvent[] = [];
  const resolved: AlertResolvedEvent[] = [];
  t.onAlertFired((e) => fired.push(e));
  t.onAlertResolved((e) => resolved.push(e));
  return { clock, t, fired, resolved };
}

/** Records `perStep` events every 10 s with the given error ratio, evaluating alerts each step. */
function run(t: SloTracker, clock: TestClock, ms: number, errorRatio: number, perStep = 1000) {
  for (let elapsed = 0; elapsed < ms; elapsed += STEP) {
    const bad = Math.round(perStep * errorRatio);
    t.record({ good: perStep - bad, bad });
    t.evaluateAlerts();
    clock.advance(STEP);
  }
}

describe('burn-rate factors scaled to the period', () => {
  const factors = (days: number) => DEFAULT_ALERT_WINDOWS.map((p) => burnRateFactor(p, days * DAY));

  it('gives the Workbook numbers for 30 days', () => {
    const f = factors(30);
    expect(f[0]).toBeCloseTo(14.4, 12);
    expect(f[1]).toBeCloseTo(6, 12);
    expect(f[2]).toBeCloseTo(3, 12);
    expect(f[3]).toBeCloseTo(1, 12);
  });

  it('scales them for 28 and 7 days', () => {
    const f28 = factors(28);
    expect(f28[0]).toBeCloseTo(13.44, 12);
    expect(f28[1]).toBeCloseTo(5.6, 12);
    expect(f28[2]).toBeCloseTo(2.8, 12);
    expect(f28[3]).toBeCloseTo(0.9333333333, 9);
    const f7 = factors(7);
    expect(f7[0]).toBeCloseTo(3.36, 12);
    expect(f7[1]).toBeCloseTo(1.4, 12);
    expect(f7[2]).toBeCloseTo(0.7, 12);
    expect(f7[3]).toBeCloseTo(0.2333333333, 9);
  });

  it('uses the scaled factors in a tracker', () => {
    const t = sloTracker(availabilitySlo({ window: { type: 'rolling', days: 7 } }), {
      clock: new TestClock(),
    });
    expect(t.alertWindows.map((p) => p.factor)[0]).toBeCloseTo(3.36, 12);
    const e = t.evaluateAlerts();
    expect(e.page.pairs[0]!.threshold).toBeCloseTo(3.36 * 0.001, 12);
  });
});

describe('multi-window multi-burn-rate alerts (99.9 %, 30 days)', () => {
  it('the Workbook example: 15 % errors for 10 minutes pages once and resolves within 5 minutes', () => {
    const { clock, t, fired, resolved } = setup();
    run(t, clock, 25 * HOUR, 0);
    expect(fired).toEqual([]);
    const start = clock.t;
    run(t, clock, MIN, 0.15);
    // A minute in, the short window is over the threshold (from ~30 s); the long one is not yet.
    const first = t.evaluateAlerts().page.pairs[0]!;
    expect(first.shortErrorRatio).toBeGreaterThan(first.threshold);
    expect(first.longErrorRatio).toBeLessThan(first.threshold);
    expect(fired).toEqual([]);
    run(t, clock, 9 * MIN, 0.15);
    expect(fired).toHaveLength(1);
    expect(fired[0]!.severity).toBe('page');
    const firedAfter = fired[0]!.at - start;
    expect(firedAfter).toBeGreaterThan(5 * MIN);
    expect(firedAfter).toBeLessThan(7 * MIN);
    expect(fired[0]!.pairs.map((p) => p.longWindowMs)).toEqual([HOUR]);
    const stop = clock.t;
    run(t, clock, 2 * HOUR, 0);
    expect(fired).toHaveLength(1);
    expect(resolved).toHaveLength(1);
    const resolvedAfter = resolved[0]!.at - stop;
    expect(resolvedAfter).toBeGreaterThan(3 * MIN);
    expect(resolvedAfter).toBeLessThanOrEqual(5 * MIN);
    expect(resolved[0]!.firedAt).toBe(fired[0]!.at);
  });

  it('pages within about a minute of a full outage', () => {
    const { clock, t, fired } = setup();
    run(t, clock, DAY, 0);
    const start = clock.t;
    run(t, clock, 5 * MIN, 1);
    const page = fired.find((e) => e.severity === 'page');
    expect(page).toBeDefined();
    // The Workbook: 14.4 x 0.1 % of an hour = 51.8 s; one 10-s step of slack.
    expect(page!.at - start).toBeLessThanOrEqual(60_000);
  });

  it('fires only a ticket for a slow burn (2x)', () => {
    const { clock, t, fired } = setup();
    for (let h = 0; h < 4 * 24; h++) {
      t.record({ good: 99_800, bad: 200 });
      t.evaluateAlerts();
      clock.advance(HOUR);
    }
    expect(fired.map((e) => e.severity)).toEqual(['ticket']);
  });

  it('fires nothing for a healthy service', () => {
    const { clock, t, fired } = setup();
    for (let h = 0; h < 4 * 24 * 6; h++) {
      t.record({ good: 99_950, bad: 50 });
      t.evaluateAlerts();
      clock.advance(10 * MIN);
    }
    expect(fired).toEqual([]);
  });

  it('respects slo.alerting: a disabled page never fires, the ticket still does', () => {
    const { clock, t, fired } = setup(availabilitySlo({ alerting: { page: false, ticket: true } }));
    run(t, clock, HOUR, 0);
    run(t, clock, 10 * MIN, 1);
    expect(fired.map((e) => e.severity)).toEqual(['ticket']);
    expect(t.evaluateAlerts().page.enabled).toBe(false);
  });

  it('low traffic: one failure in ten requests pages, unless minEvents holds it back', () => {
    for (const [minEvents, pages] of [
      [undefined, 1],
      [50, 0],
    ] as const) {
      const { clock, t, fired } = setup(availabilitySlo(), minEvents);
      t.record({ good: 9 });
      clock.advance(MIN);
      t.record({ bad: 1 });
      const e = t.evaluateAlerts();
      expect(fired.filter((f) => f.severity === 'page')).toHaveLength(pages);
      expect(e.page.pairs[0]!.enoughEvents).toBe(minEvents === undefined);
    }
  });

  it('stops calling a disposed listener; a throwing listener does not stop evaluation', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    let calls = 0;
    const off = t.onAlertFired(() => calls++);
    t.onAlertFired(() => {
      throw new Error('listener bug');
    });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    t.record({ bad: 100 });
    expect(() => t.evaluateAlerts()).not.toThrow();
    // A full outage: page and ticket both fire, once each.
    expect(calls).toBe(2);
    off();
    off();
    clock.advance(7 * DAY);
    t.evaluateAlerts();
    t.record({ bad: 100 });
    t.evaluateAlerts();
    expect(calls).toBe(2);
    // The throwing listener, still subscribed, ran at both firings of both severities.
    expect(warn).toHaveBeenCalledTimes(4);
    warn.mockRestore();
    expect(() => t.onAlertFired(null as never)).toThrow(/listener must be a function/);
  });

  it('evaluates all windows well under a millisecond', () => {
    const { clock, t } = setup();
    run(t, clock, 3 * DAY, 0.0005, 100);
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) t.evaluateAlerts();
    expect((performance.now() - t0) / n).toBeLessThan(0.5);
  });
});

describe('alerts on a timeslices SLO', () => {
  const minutes = availabilitySlo({
    name: 'orders-minutes',
    budgeting: { type: 'timeslices', sliceSeconds: 60, sliceTarget: 0.95 },
  });

  it('a full outage pages once the first bad slice closes, and resolves after recovery', () => {
    const { clock, t, fired, resolved } = setup(minutes);
    run(t, clock, 30 * MIN, 0);
    expect(fired).toEqual([]);
    // The open slice is not judged: the first outage minute pages only when it ends.
    run(t, clock, MIN, 1);
    expect(fired).toEqual([]);
    t.record({ good: false });
    clock.advance(1);
    const e = t.evaluateAlerts();
    expect(e.page.firing).toBe(true);
    expect(fired.map((f) => f.severity)).toEqual(['page']);
    const pair = e.page.pairs[0]!;
    expect(pair.shortErrorRatio).toBeCloseTo(1 / 5, 12);
    expect(pair.longErrorRatio).toBeCloseTo(1 / 60, 12);
    run(t, clock, 10 * MIN, 1);
    run(t, clock, 7 * HOUR, 0);
    expect(resolved.some((r) => r.severity === 'page')).toBe(true);
  });

  it('a steady 2 % error ratio under a 5 % slice target never alerts (each slice is good)', () => {
    const { clock, t, fired } = setup(minutes);
    run(t, clock, 2 * DAY, 0.02);
    expect(fired).toEqual([]);
    expect(t.budget().slices?.bad).toBe(0);
  });

  it('zero traffic never alerts', () => {
    const { clock, t, fired } = setup(minutes);
    for (let i = 0; i < 100; i++) {
      clock.advance(HOUR);
      t.evaluateAlerts();
    }
    expect(fired).toEqual([]);
  });
});
