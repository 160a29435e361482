import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyRegistry, type ProxyRegistryOptions } from '../src/proxy/registry.js';
import type { ProxyRegistry } from '../src/proxy/types.js';
import {
  dial,
  pattern,
  portOf,
  readAll,
  readBytes,
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

/** An echo upstream that records when its first chunk arrived. */
async function timedEcho(): Promise<{ arrivals: number[] }> {
  const arrivals: number[] = [];
  upstream = await startUpstream((s) => {
    s.on('data', () => arrivals.push(performance.now()));
    s.pipe(s);
  });
  return { arrivals };
}

async function proxyTo(address: string, options?: ProxyRegistryOptions): Promise<number> {
  registry = createProxyRegistry(options);
  const p = await registry.create({ name: 'p', listen: '127.0.0.1:0', upstream: address });
  return portOf(p.listen);
}

async function roundTrip(client: Socket, text: string): Promise<{ sent: number; back: number }> {
  const sent = performance.now();
  const reply = readBytes(client, text.length);
  client.write(text);
  const got = await reply;
  expect(got.data.toString()).toBe(text);
  return { sent, back: got.at };
}

describe('latency', () => {
  it('delays only the stream it is on, by its latency', async () => {
    const { arrivals } = await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'latency', stream: 'upstream', attributes: { latency: 100 } });
    const client = await dial(port);
    const up = await roundTrip(client, 'one');
    const upArrival = arrivals[0]! - up.sent;
    // Lower bounds are the toxic's promise; upper bounds only tell "delayed once" from "twice" or
    // "on the wrong stream", with room for late timers on a busy machine.
    expect(upArrival).toBeGreaterThanOrEqual(95);
    expect(upArrival).toBeLessThan(180);
    expect(up.back - arrivals[0]!).toBeLessThan(60);

    registry!.removeToxic('p', 'latency_upstream');
    // Added on the live connection, on the other stream.
    const t = registry!.addToxic('p', { type: 'latency', attributes: { latency: 100 } });
    expect(t).toEqual({
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 100, jitter: 0 },
    });
    const down = await roundTrip(client, 'two');
    expect(arrivals[1]! - down.sent).toBeLessThan(60);
    const downDelay = down.back - arrivals[1]!;
    expect(downDelay).toBeGreaterThanOrEqual(95);
    expect(downDelay).toBeLessThan(180);
    client.destroy();
  });

  it('stacked latencies add up; jitter draws from the injected random', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address, { random: () => 0 });
    registry!.addToxic('p', { name: 'a', type: 'latency', attributes: { latency: 60 } });
    // random() = 0 draws the smallest delay: latency - jitter = 40.
    registry!.addToxic('p', {
      name: 'b',
      type: 'latency',
      attributes: { latency: 60, jitter: 20 },
    });
    const client = await dial(port);
    const { sent, back } = await roundTrip(client, 'x');
    expect(back - sent).toBeGreaterThanOrEqual(98);
    expect(back - sent).toBeLessThan(150);
    client.destroy();
  });

  it('does not throttle throughput: 8 MB through a 50 ms latency arrives in well under a second', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'latency', attributes: { latency: 50 } });
    const client = await dial(port);
    const body = pattern(8 * 1024 * 1024, 7);
    const start = performance.now();
    const got = readBytes(client, body.length);
    client.write(body);
    const r = await got;
    expect(r.data.equals(body)).toBe(true);
    expect(r.at - start).toBeGreaterThanOrEqual(48);
    expect(r.at - start).toBeLessThan(1000);
    client.destroy();
  });

  it('toxicity 0 leaves data untouched; toxicity 1 applies', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'latency', toxicity: 0, attributes: { latency: 300 } });
    const client = await dial(port);
    const fast = await roundTrip(client, 'quick');
    expect(fast.back - fast.sent).toBeLessThan(150);
    // Updating redraws toxicity on the live link.
    registry!.updateToxic('p', 'latency_downstream', { toxicity: 1 });
    const slow = await roundTrip(client, 'slow');
    expect(slow.back - slow.sent).toBeGreaterThanOrEqual(290);
    client.destroy();
  });

  it('removing it with data in flight forwards the buffered data at once, nothing lost', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'latency', attributes: { latency: 5000 } });
    const client = await dial(port);
    const body = pattern(256 * 1024, 3);
    const got = readBytes(client, body.length, 3000);
    client.write(body);
    await waitFor(() => registry!.stats()[0]!.bytesDownstream === body.length);
    const removedAt = performance.now();
    registry!.removeToxic('p', 'latency_downstream');
    const r = await got;
    expect(r.data.equals(body)).toBe(true);
    expect(r.at - removedAt).toBeLessThan(500);
    client.destroy();
  });
});

describe('bandwidth', () => {
  it('delivers at the configured rate over a real socket (1000 KB/s: never faster)', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'bandwidth', attributes: { rate: 1000 } });
    const client = await dial(port);
    const body = pattern(600_000, 5);
    const start = performance.now();
    const got = readBytes(client, body.length);
    client.write(body);
    const r = await got;
    expect(r.data.equals(body)).toBe(true);
    const ms = r.at - start;
    // Never faster than the rate (5 % for timer granularity). Slower is bounded loosely: on a busy
    // 2-core machine real timers fire late; the exact pacing is checked on a driven clock in
    // proxy-stages.test.ts ("bandwidth sends 100 ms slices at its rate").
    expect(ms).toBeGreaterThanOrEqual(570);
    expect(ms).toBeLessThanOrEqual(1200);
    client.destroy();
  });

  it('rate 0 stalls data until the rate is raised', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'bandwidth', attributes: { rate: 0 } });
    const client = await dial(port);
    let received = 0;
    client.on('data', (d: Buffer) => {
      received += d.length;
    });
    client.write('stuck');
    await waitFor(() => registry!.stats()[0]!.bytesDownstream === 5);
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toBe(0);
    registry!.updateToxic('p', 'bandwidth_downstream', { attributes: { rate: 100 } });
    await waitFor(() => received === 5, 2000, 'data after raising the rate');
    client.destroy();
  });
});

describe('slow_close', () => {
  it('passes data and delays the close by its delay', async () => {
    let endedAt = 0;
    upstream = await startUpstream((s) => {
      s.end('bye', () => {
        endedAt = performance.now();
      });
      s.resume();
    });
    const port = await proxyTo(upstream.address);
    registry!.addToxic('p', { type: 'slow_close', attributes: { delay: 200 } });
    const client = await dial(port);
    const got = await readAll(client);
    expect(got.data.toString()).toBe('bye');
    expect(got.times[0]! - endedAt).toBeLessThan(150);
    expect(got.closedAt - endedAt).toBeGreaterThanOrEqual(190);
    expect(got.closedAt - endedAt).toBeLessThan(400);
  });
});

describe('timeout', () => {
  it('drops data and closes after the time without data; each chunk re-arms the wait', async () => {
    const { arrivals } = await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'timeout', stream: 'upstream', attributes: { timeout: 150 } });
    const client = await dial(port);
    const done = readAll(client);
    client.write('lost');
    await new Promise((r) => setTimeout(r, 100));
    const lastWrite = performance.now();
    client.write('lost too');
    const got = await done;
    expect(got.data.length).toBe(0);
    expect(arrivals).toEqual([]);
    expect(got.closedAt - lastWrite).toBeGreaterThanOrEqual(140);
    expect(got.closedAt - lastWrite).toBeLessThan(400);
  });

  it('timeout 0 never closes; removing it closes the connection', async () => {
    const { arrivals } = await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    const client = await dial(port);
    let closed = false;
    const done = readAll(client);
    client.on('close', () => {
      closed = true;
    });
    client.write('dropped');
    await waitFor(() => registry!.stats()[0]!.bytesUpstream === 7);
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    registry!.removeToxic('p', 'timeout_upstream');
    const got = await done;
    expect(got.data.length).toBe(0);
    expect(arrivals).toEqual([]);
  });
});

describe('reset_peer', () => {
  it('resets the client with a real TCP RST after the first chunk and the timeout', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', {
      type: 'reset_peer',
      stream: 'upstream',
      attributes: { timeout: 50 },
    });
    const client = await dial(port);
    const done = readAll(client);
    const sent = performance.now();
    client.write('first');
    const got = await done;
    expect(got.error?.code).toBe('ECONNRESET');
    expect(got.data.length).toBe(0);
    expect(got.closedAt - sent).toBeGreaterThanOrEqual(45);
    await waitFor(() => upstream!.sockets.size === 0, 2000, 'upstream side closed');
    await waitFor(() => registry!.stats()[0]!.connectionsActive === 0);
  });
});

describe('slicer', () => {
  it('splits chunks into small slices, delay microseconds apart, data intact', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', {
      type: 'slicer',
      attributes: { average_size: 100, size_variation: 20, delay: 5000 },
    });
    const client = await dial(port);
    const body = pattern(1000, 9);
    const start = performance.now();
    const got = readBytes(client, body.length);
    client.write(body);
    const r = await got;
    expect(r.data.equals(body)).toBe(true);
    // About 10 slices, 5 ms apart: the client sees many reads spread over tens of ms.
    expect(r.chunks).toBeGreaterThanOrEqual(5);
    expect(r.at - start).toBeGreaterThanOrEqual(30);
    client.destroy();
  });
});

describe('limit_data', () => {
  it('truncates at the limit, then closes', async () => {
    const body = pattern(300, 11);
    let upstreamSawEnd = false;
    upstream = await startUpstream((s) => {
      s.on('end', () => {
        upstreamSawEnd = true;
      });
      s.write(body);
      s.resume();
    });
    const port = await proxyTo(upstream.address);
    registry!.addToxic('p', { type: 'limit_data', attributes: { bytes: 100 } });
    const client = await dial(port);
    const got = await readAll(client);
    expect(got.data.equals(body.subarray(0, 100))).toBe(true);
    // The whole connection closes: the upstream is told too, and nothing stays tracked.
    await waitFor(() => upstreamSawEnd, 2000, 'upstream told of the close');
    await waitFor(() => registry!.stats()[0]!.connectionsActive === 0);
  });

  it('counts across chunks on one link', async () => {
    const seen: Buffer[] = [];
    upstream = await startUpstream((s) => {
      s.on('data', (d: Buffer) => {
        seen.push(d);
        s.write(d);
      });
    });
    const port = await proxyTo(upstream.address);
    registry!.addToxic('p', { type: 'limit_data', stream: 'upstream', attributes: { bytes: 10 } });
    const client = await dial(port);
    const done = readAll(client);
    client.write('12345');
    expect((await readBytes(client, 5)).data.toString()).toBe('12345');
    client.write('6789abcdef');
    await done;
    await waitFor(() => registry!.stats()[0]!.connectionsActive === 0);
    expect(Buffer.concat(seen).toString()).toBe('123456789a');
  });
});

describe('noop and chains', () => {
  it('noop passes data', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'noop' });
    const client = await dial(port);
    const body = pattern(100_000, 2);
    const got = readBytes(client, body.length);
    client.write(body);
    expect((await got).data.equals(body)).toBe(true);
    client.destroy();
  });

  it('several toxics chained on one link act in order', async () => {
    await timedEcho();
    const port = await proxyTo(upstream!.address);
    registry!.addToxic('p', { type: 'latency', attributes: { latency: 80 } });
    registry!.addToxic('p', {
      type: 'slicer',
      attributes: { average_size: 4, size_variation: 0, delay: 2000 },
    });
    registry!.addToxic('p', { type: 'limit_data', attributes: { bytes: 12 } });
    expect(registry!.toxics('p').map((t) => t.name)).toEqual([
      'latency_downstream',
      'slicer_downstream',
      'limit_data_downstream',
    ]);
    const client = await dial(port);
    const done = readAll(client);
    const sent = performance.now();
    client.write('abcdefghijklmnopqrstuvwxyz');
    const got = await done;
    expect(got.data.toString()).toBe('abcdefghijkl');
    expect(got.times[0]! - sent).toBeGreaterThanOrEqual(78);
    expect(got.chunks).toBeGreaterThanOrEqual(2);
  });
});
