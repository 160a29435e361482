import { ManualClock } from '@nines/resilience';
import { describe, expect, it } from 'vitest';
import {
  type SymptomAlertFired,
  type SymptomAlertResolved,
  type SymptomAlerts,
  type SymptomAlertsOptions,
  symptomAlerts,
} from '../src/metrics/alerts.js';
import { createRedMetrics, type RedMetrics } from '../src/metrics/red.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

interface Setup {
  clock: ManualClock;
  red: RedMetrics;
  alerts: SymptomAlerts;
  fired: SymptomAlertFired[];
  resolved: SymptomAlertResolved[];
  /** Requests recorded so far, for patterns that span calls. */
  n: number;
}

function setup(options: SymptomAlertsOptions = {}): Setup {
  const clock = new ManualClock(T0);
  const red = createRedMetrics({ service: 'orders', clock });
  const alerts = symptomAlerts(red, { clock, ...options });
  const s: Setup = { clock, red, alerts, fired: [], resolved: [], n: 0 };
  alerts.onFired((e) => s.fired.push(e));
  alerts.onResolved((e) => s.resolved.push(e));
  return s;
}

interface Traffic {
  minutes: number;
  /** Requests per second (fractions: one request every 1/rps seconds). */
  rps: number;
  route?: string;
  method?: string;
  /** Status of the n-th request overall. */
  status?: (n: number) => number;
  seconds?: (n: number) => number;
}

/** Drives traffic second by second on the manual clock, evaluating every 30 s. */
function run(s: Setup, t: Traffic): void {
  let credit = 0;
  for (let sec = 0; sec < t.minutes * 60; sec++) {
    credit += t.rps;
    while (credit >= 1) {
      credit--;
      const n = s.n++;
      s.red.record(
        t.route ?? '/a',
        t.method ?? 'GET',
        t.status?.(n) ?? 200,
        t.seconds?.(n) ?? 0.05,
      );
    }
    s.clock.set(s.clock.now() + 1000);
    if ((s.clock.now() - T0) % 30_000 === 0) s.alerts.evaluate();
  }
}

const rules = (events: readonly { rule: string }[]) => events.map((e) => e.rule);

describe('error ratio above 1 %', () => {
  it('fires once and resolves once per episode', () => {
    const s = setup();
    run(s, { minutes: 10, rps: 10 });
    expect(s.fired).toEqual([]);
    // 5 % errors for 5 minutes.
    run(s, { minutes: 5, rps: 10, status: (n) => (n % 20 === 0 ? 500 : 200) });
    expect(rules(s.fired)).toEqual(['error-ratio']);
    const f = s.fired[0]!;
    expect(f).toMatchObject({
      type: 'fired',
      service: 'orders',
      route: null,
      method: null,
      threshold: 0.01,
      enoughTraffic: true,
      firing: true,
    });
    expect(f.value).toBeGreaterThan(0.01);
    expect(f.requests).toBeGreaterThanOrEqual(100);
    expect(s.alerts.active()).toEqual([
      expect.objectContaining({ rule: 'error-ratio', since: f.at, route: null }),
    ]);
    expect(s.resolved).toEqual([]);
    run(s, { minutes: 10, rps: 10 });
    expect(rules(s.fired)).toEqual(['error-ratio']);
    expect(rules(s.resolved)).toEqual(['error-ratio']);
    const r = s.resolved[0]!;
    expect(r.firedAt).toBe(f.at);
    expect(r.durationMs).toBe(r.at - f.at);
    expect(r.value).toBeLessThanOrEqual(0.01);
    expect(s.alerts.active()).toEqual([]);
    // A second episode: one more fire and one more resolve.
    run(s, { minutes: 5, rps: 10, status: (n) => (n % 10 === 0 ? 503 : 200) });
    run(s, { minutes: 10, rps: 10 });
    expect(rules(s.fired)).toEqual(['error-ratio', 'error-ratio']);
    expect(rules(s.resolved)).toEqual(['error-ratio', 'error-ratio']);
  });

  it('4xx are not errors', () => {
    const s = setup();
    run(s, { minutes: 10, rps: 10, status: (n) => (n % 2 === 0 ? 404 : 200) });
    expect(s.fired).toEqual([]);
  });
});

describe('p99 above 500 ms', () => {
  it('fires once and resolves once', () => {
    const s = setup();
    run(s, { minutes: 6, rps: 10 });
    run(s, { minutes: 5, rps: 10, seconds: (n) => (n % 50 === 0 ? 0.8 : 0.05) });
    expect(rules(s.fired)).toEqual(['latency']);
    const v = s.fired[0]!.value!;
    expect(Math.abs(v - 0.8) / 0.8).toBeLessThanOrEqual(1 / 32);
    run(s, { minutes: 10, rps: 10 });
    expect(rules(s.resolved)).toEqual(['latency']);
    expect(s.fired).toHaveLength(1);
  });

  it('is decided exactly at the boundary: more than 1 % over 0.5 s fires, exactly 1 % does not', () => {
    // 3000 requests in the window; rank of p99 = 2970.
    const build = (slow: number) => {
      const s = setup({ rateDrop: false, errorRatio: false });
      for (let i = 0; i < 3000; i++) s.red.record('/a', 'GET', 200, i < slow ? 0.5000001 : 0.5);
      return s.alerts.evaluate().statuses.find((x) => x.rule === 'latency')!;
    };
    expect(build(30)).toMatchObject({ firing: false, requests: 3000 });
    expect(build(31)).toMatchObject({ firing: true, requests: 3000 });
  });
});

describe('rate drop of more than 30 % from the baseline', () => {
  it('fires once when traffic halves and resolves when it recovers', () => {
    const s = setup({ errorRatio: false, latency: false });
    run(s, { minutes: 70, rps: 20 });
    expect(s.fired).toEqual([]);
    run(s, { minutes: 5, rps: 10 });
    expect(rules(s.fired)).toEqual(['rate-drop']);
    const f = s.fired[0]!;
    expect(f.baselineRate).toBeCloseTo(20, 1);
    expect(f.currentRate).toBeLessThan(14);
    expect(f.value).toBeGreaterThan(0.3);
    run(s, { minutes: 10, rps: 20 });
    expect(rules(s.resolved)).toEqual(['rate-drop']);
    expect(s.fired).toHaveLength(1);
  });

  it('fires when traffic stops altogether, and a 20 % dip does not fire', () => {
    const s = setup({ errorRatio: false, latency: false });
    run(s, { minutes: 70, rps: 10 });
    run(s, { minutes: 5, rps: 8 });
    expect(s.fired).toEqual([]);
    run(s, { minutes: 5, rps: 0 });
    expect(rules(s.fired)).toEqual(['rate-drop']);
    expect(s.alerts.active()[0]).toMatchObject({ rule: 'rate-drop', threshold: 0.3 });
  });

  it('needs a baseline at least one window long', () => {
    const s = setup({ errorRatio: false, latency: false });
    // Only 4 minutes of history before traffic stops: not enough to judge a drop.
    run(s, { minutes: 4, rps: 50 });
    run(s, { minutes: 5, rps: 0 });
    expect(s.fired).toEqual([]);
  });
});

describe('low traffic does not page', () => {
  it('no alert below minRequests, whatever the symptoms', () => {
    const s = setup();
    // 0.2 req/s: 60 requests in 5 minutes, half of them 5xx and slow.
    run(s, { minutes: 70, rps: 0.2, status: (n) => (n % 2 ? 500 : 200), seconds: () => 3 });
    run(s, { minutes: 10, rps: 0 });
    expect(s.fired).toEqual([]);
    const st = s.alerts.evaluate().statuses;
    expect(st.every((x) => !x.firing && !x.enoughTraffic)).toBe(true);
  });

  it('resolves a firing alert when traffic falls below the guard', () => {
    const s = setup({ rateDrop: false });
    run(s, { minutes: 5, rps: 10, status: () => 500 });
    expect(rules(s.fired).sort()).toEqual(['error-ratio']);
    run(s, { minutes: 10, rps: 0.1, status: () => 500 });
    expect(rules(s.resolved)).toEqual(['error-ratio']);
  });
});

describe('configurable thresholds, windows and guard', () => {
  it('error ratio threshold, latency quantile and threshold, minRequests', () => {
    const s = setup({
      rateDrop: false,
      errorRatio: { threshold: 0.1 },
      latency: { quantile: 0.5, thresholdSeconds: 1 },
      minRequests: 10,
      windowMs: MIN,
    });
    // 5 % errors, p50 0.05 s: nothing at these thresholds.
    run(s, { minutes: 2, rps: 1, status: (n) => (n % 20 === 0 ? 500 : 200) });
    expect(s.fired).toEqual([]);
    // 20 % errors at 1 req/s: fires with the lower guard and a one-minute window.
    run(s, { minutes: 1, rps: 1, status: (n) => (n % 5 === 0 ? 500 : 200) });
    expect(rules(s.fired)).toEqual(['error-ratio']);
    // p50 of 1.2 s.
    run(s, { minutes: 1, rps: 1, seconds: () => 1.2 });
    expect(rules(s.fired)).toEqual(['error-ratio', 'latency']);
    expect(s.fired[1]!.threshold).toBe(1);
  });

  it('rate drop fraction and baseline length', () => {
    const s = setup({
      errorRatio: false,
      latency: false,
      rateDrop: { drop: 0.6, baselineMs: 10 * MIN },
    });
    run(s, { minutes: 15, rps: 10 });
    run(s, { minutes: 5, rps: 5 }); // 50 % down: under the 60 % threshold
    expect(s.fired).toEqual([]);
    run(s, { minutes: 10, rps: 10 });
    run(s, { minutes: 5, rps: 2 }); // 80 % down
    expect(rules(s.fired)).toEqual(['rate-drop']);
  });
});

describe('per route', () => {
  it('judges each route+method; the whole service may stay quiet', () => {
    const s = setup({ perRoute: true, rateDrop: false });
    const both = (minutes: number, bStatus: (n: number) => number) => {
      for (let m = 0; m < minutes; m++) {
        run(s, { minutes: 0.5, rps: 100, route: '/a' });
        run(s, { minutes: 0.5, rps: 4, route: '/b', method: 'POST', status: bStatus });
      }
    };
    both(6, () => 200);
    both(6, (n) => (n % 10 === 0 ? 500 : 200)); // 10 % on /b, under 1 % overall
    expect(s.fired.map((e) => [e.rule, e.route, e.method])).toEqual([
      ['error-ratio', '/b', 'POST'],
    ]);
    expect(s.alerts.active()).toEqual([
      expect.objectContaining({ rule: 'error-ratio', route: '/b', method: 'POST' }),
    ]);
  });
});

describe('interval and lifecycle', () => {
  it('evaluates on the clock timers and stops on close()', async () => {
    const clock = new ManualClock(T0);
    const red = createRedMetrics({ service: 'orders', clock });
    const alerts = symptomAlerts(red, { clock, intervalMs: 15_000, rateDrop: false });
    const fired: SymptomAlertFired[] = [];
    alerts.onFired((e) => fired.push(e));
    expect(clock.pendingTimers).toBe(1);
    for (let i = 0; i < 300; i++) red.record('/a', 'GET', 500, 0.01);
    expect(fired).toEqual([]);
    await clock.advance(15_000);
    expect(rules(fired)).toEqual(['error-ratio']);
    expect(fired[0]!.at).toBe(T0 + 15_000);
    await clock.advance(60_000);
    expect(fired).toHaveLength(1);
    alerts.close();
    alerts.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a throwing listener warns and the others still run; a disposer unsubscribes', async () => {
    const s = setup({ rateDrop: false, latency: false });
    const seen: string[] = [];
    s.alerts.onFired(() => {
      throw new Error('pager down');
    });
    const off = s.alerts.onFired(() => seen.push('second'));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      run(s, { minutes: 5, rps: 10, status: () => 500 });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(seen).toEqual(['second']);
    expect(s.fired).toHaveLength(1);
    expect(warnings).toContain('pager down');
    off();
    off();
    run(s, { minutes: 10, rps: 10 });
    run(s, { minutes: 5, rps: 10, status: () => 500 });
    expect(seen).toEqual(['second']);
    expect(s.fired).toHaveLength(2);
    expect(() => s.alerts.onFired('x' as never)).toThrow(/listener must be a function/);
  });

  it('close() removes the alert windows: a new evaluator starts from nothing', () => {
    const clock = new ManualClock(T0);
    const red = createRedMetrics({ service: 'orders', clock });
    const first = symptomAlerts(red, { clock, rateDrop: false });
    for (let i = 0; i < 300; i++) red.record('/a', 'GET', 500, 0.01);
    expect(first.evaluate().statuses.find((x) => x.rule === 'error-ratio')!.firing).toBe(true);
    first.close();
    const second = symptomAlerts(red, { clock, rateDrop: false });
    expect(second.evaluate().statuses.find((x) => x.rule === 'error-ratio')!.requests).toBe(0);
  });
});

describe('bad options', () => {
  it('throw TypeErrors naming the option', () => {
    const clock = new ManualClock(T0);
    const red = createRedMetrics({ service: 'orders', clock });
    const cases: [unknown, RegExp][] = [
      [{ windowMs: 0 }, /symptomAlerts: option "windowMs" must be >= 30000/],
      [{ windowMs: 45_000 }, /option "windowMs" must be a multiple of resolutionMs/],
      [{ resolutionMs: 10 }, /option "resolutionMs" must be >= 1000/],
      [{ minRequests: 0 }, /option "minRequests" must be >= 1/],
      [{ minRequests: 'many' }, /option "minRequests" must be a number/],
      [{ perRoute: 'yes' }, /option "perRoute" must be a boolean/],
      [{ intervalMs: 5 }, /option "intervalMs" must be >= 100/],
      [
        { clock: { now: () => 0 } },
        /option "clock" must have now\(\), setTimeout\(\) and clearTimeout\(\)/,
      ],
      [{ rateDrop: { drop: 0 } }, /option "rateDrop.drop" must be > 0/],
      [{ rateDrop: { drop: 1.5 } }, /option "rateDrop.drop" must be <= 1/],
      [{ rateDrop: { baselineMs: 60_000 } }, /option "rateDrop.baselineMs" must be >= 300000/],
      [{ rateDrop: { baseline: 1 } }, /unknown option "rateDrop.baseline"/],
      [{ rateDrop: true }, /option "rateDrop" must be an object/],
      [{ errorRatio: { threshold: -0.1 } }, /option "errorRatio.threshold" must be >= 0/],
      [{ latency: { quantile: 1.5 } }, /option "latency.quantile" must be <= 1/],
      [{ latency: { thresholdSeconds: 0 } }, /option "latency.thresholdSeconds" must be > 0/],
      [{ latency: { p: 99 } }, /unknown option "latency.p"/],
      [{ window: 1 }, /unknown option "window"/],
      [null, /symptomAlerts: options must be an object/],
    ];
    for (const [options, msg] of cases) {
      expect(() => symptomAlerts(red, options as never)).toThrow(TypeError);
      expect(() => symptomAlerts(red, options as never)).toThrow(msg);
    }
    expect(() => symptomAlerts({} as never)).toThrow(/red must come from createRedMetrics\(\)/);
    // Nothing was attached by the failed calls: the recorder still records.
    red.record('/a', 'GET', 200, 0.1);
    expect(red.stats().overall.total.requests).toBe(1);
  });
});
