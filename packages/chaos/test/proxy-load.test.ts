import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyRegistry } from '../src/proxy/registry.js';
import type { ProxyRegistry } from '../src/proxy/types.js';
import {
  dial,
  pattern,
  portOf,
  readAll,
  startUpstream,
  type Upstream,
  waitFor,
} from './proxy-net.js';

let registry: ProxyRegistry | undefined;
let upstream: Upstream | undefined;

afterEach(async () => {
  await registry?.close();
  await upstream?.close();
  registry = undefined;
  upstream = undefined;
});

const tcpHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

async function dialRetrying(port: number): Promise<Socket> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await dial(port);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('fault proxy under load', () => {
  it('2,000 concurrent connections with toxics changed meanwhile: data intact, nothing leaked', async () => {
    const before = tcpHandles();
    upstream = await startUpstream();
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'load', upstream: upstream.address });
    const port = portOf(p.listen);
    const N = 2000;

    let churn = true;
    const r = registry;
    const churning = (async () => {
      let i = 0;
      while (churn) {
        const n = i++;
        r.addToxic('load', {
          name: `lat${n}`,
          type: 'latency',
          attributes: { latency: 5, jitter: 3 },
        });
        r.addToxic('load', {
          name: `sl${n}`,
          type: 'slicer',
          stream: 'upstream',
          attributes: { average_size: 512, size_variation: 100 },
        });
        r.addToxic('load', { name: `bw${n}`, type: 'bandwidth', attributes: { rate: 50_000 } });
        await new Promise((res) => setTimeout(res, 15));
        r.updateToxic('load', `lat${n}`, { attributes: { latency: 2 } });
        r.removeToxic('load', `bw${n}`);
        await new Promise((res) => setTimeout(res, 10));
        r.removeToxic('load', `lat${n}`);
        r.removeToxic('load', `sl${n}`);
      }
    })();

    const one = async (k: number): Promise<boolean> => {
      const body = pattern(8 * 1024, k + 1);
      const client = await dialRetrying(port);
      const done = readAll(client, 30_000);
      client.write(body.subarray(0, 3000));
      setImmediate(() => client.end(body.subarray(3000)));
      const got = await done;
      return got.error === undefined && got.data.equals(body);
    };
    const results = await Promise.all(Array.from({ length: N }, (_, k) => one(k)));
    churn = false;
    await churning;

    expect(results.filter((ok) => !ok).length).toBe(0);
    await waitFor(
      () => registry!.stats()[0]!.connectionsActive === 0,
      10_000,
      'connections closed',
    );
    expect(registry.stats()[0]).toMatchObject({
      connectionsTotal: N,
      connectionsActive: 0,
      upstreamErrors: 0,
      bytesUpstream: N * 8 * 1024,
      bytesDownstream: N * 8 * 1024,
    });
    await waitFor(() => upstream!.sockets.size === 0, 10_000, 'upstream sockets closed');
    // Only the proxy's and the upstream's listeners remain.
    await waitFor(() => tcpHandles() <= before + 2, 10_000, 'TCP handles released');
    expect(registry.toxics('load')).toEqual([]);
  }, 60_000);

  it('connections reset or refused by the upstream under load leave nothing behind', async () => {
    const before = tcpHandles();
    let n = 0;
    upstream = await startUpstream((s) => {
      if (n++ % 2 === 0) s.once('data', () => s.resetAndDestroy());
      else s.pipe(s);
    });
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'flaky', upstream: upstream.address });
    const port = portOf(p.listen);
    const N = 500;
    const outcomes = await Promise.all(
      Array.from({ length: N }, async () => {
        const client = await dialRetrying(port);
        const done = readAll(client, 20_000);
        client.end('hello');
        return (await done).data.toString();
      }),
    );
    // Every client finished: either it got its echo or it was closed.
    expect(outcomes.every((o) => o === 'hello' || o === '')).toBe(true);
    expect(outcomes.filter((o) => o === 'hello').length).toBeGreaterThan(0);
    await waitFor(
      () => registry!.stats()[0]!.connectionsActive === 0,
      10_000,
      'connections closed',
    );
    expect(registry.stats()[0]!.upstreamErrors).toBe(outcomes.filter((o) => o === '').length);
    await waitFor(() => tcpHandles() <= before + 2, 10_000, 'TCP handles released');
  }, 60_000);
});
