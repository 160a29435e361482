// The orders system of the demo (examples/orders) as real processes on loopback: the third-party
// price stub, the SQLite store, pricing with its stale fallback, and the orders API with its
// breakers and SLOs. Every child is killed and every in-test server closed after each test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOtlpReceiver } from '@nines/telemetry';
import { afterEach, describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../../examples/orders/', import.meta.url));
const PROMTOOL = '/usr/bin/promtool';

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly out: string[];
  readonly err: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface Service extends Proc {
  readonly port: number;
  readonly pid: number;
  readonly url: string;
  readonly ready: Record<string, unknown>;
}

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  // Cleanups first (they stop in-test traffic), then every child still running is killed.
  for (const f of cleanups.splice(0)) await f();
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
});

async function until<T>(fn: () => T | undefined | false | null, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function untilAsync<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(name: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [join(dir, `${name}.js`)], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out: string[] = [];
  const err: string[] = [];
  const collect = (into: string[]) => {
    let rest = '';
    return (d: Buffer) => {
      const parts = (rest + d.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      into.push(...parts);
    };
  };
  child.stdout?.on('data', collect(out));
  child.stderr?.on('data', collect(err));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close': the process ended and its output was read to the end.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { name, child, out, err, exited };
}

async function start(name: string, env: Record<string, string> = {}): Promise<Service> {
  const p = run(name, env);
  let ended = false;
  void p.exited.then(() => {
    ended = true;
  });
  const line = await until(
    () => {
      if (ended) throw new Error(`${name} exited before it was ready: ${p.err.join('\n')}`);
      return p.out.find((l) => l.startsWith('{"ready":true'));
    },
    `${name} to print its ready line`,
    15_000,
  );
  const ready = JSON.parse(line) as { port: number; pid: number };
  return { ...p, ready, port: ready.port, pid: ready.pid, url: `http://127.0.0.1:${ready.port}` };
}

/** external, store, pricing and orders, wired to each other. */
async function startSystem(env: Record<string, string> = {}) {
  const [external, store] = await Promise.all([
    start('external'),
    start('store', { DATA_DIR: ':memory:', ...env }),
  ]);
  const pricing = await start('pricing', { EXTERNAL_URL: external.url, ...env });
  const orders = await start('orders', {
    STORE_URL: store.url,
    PRICING_URL: pricing.url,
    ...env,
  });
  return { external, store, pricing, orders };
}

async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM') {
  p.child.kill(signal);
  return p.exited;
}

/** JSON log lines of a process (the ready line included). */
function logs(p: Proc): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const l of p.out) {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not JSON: ignored
    }
  }
  return lines;
}

async function get(url: string, init?: RequestInit) {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(5000), ...init });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, ms: performance.now() - started };
}

async function getJson(url: string, init?: RequestInit) {
  const r = await get(url, init);
  return { ...r, body: JSON.parse(r.text) as Record<string, unknown> };
}

function post(url: string, body: unknown) {
  return getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function metric(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** An in-test HTTP server on 127.0.0.1, closed after the test. */
async function server(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}

describe('the orders system', () => {
  it('starts each service with a ready line, answers /ready and /metrics, and stops on SIGTERM with exit 0', async () => {
    const sys = await startSystem();
    for (const [name, s] of Object.entries(sys)) {
      expect(s.ready).toEqual({ ready: true, service: name, port: s.port, pid: s.child.pid });
    }
    // The third-party stub: a deterministic price, 404 elsewhere.
    const price = await getJson(`${sys.external.url}/prices/SKU-007`);
    expect(price.status).toBe(200);
    expect(price.body).toEqual({ sku: 'SKU-007', price: expect.any(Number), currency: 'EUR' });
    expect((await getJson(`${sys.external.url}/prices/SKU-007`)).body.price).toBe(price.body.price);
    expect((await get(`${sys.external.url}/nothing`)).status).toBe(404);

    // Some traffic, so the metrics have series.
    expect((await get(`${sys.orders.url}/orders/3`)).status).toBe(200);
    for (const s of [sys.store, sys.pricing, sys.orders]) {
      const ready = await getJson(`${s.url}/ready`);
      expect(ready.status, `${s.name} /ready`).toBe(200);
      expect(ready.body.status).toBe('ok');
      expect((await get(`${s.url}/healthz`)).status).toBe(200);
      const m = await get(`${s.url}/metrics`);
      expect(m.status).toBe(200);
      expect(m.text).toContain(
        `http_server_request_duration_seconds_count{service_name="${s.name}"`,
      );
      if (existsSync(PROMTOOL)) {
        const check = spawnSync(PROMTOOL, ['check', 'metrics'], {
          input: m.text,
          encoding: 'utf8',
        });
        expect(check.status, `${s.name}: ${check.stdout}${check.stderr}`).toBe(0);
      }
    }
    // The latency SLO's 200 ms threshold is a bucket boundary of orders' histogram.
    const om = (await get(`${sys.orders.url}/metrics`)).text;
    expect(om).toMatch(/http_server_request_duration_seconds_bucket\{[^}]*le="0\.2"\}/);
    expect(metric(om, 'nines_circuit_breaker_state{name="store",state="closed"}')).toBe(1);
    expect(metric(om, 'nines_circuit_breaker_state{name="pricing",state="closed"}')).toBe(1);

    const ports = Object.values(sys).map((s) => s.port);
    const exits = await Promise.all(Object.values(sys).map((s) => stop(s)));
    expect(exits).toEqual(ports.map(() => ({ code: 0, signal: null })));
    for (const port of ports) expect(await refused(port)).toBe(true);
    expect(logs(sys.orders).some((l) => l.msg === 'shutting down' && l.reason === 'SIGTERM')).toBe(
      true,
    );
  });

  it('refuses bad configuration with a message naming the variable', async () => {
    const noStore = run('orders', { PRICING_URL: 'http://127.0.0.1:1' });
    const badPort = run('store', { PORT: 'eighty', DATA_DIR: ':memory:' });
    const badUrl = run('pricing', { EXTERNAL_URL: 'ftp://example' });
    expect((await noStore.exited).code).toBe(2);
    expect(noStore.err.join('\n')).toContain('STORE_URL is required');
    expect((await badPort.exited).code).toBe(2);
    expect(badPort.err.join('\n')).toContain(
      'PORT must be an integer from 0 to 65535, got "eighty"',
    );
    expect((await badUrl.exited).code).toBe(2);
    expect(badUrl.err.join('\n')).toContain('EXTERNAL_URL must be an http:// or https:// URL');
  });
});

describe('store', () => {
  it('keeps orders in SQLite: POST then GET returns the order, and it survives a restart', async () => {
    const data = await mkdtemp(join(tmpdir(), 'orders-store-test-'));
    cleanups.push(() => rm(data, { recursive: true, force: true }));
    const store = await start('store', { DATA_DIR: data });
    expect(existsSync(join(data, 'store.db'))).toBe(true);

    const latest = await getJson(`${store.url}/orders`);
    const orders = latest.body.orders as Array<{ id: number; lines: unknown[] }>;
    expect(orders).toHaveLength(20);
    expect(orders[0]?.id).toBe(200); // seeded: 200 orders, newest first
    for (const o of orders) expect(o.lines.length).toBeGreaterThanOrEqual(1);

    const items = [
      { sku: 'SKU-001', qty: 2, price: 12.5 },
      { sku: 'SKU-100', qty: 1, price: 3 },
    ];
    const created = await post(`${store.url}/orders`, { items });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 201 });
    const got = await getJson(`${store.url}/orders/201`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: 201, total: 28, lines: items });
    const newest = (await getJson(`${store.url}/orders`)).body.orders as Array<{ id: number }>;
    expect(newest[0]?.id).toBe(201);

    const missing = await getJson(`${store.url}/orders/99999`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('order 99999 not found');

    expect(await stop(store)).toEqual({ code: 0, signal: null });
    const again = await start('store', { DATA_DIR: data });
    expect((await getJson(`${again.url}/orders/201`)).body).toMatchObject({ lines: items });
    expect(logs(again).some((l) => l.msg === 'database opened')).toBe(true);
    expect(await stop(again)).toEqual({ code: 0, signal: null });
  });

  it('answers bad POST bodies with 400 naming the field', async () => {
    const store = await start('store', { DATA_DIR: ':memory:' });
    const bad: Array<[unknown, string]> = [
      ['{"items": [', 'body is not valid JSON'],
      [[1], 'body must be a JSON object with "items"'],
      [{}, 'items must be an array of 1 to 50 items'],
      [{ items: [] }, 'items must be an array of 1 to 50 items'],
      [{ items: ['x'] }, 'items[0] must be an object'],
      [{ items: [{ qty: 1, price: 1 }] }, 'items[0].sku must be a non-empty string'],
      [{ items: [{ sku: 'SKU-999', qty: 1, price: 1 }] }, 'items[0].sku: unknown sku "SKU-999"'],
      [
        {
          items: [
            { sku: 'SKU-001', qty: 1, price: 1 },
            { sku: 'SKU-002', qty: 0, price: 1 },
          ],
        },
        'items[1].qty must be an integer from 1 to 1000',
      ],
      [{ items: [{ sku: 'SKU-001', qty: 1, price: -1 }] }, 'items[0].price must be a number >= 0'],
      [{ items: [{ sku: 'SKU-001', qty: 1, price: '3' }] }, 'items[0].price must be a number >= 0'],
    ];
    for (const [body, message] of bad) {
      const r = await post(`${store.url}/orders`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toContain(message);
    }
    const noType = await get(`${store.url}/orders`, { method: 'POST', body: '{}' });
    expect(noType.status).toBe(415);
    expect((await getJson(`${store.url}/orders/abc`)).status).toBe(400);
    // Nothing was inserted.
    expect((await getJson(`${store.url}/orders/201`)).status).toBe(404);
  });

  it('removes its temporary database folder on exit', async () => {
    const store = await start('store');
    const seeded = logs(store).find((l) => l.msg === 'database seeded');
    const file = String(seeded?.file);
    expect(file).toMatch(/store\.db$/);
    expect(existsSync(file)).toBe(true);
    expect(await stop(store)).toEqual({ code: 0, signal: null });
    expect(existsSync(file)).toBe(false);
  });
});

describe('tracing across services', () => {
  it('one GET /orders/:id carries its trace id through orders, store and pricing (logs and spans)', async () => {
    const receiver = createOtlpReceiver();
    const otlp = await receiver.listen();
    cleanups.push(() => receiver.close());
    const sys = await startSystem({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp}/v1/traces` });

    const res = await getJson(`${sys.orders.url}/orders/42`);
    expect(res.status).toBe(200);
    const lines = res.body.lines as Array<{ sku: string; source: string; price: number }>;
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l.source).toBe('live');
    // Without a correlation header, the correlation id is the trace id.
    const traceId = res.headers.get('x-correlation-id') ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const withTrace = (p: Proc) => () =>
      logs(p).filter((l) => l.trace_id === traceId && l.msg === 'request completed');
    const ordersLines = await until(
      () => withTrace(sys.orders)().length > 0 && withTrace(sys.orders)(),
      'orders access line',
    );
    expect(ordersLines[0]).toMatchObject({ service: 'orders', route: '/orders/:id', status: 200 });
    const storeLines = await until(
      () => withTrace(sys.store)().length > 0 && withTrace(sys.store)(),
      'store access line',
    );
    expect(storeLines[0]).toMatchObject({ service: 'store', route: '/orders/:id' });
    const pricingLines = await until(
      () => withTrace(sys.pricing)().length === lines.length && withTrace(sys.pricing)(),
      'one pricing access line per order line',
    );
    expect(pricingLines.every((l) => l.route === '/prices/:sku')).toBe(true);

    // The same trace reached the collector from the three services, with the external calls.
    const spans = await until(() => {
      const s = receiver.trace(traceId);
      const services = new Set(s.map((x) => x.service));
      return services.has('orders') && services.has('store') && services.has('pricing') && s;
    }, 'spans of the three services');
    expect(spans.filter((s) => s.kind === 'server' && s.service === 'pricing')).toHaveLength(
      lines.length,
    );
    expect(spans.some((s) => s.kind === 'client' && s.service === 'pricing')).toBe(true);
  });
});

describe('pricing', () => {
  it('serves stale prices when the external API is gone after the cache was warmed, and 503 when nothing was cached', async () => {
    const external = await start('external');
    const pricing = await start('pricing', { EXTERNAL_URL: external.url, CACHE_TTL_MS: '300' });

    const live = await getJson(`${pricing.url}/prices/SKU-001`);
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ sku: 'SKU-001', source: 'live', currency: 'EUR' });
    const cached = await getJson(`${pricing.url}/prices/SKU-001`);
    expect(cached.body).toMatchObject({ source: 'cache', price: live.body.price });
    // A sku the external API does not know is a 404, not a failure of the API.
    const unknown = await getJson(`${pricing.url}/prices/no%20such%20sku`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('unknown sku "no such sku"');

    expect(await stop(external)).toEqual({ code: 0, signal: null });
    await new Promise((r) => setTimeout(r, 350)); // past the cache TTL
    const stale = await getJson(`${pricing.url}/prices/SKU-001`);
    expect(stale.status).toBe(200);
    expect(stale.body).toEqual({
      sku: 'SKU-001',
      price: live.body.price,
      currency: 'EUR',
      source: 'stale',
    });

    const none = await getJson(`${pricing.url}/prices/SKU-002`);
    expect(none.status).toBe(503);
    expect(none.body.error).toMatch(
      /^no price for SKU-002: external API unavailable \(ECONNREFUSED/,
    );

    const warn = await until(
      () => logs(pricing).find((l) => l.msg === 'stale price served'),
      'the stale WARN line',
    );
    expect(warn).toMatchObject({ level: 'warn', sku: 'SKU-001', service: 'pricing' });
    expect(warn.trace_id).toMatch(/^[0-9a-f]{32}$/);

    const m = (await get(`${pricing.url}/metrics`)).text;
    expect(metric(m, 'pricing_prices_served_total{source="live"}')).toBe(1);
    expect(metric(m, 'pricing_prices_served_total{source="cache"}')).toBe(1);
    expect(metric(m, 'pricing_prices_served_total{source="stale"}')).toBe(1);
    // Readiness does not depend on the external API.
    expect((await get(`${pricing.url}/ready`)).status).toBe(200);
  });

  it('falls back to the stale price after its 250 ms timeout when the external API is slow', async () => {
    let delay = 0;
    const slow = await server((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sku: 'SKU-005', price: delay === 0 ? 10 : 99, currency: 'EUR' }));
      }, delay);
    });
    const pricing = await start('pricing', { EXTERNAL_URL: slow, CACHE_TTL_MS: '0' });
    expect((await getJson(`${pricing.url}/prices/SKU-005`)).body).toMatchObject({
      price: 10,
      source: 'live',
    });
    delay = 600;
    const r = await getJson(`${pricing.url}/prices/SKU-005`);
    expect(r.body).toMatchObject({ price: 10, source: 'stale' });
    expect(r.ms).toBeGreaterThanOrEqual(240);
    expect(r.ms).toBeLessThan(550);
    // A slow answer is not a failure for the breaker: it stays closed.
    const m = (await get(`${pricing.url}/metrics`)).text;
    expect(metric(m, 'nines_circuit_breaker_state{name="external",state="closed"}')).toBe(1);
  });
});

describe('orders', () => {
  it('opens its store breaker when the store is killed, answers 503 fast, and closes it when the store is back', async () => {
    const sys = await startSystem();
    expect((await get(`${sys.orders.url}/orders`)).status).toBe(200);
    const storePort = sys.store.port;
    await stop(sys.store, 'SIGKILL');

    // ~20 req/s against a store that refuses connections.
    const answers: Array<{ status: number; ms: number; error: unknown }> = [];
    for (let i = 0; i < 30; i++) {
      const r = await getJson(`${sys.orders.url}/orders`);
      answers.push({ status: r.status, ms: r.ms, error: r.body.error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(answers.every((a) => a.status === 503)).toBe(true);
    expect(answers.every((a) => a.ms < 1000)).toBe(true);
    expect(answers[0]?.error).toMatch(/^store unavailable: /);
    expect(answers.at(-1)?.error).toBe('store unavailable: circuit open');
    const m = (await get(`${sys.orders.url}/metrics`)).text;
    expect(metric(m, 'nines_circuit_breaker_state{name="store",state="open"}')).toBe(1);
    const warn = await until(
      () =>
        logs(sys.orders).find((l) =>
          String(l.msg).includes('circuit breaker store: closed -> open'),
        ),
      'the WARN line of the breaker opening',
    );
    expect(warn.level).toBe('warn');
    // Liveness never checks dependencies; readiness reports the store, degraded.
    expect((await get(`${sys.orders.url}/healthz`)).status).toBe(200);
    const ready = await untilAsync(async () => {
      const r = await getJson(`${sys.orders.url}/ready`);
      return r.body.status === 'degraded' && r;
    }, 'readiness to report the store');
    expect(ready.status).toBe(200);
    expect((ready.body.checks as Record<string, { status: string }>).store?.status).toBe('fail');

    // The store comes back on the same port: the breaker closes within a few seconds.
    await start('store', { PORT: String(storePort), DATA_DIR: ':memory:' });
    const back = Date.now();
    await untilAsync(
      async () => {
        const r = await get(`${sys.orders.url}/orders`);
        const m = (await get(`${sys.orders.url}/metrics`)).text;
        return (
          r.status === 200 &&
          metric(m, 'nines_circuit_breaker_state{name="store",state="closed"}') === 1
        );
      },
      'the store breaker to close',
      8000,
    );
    expect(Date.now() - back).toBeLessThan(5000);
    await until(
      () =>
        logs(sys.orders).some((l) =>
          String(l.msg).includes('circuit breaker store: half-open -> closed'),
        ),
      'the WARN line of the breaker closing',
    );
  });

  it('validates POST /orders, prices each item through pricing and stores it', async () => {
    const sys = await startSystem();
    const created = await post(`${sys.orders.url}/orders`, {
      items: [
        { sku: 'SKU-010', qty: 2 },
        { sku: 'SKU-020', qty: 1, price: 0.01 },
      ],
    });
    expect(created.status).toBe(201);
    const items = created.body.items as Array<{ sku: string; qty: number; price: number }>;
    const live = await getJson(`${sys.external.url}/prices/SKU-020`);
    expect(items[1]?.price).toBe(live.body.price); // the client's price is not trusted
    const stored = await getJson(`${sys.store.url}/orders/${created.body.id}`);
    expect(stored.body.lines).toEqual(items);

    const bad = await post(`${sys.orders.url}/orders`, { items: [{ sku: 'SKU-001', qty: 'two' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('items[0].qty must be an integer from 1 to 100');
    const unknown = await post(`${sys.orders.url}/orders`, { items: [{ sku: 'SKU-999', qty: 1 }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain('items[0].sku: unknown sku');
    expect((await getJson(`${sys.orders.url}/orders/99999`)).status).toBe(404);
  });

  it('reports both SLOs on GET /slo, and fires then resolves the latency page alert when pricing is slow', async () => {
    let delayMs = 300;
    const slowPricing = await server((req, res) => {
      const sku = decodeURIComponent(String(req.url).split('/').pop() ?? '');
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sku, price: 5, currency: 'EUR', source: 'live' }));
      }, delayMs);
    });
    const store = await start('store', { DATA_DIR: ':memory:' });
    const orders = await start('orders', { STORE_URL: store.url, PRICING_URL: slowPricing });

    const before = await getJson(`${orders.url}/slo`);
    expect(before.body).toEqual({
      slos: [
        {
          name: 'availability',
          objective: 0.999,
          attainment: 1,
          budgetRemaining: 1,
          burnRate: 0,
          alerts: { page: false, ticket: false },
          policy: 'healthy',
        },
        {
          name: 'latency',
          objective: 0.99,
          attainment: 1,
          budgetRemaining: 1,
          burnRate: 0,
          alerts: { page: false, ticket: false },
          policy: 'healthy',
        },
      ],
      events: [],
    });

    // ~20 req/s of GET /orders/:id, each over 300 ms.
    let stopped = false;
    const statuses: number[] = [];
    const drive = (async () => {
      let i = 0;
      const inflight: Array<Promise<void>> = [];
      while (!stopped) {
        inflight.push(
          get(`${orders.url}/orders/${1 + (i++ % 200)}`).then(
            (r) => void statuses.push(r.status),
            () => void statuses.push(0),
          ),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all(inflight);
    })();
    cleanups.push(async () => {
      stopped = true;
      await drive.catch(() => {});
    });

    type Slo = {
      name: string;
      burnRate: number;
      attainment: number;
      alerts: { page: boolean };
      policy: string;
    };
    type Report = {
      slos: Slo[];
      events: Array<{ type: string; slo: string; severity: string; at: number }>;
    };
    const firing = await untilAsync(
      async () => {
        const r = (await getJson(`${orders.url}/slo`)).body as unknown as Report;
        return r.slos[1]?.alerts.page === true && r;
      },
      'the latency page alert',
      10_000,
    );
    const latency = firing.slos[1] as Slo;
    expect(latency.burnRate).toBeGreaterThan(10);
    expect(latency.attainment).toBeLessThan(0.99);
    expect(latency.policy).toBe('exhausted');
    expect(firing.slos[0]?.alerts.page).toBe(false); // slow, but no request failed
    expect(firing.events).toContainEqual({
      type: 'fired',
      slo: 'latency',
      severity: 'page',
      at: expect.any(Number),
    });
    const fired = await until(
      () => logs(orders).find((l) => l.msg === 'SLO alert fired: latency page'),
      'the ERROR line of the page alert',
    );
    expect(fired).toMatchObject({ level: 'error', slo: 'latency', severity: 'page' });

    // Pricing is fast again: the page resolves once the short window is clean.
    delayMs = 0;
    const fastSince = Date.now();
    const resolved = await untilAsync(
      async () => {
        const r = (await getJson(`${orders.url}/slo`)).body as unknown as Report;
        return r.slos[1]?.alerts.page === false && r;
      },
      'the latency page to resolve',
      15_000,
    );
    expect(Date.now() - fastSince).toBeLessThan(15_000);
    expect(resolved.events).toContainEqual({
      type: 'resolved',
      slo: 'latency',
      severity: 'page',
      at: expect.any(Number),
    });
    const resolvedLine = await until(
      () => logs(orders).find((l) => l.msg === 'SLO alert resolved: latency page'),
      'the INFO line of the resolved page alert',
    );
    expect(resolvedLine).toMatchObject({ level: 'info', slo: 'latency', severity: 'page' });
    stopped = true;
    await drive;
    expect(statuses.every((s) => s === 200)).toBe(true);
  });
});
