import { afterEach, describe, expect, it } from 'vitest';
import { createProxyRegistry } from '../src/proxy/registry.js';
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

describe('fault proxy without toxics', () => {
  it('carries data both ways intact and counts it', async () => {
    upstream = await startUpstream();
    registry = createProxyRegistry();
    const p = await registry.create({
      name: 'echo',
      listen: 'localhost:0',
      upstream: upstream.address,
    });
    expect(p.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(portOf(p.listen)).toBeGreaterThan(0);
    const client = await dial(portOf(p.listen));
    const body = pattern(3 * 1024 * 1024);
    const done = readAll(client);
    client.end(body);
    const got = await done;
    expect(got.error).toBeUndefined();
    expect(got.data.equals(body)).toBe(true);
    await waitFor(() => registry!.stats()[0]!.connectionsActive === 0);
    const stats = registry.stats()[0]!;
    expect(stats).toEqual({
      name: 'echo',
      bytesUpstream: body.length,
      bytesDownstream: body.length,
      connectionsTotal: 1,
      connectionsActive: 0,
      upstreamErrors: 0,
    });
    await waitFor(() => upstream!.sockets.size === 0, 5000, 'upstream sockets closed');
  });

  it('half-closes: the client still reads after ending its side', async () => {
    upstream = await startUpstream((s) => {
      s.on('end', () => setTimeout(() => s.end('late reply'), 20));
      s.resume();
    });
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'h', upstream: upstream.address });
    const client = await dial(portOf(p.listen));
    const done = readAll(client);
    client.end('bye');
    const got = await done;
    expect(got.data.toString()).toBe('late reply');
    expect(got.ended).toBe(true);
  });

  it('disabled proxy closes its connections and refuses new ones; re-enabled it serves again', async () => {
    upstream = await startUpstream();
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'd', upstream: upstream.address });
    const port = portOf(p.listen);
    const client = await dial(port);
    client.write('ping');
    await readBytes(client, 4);
    const closed = readAll(client);
    const off = await registry.update('d', { enabled: false });
    expect(off.enabled).toBe(false);
    expect(off.listen).toBe(p.listen);
    await closed;
    await expect(dial(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await waitFor(() => upstream!.sockets.size === 0, 5000, 'upstream side closed');
    const on = await registry.update('d', { enabled: true });
    expect(on.enabled).toBe(true);
    expect(on.listen).toBe(p.listen);
    const again = await dial(port);
    again.write('pong');
    expect((await readBytes(again, 4)).data.toString()).toBe('pong');
    again.destroy();
  });

  it('upstream refusing: the client is closed, errors counted, the proxy keeps serving', async () => {
    upstream = await startUpstream();
    const dead = await startUpstream();
    const deadAddress = dead.address;
    await dead.close();
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'r', upstream: deadAddress });
    for (let i = 0; i < 3; i++) {
      const client = await dial(portOf(p.listen));
      const got = await readAll(client);
      expect(got.data.length).toBe(0);
    }
    await waitFor(() => registry!.stats()[0]!.connectionsActive === 0);
    expect(registry.stats()[0]).toMatchObject({ connectionsTotal: 3, upstreamErrors: 3 });
    // Repointed at a live upstream, the same proxy works.
    const moved = await registry.update('r', { upstream: upstream.address });
    const client = await dial(portOf(moved.listen));
    client.write('alive');
    expect((await readBytes(client, 5)).data.toString()).toBe('alive');
    client.destroy();
  });

  it('an unresolvable or unparsable upstream is accepted, and dialling it closes the client', async () => {
    registry = createProxyRegistry();
    const a = await registry.create({ name: 'a', upstream: 'no-such-host.invalid:12345' });
    expect(a.upstream).toBe('no-such-host.invalid:12345');
    const b = await registry.create({ name: 'b', upstream: 'garbage' });
    for (const p of [a, b]) {
      const client = await dial(portOf(p.listen));
      const got = await readAll(client);
      expect(got.data.length).toBe(0);
    }
    await waitFor(() => registry!.stats().every((s) => s.upstreamErrors === 1));
  });

  it('upstream resetting: the client is closed, the error counted, the proxy keeps serving', async () => {
    let n = 0;
    upstream = await startUpstream((s) => {
      if (n++ === 0) s.once('data', () => s.resetAndDestroy());
      else s.pipe(s);
    });
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'x', upstream: upstream.address });
    const first = await dial(portOf(p.listen));
    const done = readAll(first);
    first.write('boom');
    await done;
    await waitFor(() => registry!.stats()[0]!.upstreamErrors === 1);
    const second = await dial(portOf(p.listen));
    second.write('fine');
    expect((await readBytes(second, 4)).data.toString()).toBe('fine');
    second.destroy();
    await waitFor(() => registry!.stats()[0]!.connectionsActive === 0);
  });
});
