import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { createRedMetrics, instrumentHttp, type RedMetrics } from '@nines/telemetry';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CounterHistory } from '../src/experiment/metrics/counter-history.js';
import { parsePrometheusText, type Sample } from '../src/experiment/metrics/prometheus-text.js';
import {
  createMetricsRecorder,
  type MetricsRecorder,
  type WindowStats,
} from '../src/experiment/metrics/recorder.js';

const H = 'http_server_request_duration_seconds';
const S = 1000;

function manualClock(start = 0) {
  return {
    t: start,
    now() {
      return this.t;
    },
    advance(ms: number) {
      this.t += ms;
    },
  };
}

/** A service instance: a real @nines/telemetry RED registry; a restart is a new one. */
class Instance {
  red: RedMetrics;
  constructor(readonly service = 'orders') {
    this.red = createRedMetrics({ service });
  }
  hit(n: number, route: string, status = 200, seconds = 0.05, method = 'GET'): this {
    for (let i = 0; i < n; i++) this.red.record(route, method, status, seconds);
    return this;
  }
  restart(): this {
    this.red = createRedMetrics({ service: this.service });
    return this;
  }
  samples(): Sample[] {
    return parsePrometheusText(this.red.registry.render());
  }
}

function bucket(s: WindowStats, le: number): number | undefined {
  return s.buckets.find((b) => b.le === le)?.count;
}

function fixture(retainMs?: number) {
  const clock = manualClock();
  const recorder = createMetricsRecorder({
    targets: [{ name: 'orders', urls: ['http://a/metrics', 'http://b/metrics'] }],
    clock,
    ...(retainMs === undefined ? {} : { retainMs }),
  });
  const snap = (url: string, inst: Instance) =>
    recorder.record('orders', url, inst.samples(), clock.now());
  return { clock, recorder, snap };
}

describe('MetricsRecorder windows (manual clock)', () => {
  it('measures the increase from the snapshot at or before now - window to the newest', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance();
    snap('http://a/metrics', a); // t=0, no series yet
    for (let i = 1; i <= 6; i++) {
      clock.advance(10 * S);
      a.hit(10, '/orders/:id', 200, 0.05).hit(1, '/orders/:id', 503, 0.3);
      snap('http://a/metrics', a);
    }
    const w30 = recorder.window('orders', {}, 30 * S);
    expect(w30).toMatchObject({
      requests: 33,
      errors: 3,
      fromMs: 30 * S,
      toMs: 60 * S,
      coveredMs: 30 * S,
      complete: true,
    });
    expect(bucket(w30, 0.05)).toBe(30);
    expect(bucket(w30, 0.25)).toBe(30);
    expect(bucket(w30, 0.5)).toBe(33);
    expect(w30.buckets.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, count: 33 });
    // Ascending boundaries, cumulative counts.
    for (let i = 1; i < w30.buckets.length; i++) {
      expect(w30.buckets[i]!.le).toBeGreaterThan(w30.buckets[i - 1]!.le);
      expect(w30.buckets[i]!.count).toBeGreaterThanOrEqual(w30.buckets[i - 1]!.count);
    }

    // Between scrapes, the window still starts at the snapshot at or before now - window.
    clock.advance(5 * S);
    expect(recorder.window('orders', {}, 30 * S)).toMatchObject({
      requests: 33,
      fromMs: 30 * S,
      toMs: 60 * S,
      complete: true,
    });
    // Series born after the first snapshot count from zero (their first requests are not lost).
    expect(recorder.window('orders', {}, 65 * S)).toMatchObject({
      requests: 66,
      errors: 6,
      fromMs: 0,
      complete: true,
    });
    // History shorter than the window: from the oldest snapshot, incomplete.
    expect(recorder.window('orders', {}, 66 * S)).toMatchObject({
      requests: 66,
      fromMs: 0,
      coveredMs: 60 * S,
      complete: false,
    });
  });

  it('with one snapshot only: no requests, nothing covered, incomplete', () => {
    const { recorder, snap } = fixture();
    snap('http://a/metrics', new Instance().hit(50, '/x'));
    const w = recorder.window('orders', {}, 60 * S);
    expect(w).toMatchObject({ requests: 0, errors: 0, coveredMs: 0, complete: false });
    expect(bucket(w, Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('without any snapshot: zeros, no buckets, incomplete', () => {
    const { clock, recorder } = fixture();
    clock.advance(7 * S);
    expect(recorder.window('orders', {}, 60 * S)).toEqual({
      requests: 0,
      errors: 0,
      buckets: [],
      fromMs: 7 * S,
      toMs: 7 * S,
      coveredMs: 0,
      complete: false,
    });
  });

  it('counts a counter reset like increase(): the new value is the increase since the reset', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance().hit(90, '/x');
    snap('http://a/metrics', a);
    clock.advance(10 * S);
    snap('http://a/metrics', a.hit(10, '/x'));
    clock.advance(10 * S);
    snap('http://a/metrics', a.restart().hit(5, '/x'));
    expect(recorder.window('orders', {}, 20 * S).requests).toBe(15);
    expect(bucket(recorder.window('orders', {}, 20 * S), 0.05)).toBe(15);
    clock.advance(10 * S);
    snap('http://a/metrics', a.hit(7, '/x'));
    expect(recorder.window('orders', {}, 30 * S).requests).toBe(22);
    expect(recorder.window('orders', {}, 10 * S).requests).toBe(7);
  });

  it('sees a restart whose counters already climbed past the old values (a series vanished)', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance().hit(200, '/x').hit(3, '/x', 503);
    snap('http://a/metrics', a);
    clock.advance(10 * S);
    snap('http://a/metrics', a.restart().hit(250, '/x')); // no 503 series in the new process
    expect(recorder.window('orders', {}, 10 * S)).toMatchObject({ requests: 250, errors: 0 });
  });

  it('sees a restart from process_start_time_seconds', () => {
    const { clock, recorder } = fixture();
    const at = (count: number, start: number): Sample[] => [
      { name: 'process_start_time_seconds', labels: {}, value: start },
      { name: `${H}_count`, labels: { service_name: 'orders' }, value: count },
    ];
    recorder.record('orders', 'src', at(100, 1000), clock.now());
    clock.advance(10 * S);
    recorder.record('orders', 'src', at(130, 1000), clock.now());
    clock.advance(10 * S);
    recorder.record('orders', 'src', at(140, 1015), clock.now()); // restarted, already at 140
    expect(recorder.window('orders', {}, 10 * S).requests).toBe(140);
    expect(recorder.window('orders', {}, 20 * S).requests).toBe(170);
  });

  it('counts a series that first appears mid-window from zero', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance().hit(100, '/x');
    snap('http://a/metrics', a);
    clock.advance(10 * S);
    snap('http://a/metrics', a.hit(10, '/x').hit(4, '/x', 503));
    expect(recorder.window('orders', {}, 10 * S)).toMatchObject({ requests: 14, errors: 4 });
  });

  it('sums instances per series first, so a restart of one does not disturb the other', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance().hit(1000, '/x');
    const b = new Instance().hit(10, '/x');
    snap('http://a/metrics', a);
    snap('http://b/metrics', b);
    clock.advance(10 * S);
    snap('http://a/metrics', a.hit(20, '/x'));
    snap('http://b/metrics', b.restart().hit(3, '/x'));
    expect(recorder.window('orders', {}, 10 * S).requests).toBe(23);
    // Summed across instances (no restart): 20 + 30.
    clock.advance(10 * S);
    snap('http://a/metrics', a.hit(20, '/x'));
    snap('http://b/metrics', b.hit(30, '/x', 500));
    expect(recorder.window('orders', {}, 10 * S)).toMatchObject({ requests: 50, errors: 30 });
  });

  it('an instance that is down adds nothing meanwhile, and what it served counts when it is back', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance();
    const b = new Instance();
    snap('http://a/metrics', a);
    snap('http://b/metrics', b);
    for (let i = 0; i < 3; i++) {
      clock.advance(10 * S);
      snap('http://a/metrics', a.hit(10, '/x')); // b is not answering
    }
    expect(recorder.window('orders', {}, 30 * S)).toMatchObject({
      requests: 30,
      fromMs: 0,
      toMs: 30 * S,
      complete: true,
    });
    b.hit(4, '/x'); // served while unreachable to the scraper
    clock.advance(10 * S);
    snap('http://b/metrics', b);
    snap('http://a/metrics', a);
    expect(recorder.window('orders', {}, 40 * S).requests).toBe(34);
  });

  it('an instance gone for longer than the window does not stretch the covered span', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance();
    const b = new Instance().hit(5, '/x');
    snap('http://a/metrics', a);
    snap('http://b/metrics', b);
    clock.advance(10 * S);
    snap('http://b/metrics', b.hit(5, '/x')); // b's last answer; a never answers again
    for (let i = 0; i < 10; i++) {
      clock.advance(10 * S);
      snap('http://b/metrics', b.hit(5, '/x'));
    }
    const w = recorder.window('orders', {}, 30 * S);
    expect(w).toMatchObject({ requests: 15, fromMs: 80 * S, toMs: 110 * S, coveredMs: 30 * S });
  });

  it('filters by service, route and method', () => {
    const { clock, recorder, snap } = fixture();
    const a = new Instance('orders');
    const p = new Instance('payments');
    snap('http://a/metrics', a);
    snap('http://b/metrics', p);
    clock.advance(10 * S);
    a.hit(10, '/orders/:id').hit(2, '/orders/:id', 503).hit(5, '/orders', 201, 0.3, 'POST');
    p.hit(7, '/pay', 200, 0.05, 'POST');
    snap('http://a/metrics', a);
    snap('http://b/metrics', p);
    const w = (f: object) => recorder.window('orders', f, 10 * S);
    expect(w({}).requests).toBe(24);
    expect(w({ service: 'orders' })).toMatchObject({ requests: 17, errors: 2 });
    expect(w({ service: 'payments' })).toMatchObject({ requests: 7, errors: 0 });
    expect(w({ route: '/orders/:id' })).toMatchObject({ requests: 12, errors: 2 });
    expect(w({ method: 'POST' }).requests).toBe(12);
    expect(w({ service: 'orders', method: 'POST' }).requests).toBe(5);
    expect(bucket(w({ service: 'orders', method: 'POST' }), 0.25)).toBe(0);
    expect(bucket(w({ service: 'orders', method: 'POST' }), 0.5)).toBe(5);
    expect(w({ route: '/nope' })).toMatchObject({ requests: 0, buckets: [] });
  });

  it('lists only boundaries every matching histogram has, summed exactly', () => {
    const { clock, recorder } = fixture();
    const snap = (le: string[], counts: number[], route: string): Sample[] => [
      ...le.map((l, i) => ({
        name: `${H}_bucket`,
        labels: { http_route: route, le: l },
        value: counts[i]!,
      })),
      { name: `${H}_count`, labels: { http_route: route }, value: counts.at(-1)! },
    ];
    recorder.record(
      'orders',
      's',
      [
        ...snap(['0.1', '0.2', '+Inf'], [0, 0, 0], 'a'),
        ...snap(['0.1', '0.3', '+Inf'], [0, 0, 0], 'b'),
      ],
      0,
    );
    clock.advance(S);
    recorder.record(
      'orders',
      's',
      [
        ...snap(['0.1', '0.2', '+Inf'], [1, 3, 4], 'a'),
        ...snap(['0.1', '0.3', '+Inf'], [2, 5, 6], 'b'),
      ],
      S,
    );
    expect(recorder.window('orders', {}, S).buckets).toEqual([
      { le: 0.1, count: 3 },
      { le: Number.POSITIVE_INFINITY, count: 10 },
    ]);
    expect(recorder.window('orders', { route: 'a' }, S).buckets).toEqual([
      { le: 0.1, count: 1 },
      { le: 0.2, count: 3 },
      { le: Number.POSITIVE_INFINITY, count: 4 },
    ]);
  });

  it('drops history older than retainMs, keeping what the longest window needs', () => {
    const { clock, recorder, snap } = fixture(60 * S);
    const a = new Instance();
    const b = new Instance();
    snap('http://b/metrics', b); // b answers once and never again
    for (let i = 0; i <= 30; i++) {
      snap('http://a/metrics', a.hit(1, '/x'));
      clock.advance(10 * S);
    }
    clock.advance(-10 * S); // back to the last snapshot's time, 300 s
    const w = recorder.window('orders', {}, 60 * S);
    expect(w).toMatchObject({ requests: 6, fromMs: 240 * S, toMs: 300 * S, complete: true });
    expect(() => recorder.window('orders', {}, 61 * S)).toThrow(
      /window: argument "windowMs" \(61000\) is longer than the history kept \(retainMs 60000\)/,
    );
  });

  it('keeps a counter history bounded by retention however long it runs', () => {
    const h = new CounterHistory();
    for (let t = 0; t < 100_000; t++) {
      h.push(t, t * 2, false);
      h.prune(t - 500);
      expect(h.times.length - h.head).toBeLessThanOrEqual(502);
    }
    expect(h.times.length).toBeLessThan(1100);
    expect(h.increase(99_600, 99_999)).toBe(798);
    expect(h.increase(0, 99_999)).toBe(99_999 * 2 - 99_499 * 2); // from the oldest kept
  });
});

// --- scraping real servers ----------------------------------------------------------------------

describe('MetricsRecorder.scrape over HTTP', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function listen(server: HttpServer | Server, sockets?: Set<Socket>): Promise<number> {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets ?? []) s.destroy();
          if ('closeAllConnections' in server) server.closeAllConnections();
          server.close(() => r());
        }),
    );
    return (server.address() as AddressInfo).port;
  }

  async function service(): Promise<{ port: number; red: RedMetrics }> {
    const red = createRedMetrics({ service: 'orders' });
    const server = createHttpServer(
      instrumentHttp(
        (req, res) => {
          if (req.url === '/metrics') res.end(red.registry.render());
          else {
            res.statusCode = req.url === '/fail' ? 502 : 200;
            res.end();
          }
        },
        {
          routes: ['/ok', '/fail'],
          ignore: (req) => req.url === '/metrics',
          sinks: [(f) => red.record(f.route, f.method, f.status, f.durationSeconds)],
        },
      ),
    );
    return { port: await listen(server), red };
  }

  async function closedPort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it('scrapes instances in parallel, sums them, and reports down and bad endpoints without throwing', async () => {
    const one = await service();
    const two = await service();
    const down = await closedPort();
    const status500 = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = 500;
        res.end('oops');
      }),
    );
    const garbage = await listen(createHttpServer((_req, res) => res.end('ok 1\nnot{valid\n')));
    const hanging = new Set<Socket>();
    const hangServer = createServer((s) => hanging.add(s));
    const hang = await listen(hangServer, hanging);

    const clock = manualClock(1_000_000);
    const urls = [one, two].map((s) => `http://127.0.0.1:${s.port}/metrics`);
    const recorder = createMetricsRecorder({
      targets: [
        { name: 'orders', urls },
        {
          name: 'broken',
          urls: [
            `http://127.0.0.1:${down}/metrics`,
            `http://127.0.0.1:${status500}/metrics`,
            `http://127.0.0.1:${garbage}/metrics`,
            `http://127.0.0.1:${hang}/metrics`,
          ],
        },
      ],
      clock,
      timeoutMs: 300,
    });
    const first = await recorder.scrape();
    expect(first.map((r) => [r.target, r.ok])).toEqual([
      ['orders', true],
      ['orders', true],
      ['broken', false],
      ['broken', false],
      ['broken', false],
      ['broken', false],
    ]);
    expect(first[0]?.url).toBe(urls[0]);
    expect(first[2]?.error).toMatch(/ECONNREFUSED/);
    expect(first[3]?.error).toBe('HTTP 500');
    expect(first[4]?.error).toMatch(/^metrics text line 2: unterminated label set/);
    expect(first[5]?.error).toBe('timed out after 300 ms');
    for (const r of first.slice(2)) expect(r.samples).toBe(0);

    for (let i = 0; i < 6; i++) await fetch(`http://127.0.0.1:${one.port}/ok`);
    for (let i = 0; i < 2; i++) await fetch(`http://127.0.0.1:${two.port}/fail`);
    await fetch(`http://127.0.0.1:${two.port}/ok`);
    // The instrumentation records a request when its response finished: wait, bounded.
    const deadline = Date.now() + 5000;
    while (
      one.red.stats().overall.total.requests < 6 ||
      two.red.stats().overall.total.requests < 3
    ) {
      if (Date.now() > deadline) throw new Error('requests not recorded in time');
      await new Promise((r) => setTimeout(r, 5));
    }
    clock.advance(15 * S);
    const second = await recorder.scrape();
    expect(second[0]?.ok && second[1]?.ok).toBe(true);
    expect(second[0]?.samples).toBeGreaterThan(10);
    const w = recorder.window('orders', {}, 15 * S);
    expect(w).toMatchObject({ requests: 9, errors: 2, coveredMs: 15 * S, complete: true });
    expect(recorder.window('orders', { route: '/fail' }, 15 * S).requests).toBe(2);
    expect(recorder.window('broken', {}, 15 * S)).toMatchObject({ requests: 0, complete: false });
  });

  it('uses the fetch it is given, and survives one that throws or returns nonsense', async () => {
    const calls: string[] = [];
    let mode = 0;
    const fakeFetch = (async (input: string | URL | Request) => {
      calls.push(String(input));
      if (mode === 0) return new Response(`${H}_count{http_route="/x"} 5\n`);
      if (mode === 1) throw new Error('boom');
      return 42;
    }) as typeof fetch;
    const clock = manualClock();
    const recorder = createMetricsRecorder({
      targets: [{ name: 't', urls: ['http://x/metrics'] }],
      clock,
      fetch: fakeFetch,
    });
    expect(await recorder.scrape()).toEqual([
      { target: 't', url: 'http://x/metrics', ok: true, samples: 1 },
    ]);
    mode = 1;
    clock.advance(S);
    expect((await recorder.scrape())[0]).toMatchObject({ ok: false, error: 'boom' });
    mode = 2;
    expect((await recorder.scrape())[0]?.ok).toBe(false);
    expect(calls).toEqual(['http://x/metrics', 'http://x/metrics', 'http://x/metrics']);
  });

  it('a clock that steps back does not put snapshots out of order', async () => {
    let n = 0;
    const clock = manualClock(100 * S);
    const recorder = createMetricsRecorder({
      targets: [{ name: 't', urls: ['http://x/metrics'] }],
      clock,
      fetch: (async () => new Response(`${H}_count 1${n++}\n`)) as typeof fetch,
    });
    await recorder.scrape(); // 10 at 100 s
    clock.advance(-50 * S);
    await recorder.scrape(); // 11, recorded at 100 s, not 50 s
    clock.advance(60 * S);
    await recorder.scrape(); // 12 at 110 s
    expect(recorder.window('t', {}, 10 * S)).toMatchObject({
      requests: 1,
      fromMs: 100 * S,
      toMs: 110 * S,
    });
    expect(recorder.window('t', {}, 20 * S)).toMatchObject({ requests: 2, complete: false });
  });
});

// --- bad input ----------------------------------------------------------------------------------

describe('MetricsRecorder bad input', () => {
  const target = { name: 'orders', urls: ['http://127.0.0.1:9/metrics'] };
  const cases: Array<[string, unknown, RegExp]> = [
    ['no options', undefined, /options must be an object, got undefined/],
    ['null', null, /options must be an object, got null/],
    ['unknown option', { targets: [target], retain: 1 }, /unknown option "retain"/],
    ['no targets', {}, /option "targets" must be a non-empty array, got undefined/],
    ['empty targets', { targets: [] }, /option "targets" must be a non-empty array/],
    ['target not object', { targets: ['x'] }, /option "targets\[0\]" must be an object/],
    ['unnamed', { targets: [{ urls: target.urls }] }, /"targets\[0\]\.name" must be a non-empty/],
    [
      'repeated name',
      { targets: [target, target] },
      /option "targets\[1\]\.name" repeats "orders"/,
    ],
    ['no urls', { targets: [{ name: 'x', urls: [] }] }, /"targets\[0\]\.urls" must be a non-empty/],
    [
      'not http',
      { targets: [{ name: 'x', urls: ['ftp://h/m'] }] },
      /"targets\[0\]\.urls\[0\]" must be an http\(s\) URL, got string "ftp:\/\/h\/m"/,
    ],
    [
      'not a url',
      { targets: [{ name: 'x', urls: ['http://ok/', 'nope'] }] },
      /"targets\[0\]\.urls\[1\]" must be an http\(s\) URL/,
    ],
    [
      'repeated url',
      { targets: [{ name: 'x', urls: ['http://a/', 'http://a/'] }] },
      /"targets\[0\]\.urls\[1\]" repeats/,
    ],
    ['clock', { targets: [target], clock: Date }, /option "clock" must have now\(\)/],
    ['fetch', { targets: [target], fetch: 'fetch' }, /option "fetch" must be a function/],
    ['timeout', { targets: [target], timeoutMs: -1 }, /option "timeoutMs" must be > 0, got -1/],
    ['timeout NaN', { targets: [target], timeoutMs: Number.NaN }, /"timeoutMs" must be a number/],
    ['retain', { targets: [target], retainMs: 0 }, /option "retainMs" must be > 0, got 0/],
  ];
  for (const [what, options, message] of cases) {
    it(`createMetricsRecorder rejects ${what}`, () => {
      let err: unknown;
      try {
        createMetricsRecorder(options as Parameters<typeof createMetricsRecorder>[0]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(/^createMetricsRecorder: /);
      expect((err as Error).message).toMatch(message);
    });
  }

  function ready(): { recorder: MetricsRecorder; before: WindowStats } {
    const clock = manualClock();
    const recorder = createMetricsRecorder({ targets: [target], clock });
    const a = new Instance().hit(3, '/x');
    recorder.record('orders', 'src', a.samples(), 0);
    clock.advance(S);
    recorder.record('orders', 'src', a.hit(4, '/x', 500).samples(), S);
    return { recorder, before: recorder.window('orders', {}, S) };
  }

  it('window rejects bad arguments with the argument named, and keeps its data', () => {
    const { recorder, before } = ready();
    expect(before).toMatchObject({ requests: 4, errors: 4 });
    const bad: Array<[unknown[], RegExp]> = [
      [['nope', {}, S], /MetricsRecorder\.window: unknown target "nope" \(known: orders\)/],
      [[1, {}, S], /argument "target" must be a string, got number 1/],
      [['orders', null, S], /option "filter" must be an object, got null/],
      [['orders', { path: '/x' }, S], /unknown option "filter\.path"/],
      [['orders', { route: 5 }, S], /argument "filter\.route" must be a string, got number 5/],
      [['orders', {}, 0], /argument "windowMs" must be a positive number, got number 0/],
      [['orders', {}, -5], /argument "windowMs" must be a positive number/],
      [['orders', {}, Number.NaN], /argument "windowMs" must be a positive number, got NaN/],
      [['orders', {}, '60s'], /argument "windowMs" must be a positive number, got string "60s"/],
      [['orders', {}, Number.POSITIVE_INFINITY], /argument "windowMs" must be a positive number/],
    ];
    for (const [args, message] of bad) {
      expect(() => (recorder.window as (...a: unknown[]) => unknown)(...args)).toThrow(message);
    }
    expect(recorder.window('orders', {}, S)).toEqual(before);
  });

  it('record rejects bad arguments with the argument named, and keeps its data', () => {
    const { recorder, before } = ready();
    const ok: Sample[] = [];
    const bad: Array<[unknown[], RegExp]> = [
      [['nope', 'src', ok, 2 * S], /MetricsRecorder\.record: unknown target "nope"/],
      [['orders', '', ok, 2 * S], /argument "url" must be a non-empty string/],
      [['orders', 'src', 'm 1', 2 * S], /argument "samples" must be an array, got string/],
      [
        ['orders', 'src', [{ name: 'm' }], 2 * S],
        /argument "samples\[0\]" must be \{ name, labels, value \}/,
      ],
      [['orders', 'src', [null], 2 * S], /argument "samples\[0\]"/],
      [['orders', 'src', ok, Number.NaN], /argument "atMs" must be a finite number, got NaN/],
      [
        ['orders', 'src', ok, S - 1],
        /argument "atMs" \(999\) is earlier than the last snapshot of src \(1000\)/,
      ],
    ];
    for (const [args, message] of bad) {
      expect(() => (recorder.record as (...a: unknown[]) => unknown)(...args)).toThrow(message);
    }
    expect(recorder.window('orders', {}, S)).toEqual(before);
  });
});

// --- property: the recorder against a reference model ------------------------------------------

const LES = ['0.1', '1', '+Inf'];
const SERIES = [
  { route: 'a', status: '200' },
  { route: 'a', status: '503' },
  { route: 'b', status: '200' },
];

interface Proc {
  start: number;
  /** Per series index: [count, bucket counts per LES], created on first observation. */
  counts: Map<number, number[]>;
}

function procSamples(p: Proc): Sample[] {
  const out: Sample[] = [{ name: 'process_start_time_seconds', labels: {}, value: p.start }];
  for (const [i, c] of p.counts) {
    const labels = { http_route: SERIES[i]!.route, http_response_status_code: SERIES[i]!.status };
    LES.forEach((le, j) => {
      out.push({ name: `${H}_bucket`, labels: { ...labels, le }, value: c[j + 1]! });
    });
    out.push({ name: `${H}_count`, labels, value: c[0]! });
  }
  return out;
}

const stepArb = fc.record({
  dt: fc.integer({ min: 1, max: 20 }).map((s) => s * S),
  urls: fc.array(
    fc.record({
      observations: fc.array(
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom(0.05, 0.5, 3)),
        { maxLength: 5 },
      ),
      restart: fc.boolean(),
      up: fc.boolean(),
    }),
    { minLength: 2, maxLength: 2 },
  ),
});

describe('MetricsRecorder property', () => {
  it('windows equal a reference increase() over each source, and retention does not change them', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 200 }).map((s) => s * S),
        (steps, windowMs) => {
          const clock = manualClock();
          const urls = ['u0', 'u1'];
          const make = (retainMs: number) =>
            createMetricsRecorder({
              targets: [{ name: 't', urls: ['http://x/'] }],
              clock,
              retainMs,
            });
          const full = make(10_000 * S);
          const short = make(200 * S);
          const procs: Proc[] = urls.map(() => ({ start: 0, counts: new Map() }));
          // Reference: per source, snapshots of (time, per-series delta since the previous).
          const snaps: Array<Array<{ at: number; delta: number[][] }>> = urls.map(() => []);
          const prev: Array<Map<number, number[]> | undefined> = urls.map(() => undefined);
          const restarted = urls.map(() => false);
          let starts = 1;
          for (const step of steps) {
            clock.advance(step.dt);
            step.urls.forEach((u, k) => {
              const p = procs[k]!;
              if (u.restart) {
                p.start = starts++;
                p.counts = new Map();
                restarted[k] = true;
              }
              for (const [i, seconds] of u.observations) {
                let c = p.counts.get(i);
                if (c === undefined) {
                  c = [0, 0, 0, 0];
                  p.counts.set(i, c);
                }
                c[0]!++;
                LES.forEach((le, j) => {
                  if (le === '+Inf' || seconds <= Number(le)) c[j + 1]!++;
                });
              }
              if (!u.up) return;
              const now = new Map([...p.counts].map(([i, c]) => [i, [...c]]));
              const before = prev[k];
              const delta = SERIES.map((_, i) => {
                const cur = now.get(i) ?? [0, 0, 0, 0];
                if (before === undefined) return [0, 0, 0, 0];
                const old = before.get(i) ?? [0, 0, 0, 0];
                return cur.map((v, j) => (restarted[k] ? v : v - old[j]!));
              });
              snaps[k]!.push({ at: clock.now(), delta });
              prev[k] = now;
              restarted[k] = false;
              full.record('t', urls[k]!, procSamples(p), clock.now());
              short.record('t', urls[k]!, procSamples(p), clock.now());
            });
          }
          const start = clock.now() - windowMs;
          const expected = [0, 0, 0, 0];
          let errors = 0;
          for (const list of snaps) {
            let from = list.findLastIndex((s) => s.at <= start);
            if (from === -1) from = 0;
            for (let i = from + 1; i < list.length; i++) {
              list[i]!.delta.forEach((d, si) => {
                d.forEach((v, j) => {
                  expected[j]! += v;
                });
                if (SERIES[si]!.status === '503') errors += d[0]!;
              });
            }
          }
          for (const rec of [full, short]) {
            const w = rec.window('t', {}, windowMs);
            expect(w.requests).toBe(expected[0]);
            expect(w.errors).toBe(errors);
            if (w.buckets.length > 0) {
              expect(w.buckets.map((b) => b.count)).toEqual(expected.slice(1));
            } else expect(expected[0]).toBe(0);
            expect(w.coveredMs).toBe(w.toMs - w.fromMs);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
