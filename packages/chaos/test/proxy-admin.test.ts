import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProxyAdmin, type ProxyAdmin } from '../src/proxy/admin.js';
import { createProxyRegistry } from '../src/proxy/registry.js';
import type { ProxyRegistry } from '../src/proxy/types.js';
import { callJson } from './helpers.js';

let registry: ProxyRegistry;
let admin: ProxyAdmin;
let base: string;

beforeAll(async () => {
  registry = createProxyRegistry();
  admin = createProxyAdmin(registry, { port: 0, maxBodyBytes: 4096 });
  base = await admin.listen();
});
afterAll(async () => {
  await admin.close();
  await registry.close();
});
afterEach(async () => {
  for (const name of Object.keys(registry.list())) await registry.remove(name);
});

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return callJson(base, method, path, body, headers);
}

describe('the admin API', () => {
  it('binds to 127.0.0.1 by default and 8474 unless told otherwise', () => {
    expect(new URL(base).hostname).toBe('127.0.0.1');
    expect(() => createProxyAdmin(registry, { port: 70000 })).toThrow(/"port" must be <= 65535/);
  });

  it('answers each route with Toxiproxy’s status codes and shapes', async () => {
    expect(await call('GET', '/proxies')).toMatchObject({ status: 200, body: {} });
    const created = await call('POST', '/proxies', {
      name: 'db',
      listen: '127.0.0.1:0',
      upstream: 'localhost:5432',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'db',
      upstream: 'localhost:5432',
      enabled: true,
      toxics: [],
    });
    expect(created.body.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await call('GET', '/proxies/db')).body.name).toBe('db');
    expect((await call('GET', '/proxies')).body).toHaveProperty('db');
    const toxic = await call('POST', '/proxies/db/toxics', {
      type: 'latency',
      attributes: { latency: 5 },
    });
    expect(toxic).toMatchObject({
      status: 200,
      body: { name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1 },
    });
    expect((await call('GET', '/proxies/db/toxics')).body).toHaveLength(1);
    expect(
      (await call('PATCH', '/proxies/db/toxics/latency_downstream', { toxicity: 0.5 })).body,
    ).toMatchObject({
      toxicity: 0.5,
      attributes: { latency: 5 },
    });
    expect((await call('POST', '/proxies/db', { enabled: false })).body.enabled).toBe(false);
    expect((await call('DELETE', '/proxies/db/toxics/latency_downstream')).status).toBe(204);
    expect((await call('POST', '/reset')).status).toBe(204);
    expect((await call('GET', '/proxies/db')).body.enabled).toBe(true);
    expect((await call('DELETE', '/proxies/db')).status).toBe(204);
    const populated = await call('POST', '/populate', [
      { name: 'a', listen: '127.0.0.1:0', upstream: 'localhost:1' },
    ]);
    expect(populated.status).toBe(201);
    expect(populated.body.proxies[0].name).toBe('a');
    expect((await call('GET', '/version')).body).toEqual({ version: '0.1.0' });
    // A populate that fails part-way (a taken listen address) lists what it created before.
    const taken = registry.get('a').listen;
    const partial = await call('POST', '/populate', [
      { name: 'b', listen: '127.0.0.1:0', upstream: 'localhost:1' },
      { name: 'c', listen: taken, upstream: 'localhost:1' },
    ]);
    expect(partial.status).toBe(500);
    expect(partial.body.error).toMatch(/EADDRINUSE|in use/);
    expect(partial.body.proxies.map((p: { name: string }) => p.name)).toEqual(['b']);
  });

  it('answers bad input with a 4xx and a JSON error, and keeps serving', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/proxies', '{not json', 400, /bad request body/],
      ['POST', '/proxies', [1, 2], 400, /expected a JSON object/],
      [
        'POST',
        '/proxies',
        { listen: '127.0.0.1:0', upstream: 'x:1' },
        400,
        /missing required field: name/,
      ],
      [
        'POST',
        '/proxies',
        { name: 'x', listen: '127.0.0.1:0' },
        400,
        /missing required field: upstream/,
      ],
      ['GET', '/proxies/ghost', undefined, 404, /proxy not found/],
      ['DELETE', '/proxies/ghost', undefined, 404, /proxy not found/],
      ['POST', '/populate', { name: 'x' }, 400, /array/],
      ['GET', '/nowhere', undefined, 404, /not found/],
      ['PUT', '/proxies', undefined, 405, /not allowed/],
      ['POST', '/proxies', `{"name":"${'x'.repeat(5000)}"}`, 413, /larger than 4096/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.body.status).toBe(status);
      expect(r.body.error).toMatch(message);
    }
    await call('POST', '/proxies', { name: 'p', listen: '127.0.0.1:0', upstream: 'localhost:1' });
    const toxicCases: [unknown, number, RegExp][] = [
      [{ type: 'earthquake' }, 400, /invalid toxic type/],
      [{ type: 'latency', stream: 'sideways' }, 400, /stream was invalid/],
      [{ type: 'latency', attributes: { latency: -1 } }, 400, /latency/],
      [{ type: 'latency', toxicity: 2 }, 400, /toxicity/],
    ];
    for (const [body, status, message] of toxicCases) {
      const r = await call('POST', '/proxies/p/toxics', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.error).toMatch(message);
    }
    expect((await call('GET', '/proxies/p/toxics/none')).status).toBe(404);
    expect((await call('GET', '/proxies')).status).toBe(200);
  });

  it('refuses browsers, as Toxiproxy does', async () => {
    const r = await call('GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0 (X11)' });
    expect(r.status).toBe(403);
    expect(r.body.error).toBe('User agent not allowed');
  });

  it('survives garbage on the socket', async () => {
    const { port } = new URL(base);
    for (const junk of ['\x00\x01\x02', 'GET /proxies HTTP/9.9\r\n\r\n', 'x'.repeat(70_000)]) {
      const s = net.connect(Number(port), '127.0.0.1');
      s.on('error', () => {});
      s.end(junk);
      // The server answers (400, 431, 505...) and closes, or we give up waiting after 2 s.
      const timer = setTimeout(() => s.destroy(), 2000);
      await once(s, 'close');
      clearTimeout(timer);
    }
    expect((await call('GET', '/proxies')).status).toBe(200);
  });

  it('serves traffic counters that promtool accepts', async () => {
    const echo = http.createServer((req, res) => req.pipe(res)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    try {
      const proxy = await registry.create({
        name: 'echo',
        listen: '127.0.0.1:0',
        upstream: `127.0.0.1:${(echo.address() as net.AddressInfo).port}`,
      });
      const reply = await fetch(`http://${proxy.listen}/`, { method: 'POST', body: 'hello' });
      expect(await reply.text()).toBe('hello');
      const res = await fetch(`${base}/metrics`);
      const text = await res.text();
      expect(text).toMatch(/nines_proxy_connections_total\{proxy="echo"\} 1/);
      expect(text).toMatch(/nines_proxy_bytes_total\{proxy="echo",direction="upstream"\} [1-9]\d*/);
      expect(execFileSync('promtool', ['check', 'metrics'], { input: text }).toString()).toBe('');
    } finally {
      echo.close();
    }
  });

  it('rejects bad options', () => {
    expect(() => createProxyAdmin({} as never)).toThrow(/registry must be a ProxyRegistry/);
    expect(() => createProxyAdmin(registry, { host: '' })).toThrow(/"host"/);
    expect(() => createProxyAdmin(registry, { prot: 1 } as never)).toThrow(/unknown option "prot"/);
  });
});
