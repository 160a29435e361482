import http from 'node:http';
import net from 'node:net';
import { ManualClock } from '@nines/resilience';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFaultAdmin, type FaultAdmin } from '../src/faults/admin.js';
import { createFaults, type Faults } from '../src/faults/registry.js';
import { callJson } from './helpers.js';

const TOKEN = 'correct-horse-battery-staple';
const T0 = Date.UTC(2025, 5, 1);

let clock: ManualClock;
let faults: Faults;
let admin: FaultAdmin;

beforeEach(async () => {
  clock = new ManualClock(T0);
  faults = createFaults({ clock });
  admin = await createFaultAdmin({ faults, token: TOKEN, port: 0 });
});
afterEach(async () => {
  await admin.close();
});

function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
) {
  return callJson(admin.url, method, path, body, headers);
}

describe('createFaultAdmin', () => {
  it('binds 127.0.0.1 on an ephemeral port', () => {
    const url = new URL(admin.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(admin.port);
    expect(admin.port).toBeGreaterThan(0);
  });

  it('rejects bad options with a TypeError naming the option', async () => {
    const bad: [unknown, RegExp][] = [
      [undefined, /createFaultAdmin: options \{ faults, token \} are required/],
      [{ faults, token: TOKEN, extra: 1 }, /createFaultAdmin: unknown option "extra"/],
      [
        { token: TOKEN },
        /createFaultAdmin: option "faults" must be a registry from createFaults\(\)/,
      ],
      [{ faults: { inject() {} }, token: TOKEN }, /option "faults" must be a registry/],
      [
        { faults },
        /createFaultAdmin: option "token" must be a string of at least 16 characters, got undefined/,
      ],
      [
        { faults, token: 'short' },
        /option "token" must be a string of at least 16 characters, got a string of 5/,
      ],
      [{ faults, token: TOKEN, host: '' }, /option "host" must be a non-empty string/],
      [{ faults, token: TOKEN, port: -1 }, /option "port" must be >= 0/],
      [{ faults, token: TOKEN, port: 70_000 }, /option "port" must be <= 65535/],
    ];
    for (const [options, message] of bad) {
      await expect(createFaultAdmin(options as never)).rejects.toThrow(TypeError);
      await expect(createFaultAdmin(options as never)).rejects.toThrow(message);
    }
  });
});

describe('authorization', () => {
  it('answers 401 with WWW-Authenticate without or with a wrong token', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
    ];
    for (const headers of variants) {
      const r = await call('POST', '/faults', { kind: 'error', target: 'a' }, headers);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: 'missing or wrong bearer token' });
      expect(r.res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(faults.list()).toEqual([]);
    expect(
      (await call('GET', '/faults', undefined, { authorization: `bearer ${TOKEN}` })).status,
    ).toBe(200);
  });

  it('refuses browsers with 403, even with the token', async () => {
    const r = await call('GET', '/faults', undefined, {
      authorization: `Bearer ${TOKEN}`,
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)',
    });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatch(/browser/);
  });
});

describe('routes', () => {
  it('serve every route with its status and shape', async () => {
    expect(await call('GET', '/faults')).toMatchObject({ status: 200, body: { faults: [] } });

    const created = await call('POST', '/faults', {
      kind: 'latency',
      target: 'store',
      ms: 500,
      jitterMs: 50,
      probability: 0.5,
      ttlMs: 60_000,
      note: 'game day',
    });
    expect(created.status).toBe(201);
    const f = created.body;
    expect(f).toEqual({
      id: expect.stringMatching(/^f-/),
      kind: 'latency',
      target: ['store'],
      probability: 0.5,
      ttlMs: 60_000,
      createdAt: '2025-06-01T00:00:00.000Z',
      expiresAt: '2025-06-01T00:01:00.000Z',
      note: 'game day',
      ms: 500,
      jitterMs: 50,
      distribution: 'uniform',
    });
    expect(faults.get(f.id)).toEqual(f);

    expect(await call('GET', '/faults')).toMatchObject({ status: 200, body: { faults: [f] } });
    expect(await call('GET', `/faults/${f.id}`)).toMatchObject({ status: 200, body: f });
    expect(await call('GET', '/faults/f-missing')).toMatchObject({
      status: 404,
      body: { error: 'no active fault "f-missing"' },
    });

    await clock.advance(10_000);
    const extended = await call('PATCH', `/faults/${f.id}`, { ttlMs: 120_000 });
    expect(extended).toMatchObject({
      status: 200,
      body: { id: f.id, ttlMs: 120_000, expiresAt: '2025-06-01T00:02:10.000Z' },
    });
    expect((await call('PATCH', '/faults/f-missing', { ttlMs: 1_000 })).status).toBe(404);

    expect((await call('DELETE', `/faults/${f.id}`)).status).toBe(204);
    expect((await call('DELETE', `/faults/${f.id}`)).status).toBe(404);
    expect(faults.list()).toEqual([]);

    await call('POST', '/faults', { kind: 'error', target: 'a' });
    await call('POST', '/faults', { kind: 'skew', target: 'b', offsetMs: 1000 });
    expect(await call('DELETE', '/faults')).toMatchObject({ status: 200, body: { removed: 2 } });

    const audit = await call('GET', '/audit');
    expect(audit.status).toBe(200);
    const actions = audit.body.entries.map((e: { action: string; actor: string }) => e.action);
    expect(actions).toEqual(['inject', 'extend', 'remove', 'inject', 'inject', 'clear']);
    expect(audit.body.entries[0]).toMatchObject({
      time: '2025-06-01T00:00:00.000Z',
      actor: 'admin 127.0.0.1',
      fault: { id: f.id },
    });
    const two = await call('GET', '/audit?limit=2');
    expect(two.body.entries.map((e: { action: string }) => e.action)).toEqual(['inject', 'clear']);
  });

  it('records who made a change from code and from the endpoint', async () => {
    faults.inject({ kind: 'error', target: 'a' }, { actor: 'runner' });
    await call('POST', '/faults', { kind: 'error', target: 'b' });
    expect(faults.audit().map((e) => e.actor)).toEqual(['runner', 'admin 127.0.0.1']);
  });

  it('injected faults apply in process', async () => {
    const getStock = faults.wrap('store', async () => 'stock');
    await call('POST', '/faults', { kind: 'error', target: 'store', code: 'EDOWN' });
    await expect(getStock()).rejects.toMatchObject({ code: 'EDOWN' });
    await call('DELETE', '/faults');
    await expect(getStock()).resolves.toBe('stock');
  });
});

describe('bad requests', () => {
  it('answer 400 naming the field, with the message code gets, and change nothing', async () => {
    const cases: [unknown, string][] = [
      [
        { kind: 'latency', target: 'store', ms: -5 },
        'faults.inject: option "ms" must be >= 0, got -5',
      ],
      [{ kind: 'nope', target: 'store' }, 'option "kind" must be one of'],
      [{ kind: 'error', target: 'a b' }, 'option "target" must hold'],
      [{ kind: 'error', target: 'a', ttlMs: 0 }, 'option "ttlMs" must be > 0'],
      [{ kind: 'error', target: 'a', status: 302 }, 'option "status" must be >= 400'],
      [{ kind: 'error', target: 'a', colour: 'red' }, 'unknown option "colour"'],
      [[1, 2], 'the fault must be an object, got Array'],
      ['null', 'the fault must be an object, got null'],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', '/faults', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toContain(message);
      if (typeof body === 'object' && !Array.isArray(body)) {
        expect(() => faults.inject(body as never)).toThrow(r.body.error);
      }
    }
    const json = await call('POST', '/faults', '{"kind": "error",');
    expect(json.status).toBe(400);
    expect(json.body.error).toMatch(/bad JSON/);
    expect((await call('POST', '/faults')).body.error).toMatch(/request body must be a fault/);

    const f = faults.inject({ kind: 'error', target: 'a' });
    expect((await call('PATCH', `/faults/${f.id}`, { ttlMs: -1 })).body.error).toBe(
      'faults.extend: option "ttlMs" must be > 0, got -1',
    );
    expect((await call('PATCH', `/faults/${f.id}`, { ttl: 5 })).body.error).toMatch(
      /faults\.extend: unknown option "ttl"/,
    );
    expect((await call('PATCH', `/faults/${f.id}`, {})).body.error).toMatch(/"ttlMs" is required/);
    expect((await call('PATCH', `/faults/${f.id}`, '[]')).status).toBe(400);
    expect((await call('GET', '/audit?limit=0')).status).toBe(400);
    expect((await call('GET', '/audit?limit=abc')).body.error).toMatch(/query "limit"/);
    expect((await call('GET', '/faults/%E0%A4%A')).status).toBe(400);
    expect(faults.list()).toEqual([f]);
  });

  it('answer 404, 405 and 413', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('GET', '/faults/a/b')).status).toBe(404);
    expect(await call('PUT', '/faults')).toMatchObject({
      status: 405,
      body: { error: 'method PUT not allowed on /faults' },
    });
    expect((await call('POST', '/faults/f-1')).status).toBe(405);
    expect((await call('POST', '/audit')).status).toBe(405);
    const big = JSON.stringify({ kind: 'error', target: 'a', note: 'x'.repeat(70 * 1024) });
    const r = await call('POST', '/faults', big);
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/larger than 65536 bytes/);
    expect(faults.list()).toEqual([]);
  });

  it('answer 409 past maxFaults', async () => {
    const small = createFaults({ clock, maxFaults: 1 });
    const a = await createFaultAdmin({ faults: small, token: TOKEN });
    try {
      const post = (body: unknown) =>
        fetch(`${a.url}/faults`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(body),
        });
      expect((await post({ kind: 'error', target: 'a' })).status).toBe(201);
      const r = await post({ kind: 'error', target: 'a' });
      expect(r.status).toBe(409);
      expect(((await r.json()) as { error: string }).error).toMatch(/maxFaults/);
    } finally {
      await a.close();
    }
  });

  it('never stop the server: garbage on the socket, then a good request', async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(admin.port, '127.0.0.1', () => {
        socket.end('THIS IS NOT HTTP\r\n\r\n');
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.resume();
    });
    expect((await call('GET', '/faults')).status).toBe(200);
  });
});

describe('close', () => {
  it('ends keep-alive connections too', async () => {
    const agent = new http.Agent({ keepAlive: true });
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(
          `${admin.url}/faults`,
          { agent, headers: { authorization: `Bearer ${TOKEN}` } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        )
        .on('error', reject);
    });
    expect(status).toBe(200);
    const started = Date.now();
    await admin.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(fetch(`${admin.url}/faults`)).rejects.toThrow(/fetch failed/);
    await admin.close(); // a second close is harmless
    agent.destroy();
  });
});
