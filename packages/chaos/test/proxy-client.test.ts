// toxiproxy-node-client, unchanged, against the nines fault proxy: what its own test suite asks of
// a Toxiproxy server, call for call.
import { once } from 'node:events';
import net from 'node:net';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProxyAdmin, type ProxyAdmin } from '../src/proxy/admin.js';
import { createProxyRegistry } from '../src/proxy/registry.js';
import type { ProxyRegistry } from '../src/proxy/types.js';

let registry: ProxyRegistry;
let admin: ProxyAdmin;
let toxiproxy: Toxiproxy;

beforeAll(async () => {
  registry = createProxyRegistry();
  admin = createProxyAdmin(registry, { port: 0 });
  toxiproxy = new Toxiproxy(await admin.listen());
});
afterAll(async () => {
  await admin.close();
  await registry.close();
});
// As the client's suite does in each file: remove every proxy.
beforeEach(async () => {
  for (const proxy of Object.values(await toxiproxy.getAll())) await proxy.remove();
});

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('toxiproxy-node-client against nines', () => {
  it('creates a proxy whose upstream is not running, and gets it back', async () => {
    const proxy = await toxiproxy.createProxy({
      listen: 'localhost:0',
      name: 'redis',
      upstream: 'localhost:6379',
    });
    expect(proxy.name).toBe('redis');
    expect(proxy.upstream).toBe('localhost:6379');
    expect(proxy.enabled).toBe(true);
    expect(proxy.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    const again = await toxiproxy.get('redis');
    expect(again.toJson()).toMatchObject({ name: 'redis', listen: proxy.listen, enabled: true });
  });

  it('disables, re-enables and re-points a proxy', async () => {
    const proxy = await toxiproxy.createProxy({
      listen: 'localhost:0',
      name: 'db',
      upstream: 'localhost:5432',
    });
    const disabled = await proxy.update({
      enabled: false,
      listen: proxy.listen,
      upstream: proxy.upstream,
    });
    expect(disabled.enabled).toBe(false);
    const moved = await disabled.update({
      enabled: true,
      listen: proxy.listen,
      upstream: 'somehost:12345',
    });
    expect(moved.enabled).toBe(true);
    expect(moved.upstream).toBe('somehost:12345');
  });

  it('answers 409 for duplicate proxies and toxics, 404 for a removed toxic', async () => {
    const proxy = await toxiproxy.createProxy({
      listen: 'localhost:0',
      name: 'dup',
      upstream: 'localhost:1',
    });
    await expect(
      toxiproxy.createProxy({ listen: 'localhost:0', name: 'dup', upstream: 'localhost:1' }),
    ).rejects.toThrow('Request failed with status code 409');
    const toxic = await proxy.addToxic({
      type: 'latency',
      attributes: { latency: 10, jitter: 0 },
    } as never);
    await expect(
      proxy.addToxic({ type: 'latency', attributes: { latency: 10, jitter: 0 } } as never),
    ).rejects.toThrow('Request failed with status code 409');
    await toxic.remove();
    await expect(proxy.getToxic('latency_downstream')).rejects.toThrow(
      'Request failed with status code 404',
    );
    await expect(toxiproxy.get('nope')).rejects.toThrow('Request failed with status code 404');
  });

  it('adds a toxic with the defaults and updates its attributes', async () => {
    const proxy = await toxiproxy.createProxy({
      listen: 'localhost:0',
      name: 'api',
      upstream: 'localhost:1',
    });
    // Only type and attributes, as the client's own suite sends: the server fills in the rest.
    const toxic = await proxy.addToxic<{ latency: number; jitter: number }>({
      type: 'latency',
      attributes: { latency: 1000, jitter: 100 },
    } as never);
    expect(toxic.name).toBe('latency_downstream');
    expect(toxic.stream).toBe('downstream');
    expect(toxic.toxicity).toBe(1);
    expect(toxic.attributes).toEqual({ latency: 1000, jitter: 100 });
    const updated = await toxic.update({ attributes: { latency: 12345, jitter: 42 } } as never);
    expect(updated.attributes).toEqual({ latency: 12345, jitter: 42 });
    const fetched = await proxy.getToxic('latency_downstream');
    expect(fetched.attributes).toEqual({ latency: 12345, jitter: 42 });
  });

  it('accepts every toxic type the client knows, echoing the attributes', async () => {
    const proxy = await toxiproxy.createProxy({
      listen: 'localhost:0',
      name: 'all',
      upstream: 'localhost:1',
    });
    const cases: [string, Record<string, number>][] = [
      ['latency', { latency: 5, jitter: 1 }],
      ['bandwidth', { rate: 100 }],
      ['slow_close', { delay: 10 }],
      ['timeout', { timeout: 100 }],
      ['slicer', { average_size: 10, size_variation: 2, delay: 5 }],
      ['limit_data', { bytes: 1000 }],
      ['reset_peer', { timeout: 10 }],
    ];
    for (const [type, attributes] of cases) {
      const toxic = await proxy.addToxic({
        type,
        stream: 'upstream',
        toxicity: 0.5,
        attributes,
      } as never);
      expect(toxic.toJson()).toMatchObject({
        name: `${type}_upstream`,
        type,
        stream: 'upstream',
        toxicity: 0.5,
        attributes,
      });
    }
  });

  it('populates proxies and lists exactly them, listen and upstream as given', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const created = await toxiproxy.populate([
      { name: 'one', listen: `127.0.0.1:${a}`, upstream: 'localhost:6379' },
      { name: 'two', listen: `127.0.0.1:${b}`, upstream: 'localhost:6380' },
    ]);
    expect(Object.keys(created).sort()).toEqual(['one', 'two']);
    const all = await toxiproxy.getAll();
    expect(Object.keys(all).sort()).toEqual(['one', 'two']);
    expect(all.one?.listen).toBe(`127.0.0.1:${a}`);
    expect(all.two?.upstream).toBe('localhost:6380');
  });

  it('answers version and reset', async () => {
    expect(JSON.parse(await toxiproxy.getVersion())).toHaveProperty('version');
    const proxy = await toxiproxy.createProxy({
      listen: 'localhost:0',
      name: 'r',
      upstream: 'localhost:1',
    });
    await proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 } } as never);
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await toxiproxy.reset();
    const after = await toxiproxy.get('r');
    expect(after.enabled).toBe(true);
    const toxics = await (await fetch(`${admin.url}/proxies/r/toxics`)).json();
    expect(toxics).toEqual([]);
  });

  it('moves real bytes, and a latency toxic set by the client slows them', async () => {
    const echo = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    try {
      const proxy = await toxiproxy.createProxy({
        listen: 'localhost:0',
        name: 'echo',
        upstream: `127.0.0.1:${(echo.address() as net.AddressInfo).port}`,
      });
      const [host, port] = proxy.listen.split(':') as [string, string];
      const roundTrip = async () => {
        const socket = net.connect(Number(port), host);
        await once(socket, 'connect');
        const t0 = performance.now();
        socket.write('ping');
        const [data] = (await once(socket, 'data')) as [Buffer];
        const ms = performance.now() - t0;
        socket.destroy();
        return { text: data.toString(), ms };
      };
      expect((await roundTrip()).text).toBe('ping');
      await proxy.addToxic({ type: 'latency', attributes: { latency: 200, jitter: 0 } } as never);
      const slow = await roundTrip();
      expect(slow.text).toBe('ping');
      expect(slow.ms).toBeGreaterThanOrEqual(195);
    } finally {
      echo.close();
    }
  });
});
