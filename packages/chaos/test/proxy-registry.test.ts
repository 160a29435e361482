import { ManualClock } from '@nines/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyRegistry, PopulateError } from '../src/proxy/registry.js';
import { ProxyApiError, type ProxyRegistry } from '../src/proxy/types.js';
import { dial, portOf, readBytes, startUpstream, type Upstream, waitFor } from './proxy-net.js';

let registry: ProxyRegistry | undefined;
let upstream: Upstream | undefined;

afterEach(async () => {
  await registry?.close();
  await upstream?.close();
  registry = undefined;
  upstream = undefined;
});

function apiError(fn: () => unknown): ProxyApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyApiError);
    return err as ProxyApiError;
  }
  throw new Error('expected a ProxyApiError');
}

async function apiErrorAsync(p: Promise<unknown>): Promise<ProxyApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyApiError);
    return err as ProxyApiError;
  }
  throw new Error('expected a ProxyApiError');
}

const UP = '127.0.0.1:6379';

describe('proxy registry: proxies', () => {
  it('creates with the resolved listen address and Toxiproxy shapes', async () => {
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'redis', listen: 'localhost:0', upstream: UP });
    expect(p).toEqual({
      name: 'redis',
      listen: expect.stringMatching(/^127\.0\.0\.1:[1-9]\d*$/),
      upstream: UP,
      enabled: true,
      toxics: [],
    });
    expect(registry.get('redis')).toEqual(p);
    expect(registry.list()).toEqual({ redis: p });
    const off = await registry.create({
      name: 'off',
      listen: '127.0.0.1:0',
      upstream: UP,
      enabled: false,
    });
    expect(off).toMatchObject({ enabled: false, listen: '127.0.0.1:0' });
    expect(Object.keys(registry.list())).toEqual(['redis', 'off']);
  });

  it('answers every create error with Toxiproxy status and message', async () => {
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'a', upstream: UP });
    expect(await apiErrorAsync(registry.create({ upstream: UP }))).toMatchObject({
      status: 400,
      message: 'missing required field: name',
    });
    expect(await apiErrorAsync(registry.create({ name: '', upstream: UP }))).toMatchObject({
      status: 400,
      message: 'missing required field: name',
    });
    expect(await apiErrorAsync(registry.create({ name: 'b' }))).toMatchObject({
      status: 400,
      message: 'missing required field: upstream',
    });
    expect(await apiErrorAsync(registry.create({ name: 'a', upstream: UP }))).toMatchObject({
      status: 409,
      message: 'proxy already exists',
    });
    const inUse = await apiErrorAsync(
      registry.create({ name: 'c', listen: p.listen, upstream: UP }),
    );
    expect(inUse.status).toBe(500);
    expect(inUse.message).toContain('EADDRINUSE');
    expect(
      (await apiErrorAsync(registry.create({ name: 'd', listen: 'nonsense', upstream: UP })))
        .status,
    ).toBe(500);
    for (const bad of [
      null,
      'x',
      [],
      { name: 7, upstream: UP },
      { name: 'e', upstream: UP, enabled: 'yes' },
    ]) {
      const err = await apiErrorAsync(registry.create(bad as never));
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/^bad request body: /);
    }
    // Nothing half-created by the failures, and the first proxy still works.
    expect(Object.keys(registry.list())).toEqual(['a']);
  });

  it('get, update, remove of an unknown proxy are 404 proxy not found', async () => {
    registry = createProxyRegistry();
    expect(apiError(() => registry!.get('nope'))).toMatchObject({
      status: 404,
      message: 'proxy not found',
    });
    expect(apiError(() => registry!.toxics('nope')).status).toBe(404);
    expect((await apiErrorAsync(registry.update('nope', {}))).message).toBe('proxy not found');
    expect((await apiErrorAsync(registry.remove('nope'))).status).toBe(404);
    expect(apiError(() => registry!.addToxic('nope', { type: 'noop' })).message).toBe(
      'proxy not found',
    );
  });

  it('update echoes an unresolvable upstream; a new listen restarts on the new address', async () => {
    registry = createProxyRegistry();
    const p = await registry.create({ name: 'a', upstream: UP });
    const disabled = await registry.update('a', { enabled: false, listen: p.listen, upstream: UP });
    expect(disabled).toMatchObject({ enabled: false, listen: p.listen });
    const moved = await registry.update('a', { enabled: true, upstream: 'somehost:12345' });
    expect(moved).toMatchObject({ enabled: true, upstream: 'somehost:12345', listen: p.listen });
    const relisten = await registry.update('a', { listen: 'localhost:0' });
    expect(relisten.listen).not.toBe(p.listen);
    expect(relisten.enabled).toBe(true);
    expect((await apiErrorAsync(registry.update('a', { enabled: 1 } as never))).status).toBe(400);
    await registry.remove('a');
    expect(registry.list()).toEqual({});
  });

  it('populate validates all entries first, keeps equal proxies with their toxics, replaces others', async () => {
    registry = createProxyRegistry();
    const err = await apiErrorAsync(
      registry.populate([{ name: 'one', upstream: UP }, { upstream: UP }]),
    );
    expect(err).toMatchObject({ status: 400, message: 'missing required field: name at proxy 2' });
    expect(
      (await apiErrorAsync(registry.populate([{ name: 'one', upstream: UP }, { name: 'two' }])))
        .message,
    ).toBe('missing required field: upstream at proxy 2');
    expect(registry.list()).toEqual({});
    expect((await apiErrorAsync(registry.populate({} as never))).status).toBe(400);

    const [one, two] = await registry.populate([
      { name: 'one', listen: '127.0.0.1:0', upstream: UP },
      { name: 'two', listen: 'localhost:0', upstream: UP },
    ]);
    registry.addToxic('one', { type: 'latency', attributes: { latency: 10 } });
    const again = await registry.populate([
      { name: 'one', listen: one!.listen, upstream: UP },
      { name: 'two', listen: two!.listen, upstream: '127.0.0.1:1' },
    ]);
    expect(again[0]!.toxics).toHaveLength(1);
    expect(again[0]!.listen).toBe(one!.listen);
    expect(again[1]!.upstream).toBe('127.0.0.1:1');
    expect(await registry.populate([])).toEqual([]);
  });

  it('populate stops at the first failing entry, keeping the ones before', async () => {
    registry = createProxyRegistry();
    const taken = await registry.create({ name: 'taken', upstream: UP });
    const err = await apiErrorAsync(
      registry.populate([
        { name: 'ok', upstream: UP },
        { name: 'clash', listen: taken.listen, upstream: UP },
        { name: 'never', upstream: UP },
      ]),
    );
    expect(err).toBeInstanceOf(PopulateError);
    expect(err.status).toBe(500);
    expect((err as PopulateError).proxies.map((p) => p.name)).toEqual(['ok']);
    expect(Object.keys(registry.list()).sort()).toEqual(['ok', 'taken']);
  });

  it('reset enables every proxy and removes every toxic, keeping proxies', async () => {
    registry = createProxyRegistry();
    await registry.create({ name: 'a', upstream: UP, enabled: false });
    await registry.create({ name: 'b', upstream: UP });
    registry.addToxic('b', { type: 'latency' });
    registry.addToxic('a', { type: 'timeout', ttl_ms: 60_000 });
    await registry.reset();
    const all = registry.list();
    expect(all.a).toMatchObject({ enabled: true, toxics: [] });
    expect(all.b).toMatchObject({ enabled: true, toxics: [] });
  });
});

describe('proxy registry: toxics', () => {
  it('applies Toxiproxy defaults: downstream, toxicity 1 only when absent, <type>_<stream>', async () => {
    registry = createProxyRegistry();
    await registry.create({ name: 'p', upstream: UP });
    expect(
      registry.addToxic('p', { type: 'latency', attributes: { latency: 1000, jitter: 100 } }),
    ).toEqual({
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 1000, jitter: 100 },
    });
    expect(registry.addToxic('p', { type: 'bandwidth', stream: 'UpStream', toxicity: 0 })).toEqual({
      name: 'bandwidth_upstream',
      type: 'bandwidth',
      stream: 'upstream',
      toxicity: 0,
      attributes: { rate: 0 },
    });
    const all = {
      slow_close: { delay: 5 },
      timeout: { timeout: 5 },
      reset_peer: { timeout: 5 },
      slicer: { average_size: 5, size_variation: 1, delay: 10 },
      limit_data: { bytes: 5 },
      noop: {},
    };
    for (const [type, attributes] of Object.entries(all)) {
      const t = registry.addToxic('p', {
        type,
        stream: 'upstream',
        name: `${type}-x`,
        attributes: { ...attributes, unknown: 3 },
      });
      expect(t.attributes).toEqual(attributes);
    }
    expect(registry.toxics('p')).toHaveLength(8);
    expect(registry.get('p').toxics).toHaveLength(8);
  });

  it('answers every toxic error with Toxiproxy status and message', async () => {
    registry = createProxyRegistry();
    await registry.create({ name: 'p', upstream: UP });
    registry.addToxic('p', { name: 'lat', type: 'latency', stream: 'upstream' });
    const r = registry;
    expect(
      apiError(() => r.addToxic('p', { name: 'lat', type: 'latency', stream: 'downstream' })),
    ).toMatchObject({
      status: 409,
      message: 'toxic already exists',
    });
    expect(apiError(() => r.addToxic('p', { type: 'latency', stream: 'sideways' }))).toMatchObject({
      status: 400,
      message: 'stream was invalid, can be either upstream or downstream',
    });
    expect(apiError(() => r.addToxic('p', { type: 'down' }))).toMatchObject({
      status: 400,
      message: 'invalid toxic type',
    });
    expect(apiError(() => r.addToxic('p', {}))).toMatchObject({
      status: 400,
      message: 'invalid toxic type',
    });
    expect(apiError(() => r.getToxic('p', 'nope'))).toMatchObject({
      status: 404,
      message: 'toxic not found',
    });
    expect(apiError(() => r.updateToxic('p', 'nope', {})).message).toBe('toxic not found');
    expect(apiError(() => r.removeToxic('p', 'nope')).status).toBe(404);
    expect(apiError(() => r.getToxic('q', 'lat')).message).toBe('proxy not found');
    const badAttr = apiError(() =>
      r.addToxic('p', { type: 'latency', attributes: { latency: -1 } }),
    );
    expect(badAttr.status).toBe(400);
    expect(badAttr.message).toBe(
      'bad request body: attribute "latency" must be a non-negative integer, got number -1',
    );
    expect(
      apiError(() => r.addToxic('p', { type: 'latency', attributes: { jitter: 1.5 } })).message,
    ).toContain('"jitter"');
    expect(
      apiError(() => r.addToxic('p', { type: 'latency', attributes: { latency: '5' } })).status,
    ).toBe(400);
    expect(apiError(() => r.addToxic('p', { type: 'latency', attributes: [] })).status).toBe(400);
    expect(apiError(() => r.addToxic('p', { type: 'latency', toxicity: 2 })).message).toContain(
      'toxicity',
    );
    expect(apiError(() => r.addToxic('p', { type: 'latency', ttl_ms: -5 })).message).toContain(
      'ttl_ms',
    );
    expect(apiError(() => r.addToxic('p', 'latency' as never)).status).toBe(400);
    expect(apiError(() => r.updateToxic('p', 'lat', { attributes: { latency: -3 } })).status).toBe(
      400,
    );
    expect(apiError(() => r.updateToxic('p', 'lat', { toxicity: 'all' })).status).toBe(400);
    // Failed calls changed nothing.
    expect(registry.toxics('p').map((t) => t.name)).toEqual(['lat']);
    expect(registry.getToxic('p', 'lat').attributes).toEqual({ latency: 0, jitter: 0 });
  });

  it('update merges attributes and keeps the omitted ones and toxicity', async () => {
    registry = createProxyRegistry();
    await registry.create({ name: 'p', upstream: UP });
    registry.addToxic('p', {
      type: 'latency',
      toxicity: 0.5,
      attributes: { latency: 100, jitter: 10 },
    });
    const t = registry.updateToxic('p', 'latency_downstream', { attributes: { latency: 12345 } });
    expect(t).toMatchObject({ toxicity: 0.5, attributes: { latency: 12345, jitter: 10 } });
    expect(registry.updateToxic('p', 'latency_downstream', { toxicity: 0 }).toxicity).toBe(0);
    registry.removeToxic('p', 'latency_downstream');
    expect(registry.toxics('p')).toEqual([]);
  });

  it('a toxic with a time to live shows what is left and removes itself (driven clock)', async () => {
    const clock = new ManualClock(1_000);
    registry = createProxyRegistry({ clock });
    await registry.create({ name: 'p', upstream: UP });
    expect(registry.addToxic('p', { type: 'latency', ttl_ms: 1000 }).ttl_ms).toBe(1000);
    registry.addToxic('p', { type: 'noop', ttl_ms: 5000 });
    await clock.advance(400);
    expect(registry.getToxic('p', 'latency_downstream').ttl_ms).toBe(600);
    await clock.advance(600);
    expect(registry.toxics('p').map((t) => t.name)).toEqual(['noop_downstream']);
    // Removed by hand before expiry: its timer is cancelled too.
    registry.removeToxic('p', 'noop_downstream');
    expect(clock.pendingTimers).toBe(0);
  });

  it('time to live expiry releases data held on a live connection', async () => {
    const clock = new ManualClock(0);
    upstream = await startUpstream();
    registry = createProxyRegistry({ clock });
    const p = await registry.create({ name: 'p', upstream: upstream.address });
    // Bandwidth 0 holds data without any timer; only the time to live can release it.
    registry.addToxic('p', { type: 'bandwidth', attributes: { rate: 0 }, ttl_ms: 30_000 });
    const client = await dial(portOf(p.listen));
    const got = readBytes(client, 4, 3000);
    client.write('held');
    await waitFor(() => registry!.stats()[0]!.bytesDownstream === 4);
    await clock.advance(29_999);
    expect(registry.toxics('p')).toHaveLength(1);
    await clock.advance(1);
    expect(registry.toxics('p')).toHaveLength(0);
    expect((await got).data.toString()).toBe('held');
    client.destroy();
  });
});

describe('createProxyRegistry options', () => {
  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => createProxyRegistry(5 as never)).toThrow(
      /createProxyRegistry: options must be an object/,
    );
    expect(() => createProxyRegistry({ clok: 1 } as never)).toThrow(/unknown option "clok"/);
    expect(() => createProxyRegistry({ clock: {} as never })).toThrow(/option "clock"/);
    expect(() => createProxyRegistry({ random: 0.5 as never })).toThrow(/option "random"/);
    expect(() => createProxyRegistry({ defaultHost: '' })).toThrow(/option "defaultHost"/);
    expect(() => createProxyRegistry({ defaultHost: '127.0.0.1' })).not.toThrow();
  });
});
