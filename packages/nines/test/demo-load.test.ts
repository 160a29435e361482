import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLoad, type Load, type LoadOptions, ordersMix } from '../src/demo/load.js';

interface Hit {
  readonly at: number;
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

interface TestServer {
  readonly url: string;
  readonly hits: Hit[];
  /** Requests being answered right now, and the most seen at once. */
  readonly concurrency: { now: number; max: number };
}

const servers: Server[] = [];
const loads: Load[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const load of loads.splice(0)) await load.stop().catch(() => {});
  for (const t of timers.splice(0)) clearTimeout(t);
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(handler: Handler = (_req, res) => res.end('ok')): Promise<TestServer> {
  const hits: Hit[] = [];
  const concurrency = { now: 0, max: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      hits.push({ at: performance.now(), method: req.method ?? '', url: req.url ?? '', body });
      concurrency.now += 1;
      concurrency.max = Math.max(concurrency.max, concurrency.now);
      res.on('close', () => {
        concurrency.now -= 1;
      });
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, concurrency };
}

/** Answers after `ms` (unless the client went away first). */
function after(ms: number, status = 200): Handler {
  return (_req, res) => {
    const t = setTimeout(() => {
      if (!res.destroyed) {
        res.statusCode = status;
        res.end('late');
      }
    }, ms);
    timers.push(t);
  };
}

function load(options: Partial<LoadOptions> & { baseUrl: string }): Load {
  const l = createLoad({
    ratePerSec: 50,
    maxRequests: 10_000,
    maxMs: 1000,
    next: () => ({ method: 'GET', path: '/' }),
    ...options,
  });
  loads.push(l);
  return l;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A seeded generator, so mixes are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('createLoad', () => {
  it('holds the target rate within 10 % over 2 s, and reports it', async () => {
    const server = await serve();
    const l = load({ baseUrl: server.url, ratePerSec: 100, maxMs: 2000 });
    const began = performance.now();
    l.start();
    await l.done;
    const took = performance.now() - began;
    expect(took).toBeGreaterThanOrEqual(1950);
    expect(took).toBeLessThan(3500);
    expect(server.hits.length).toBeGreaterThanOrEqual(180);
    expect(server.hits.length).toBeLessThanOrEqual(220);
    const stats = l.stats();
    expect(stats.sent).toBe(server.hits.length);
    expect(stats.ok).toBe(stats.sent);
    expect(stats.failed).toBe(0);
    expect(stats.dropped).toBe(0);
    expect(stats.inFlight).toBe(0);
    expect(stats.byStatus).toEqual({ '200': stats.sent });
    expect(stats.rate).toBeGreaterThan(80);
    expect(stats.rate).toBeLessThan(120);
  });

  it('stops at maxRequests', async () => {
    const server = await serve();
    const l = load({ baseUrl: server.url, ratePerSec: 500, maxRequests: 25, maxMs: 10_000 });
    const began = performance.now();
    l.start();
    await l.done;
    expect(performance.now() - began).toBeLessThan(1000);
    expect(l.stats().sent).toBe(25);
    await sleep(100);
    expect(server.hits).toHaveLength(25);
  });

  it('stops at maxMs', async () => {
    const server = await serve();
    const l = load({ baseUrl: server.url, ratePerSec: 50, maxMs: 300 });
    const began = performance.now();
    l.start();
    await l.done;
    const took = performance.now() - began;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1000);
    expect(l.stats().sent).toBeGreaterThanOrEqual(13);
    expect(l.stats().sent).toBeLessThanOrEqual(16);
    await sleep(200);
    expect(server.hits.length).toBe(l.stats().sent);
  });

  it('keeps sending on schedule while the server takes 300 ms (open loop)', async () => {
    const server = await serve(after(300));
    const results: Array<{ status: number; ms: number; route: string }> = [];
    const l = load({
      baseUrl: server.url,
      ratePerSec: 50,
      maxMs: 1000,
      onResult: (r) => results.push(r),
    });
    l.start();
    await sleep(500);
    // Half a second in, about 25 requests left although none has been answered yet.
    expect(l.stats().sent).toBeGreaterThanOrEqual(22);
    expect(l.stats().inFlight).toBeGreaterThanOrEqual(10);
    await l.done;
    expect(l.stats().sent).toBeGreaterThanOrEqual(45);
    expect(l.stats().sent).toBeLessThanOrEqual(55);
    // A closed loop with one worker would have sent about 3; many were pending at once.
    expect(server.concurrency.max).toBeGreaterThanOrEqual(10);
    expect(results).toHaveLength(l.stats().sent);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.ms).toBeGreaterThanOrEqual(290);
    }
  });

  it('drops sends beyond maxInFlight instead of queuing them', async () => {
    const server = await serve(after(5000));
    const l = load({
      baseUrl: server.url,
      ratePerSec: 100,
      maxMs: 500,
      maxInFlight: 5,
      timeoutMs: 1000,
    });
    l.start();
    await sleep(600);
    const stats = l.stats();
    expect(stats.sent).toBe(5);
    expect(stats.inFlight).toBe(5);
    expect(stats.dropped).toBeGreaterThanOrEqual(40);
    expect(stats.dropped).toBeLessThanOrEqual(50);
    expect(server.hits).toHaveLength(5);
  });

  it('gives status 0 for timeouts and network errors, and counts them as failed', async () => {
    const server = await serve(after(1000));
    const results: Array<{ status: number; ms: number; route: string }> = [];
    const l = load({
      baseUrl: server.url,
      ratePerSec: 20,
      maxRequests: 3,
      timeoutMs: 100,
      onResult: (r) => results.push(r),
    });
    l.start();
    await l.done;
    expect(results).toHaveLength(3);
    for (const r of results) {
      expect(r.status).toBe(0);
      expect(r.ms).toBeGreaterThanOrEqual(90);
      expect(r.ms).toBeLessThan(800);
    }
    expect(l.stats()).toMatchObject({ sent: 3, ok: 0, failed: 3, byStatus: { '0': 3 } });

    // Nothing listens there any more: refused connections are status 0 as well.
    const gone = await serve();
    const goneServer = servers.pop();
    goneServer?.closeAllConnections();
    await new Promise<void>((resolve) => goneServer?.close(() => resolve()));
    const refused = load({ baseUrl: gone.url, ratePerSec: 50, maxRequests: 2 });
    refused.start();
    await refused.done;
    expect(refused.stats()).toMatchObject({ sent: 2, failed: 2, byStatus: { '0': 2 } });
  });

  it('counts statuses and templates routes; 4xx is ok, 5xx failed', async () => {
    const server = await serve((req, res) => {
      res.statusCode = req.url === '/orders/7' ? 404 : req.method === 'POST' ? 503 : 200;
      res.end('{}');
    });
    const routes = new Set<string>();
    const requests = [
      { method: 'GET', path: '/orders/7' },
      { method: 'GET', path: '/orders?limit=20' },
      { method: 'POST', path: '/orders', body: '{"items":[]}' },
    ] as const;
    const l = load({
      baseUrl: `${server.url}/`,
      ratePerSec: 100,
      maxRequests: 9,
      next: (i) => requests[i % 3] ?? requests[0],
      onResult: (r) => routes.add(r.route),
    });
    l.start();
    await l.done;
    expect(l.stats()).toMatchObject({
      sent: 9,
      ok: 6,
      failed: 3,
      byStatus: { '200': 3, '404': 3, '503': 3 },
    });
    expect([...routes].sort()).toEqual(['GET /orders', 'GET /orders/:id', 'POST /orders']);
    const post = server.hits.find((h) => h.method === 'POST');
    expect(post?.body).toBe('{"items":[]}');
    expect(server.hits.some((h) => h.url === '/orders?limit=20')).toBe(true);
  });

  it('ramps up linearly to the steady rate', async () => {
    const server = await serve();
    const l = load({
      baseUrl: server.url,
      ratePerSec: 200,
      ramp: { fromPerSec: 10, overMs: 1000 },
      maxMs: 1000,
    });
    const began = performance.now();
    l.start();
    await l.done;
    // Expected: 10 * 1 + 190 / 2 = 105 in all; ~29 in the first half, ~76 in the second.
    expect(l.stats().sent).toBeGreaterThanOrEqual(95);
    expect(l.stats().sent).toBeLessThanOrEqual(110);
    const firstHalf = server.hits.filter((h) => h.at - began < 500).length;
    const secondHalf = server.hits.length - firstHalf;
    expect(firstHalf).toBeGreaterThanOrEqual(15);
    expect(firstHalf).toBeLessThanOrEqual(40);
    expect(secondHalf).toBeGreaterThan(firstHalf * 2);
  });

  it('stop() ends sending and resolves once the requests in flight have ended', async () => {
    const server = await serve(after(200));
    const l = load({ baseUrl: server.url, ratePerSec: 50, maxMs: 10_000 });
    l.start();
    await sleep(150);
    expect(l.stats().inFlight).toBeGreaterThan(0);
    await l.stop();
    const stats = l.stats();
    expect(stats.inFlight).toBe(0);
    expect(stats.ok).toBe(stats.sent);
    await l.done;
    await sleep(100);
    expect(l.stats().sent).toBe(stats.sent);
    expect(server.hits).toHaveLength(stats.sent);
    expect(() => l.start()).toThrow(/once/);
  });

  it('the rate decays to 0 after sending stops, on the given clock', async () => {
    const server = await serve();
    let now = 1_000_000;
    const l = load({
      baseUrl: server.url,
      ratePerSec: 100,
      maxRequests: 20,
      clock: { now: () => now },
    });
    l.start();
    await l.done;
    now += 1000;
    // 20 sends over a window that the fake clock says is 1 s old.
    expect(l.stats().rate).toBeCloseTo(20, 5);
    now += 5000;
    expect(l.stats().rate).toBe(0);
  });

  it('rejects done and stops when next() returns a bad request', async () => {
    const server = await serve();
    const l = load({
      baseUrl: server.url,
      ratePerSec: 100,
      next: (i) =>
        i < 3
          ? { method: 'GET', path: '/' }
          : ({ method: 'DELETE', path: '/' } as unknown as { method: 'GET'; path: string }),
    });
    l.start();
    await expect(l.done).rejects.toThrow(/next\(3\) must return/);
    expect(l.stats().sent).toBe(3);
  });

  it('rejects bad options with a TypeError naming the option', () => {
    const base: LoadOptions = {
      baseUrl: 'http://127.0.0.1:1',
      ratePerSec: 10,
      maxRequests: 10,
      maxMs: 1000,
      next: () => ({ method: 'GET', path: '/' }),
    };
    const bad = (patch: Record<string, unknown>) => () =>
      createLoad({ ...base, ...patch } as unknown as LoadOptions);
    expect(bad({ baseUrl: 'nope' })).toThrow(TypeError);
    expect(bad({ baseUrl: 'nope' })).toThrow(/baseUrl/);
    expect(bad({ baseUrl: 'ftp://x' })).toThrow(/baseUrl/);
    expect(bad({ ratePerSec: 0 })).toThrow(/ratePerSec must be a number > 0 and <= 2000, got 0/);
    expect(bad({ ratePerSec: 2001 })).toThrow(/ratePerSec/);
    expect(bad({ ratePerSec: Number.NaN })).toThrow(/ratePerSec/);
    expect(bad({ ratePerSec: '10' })).toThrow(/ratePerSec/);
    expect(bad({ ramp: { fromPerSec: -1, overMs: 100 } })).toThrow(/ramp\.fromPerSec/);
    expect(bad({ ramp: { fromPerSec: 1, overMs: 0 } })).toThrow(/ramp\.overMs/);
    expect(bad({ ramp: 5 })).toThrow(/ramp/);
    expect(bad({ maxRequests: 1.5 })).toThrow(/maxRequests/);
    expect(bad({ maxRequests: 0 })).toThrow(/maxRequests/);
    expect(bad({ maxMs: -1 })).toThrow(/maxMs/);
    expect(bad({ maxMs: Number.POSITIVE_INFINITY })).toThrow(/maxMs/);
    expect(bad({ next: undefined })).toThrow(/next must be a function/);
    expect(bad({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(bad({ maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(bad({ random: 3 })).toThrow(/random/);
    expect(bad({ clock: {} })).toThrow(/clock\.now/);
    expect(bad({ onResult: 'x' })).toThrow(/onResult/);
    expect(() => createLoad(base)).not.toThrow();
  });
});

describe('ordersMix', () => {
  it('sends ~60 % order reads, ~30 % lists, ~10 % orders of 1-3 valid items', () => {
    const next = ordersMix({ orderIds: 200, skus: 100 });
    const random = mulberry32(42);
    const counts = { one: 0, list: 0, post: 0 };
    const ids = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const r = next(i, random);
      if (r.method === 'POST') {
        counts.post += 1;
        expect(r.path).toBe('/orders');
        const body = JSON.parse(r.body ?? '') as {
          items: Array<{ sku: string; qty: number; price: number }>;
        };
        expect(body.items.length).toBeGreaterThanOrEqual(1);
        expect(body.items.length).toBeLessThanOrEqual(3);
        for (const item of body.items) {
          expect(item.sku).toMatch(/^SKU-\d{3}$/);
          const n = Number(item.sku.slice(4));
          expect(n).toBeGreaterThanOrEqual(1);
          expect(n).toBeLessThanOrEqual(100);
          expect([1, 2, 3]).toContain(item.qty);
          expect(item.price).toBeGreaterThan(0);
        }
      } else if (r.path === '/orders') {
        counts.list += 1;
        expect(r.body).toBeUndefined();
      } else {
        counts.one += 1;
        const m = /^\/orders\/(\d+)$/.exec(r.path);
        expect(m).not.toBeNull();
        ids.add(Number(m?.[1]));
      }
    }
    expect(counts.one / 10_000).toBeCloseTo(0.6, 1);
    expect(counts.list / 10_000).toBeCloseTo(0.3, 1);
    expect(counts.post / 10_000).toBeCloseTo(0.1, 1);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(200);
  });

  it('rejects bad bounds', () => {
    expect(() => ordersMix({ orderIds: 0, skus: 10 })).toThrow(/orderIds/);
    expect(() => ordersMix({ orderIds: 10, skus: 2.5 })).toThrow(/skus/);
  });
});
