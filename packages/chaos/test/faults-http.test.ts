import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '@nines/resilience';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InjectedFaultError } from '../src/faults/errors.js';
import { createFaults, type Faults } from '../src/faults/registry.js';

/** Polls `check` until it holds, failing after a bounded deadline. */
async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Served {
  server: http.Server;
  base: string;
  /** Requests that reached the real handler. */
  handled: number;
  /** Requests the server received (fault or not), with their responses. */
  arrived: { req: IncomingMessage; res: ServerResponse; closed: boolean }[];
}

async function serve(handler: http.RequestListener): Promise<Served> {
  const server = http.createServer(handler);
  const served: Served = { server, base: '', handled: 0, arrived: [] };
  server.prependListener('request', (req, res) => {
    const entry = { req, res, closed: false };
    res.on('close', () => {
      entry.closed = true;
    });
    served.arrived.push(entry);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return served;
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A GET with node:http (no pooling), resolving with status and body or the socket error. */
function get(url: string, signal?: AbortSignal) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      const req = http.get(url, { agent: false, signal }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on('error', reject);
    },
  );
}

describe('faults.http middleware on a real server', () => {
  let clock: ManualClock;
  let faults: Faults;
  let s: Served;

  beforeEach(async () => {
    clock = new ManualClock(0);
    faults = createFaults({ clock });
    const handler = faults.http('orders', (_req, res) => {
      s.handled++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    s = await serve(handler);
  });
  afterEach(async () => {
    faults.clear();
    await close(s.server);
  });

  it('calls the handler when no fault is active', async () => {
    expect(await get(`${s.base}/`)).toMatchObject({ status: 200, body: 'ok' });
    faults.inject({ kind: 'error', target: 'other', status: 500 });
    expect(await get(`${s.base}/`)).toMatchObject({ status: 200, body: 'ok' });
    expect(s.handled).toBe(2);
  });

  it('answers an error fault’s status with a small JSON body, without the handler', async () => {
    const f = faults.inject({
      kind: 'error',
      target: 'orders',
      status: 503,
      message: 'orders down',
    });
    const r = await get(`${s.base}/x`);
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(r.body)).toEqual({ error: 'orders down', fault: f.id });
    faults.clear();
    faults.inject({ kind: 'error', target: '*' });
    expect((await get(`${s.base}/x`)).status).toBe(500);
    expect(s.handled).toBe(0);
  });

  it('delays the handler by the latency on the clock', async () => {
    faults.inject({ kind: 'latency', target: 'orders', ms: 750 });
    let done = false;
    const p = get(`${s.base}/`).then((r) => {
      done = true;
      return r;
    });
    await until(() => clock.pendingTimers === 2, 'the latency timer'); // expiry + latency
    await clock.advance(749);
    expect(done).toBe(false);
    expect(s.handled).toBe(0);
    await clock.advance(1);
    expect(await p).toMatchObject({ status: 200, body: 'ok' });
    expect(s.handled).toBe(1);
  });

  it('drops a delayed request whose client left, without calling the handler', async () => {
    faults.inject({ kind: 'latency', target: 'orders', ms: 1_000 });
    const ac = new AbortController();
    const p = get(`${s.base}/`, ac.signal).catch((e: unknown) => e);
    await until(() => clock.pendingTimers === 2, 'the latency timer');
    ac.abort();
    await p;
    await until(() => s.arrived[0]?.closed === true, 'the server to see the client leave');
    expect(clock.pendingTimers).toBe(1); // the latency timer was cancelled
    await clock.advance(1_000);
    expect(s.handled).toBe(0);
  });

  it('hangs a request until the client disconnects', async () => {
    const f = faults.inject({ kind: 'block', target: 'orders' });
    const ac = new AbortController();
    const p = get(`${s.base}/`, ac.signal).catch((e: unknown) => e);
    await until(() => s.arrived.length === 1, 'the request to arrive');
    await clock.advance(60_000);
    expect(s.arrived[0]?.closed).toBe(false);
    ac.abort();
    expect(await p).toMatchObject({ name: 'AbortError' });
    await until(() => s.arrived[0]?.closed === true, 'the server to see the client leave');
    // The hung request was released by the disconnect: ending the fault must not run the handler.
    faults.remove(f.id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.handled).toBe(0);
    expect(await get(`${s.base}/`)).toMatchObject({ status: 200 });
  });

  it('hangs a request until the fault ends, then serves it', async () => {
    const f = faults.inject({ kind: 'block', target: 'orders', mode: 'hang', ttlMs: 30_000 });
    const p = get(`${s.base}/a`);
    const q = get(`${s.base}/b`);
    await until(() => s.arrived.length === 2, 'the requests to arrive');
    await clock.advance(10_000);
    expect(s.handled).toBe(0);
    faults.remove(f.id); // both hung requests proceed
    expect(await p).toMatchObject({ status: 200, body: 'ok' });
    expect(await q).toMatchObject({ status: 200, body: 'ok' });
    faults.inject({ kind: 'block', target: 'orders', ttlMs: 30_000 });
    const r = get(`${s.base}/c`);
    await until(() => s.arrived.length === 3, 'the third request');
    await clock.advance(30_000);
    expect(await r).toMatchObject({ status: 200 });
    expect(s.handled).toBe(3);
  });

  it('resets the connection for a refuse block, and keeps serving', async () => {
    const f = faults.inject({ kind: 'block', target: 'orders', mode: 'refuse' });
    const error = await get(`${s.base}/`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expect.stringMatching(/ECONNRESET|ECONNREFUSED/) });
    expect(s.handled).toBe(0);
    faults.remove(f.id);
    expect(await get(`${s.base}/`)).toMatchObject({ status: 200, body: 'ok' });
  });

  it('passes an async handler’s promise on, and rejects bad arguments', async () => {
    const fast = createFaults({ clock });
    const p = Promise.resolve();
    const wrapped = fast.http('svc', () => p);
    expect(wrapped({} as IncomingMessage, {} as ServerResponse)).toBe(p);
    expect(() => fast.http('svc', undefined as never)).toThrow(
      /faults\.http: handler must be a function/,
    );
    expect(() => fast.http('*', () => {})).toThrow(/faults\.http: target/);
  });
});

describe('faults.fetch against a real server', () => {
  let clock: ManualClock;
  let faults: Faults;
  let s: Served;

  beforeEach(async () => {
    clock = new ManualClock(0);
    faults = createFaults({ clock });
    s = await serve((req, res) => {
      s.handled++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
  });
  afterEach(async () => {
    faults.clear();
    await close(s.server);
  });

  it('passes requests through when no fault is active', async () => {
    const fetchStore = faults.fetch('store');
    const res = await fetchStore(`${s.base}/items/1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ url: '/items/1' });
    expect(s.handled).toBe(1);
  });

  it('calls a given base fetch', async () => {
    const urls: string[] = [];
    const base: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    const res = await faults.fetch('store', base)(`${s.base}/via-base`);
    expect(res.status).toBe(200);
    expect(urls).toEqual([`${s.base}/via-base`]);
  });

  it('returns a synthetic Response for an error fault with status, with no network call', async () => {
    const f = faults.inject({ kind: 'error', target: 'store', status: 429, message: 'slow down' });
    const res = await faults.fetch('store')(`${s.base}/x`);
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: 'slow down', fault: f.id });
    expect(s.handled).toBe(0);
  });

  it('rejects with InjectedFaultError for an error fault without status', async () => {
    const f = faults.inject({ kind: 'error', target: 'store', code: 'EBOOM' });
    const error = await faults
      .fetch('store')(`${s.base}/x`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InjectedFaultError);
    expect(error).toMatchObject({ code: 'EBOOM', fault: f.id });
    expect(s.handled).toBe(0);
  });

  it('rejects a refused request as undici does: TypeError fetch failed with the cause', async () => {
    faults.inject({ kind: 'block', target: 'store', mode: 'refuse' });
    const error = (await faults
      .fetch('store')(`${s.base}/x`)
      .catch((e: unknown) => e)) as TypeError;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause).toBeInstanceOf(InjectedFaultError);
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(s.handled).toBe(0);
  });

  it('delays the request by the latency on the clock', async () => {
    faults.inject({ kind: 'latency', target: 'store', ms: 300 });
    let done = false;
    const p = faults
      .fetch('store')(`${s.base}/slow`)
      .then((r) => {
        done = true;
        return r;
      });
    await clock.advance(299);
    expect(done).toBe(false);
    expect(s.handled).toBe(0);
    await clock.advance(1);
    expect((await p).status).toBe(200);
    expect(s.handled).toBe(1);
  });

  it('hangs until the signal aborts, or until the fault ends', async () => {
    const f = faults.inject({ kind: 'block', target: 'store' });
    const fetchStore = faults.fetch('store');
    const ac = new AbortController();
    const aborted = fetchStore(`${s.base}/a`, { signal: ac.signal }).catch((e: unknown) => e);
    const reason = new Error('gave up');
    ac.abort(reason);
    expect(await aborted).toBe(reason);

    const viaRequest = new AbortController();
    const req = fetchStore(new Request(`${s.base}/r`, { signal: viaRequest.signal })).catch(
      (e: unknown) => e,
    );
    viaRequest.abort(new Error('request signal'));
    expect(await req).toMatchObject({ message: 'request signal' });

    const later = fetchStore(`${s.base}/b`);
    await clock.advance(5_000);
    expect(s.handled).toBe(0);
    faults.remove(f.id);
    expect(await (await later).json()).toEqual({ url: '/b' });
  });

  it('rejects bad arguments', () => {
    expect(() => faults.fetch('store', 42 as never)).toThrow(
      /faults\.fetch: base must be a fetch function, got number 42/,
    );
    expect(() => faults.fetch('')).toThrow(/faults\.fetch: target/);
  });
});
