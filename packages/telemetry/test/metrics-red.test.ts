import { ManualClock } from '@nines/resilience';
import {
  DEFAULT_DURATION_BUCKETS,
  METRICS,
  prometheusRules,
  type Slo,
  sloTracker,
  toRulesYaml,
} from '@nines/slo';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedMetrics, OTHER_ROUTE } from '../src/metrics/red.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { LATENCY_RELATIVE_ERROR } from '../src/metrics/window.js';

const T0 = Date.UTC(2026, 0, 1);

function slo(overrides: Partial<Slo> = {}): Slo {
  return {
    name: 'orders-availability',
    service: 'orders',
    objective: 0.999,
    window: { type: 'rolling', days: 30 },
    sli: { type: 'availability' },
    budgeting: { type: 'occurrences' },
    alerting: { page: true, ticket: true },
    labels: {},
    ...overrides,
  };
}

function latency(thresholdSeconds: number, name = `orders-latency-${thresholdSeconds}`): Slo {
  return slo({
    name,
    sli: { type: 'latency', thresholdSeconds, buckets: [...DEFAULT_DURATION_BUCKETS, 0.2, 0.3] },
  });
}

/** The sample value of one rendered series line, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const H = METRICS.httpServerDuration;

describe('the server histogram', () => {
  it('observes http_server_request_duration_seconds with the METRICS label names', () => {
    const red = createRedMetrics({ service: 'orders', clock: new ManualClock(T0) });
    red.record('/orders/:id', 'GET', 200, 0.02);
    red.record('/orders/:id', 'GET', 200, 0.3);
    red.record(undefined, 'GET', 404, 0.001);
    red.record('/orders', 'BREW', 503, 12);
    const text = red.registry.render();
    const id =
      'service_name="orders",http_route="/orders/:id",http_request_method="GET",http_response_status_code="200"';
    expect(sample(text, `${H}_bucket{${id},le="0.01"}`)).toBe(0);
    expect(sample(text, `${H}_bucket{${id},le="0.025"}`)).toBe(1);
    expect(sample(text, `${H}_bucket{${id},le="0.5"}`)).toBe(2);
    expect(sample(text, `${H}_count{${id}}`)).toBe(2);
    expect(sample(text, `${H}_sum{${id}}`)).toBeCloseTo(0.32, 12);
    // No route: an empty label, never the path. Unknown methods: _OTHER.
    expect(text).toContain(
      `${H}_count{service_name="orders",http_route="",http_request_method="GET",http_response_status_code="404"} 1`,
    );
    expect(text).toContain(
      `${H}_bucket{service_name="orders",http_route="/orders",http_request_method="_OTHER",http_response_status_code="503",le="+Inf"} 1`,
    );
    expect(Object.values(METRICS.labels).every((l) => text.includes(`${l}=`))).toBe(true);
  });

  it('merges the latency SLO thresholds into the buckets, so the generated rules find their le', () => {
    const clock = new ManualClock(T0);
    const slos = [latency(0.2), latency(0.3), latency(0.25)];
    const red = createRedMetrics({
      service: 'orders',
      clock,
      slos: slos.map((s) => ({ tracker: sloTracker(s, { clock }) })),
    });
    expect(red.buckets).toEqual(
      [...new Set([...DEFAULT_DURATION_BUCKETS, 0.2, 0.3])].sort((a, b) => a - b),
    );
    red.record('/a', 'GET', 200, 0.19);
    const text = red.registry.render();
    const yaml = toRulesYaml(prometheusRules(slos));
    const les = [...yaml.matchAll(/le=\\?"([^"\\]+)\\?"/g)].map((m) => m[1]!);
    expect(new Set(les)).toEqual(new Set(['0.2', '0.3', '0.25']));
    for (const le of les) expect(text).toContain(`le="${le}"}`);
    expect(text).toContain('le="0.2"} 1');
  });

  it('keeps base buckets given as an option, adding the thresholds', () => {
    const clock = new ManualClock(T0);
    const red = createRedMetrics({
      service: 'orders',
      clock,
      buckets: [0.1, 1],
      slos: [{ tracker: sloTracker(latency(0.2), { clock }) }],
    });
    expect(red.buckets).toEqual([0.1, 0.2, 1]);
    expect(red.serverDuration.buckets).toEqual([0.1, 0.2, 1]);
  });

  it('shares a registry: series of two services side by side', () => {
    const registry = createMetricsRegistry();
    const a = createRedMetrics({ service: 'a', registry, clock: new ManualClock(T0) });
    const b = createRedMetrics({ service: 'b', registry, clock: new ManualClock(T0) });
    a.record('/x', 'GET', 200, 0.1);
    b.record('/x', 'GET', 200, 0.1);
    const text = registry.render();
    expect(text).toContain('service_name="a"');
    expect(text).toContain('service_name="b"');
    expect(a.serverDuration).toBe(b.serverDuration);
  });
});

describe('feeding the SLO trackers', () => {
  it('availability gets status < 500, latency every status by duration, filtered by route/method', () => {
    const clock = new ManualClock(T0);
    const avail = sloTracker(slo(), { clock });
    const lat = sloTracker(latency(0.2), { clock });
    const idAvail = sloTracker(slo({ name: 'orders-id-availability' }), { clock });
    const postLat = sloTracker(latency(0.2, 'orders-post-latency'), { clock });
    const red = createRedMetrics({
      service: 'orders',
      clock,
      slos: [
        { tracker: avail },
        { tracker: lat },
        { tracker: idAvail, route: '/orders/:id' },
        { tracker: postLat, method: 'POST' },
      ],
    });
    const routes = ['/orders/:id', '/orders', undefined] as const;
    const methods = ['GET', 'POST'] as const;
    const statuses = [200, 201, 404, 499, 500, 503] as const;
    const expected = {
      avail: { good: 0, bad: 0 },
      lat: { good: 0, bad: 0 },
      idAvail: { good: 0, bad: 0 },
      postLat: { good: 0, bad: 0 },
    };
    let n = 0;
    for (const route of routes) {
      for (const method of methods) {
        for (const status of statuses) {
          const seconds = [0.05, 0.2, 0.2000001, 0.9][n++ % 4]!;
          red.record(route, method, status, seconds);
          const ok = status < 500;
          const fast = seconds * 1000 <= 200;
          expected.avail[ok ? 'good' : 'bad']++;
          expected.lat[fast ? 'good' : 'bad']++;
          if (route === '/orders/:id') expected.idAvail[ok ? 'good' : 'bad']++;
          if (method === 'POST') expected.postLat[fast ? 'good' : 'bad']++;
        }
      }
    }
    const counts = (t: typeof avail) => {
      const w = t.window(60_000);
      return { good: w.good, bad: w.bad };
    };
    expect(counts(avail)).toEqual(expected.avail);
    expect(counts(lat)).toEqual(expected.lat);
    expect(counts(idAvail)).toEqual(expected.idAvail);
    expect(counts(postLat)).toEqual(expected.postLat);
    // A 0.2 s request is good (le is inclusive, as in the rules): 9 of the 36 took 0.2 exactly.
    expect(expected.lat.good).toBe(18);
    // Dropped calls feed nothing.
    red.record('/orders', 'GET', 200, Number.NaN);
    expect(counts(avail)).toEqual(expected.avail);
  });

  it('a tracker that throws does not break record(); one warning per binding', async () => {
    const clock = new ManualClock(T0);
    const good = sloTracker(slo(), { clock });
    const broken = sloTracker(slo({ name: 'broken' }), { clock });
    broken.record = () => {
      throw new Error('disk full');
    };
    const red = createRedMetrics({
      service: 'orders',
      clock,
      slos: [{ tracker: broken }, { tracker: good }],
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 3; i++) expect(() => red.record('/a', 'GET', 200, 0.01)).not.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(good.window(60_000).good).toBe(3);
    expect(red.stats().overall.total.requests).toBe(3);
    expect(warnings.filter((w) => w.includes('"broken" threw: disk full'))).toHaveLength(1);
  });
});

describe('in-process views', () => {
  it('rate, error ratio, classes and quantiles over the window; totals since start', async () => {
    const clock = new ManualClock(T0);
    const red = createRedMetrics({
      service: 'orders',
      clock,
      window: { sliceMs: 1000, slices: 10 },
    });
    // 10 s of traffic: 100 requests per second on GET /a, 1 in 20 a 5xx, one in 50 slow.
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 100; i++) {
        const status = i % 20 === 0 ? 503 : i % 20 === 1 ? 404 : i % 20 === 2 ? 302 : 200;
        red.record('/a', 'GET', status, i % 50 === 0 ? 2 : 0.01 + i / 10_000);
      }
      red.record('/b', 'POST', 201, 0.5);
      await clock.advance(1000);
    }
    const st = red.stats();
    expect(st.service).toBe('orders');
    expect(st.at).toBe(T0 + 10_000);
    const a = st.routes.find((r) => r.route === '/a' && r.method === 'GET')!;
    // The window is the 10 slices ending now: the 9 previous seconds and the current one, just
    // begun, so it covers 9 s and the rate is exact.
    expect(a.window.windowMs).toBe(9000);
    expect(a.window.requests).toBe(900);
    expect(a.window.rate).toBeCloseTo(100, 9);
    expect(a.window.errors).toBe(45);
    expect(a.window.errorRatio).toBeCloseTo(0.05, 12);
    expect(a.window.statusClasses).toEqual({
      '1xx': 0,
      '2xx': 765,
      '3xx': 45,
      '4xx': 45,
      '5xx': 45,
    });
    const rel = (got: number | null, want: number) =>
      expect(Math.abs(got! - want) / want).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR);
    // Each second: 98 durations 0.01 + i/10^4 (i = 1..99 but 50), then two of 2 s; nine times.
    // Rank 450 is the 50th distinct value (i = 51), rank 855 the 95th (i = 96), rank 891 a 2 s.
    rel(a.window.p50, 0.01 + 51 / 10_000);
    rel(a.window.p95, 0.01 + 96 / 10_000);
    expect(a.window.p99).toBe(2);
    expect(a.window.maxSeconds).toBe(2);
    expect(a.total.requests).toBe(1000);
    expect(a.total.errors).toBe(50);
    expect(a.total.meanSeconds).toBeGreaterThan(0.01);
    expect(st.overall.route).toBeNull();
    expect(st.overall.total.requests).toBe(1010);
    expect(st.overall.window.statusClasses['2xx']).toBe(765 + 9);
    // After a quiet minute the window is empty, the totals are not.
    await clock.advance(60_000);
    const later = red.stats();
    expect(later.overall.window).toMatchObject({ requests: 0, rate: 0, errorRatio: 0, p99: null });
    expect(later.overall.total.requests).toBe(1010);
    expect(JSON.parse(JSON.stringify(later))).toEqual(later);
  });

  it('counts exactly what was recorded, for any sequence (property)', () => {
    const rec = fc.record({
      route: fc.constantFrom('/a', '/b', undefined),
      method: fc.constantFrom('GET', 'POST', 'WHATEVER'),
      status: fc.integer({ min: 100, max: 599 }),
      seconds: fc.double({ min: 0, max: 30, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 200 }), (recs) => {
        const red = createRedMetrics({ service: 's', clock: new ManualClock(T0) });
        for (const r of recs) red.record(r.route, r.method, r.status, r.seconds);
        const st = red.stats();
        expect(st.overall.total.requests).toBe(recs.length);
        expect(st.overall.window.requests).toBe(recs.length);
        expect(st.overall.total.errors).toBe(recs.filter((r) => r.status >= 500).length);
        const byView = new Map<string, number>();
        for (const r of recs) {
          const m = r.method === 'WHATEVER' ? '_OTHER' : r.method;
          const k = `${r.route ?? ''} ${m}`;
          byView.set(k, (byView.get(k) ?? 0) + 1);
        }
        expect(st.routes).toHaveLength(byView.size);
        for (const v of st.routes) {
          expect(v.total.requests).toBe(byView.get(`${v.route} ${v.method}`));
        }
        const hist = red.registry.collect().find((m) => m.name === H)!;
        const total = hist.series.reduce((n, s) => n + ('count' in s ? s.count : 0), 0);
        expect(total).toBe(recs.length);
      }),
      { numRuns: 100 },
    );
  });

  it('bounds the routes tracked: past maxRoutes, new routes are recorded as _OTHER', () => {
    const red = createRedMetrics({ service: 's', clock: new ManualClock(T0), maxRoutes: 2 });
    for (const r of ['/1', '/2', '/3', '/4', '/1']) red.record(r, 'GET', 200, 0.01);
    red.record(undefined, 'GET', 200, 0.01); // no route never counts against the limit
    const st = red.stats();
    expect(st.routes.map((v) => [v.route, v.total.requests])).toEqual([
      ['/1', 2],
      ['/2', 1],
      [OTHER_ROUTE, 2],
      ['', 1],
    ]);
    expect(red.registry.render()).toContain(`http_route="${OTHER_ROUTE}"`);
  });
});

describe('the client histogram', () => {
  it('records http_client_request_duration_seconds with semconv labels', () => {
    const red = createRedMetrics({ service: 'orders', clock: new ManualClock(T0) });
    red.recordClient('payments', 'POST', 201, 0.04);
    red.recordClient('payments', 'POST', 201, 0.06);
    red.recordClient('payments', 'POST', 503, 0.5, '503');
    red.recordClient('payments', 'GET', undefined, 3, 'timeout');
    const text = red.registry.render();
    const base =
      'http_client_request_duration_seconds_count{service_name="orders",server_address="payments"';
    expect(
      sample(
        text,
        `${base},http_request_method="POST",http_response_status_code="201",error_type=""}`,
      ),
    ).toBe(2);
    expect(
      sample(
        text,
        `${base},http_request_method="POST",http_response_status_code="503",error_type="503"}`,
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        `${base},http_request_method="GET",http_response_status_code="",error_type="timeout"}`,
      ),
    ).toBe(1);
    // Client calls are not served requests.
    expect(red.stats().overall.total.requests).toBe(0);
  });
});

describe('bad input', () => {
  it('drops and counts bad record() and recordClient() calls, and keeps serving', () => {
    const clock = new ManualClock(T0);
    const tracker = sloTracker(slo(), { clock });
    const red = createRedMetrics({ service: 'orders', clock, slos: [{ tracker }] });
    const bad: [unknown, unknown, unknown, unknown][] = [
      ['/a', 'GET', 200, Number.NaN],
      ['/a', 'GET', 200, -0.1],
      ['/a', 'GET', 200, Number.POSITIVE_INFINITY],
      ['/a', 'GET', 200, '0.1'],
      ['/a', 'GET', 99, 0.1],
      ['/a', 'GET', 600, 0.1],
      ['/a', 'GET', 200.5, 0.1],
      ['/a', 'GET', '200', 0.1],
      ['/a', 'GET', Number.NaN, 0.1],
      [42, 'GET', 200, 0.1],
      [null, 'GET', 200, 0.1],
      ['/a', undefined, 200, 0.1],
      ['/a', 7, 200, 0.1],
    ];
    for (const [r, m, s, d] of bad) {
      expect(() => red.record(r as string, m as string, s as number, d as number)).not.toThrow();
    }
    const badClient: [unknown, unknown, unknown, unknown, unknown][] = [
      ['', 'GET', 200, 0.1, undefined],
      [5, 'GET', 200, 0.1, undefined],
      ['db', 'GET', 200, Number.NaN, undefined],
      ['db', 'GET', 700, 0.1, undefined],
      ['db', 'GET', 200, 0.1, 42],
      ['db', null, 200, 0.1, undefined],
    ];
    for (const [d, m, s, t, e] of badClient) {
      expect(() =>
        red.recordClient(d as string, m as string, s as number, t as number, e as string),
      ).not.toThrow();
    }
    expect(red.dropped).toBe(bad.length + badClient.length);
    expect(red.stats().dropped).toBe(red.dropped);
    const st = red.stats();
    expect(st.overall.total.requests).toBe(0);
    expect(st.routes).toHaveLength(0);
    expect(tracker.window(60_000).total).toBe(0);
    expect(red.registry.render()).not.toContain(`${H}_count`);
    // Still serving.
    red.record('/a', 'GET', 200, 0.1);
    red.recordClient('db', 'GET', 200, 0.1);
    expect(red.stats().overall.total.requests).toBe(1);
    expect(tracker.window(60_000).total).toBe(1);
  });

  it('rejects bad options with a TypeError naming the option', () => {
    const clock = new ManualClock(T0);
    const cases: [unknown, RegExp][] = [
      [undefined, /createRedMetrics: options with "service" are required/],
      [{}, /option "service" must be a non-empty string/],
      [{ service: '' }, /option "service"/],
      [{ service: 's', colour: 1 }, /unknown option "colour"/],
      [{ service: 's', registry: {} }, /option "registry" must be a MetricsRegistry/],
      [{ service: 's', buckets: [0.2, 0.1] }, /option "buckets" must be strictly ascending/],
      [{ service: 's', slos: {} }, /option "slos" must be an array/],
      [{ service: 's', slos: [{}] }, /option "slos\[0\].tracker" must be an SloTracker/],
      [{ service: 's', slos: [{ tracker: 5 }] }, /option "slos\[0\].tracker"/],
      [
        { service: 's', slos: [{ tracker: sloTracker(slo(), { clock }) }] },
        /"slos\[0\].tracker" tracks SLO "orders-availability" of service "orders", not "s"/,
      ],
      [
        { service: 'orders', slos: [{ tracker: sloTracker(slo(), { clock }), route: 3 }] },
        /option "slos\[0\].route" must be a string/,
      ],
      [
        { service: 'orders', slos: [{ tracker: sloTracker(slo(), { clock }), verb: 'GET' }] },
        /unknown option "slos\[0\].verb"/,
      ],
      [{ service: 's', clock: {} }, /option "clock" must have a now\(\) method/],
      [{ service: 's', window: { sliceMs: 10 } }, /option "window" needs both/],
      [
        { service: 's', window: { sliceMs: 10, slices: 5 } },
        /option "window.sliceMs" must be >= 100/,
      ],
      [{ service: 's', window: { sliceMs: 1000, slices: 0 } }, /option "window.slices"/],
      [{ service: 's', maxRoutes: 0 }, /option "maxRoutes" must be >= 1/],
      [{ service: 's', maxRoutes: 1.5 }, /option "maxRoutes" must be an integer/],
    ];
    for (const [options, msg] of cases) {
      expect(() => createRedMetrics(options as never)).toThrow(TypeError);
      expect(() => createRedMetrics(options as never)).toThrow(msg);
    }
  });

  it('two recorders on one registry with different buckets conflict at creation', () => {
    const registry = createMetricsRegistry();
    createRedMetrics({ service: 'a', registry, clock: new ManualClock(T0) });
    expect(() =>
      createRedMetrics({ service: 'b', registry, buckets: [1, 2], clock: new ManualClock(T0) }),
    ).toThrow(/http_server_request_duration_seconds" is already registered/);
  });
});
