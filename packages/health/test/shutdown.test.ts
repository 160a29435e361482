import { once } from 'node:events';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { ManualClock, TimeoutError } from '@nines/resilience';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createShutdown,
  type Shutdown,
  type ShutdownCutOff,
  ShutdownForcedError,
  type ShutdownHookResult,
  type ShutdownOptions,
  type ShutdownPhase,
} from '../src/index.js';
import { HealthState } from '../src/state.js';

const DRAIN = 1_000;
const TIMEOUT = 5_000;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Everything a test opens, closed after it whatever happened. */
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  vi.restoreAllMocks();
});

/**
 * A real server on 127.0.0.1. `/hold` requests wait until the test releases them; every other
 * request answers at once with the client's port, so a test can tell connections apart.
 */
async function startServer(): Promise<{
  server: Server;
  port: number;
  held: ServerResponse[];
  nextRequest: () => Promise<void>;
}> {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/hold') {
      held.push(res);
      return;
    }
    res.end(String(req.socket.remotePort));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    held,
    nextRequest: async () => {
      await once(server, 'request');
    },
  };
}

function get(port: number, path = '/', agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  return agent;
}

function make(options: ShutdownOptions = {}): {
  shutdown: Shutdown;
  state: HealthState;
  clock: ManualClock;
  phases: ShutdownPhase[];
  hooks: ShutdownHookResult[];
  cutOffs: ShutdownCutOff[];
} {
  const clock = new ManualClock();
  const state = new HealthState();
  state.started = true;
  const shutdown = createShutdown(state, {
    drainDelayMs: DRAIN,
    requestTimeoutMs: TIMEOUT,
    exit: false,
    clock,
    ...options,
  });
  cleanups.push(() => shutdown.dispose());
  const phases: ShutdownPhase[] = [];
  const hooks: ShutdownHookResult[] = [];
  const cutOffs: ShutdownCutOff[] = [];
  shutdown.onPhase((e) => phases.push(e.phase));
  shutdown.onHook((e) => hooks.push(e));
  shutdown.onCutOff((e) => cutOffs.push(e));
  return { shutdown, state, clock, phases, hooks, cutOffs };
}

/** The error a connection attempt ends with, or `undefined` when it connects. */
async function connectError(port: number): Promise<string | undefined> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  } finally {
    socket.destroy();
  }
}

/** A raw connection the server has accepted, that never sends a request. */
async function idleConnection(server: Server, port: number): Promise<Socket> {
  const accepted = once(server, 'connection');
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  await Promise.all([once(socket, 'connect'), accepted]);
  return socket;
}

describe('createShutdown: the sequence', { timeout: 5_000 }, () => {
  it('goes draining -> closing -> hooks -> done, failing readiness at once and not liveness', async () => {
    const { shutdown, state, clock, phases } = make();
    expect(shutdown.phase).toBe('running');
    const done = shutdown.shutdown('test');
    // Synchronously: the next readiness probe already fails.
    expect(state.shuttingDown).toBe(true);
    expect(state.started).toBe(true);
    expect(shutdown.phase).toBe('draining');
    await clock.advance(DRAIN - 1);
    expect(phases).toEqual(['draining']);
    await clock.advance(1);
    expect(phases).toEqual(['draining', 'closing', 'hooks', 'done']);
    await expect(done).resolves.toBe(0);
    expect(shutdown.report).toMatchObject({ reason: 'test', code: 0, hooks: [] });
    expect(shutdown.report?.durationMs).toBe(DRAIN);
    expect(shutdown.report?.cutOff).toBeUndefined();
  });

  it('is idempotent: a second call returns the same promise and runs nothing twice', async () => {
    const { shutdown, clock, phases } = make();
    let runs = 0;
    shutdown.onShutdown('count', () => {
      runs++;
    });
    const first = shutdown.shutdown('one');
    const second = shutdown.shutdown('two');
    expect(second).toBe(first);
    await clock.advance(DRAIN);
    expect(await first).toBe(0);
    expect(await shutdown.shutdown()).toBe(0);
    expect(runs).toBe(1);
    expect(phases).toEqual(['draining', 'closing', 'hooks', 'done']);
    expect(shutdown.report?.reason).toBe('one');
  });

  it('keeps serving kept-alive and new connections during the drain', async () => {
    const { server, port } = await startServer();
    const { shutdown, clock } = make();
    shutdown.attach(server);
    const agent = keepAliveAgent();
    const before = await get(port, '/', agent);
    const done = shutdown.shutdown();
    await clock.advance(DRAIN - 1);
    const reused = await get(port, '/', agent);
    expect(reused.status).toBe(200);
    // The same client port: the kept-alive connection was reused, not replaced.
    expect(reused.body).toBe(before.body);
    expect(reused.headers.connection).toBe('keep-alive');
    const fresh = await get(port, '/');
    expect(fresh.status).toBe(200);
    expect(server.listening).toBe(true);
    await clock.advance(1);
    expect(await done).toBe(0);
  });

  it('closes idle keep-alive and never-used connections at once after the drain, and refuses new ones', async () => {
    const { server, port, held, nextRequest } = await startServer();
    const { shutdown, clock } = make();
    shutdown.attach(server);
    const agent = keepAliveAgent();
    await get(port, '/', agent);
    const idle = Object.values(agent.freeSockets)[0]?.[0];
    expect(idle).toBeDefined();
    const neverUsed = await idleConnection(server, port);
    const idleClosed = once(idle!, 'close');
    const neverUsedClosed = once(neverUsed, 'close');
    // A request in flight keeps the shutdown waiting, so only the close itself can end the others.
    const arrived = nextRequest();
    const blocker = get(port, '/hold');
    await arrived;

    const done = shutdown.shutdown();
    await clock.advance(DRAIN - 1);
    expect(neverUsed.closed).toBe(false);
    expect(idle!.closed).toBe(false);
    await clock.advance(1);
    // No further clock movement: both close now, not at the request deadline.
    await Promise.all([idleClosed, neverUsedClosed]);
    expect(shutdown.phase).toBe('closing');
    expect(server.listening).toBe(false);
    expect(await connectError(port)).toBe('ECONNREFUSED');
    held[0]!.end();
    await blocker;
    expect(await done).toBe(0);
  });

  it('closes a kept-alive connection after a response whose headers went out before the close', async () => {
    const { server, port, held, nextRequest } = await startServer();
    const { shutdown, clock } = make();
    shutdown.attach(server);
    const agent = keepAliveAgent();
    let arrived = nextRequest();
    const early = new Promise<Reply & { closed: Promise<unknown> }>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/hold', agent }, (res) => {
        const closed = once(res.socket, 'close');
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', closed }),
        );
      })
        .on('error', reject)
        .end();
    });
    await arrived;
    held[0]!.writeHead(200);
    held[0]!.write('partial');
    arrived = nextRequest();
    const blocker = get(port, '/hold');
    await arrived;

    const done = shutdown.shutdown();
    await clock.advance(DRAIN);
    held[0]!.end();
    const reply = await early;
    // Too late for `Connection: close`, so the server closes the connection itself.
    expect(reply.headers.connection).toBe('keep-alive');
    await reply.closed;
    expect(shutdown.phase).toBe('closing');
    held[1]!.end();
    await blocker;
    expect(await done).toBe(0);
  });

  it('answers pipelined requests on a busy connection, the one that arrived during the close with Connection: close', async () => {
    const { server, port, held, nextRequest } = await startServer();
    const { shutdown, clock } = make();
    shutdown.attach(server);
    const socket = connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    const closed = once(socket, 'close');
    let arrived = nextRequest();
    socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await arrived;
    held[0]!.writeHead(200, { 'Content-Length': '5' });
    held[0]!.flushHeaders();

    const done = shutdown.shutdown();
    await clock.advance(DRAIN);
    arrived = nextRequest();
    socket.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    await arrived;
    expect(shutdown.inFlight).toBe(2);
    held[0]!.end('first');
    await closed;
    const responses = received.split('HTTP/1.1 ').slice(1);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/Connection: keep-alive/i);
    expect(responses[0]).toMatch(/first$/);
    expect(responses[1]).toMatch(/^200 /);
    expect(responses[1]).toMatch(/Connection: close/i);
    expect(await done).toBe(0);
  });

  it('lets an in-flight request finish, answering it with Connection: close', async () => {
    const { server, port, held, nextRequest } = await startServer();
    const { shutdown, clock, phases } = make();
    shutdown.attach(server);
    const arrived = nextRequest();
    const reply = get(port, '/hold', keepAliveAgent());
    await arrived;
    expect(shutdown.inFlight).toBe(1);

    const done = shutdown.shutdown();
    await clock.advance(DRAIN);
    expect(shutdown.phase).toBe('closing');
    expect(server.listening).toBe(false);
    await clock.advance(TIMEOUT - 1);
    expect(phases).toEqual(['draining', 'closing']);

    held[0]!.end('finished');
    const r = await reply;
    expect(r).toMatchObject({ status: 200, body: 'finished' });
    expect(r.headers.connection).toBe('close');
    expect(await done).toBe(0);
    expect(shutdown.inFlight).toBe(0);
  });

  it('answers a request that arrives during the close on a busy connection, then closes it', async () => {
    const { server, port, held, nextRequest } = await startServer();
    const { shutdown, clock } = make();
    shutdown.attach(server);
    // Two requests in flight on two connections, both started during the drain.
    const first = nextRequest();
    const a = get(port, '/hold');
    await first;
    const done = shutdown.shutdown();
    const second = nextRequest();
    const b = get(port, '/hold');
    await second;
    await clock.advance(DRAIN);
    expect(shutdown.inFlight).toBe(2);
    held[1]!.end('b');
    expect((await b).body).toBe('b');
    expect(shutdown.phase).toBe('closing');
    held[0]!.end('a');
    expect((await a).body).toBe('a');
    expect(await done).toBe(0);
  });

  it('cuts a request off at requestTimeoutMs and exits 1', async () => {
    const { server, port, nextRequest } = await startServer();
    const { shutdown, clock, cutOffs } = make();
    shutdown.attach(server);
    const arrived = nextRequest();
    const reply = get(port, '/hold');
    const failed = reply.then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    await arrived;
    const done = shutdown.shutdown();
    await clock.advance(DRAIN + TIMEOUT - 1);
    expect(shutdown.phase).toBe('closing');
    await clock.advance(1);
    expect(await done).toBe(1);
    expect(await failed).toBe('ECONNRESET');
    expect(cutOffs).toEqual([{ requests: 1, work: [] }]);
    expect(shutdown.report?.cutOff).toEqual({ requests: 1, work: [] });
  });

  it('closes every attached server', async () => {
    const one = await startServer();
    const two = await startServer();
    const { shutdown, clock } = make();
    shutdown.attach(one.server);
    shutdown.attach(two.server);
    const done = shutdown.shutdown();
    await clock.advance(DRAIN);
    expect(one.server.listening).toBe(false);
    expect(two.server.listening).toBe(false);
    expect(await connectError(one.port)).toBe('ECONNREFUSED');
    expect(await connectError(two.port)).toBe('ECONNREFUSED');
    expect(await done).toBe(0);
  });

  it('leaves a detached server alone', async () => {
    const { server, port } = await startServer();
    const { shutdown, clock } = make();
    const detach = shutdown.attach(server);
    detach();
    detach();
    const done = shutdown.shutdown();
    await clock.advance(DRAIN);
    expect(await done).toBe(0);
    expect(server.listening).toBe(true);
    expect((await get(port)).status).toBe(200);
  });
});

describe('createShutdown: tracked work', () => {
  it('waits for begin()/done() and track(promise) before the hooks', async () => {
    const { shutdown, clock, phases } = make();
    const done = shutdown.begin('job');
    let settle!: (v: string) => void;
    const message = new Promise<string>((r) => {
      settle = r;
    });
    expect(shutdown.track(message, 'message')).toBe(message);
    expect(shutdown.inFlight).toBe(2);
    const result = shutdown.shutdown();
    await clock.advance(DRAIN + 100);
    done();
    done(); // twice is harmless
    await clock.advance(100);
    expect(phases).toEqual(['draining', 'closing']);
    settle('handled');
    await clock.advance(0);
    expect(phases).toEqual(['draining', 'closing', 'hooks', 'done']);
    expect(await result).toBe(0);
    expect(shutdown.report?.durationMs).toBe(DRAIN + 200);
  });

  it('counts a rejected tracked promise as finished, leaving the rejection to its owner', async () => {
    const { shutdown, clock } = make();
    const failing = Promise.reject(new Error('job failed'));
    const returned = shutdown.track(failing);
    await expect(returned).rejects.toThrow('job failed');
    const result = shutdown.shutdown();
    await clock.advance(DRAIN);
    expect(await result).toBe(0);
  });

  it('cuts off work still running at the deadline and exits 1', async () => {
    const { shutdown, clock, cutOffs } = make();
    shutdown.begin('nightly-report');
    shutdown.track(new Promise(() => {}), 'message-42');
    const result = shutdown.shutdown();
    await clock.advance(DRAIN + TIMEOUT);
    expect(await result).toBe(1);
    expect(cutOffs).toEqual([{ requests: 0, work: ['nightly-report', 'message-42'] }]);
  });
});

describe('createShutdown: hooks', () => {
  it('runs hooks in reverse order, each with its own timeout, past failures', async () => {
    const { shutdown, clock, hooks } = make({ hookTimeoutMs: 300 });
    const calls: string[] = [];
    let hangingSignal: AbortSignal | undefined;
    shutdown.onShutdown('db', async (info) => {
      calls.push(`${info.name}:${info.reason}:${info.timeoutMs}`);
    });
    shutdown.onShutdown(
      'queue',
      (info) => {
        calls.push('queue');
        hangingSignal = info.signal;
        return new Promise(() => {});
      },
      { timeoutMs: 100 },
    );
    shutdown.onShutdown('telemetry', () => {
      calls.push('telemetry');
      throw new Error('exporter down');
    });
    const result = shutdown.shutdown('SIGTERM');
    await clock.advance(DRAIN);
    expect(calls).toEqual(['telemetry', 'queue']);
    await clock.advance(99);
    expect(calls).toEqual(['telemetry', 'queue']);
    expect(hangingSignal?.aborted).toBe(false);
    await clock.advance(1);
    expect(calls).toEqual(['telemetry', 'queue', 'db:SIGTERM:300']);
    expect(hangingSignal?.aborted).toBe(true);
    expect(hangingSignal?.reason).toBeInstanceOf(TimeoutError);
    expect(await result).toBe(1);
    expect(hooks.map((h) => [h.name, h.outcome, h.durationMs])).toEqual([
      ['telemetry', 'error', 0],
      ['queue', 'timeout', 100],
      ['db', 'ok', 0],
    ]);
    expect((hooks[0]!.error as Error).message).toBe('exporter down');
    expect(shutdown.report?.hooks).toEqual(hooks);
  });

  it('uses hookTimeoutMs by default, and a rejected hook fails the exit code', async () => {
    const { shutdown, clock, hooks } = make({ hookTimeoutMs: 250 });
    shutdown.onShutdown('slow', () => new Promise(() => {}));
    shutdown.onShutdown('rejects', () => Promise.reject(new Error('nope')));
    const result = shutdown.shutdown();
    await clock.advance(DRAIN + 249);
    expect(hooks.map((h) => h.outcome)).toEqual(['error']);
    await clock.advance(1);
    expect(await result).toBe(1);
    expect(hooks.map((h) => h.outcome)).toEqual(['error', 'timeout']);
  });

  it('exits 0 when every hook succeeds, and a disposed hook does not run', async () => {
    const { shutdown, clock, hooks } = make();
    const calls: string[] = [];
    shutdown.onShutdown('a', () => {
      calls.push('a');
    });
    const off = shutdown.onShutdown('b', () => {
      calls.push('b');
    });
    shutdown.onShutdown('c', async () => {
      calls.push('c');
    });
    off();
    off();
    const result = shutdown.shutdown();
    await clock.advance(DRAIN);
    expect(await result).toBe(0);
    expect(calls).toEqual(['c', 'a']);
    expect(hooks.every((h) => h.outcome === 'ok')).toBe(true);
  });

  it('reports a failed hook as a process warning when nobody listens', async () => {
    const clock = new ManualClock();
    const shutdown = createShutdown(new HealthState(), {
      drainDelayMs: 0,
      exit: false,
      clock,
      signals: [],
    });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    shutdown.onShutdown('cache', () => {
      throw new Error('gone');
    });
    const result = shutdown.shutdown();
    await clock.advance(0);
    expect(await result).toBe(1);
    expect(warn).toHaveBeenCalledWith('shutdown hook "cache" failed: gone', 'NinesShutdownWarning');
  });
});

describe('createShutdown: signals and exit', { timeout: 5_000 }, () => {
  it('adds one listener per signal at creation, and dispose() removes them', () => {
    const term = process.listenerCount('SIGTERM');
    const int = process.listenerCount('SIGINT');
    const hup = process.listenerCount('SIGHUP');
    const s = createShutdown(new HealthState(), { exit: false });
    expect(process.listenerCount('SIGTERM')).toBe(term + 1);
    expect(process.listenerCount('SIGINT')).toBe(int + 1);
    s.dispose();
    s.dispose();
    expect(process.listenerCount('SIGTERM')).toBe(term);
    expect(process.listenerCount('SIGINT')).toBe(int);

    const h = createShutdown(new HealthState(), { exit: false, signals: ['SIGHUP', 'SIGHUP'] });
    expect(process.listenerCount('SIGHUP')).toBe(hup + 1);
    expect(process.listenerCount('SIGTERM')).toBe(term);
    h.dispose();
    expect(process.listenerCount('SIGHUP')).toBe(hup);

    const none = createShutdown(new HealthState(), { exit: false, signals: [] });
    expect(process.listenerCount('SIGTERM')).toBe(term);
    none.dispose();
  });

  it('starts on a signal and removes its listeners once done', async () => {
    const term = process.listenerCount('SIGTERM');
    const { shutdown, state, clock } = make();
    process.emit('SIGTERM', 'SIGTERM');
    expect(state.shuttingDown).toBe(true);
    expect(shutdown.phase).toBe('draining');
    const result = shutdown.shutdown();
    await clock.advance(DRAIN);
    expect(await result).toBe(0);
    expect(shutdown.report?.reason).toBe('SIGTERM');
    expect(process.listenerCount('SIGTERM')).toBe(term);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    'forces the exit on a second signal (%s -> %i), cutting everything off',
    async (second, code) => {
      const { server, port, nextRequest } = await startServer();
      const { shutdown, clock, hooks } = make();
      shutdown.attach(server);
      const arrived = nextRequest();
      const reply = get(port, '/hold').then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code,
      );
      await arrived;
      process.emit('SIGTERM', 'SIGTERM');
      const result = shutdown.shutdown();
      process.emit(second, second);
      // No clock movement at all: the forced exit does not wait for anything.
      expect(await result).toBe(code);
      expect(await reply).toBe('ECONNRESET');
      expect(shutdown.report).toMatchObject({ code, forcedBy: second, hooks: [] });
      expect(hooks).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
      expect(server.listening).toBe(false);
    },
  );

  it('aborts the hook that is running when a second signal arrives', async () => {
    const { shutdown, clock, hooks } = make();
    let signal: AbortSignal | undefined;
    let ranFirst = false;
    shutdown.onShutdown('first-registered', () => {
      ranFirst = true;
    });
    shutdown.onShutdown('flush', (info) => {
      signal = info.signal;
      return new Promise(() => {});
    });
    const result = shutdown.shutdown();
    await clock.advance(DRAIN + 10);
    process.emit('SIGINT', 'SIGINT');
    expect(await result).toBe(130);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(ShutdownForcedError);
    expect(hooks).toEqual([{ name: 'flush', outcome: 'aborted', durationMs: 10 }]);
    await clock.advance(TIMEOUT);
    expect(ranFirst).toBe(false);
  });

  it('calls process.exit with the code unless exit is false', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const clock = new ManualClock();
    // Default request timeout: 10 s.
    const shutdown = createShutdown(new HealthState(), { drainDelayMs: 10, clock });
    cleanups.push(() => shutdown.dispose());
    shutdown.begin('stuck');
    const result = shutdown.shutdown();
    await clock.advance(10 + 10_000 - 1);
    expect(exit).not.toHaveBeenCalled();
    await clock.advance(1);
    expect(await result).toBe(1);
    expect(exit).toHaveBeenCalledExactlyOnceWith(1);
    expect(warn).toHaveBeenCalledWith(
      'shutdown cut off 0 request(s) and 1 unit(s) of work after 10000 ms',
      'NinesShutdownWarning',
    );
  });
});

describe('createShutdown: bad input', () => {
  const state = new HealthState();
  it.each([
    [{ drainDelayMs: -1 }, 'drainDelayMs'],
    [{ drainDelayMs: Number.NaN }, 'drainDelayMs'],
    [{ requestTimeoutMs: '10s' }, 'requestTimeoutMs'],
    [{ requestTimeoutMs: Number.POSITIVE_INFINITY }, 'requestTimeoutMs'],
    [{ hookTimeoutMs: 2 ** 31 }, 'hookTimeoutMs'],
    [{ signals: 'SIGTERM' }, 'signals'],
    [{ signals: ['SIGTERN'] }, 'signals'],
    [{ signals: ['SIGKILL'] }, 'signals'],
    [{ exit: 'yes' }, 'exit'],
    [{ clock: {} }, 'clock'],
    [{ clock: null }, 'clock'],
    [{ drainDelay: 5 }, 'drainDelay'],
  ])('createShutdown(%o) names "%s"', (options, name) => {
    expect(() => createShutdown(state, options as ShutdownOptions)).toThrow(TypeError);
    expect(() => createShutdown(state, options as ShutdownOptions)).toThrow(`"${name}"`);
  });

  it('rejects options that are not an object and a missing state', () => {
    expect(() => createShutdown(state, 5 as unknown as ShutdownOptions)).toThrow(
      /options must be an object/,
    );
    expect(() => createShutdown(undefined as unknown as HealthState)).toThrow(/state/);
    expect(() => createShutdown({} as HealthState)).toThrow(TypeError);
  });

  it('rejects bad arguments to every method', () => {
    const s = createShutdown(state, { signals: [], exit: false });
    expect(() => s.attach({} as Server)).toThrow(/server must be an http.Server/);
    expect(() => s.onShutdown('', () => {})).toThrow(/name/);
    expect(() => s.onShutdown('x', 'nope' as unknown as () => void)).toThrow(/hook/);
    expect(() => s.onShutdown('x', () => {}, { timeoutMs: -5 })).toThrow(/"timeoutMs"/);
    expect(() => s.onShutdown('x', () => {}, null as unknown as { timeoutMs: number })).toThrow(
      /options/,
    );
    expect(() => s.track(42 as unknown as Promise<void>)).toThrow(/work must be a promise/);
    expect(() => s.begin(7 as unknown as string)).toThrow(/name must be a string/);
    expect(() => s.shutdown(7 as unknown as string)).toThrow(/reason must be a string/);
    expect(() => s.onPhase('x' as unknown as () => void)).toThrow(/listener/);
    expect(s.phase).toBe('running');
  });
});
