import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { createProxyRegistry } from '../src/proxy/registry.js';
import { dial, pattern, portOf, readAll, startUpstream, waitFor } from './proxy-net.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections (several, so finalizers and weak maps settle). */
function settledHeap(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

const registry = createProxyRegistry();
afterAll(() => registry.close());

describe('fault proxy memory', () => {
  it('does not grow over rounds of connections with toxics added and removed', async () => {
    const upstream = await startUpstream();
    try {
      const proxy = await registry.create({
        name: 'mem',
        listen: '127.0.0.1:0',
        upstream: upstream.address,
      });
      const port = portOf(proxy.listen);
      const payload = pattern(16 * 1024);
      const round = async (i: number) => {
        // A toxic on odd rounds, none on even ones: both paths are exercised and torn down.
        if (i % 2 === 1) {
          registry.addToxic('mem', { type: 'latency', attributes: { latency: 1 } });
          registry.addToxic('mem', {
            type: 'slicer',
            stream: 'upstream',
            attributes: { average_size: 512 },
          });
        }
        await Promise.all(
          Array.from({ length: 200 }, async () => {
            const socket = await dial(port);
            socket.end(payload);
            const { data } = await readAll(socket);
            expect(data.equals(payload)).toBe(true);
          }),
        );
        if (i % 2 === 1) {
          registry.removeToxic('mem', 'latency_downstream');
          registry.removeToxic('mem', 'slicer_upstream');
        }
      };
      for (let i = 0; i < 4; i++) await round(i); // warm-up: JIT, pools
      const before = settledHeap();
      for (let i = 0; i < 12; i++) await round(i);
      const after = settledHeap();
      // 2,400 more connections: anything kept per connection (a few hundred bytes) would show.
      expect(after - before).toBeLessThan(512 * 1024);
      await waitFor(
        () => registry.stats()[0]?.connectionsActive === 0,
        10_000,
        'connections closed',
      );
      expect(registry.stats()[0]?.connectionsTotal).toBe(3200);
    } finally {
      await upstream.close();
    }
  }, 60_000);
});
