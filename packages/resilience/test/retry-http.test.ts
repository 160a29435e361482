import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exponentialBackoff, ManualClock, type RetryEvent, retry } from '../src/index.js';

describe('retry against a real HTTP server', () => {
  let url = '';
  let requests = 0;
  let busyClosed = false;
  const server = createServer((_req, res: ServerResponse) => {
    requests++;
    if (requests === 1) {
      // A 503 whose body never ends: only a client that cancels it frees the connection.
      res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain' });
      res.write('busy, come back later\n');
      res.on('close', () => {
        busyClosed = true;
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  it("waits the 503's Retry-After instead of the backoff, cancelling the 503's body", async () => {
    const clock = new ManualClock();
    // The backoff alone would wait 500 ms.
    const policy = retry({ clock, backoff: exponentialBackoff({ random: () => 0.5 }) });
    const retries: RetryEvent[] = [];
    policy.onRetry((e) => retries.push(e));
    const responses: Response[] = [];
    const p = policy.execute(async ({ signal }) => {
      const res = await fetch(url, { signal });
      responses.push(res);
      return res;
    });

    // Real network I/O happens on the real event loop; wait for the retry to start its delay.
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), { timeout: 5_000, interval: 5 });
    expect(requests).toBe(1);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 1_000, retryAfter: true });
    expect((retries[0] as { result: Response }).result.status).toBe(503);
    expect(responses[0]!.bodyUsed).toBe(true); // cancelled, so disturbed
    await vi.waitFor(() => expect(busyClosed).toBe(true), { timeout: 5_000, interval: 5 });

    await clock.advance(999);
    expect(clock.pendingTimers).toBe(1);
    expect(requests).toBe(1);
    await clock.advance(1);
    const res = await p;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(requests).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });
});
