import { createServer } from 'node:http';
import { ManualClock } from '@nines/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealth } from '../src/health.js';
import { blockEventLoop, closeServer, get, listenLocal, turnLoop } from './health-helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('liveness and the event loop', () => {
  it('turns 503 after the loop was blocked past maxEventLoopDelayMs, and 200 again two periods later', async () => {
    const clock = new ManualClock();
    const health = createHealth({
      clock,
      maxEventLoopDelayMs: 100,
      probes: { liveness: { periodSeconds: 15 } },
      checks: { never: { check: () => Promise.reject(new Error('liveness must not run me')) } },
    });
    const server = createServer((req, res) => health.handler(req, res) || res.end());
    const port = await listenLocal(server);
    cleanups.push(
      () => closeServer(server),
      () => health.close(),
    );
    // The histogram measures each interval from its previous sample: let it take one first.
    blockEventLoop(30);
    await turnLoop();
    const before = await get(port, '/healthz');
    expect(before.status).toBe(200);
    expect((before.json as { eventLoopDelayMs: number }).eventLoopDelayMs).toBeLessThan(100);

    blockEventLoop(300);
    const after = await get(port, '/healthz');
    expect(after.status).toBe(503);
    expect(after.json).toEqual({ status: 'fail', eventLoopDelayMs: expect.any(Number) });
    expect((after.json as { eventLoopDelayMs: number }).eventLoopDelayMs).toBeGreaterThan(200);
    // Readiness is not what liveness measures, and liveness never ran a check.
    expect((await get(port, '/ready')).json).toEqual({ status: 'starting' });
    // Windows turn on the clock, not on reads: more readers do not shorten what the kubelet sees.
    for (let i = 0; i < 5; i++) expect(health.liveness().statusCode).toBe(503);

    // One period later the block is still in the window read (one kubelet failure is not enough
    // to restart: the default threshold is 3), after the second it has left it.
    await clock.advance(15_000);
    expect((await get(port, '/healthz')).status).toBe(503);
    await clock.advance(15_000);
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  it('stays 200 while shutting down and before started', async () => {
    const health = createHealth({ maxEventLoopDelayMs: 10_000 });
    cleanups.push(() => health.close());
    expect(health.liveness().statusCode).toBe(200);
    health.state.shuttingDown = true;
    expect(health.liveness().statusCode).toBe(200);
  });
});
