import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { ManualClock } from '@nines/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import {
  diskCheck,
  eventLoopCheck,
  httpCheck,
  memoryCheck,
  tcpCheck,
} from '../src/builtin-checks.js';
import { CheckRunner } from '../src/checks.js';
import type { CheckOptions } from '../src/options.js';
import { blockEventLoop, closeServer, listenLocal, turnLoop, waitFor } from './health-helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A dependency that answers 200 on /ok, 500 on /broken, 302 on /moved and never on /hang. */
async function dependency() {
  const seen: IncomingMessage[] = [];
  const closed: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req);
    res.on('close', () => closed.push(req.url ?? ''));
    if (req.url === '/ok') res.end('fine');
    else if (req.url === '/broken') res.writeHead(500).end('no');
    else if (req.url === '/moved') res.writeHead(302, { location: '/login' }).end();
    // /hang: never answers.
  });
  const port = await listenLocal(server);
  cleanups.push(() => closeServer(server));
  return { url: (path: string) => `http://127.0.0.1:${port}${path}`, seen, closed };
}

// async: a synchronous check (memory, event loop) throws instead of rejecting.
const run = async (c: CheckOptions) => c.check(new AbortController().signal);

describe('httpCheck', () => {
  it('passes on 2xx and resolves the status', async () => {
    const dep = await dependency();
    await expect(run(httpCheck(dep.url('/ok')))).resolves.toEqual({ status: 200 });
    expect(dep.seen[0]!.method).toBe('GET');
    expect(dep.seen[0]!.headers['user-agent']).toBe('nines-health');
  });

  it('fails on 500 and on a redirect (not followed), naming the status', async () => {
    const dep = await dependency();
    await expect(run(httpCheck(dep.url('/broken')))).rejects.toThrow('expected HTTP 2xx, got 500');
    await expect(run(httpCheck(new URL(dep.url('/moved'))))).rejects.toThrow('got 302');
    expect(dep.seen.map((r) => r.url)).toEqual(['/broken', '/moved']);
  });

  it('honours expectStatus', async () => {
    const dep = await dependency();
    await expect(run(httpCheck(dep.url('/broken'), { expectStatus: 500 }))).resolves.toEqual({
      status: 500,
    });
    await expect(run(httpCheck(dep.url('/ok'), { expectStatus: [204, 302] }))).rejects.toThrow(
      'expected HTTP 204 or 302, got 200',
    );
  });

  it('a hanging dependency is reported failed at the timeout and the request is aborted', async () => {
    const dep = await dependency();
    const clock = new ManualClock();
    const check = httpCheck(dep.url('/hang'), { timeoutMs: 300 });
    expect(check.timeoutMs).toBe(300);
    const runner = new CheckRunner(
      [
        {
          name: 'dep',
          check: check.check,
          timeoutMs: 300,
          cacheMs: 0,
          critical: true,
          onFailure: 'fail',
        },
      ],
      clock,
    );
    const answer = runner.run();
    await waitFor(() => dep.seen.length === 1, 'the request to reach the dependency');
    await clock.advance(300);
    expect((await answer)[0]!.result).toEqual({
      status: 'fail',
      latencyMs: 300,
      error: 'timed out after 300 ms',
    });
    await waitFor(
      () => dep.closed.includes('/hang'),
      'the aborted request to close its connection',
    );
  });

  it('fails on a connection refused', async () => {
    const dep = await dependency();
    const server = createServer();
    const port = await listenLocal(server);
    await closeServer(server);
    await expect(run(httpCheck(`http://127.0.0.1:${port}/`))).rejects.toThrow(/ECONNREFUSED/);
    expect(dep.seen).toHaveLength(0);
  });

  it.each([
    [() => httpCheck('not a url'), /option "url" must be an absolute URL/],
    [() => httpCheck('ftp://x/'), /option "url" must be an http: or https: URL/],
    [() => httpCheck('http://x/', { expectStatus: 99 }), /option "expectStatus"/],
    [() => httpCheck('http://x/', { expectStatus: [] }), /option "expectStatus"/],
    [() => httpCheck('http://x/', { timeoutMs: 0 }), /option "timeoutMs" must be > 0/],
    [() => httpCheck('http://x/', { retries: 1 } as never), /unknown option "retries"/],
  ])('rejects bad input %#', (make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });
});

describe('tcpCheck', () => {
  it('passes when the port accepts a connection, and closes it', async () => {
    const sockets: Socket[] = [];
    const ended: Socket[] = [];
    const server = createTcpServer((s) => {
      sockets.push(s);
      s.on('close', () => ended.push(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const { port } = server.address() as { port: number };
    await expect(run(tcpCheck('127.0.0.1', port))).resolves.toBeUndefined();
    await waitFor(() => ended.length === 1, 'the check connection to close');
    expect(sockets).toHaveLength(1);
  });

  it('fails on a closed port', async () => {
    const server = createTcpServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise<void>((r) => server.close(() => r()));
    await expect(run(tcpCheck('127.0.0.1', port))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('stops connecting when its signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(tcpCheck('127.0.0.1', 9).check(controller.signal)).rejects.toThrow('stop');
  });

  it.each([
    [() => tcpCheck('', 80), /option "host"/],
    [() => tcpCheck('db', 0), /option "port" must be >= 1/],
    [() => tcpCheck('db', 70_000), /option "port" must be <= 65535/],
    [() => tcpCheck('db', 80.5), /option "port" must be an integer/],
    [() => tcpCheck('db', undefined as never), /option "port" must be a number/],
    [() => tcpCheck('db', 80, { timeoutMs: -1 }), /option "timeoutMs"/],
  ])('rejects bad input %#', (make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });
});

describe('eventLoopCheck', () => {
  it('fails after the loop was blocked longer than allowed, passes again a window later', async () => {
    const clock = new ManualClock();
    const check = eventLoopCheck(100, { windowMs: 1_000, clock });
    await expect(run(check)).resolves.toMatchObject({ delayMs: expect.any(Number) });
    // The histogram needs one sample to measure the next interval from.
    blockEventLoop(30);
    await turnLoop();
    blockEventLoop(300);
    await turnLoop();
    await expect(run(check)).rejects.toThrow(/event loop delayed \d+ ms \(max 100 ms\)/);
    await clock.advance(1_000);
    await expect(run(check)).rejects.toThrow(/event loop delayed/);
    await clock.advance(1_000);
    await expect(run(check)).resolves.toMatchObject({ delayMs: expect.any(Number) });
  });

  it.each([
    [() => eventLoopCheck(0), /option "maxDelayMs" must be > 0/],
    [() => eventLoopCheck(undefined as never), /option "maxDelayMs" must be a number/],
    [() => eventLoopCheck(100, { windowMs: 0 }), /option "windowMs"/],
    [() => eventLoopCheck(100, { clock: {} as never }), /option "clock"/],
  ])('rejects bad input %#', (make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });
});

describe('memoryCheck', () => {
  it('passes under the limits and reports usage', async () => {
    await expect(run(memoryCheck({ maxRssBytes: 1e15, maxHeapUsedRatio: 1 }))).resolves.toEqual({
      rssBytes: expect.any(Number),
      heapUsedBytes: expect.any(Number),
      heapUsedRatio: expect.any(Number),
    });
  });

  it('fails over either limit', async () => {
    await expect(run(memoryCheck({ maxRssBytes: 1 }))).rejects.toThrow(/rss \d+ bytes exceeds 1/);
    await expect(run(memoryCheck({ maxHeapUsedRatio: 1e-9 }))).rejects.toThrow(/heap used/);
  });

  it.each([
    [() => memoryCheck({}), /give option "maxRssBytes" or "maxHeapUsedRatio"/],
    [() => memoryCheck(undefined as never), /give option/],
    [() => memoryCheck({ maxHeapUsedRatio: 1.5 }), /option "maxHeapUsedRatio" must be <= 1/],
    [() => memoryCheck({ maxRssBytes: 0 }), /option "maxRssBytes" must be > 0/],
    [() => memoryCheck({ maxRss: 1 } as never), /unknown option "maxRss"/],
  ])('rejects bad input %#', (make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });
});

describe('diskCheck', () => {
  it('passes with space to spare and reports it', async () => {
    const result = (await run(diskCheck(tmpdir(), { minFreeBytes: 1, maxUsedRatio: 1 }))) as {
      freeBytes: number;
      usedRatio: number;
    };
    expect(result.freeBytes).toBeGreaterThan(0);
    expect(result.usedRatio).toBeGreaterThanOrEqual(0);
    expect(result.usedRatio).toBeLessThanOrEqual(1);
  });

  it('fails below the free space or above the used share, and for a missing path', async () => {
    await expect(run(diskCheck(tmpdir(), { minFreeBytes: 2 ** 60 }))).rejects.toThrow(
      /bytes free, below/,
    );
    await expect(run(diskCheck(tmpdir(), { maxUsedRatio: 1e-12 }))).rejects.toThrow(
      /% used, above/,
    );
    await expect(run(diskCheck('/no/such/dir/here', { minFreeBytes: 1 }))).rejects.toThrow(
      /ENOENT/,
    );
  });

  it.each([
    [() => diskCheck('', { minFreeBytes: 1 }), /option "path"/],
    [() => diskCheck('/tmp', {}), /give option "minFreeBytes" or "maxUsedRatio"/],
    [() => diskCheck('/tmp', { maxUsedRatio: 0 }), /option "maxUsedRatio" must be > 0/],
    [() => diskCheck('/tmp', { minFreeBytes: -5 }), /option "minFreeBytes" must be >= 0/],
  ])('rejects bad input %#', (make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });
});
