import { createServer, type Server } from 'node:http';
import { circuitBreaker, ManualClock } from '@nines/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealth, type Health } from '../src/health.js';
import type { HealthOptions } from '../src/options.js';
import { closeServer, get, listenLocal, waitFor } from './health-helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** An app server on 127.0.0.1 that lets the probes answer first, else says "app". */
async function serve(
  options?: HealthOptions,
): Promise<{ health: Health; port: number; server: Server }> {
  const health = createHealth(options);
  const server = createServer((req, res) => {
    if (health.handler(req, res)) return;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('app');
  });
  const port = await listenLocal(server);
  cleanups.push(
    () => closeServer(server),
    () => health.close(),
  );
  return { health, port, server };
}

describe('probe endpoints on the app server', () => {
  it('before started(): startup and readiness 503 "starting", liveness 200', async () => {
    let calls = 0;
    const { port } = await serve({ checks: { db: { check: () => ++calls } } });
    const startup = await get(port, '/startup');
    expect([startup.status, startup.json]).toEqual([503, { status: 'starting' }]);
    const ready = await get(port, '/ready');
    expect([ready.status, ready.json]).toEqual([503, { status: 'starting' }]);
    const live = await get(port, '/healthz');
    expect(live.status).toBe(200);
    expect(live.json).toMatchObject({ status: 'ok' });
    // Dependencies are not touched before startup has finished.
    expect(calls).toBe(0);
  });

  it('after started(): all three pass; JSON, no-store, and checks shown to loopback', async () => {
    const { health, port } = await serve({ checks: { db: { check: () => ({ pool: 3 }) } } });
    health.started();
    const startup = await get(port, '/startup');
    expect([startup.status, startup.json]).toEqual([200, { status: 'ok' }]);
    const ready = await get(port, '/ready');
    expect(ready.status).toBe(200);
    expect(ready.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(ready.headers['cache-control']).toBe('no-store');
    expect(ready.json).toEqual({
      status: 'ok',
      checks: { db: { status: 'ok', latencyMs: expect.any(Number), detail: { pool: 3 } } },
    });
    const live = await get(port, '/healthz');
    expect(live.json).toEqual({ status: 'ok', eventLoopDelayMs: expect.any(Number) });
  });

  it('matches paths exactly, ignores the query string, answers GET and HEAD only', async () => {
    const { health, port } = await serve({ probes: { readinessPath: '/-/ready' } });
    health.started();
    expect((await get(port, '/-/ready?full=1')).json).toEqual({ status: 'ok' });
    const head = await get(port, '/-/ready', 'HEAD');
    expect([head.status, head.text, head.headers['content-type']]).toEqual([
      200,
      '',
      'application/json; charset=utf-8',
    ]);
    for (const [path, method] of [
      ['/ready', 'GET'],
      ['/-/ready/', 'GET'],
      ['/-/READY', 'GET'],
      ['/healthzz', 'GET'],
      ['/-/ready', 'POST'],
      ['/healthz', 'DELETE'],
    ] as const) {
      const r = await get(port, path, method);
      expect([path, method, r.text]).toEqual([path, method, 'app']);
    }
  });

  it('readiness: a failing critical check is 503 "fail", a non-critical one 200 "degraded"', async () => {
    const failing = () => {
      throw new Error('connection refused');
    };
    const critical = await serve({ checks: { db: { check: failing } } });
    critical.health.started();
    const r1 = await get(critical.port, '/ready');
    expect(r1.status).toBe(503);
    expect(r1.json).toEqual({
      status: 'fail',
      checks: {
        db: { status: 'fail', latencyMs: expect.any(Number), error: 'connection refused' },
      },
    });

    const optional = await serve({
      checks: { db: { check: () => true }, search: { check: failing, critical: false } },
    });
    optional.health.started();
    const r2 = await get(optional.port, '/ready');
    expect(r2.status).toBe(200);
    expect(r2.json).toMatchObject({
      status: 'degraded',
      checks: { db: { status: 'ok' }, search: { status: 'fail', error: 'connection refused' } },
    });
  });

  it("onCriticalFailure 'degrade' keeps a shared dependency's outage from emptying the service, and a check can override it", async () => {
    const down = async () => {
      throw new Error('shared db down');
    };
    const a = await serve({ onCriticalFailure: 'degrade', checks: { db: { check: down } } });
    a.health.started();
    const r1 = await get(a.port, '/ready');
    expect([r1.status, (r1.json as { status: string }).status]).toEqual([200, 'degraded']);

    const b = await serve({
      onCriticalFailure: 'degrade',
      checks: { db: { check: down }, config: { check: down, onFailure: 'fail' } },
    });
    b.health.started();
    expect((await get(b.port, '/ready')).status).toBe(503);

    const c = await serve({ checks: { db: { check: down, onFailure: 'degrade' } } });
    c.health.started();
    expect((await get(c.port, '/ready')).status).toBe(200);
  });

  it('while shutting down: readiness 503 "shutting_down" without running checks, liveness 200', async () => {
    let calls = 0;
    const { health, port } = await serve({ checks: { db: { check: () => ++calls, cacheMs: 0 } } });
    health.started();
    await get(port, '/ready');
    expect(calls).toBe(1);
    health.state.shuttingDown = true;
    const ready = await get(port, '/ready');
    expect([ready.status, ready.json]).toEqual([503, { status: 'shutting_down' }]);
    expect((await get(port, '/healthz')).status).toBe(200);
    expect((await get(port, '/startup')).status).toBe(200);
    expect(calls).toBe(1);
  });

  it('a stuck check is reported failed at its timeout; liveness answers meanwhile', async () => {
    const clock = new ManualClock();
    let signal: AbortSignal | undefined;
    const { health, port } = await serve({
      clock,
      checks: {
        stuck: {
          timeoutMs: 200,
          check: (s) => {
            signal = s;
            return new Promise(() => {});
          },
        },
      },
    });
    health.started();
    let answered = false;
    const ready = get(port, '/ready').finally(() => {
      answered = true;
    });
    await waitFor(() => signal !== undefined, 'the check to start');
    // The probe is not blocked by the stuck check: liveness answers at once.
    expect((await get(port, '/healthz')).status).toBe(200);
    await clock.advance(199);
    expect(answered).toBe(false);
    await clock.advance(1);
    const r = await ready;
    expect(r.status).toBe(503);
    expect(r.json).toEqual({
      status: 'fail',
      checks: { stuck: { status: 'fail', latencyMs: 200, error: 'timed out after 200 ms' } },
    });
    expect(signal!.aborted).toBe(true);
  });

  it('the probe answers within the kubelet timeout even when a check allows itself longer', async () => {
    const clock = new ManualClock();
    let started = false;
    const { health, port } = await serve({
      clock,
      probes: { readiness: { timeoutSeconds: 2 } },
      checks: {
        slow: {
          timeoutMs: 10_000,
          critical: false,
          check: () => {
            started = true;
            return new Promise(() => {});
          },
        },
      },
    });
    health.started();
    const ready = get(port, '/ready');
    await waitFor(() => started, 'the check to start');
    await clock.advance(1_800);
    const r = await ready;
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      status: 'degraded',
      checks: { slow: { status: 'fail', latencyMs: 1_800, error: 'still running after 1800 ms' } },
    });
  });

  it('caches results and shares a run in flight between concurrent probes (no stampede)', async () => {
    const clock = new ManualClock();
    let calls = 0;
    let release: (() => void) | undefined;
    const { health, port, server } = await serve({
      clock,
      checks: {
        db: {
          cacheMs: 5_000,
          check: () => {
            calls++;
            return new Promise<void>((r) => {
              release = r;
            });
          },
        },
      },
    });
    health.started();
    // Listeners run in order: when this one sees a request, the probe handler has joined the run.
    let arrived = 0;
    server.on('request', () => arrived++);
    const probes = Array.from({ length: 8 }, () => get(port, '/ready'));
    await waitFor(() => arrived === 8, 'every probe to reach the server');
    await clock.advance(10);
    release!();
    for (const r of await Promise.all(probes)) expect(r.status).toBe(200);
    expect(calls).toBe(1);
    await get(port, '/ready');
    await clock.advance(4_000);
    await get(port, '/ready');
    expect(calls).toBe(1);
    await clock.advance(1_010);
    release = undefined;
    const later = get(port, '/ready');
    await waitFor(() => release !== undefined, 'the second run');
    release!();
    await later;
    expect(calls).toBe(2);
  });

  it('keeps any check name as a key of the body, "__proto__" included', async () => {
    // fromEntries defines an own "__proto__" key, as a configuration loaded from JSON would.
    const checks = Object.fromEntries([['__proto__', { check: () => 7 }]]);
    const { health, port } = await serve({ checks });
    health.started();
    // latencyMs is measured on the real clock here: compare everything else exactly.
    const text = (await get(port, '/ready')).text.replace(/"latencyMs":\d+/, '"latencyMs":0');
    expect(text).toBe(
      '{"status":"ok","checks":{"__proto__":{"status":"ok","latencyMs":0,"detail":7}}}',
    );
  });

  it('a check that throws synchronously or rejects never crashes the process', async () => {
    const { health, port } = await serve({
      checks: {
        sync: {
          check: () => {
            throw new TypeError('bug in check');
          },
          critical: false,
        },
        rejects: { check: () => Promise.reject(new Error('nope')), critical: false },
        weird: { check: () => Promise.reject(undefined), critical: false },
      },
    });
    health.started();
    const r = await get(port, '/ready');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      status: 'degraded',
      checks: {
        sync: { status: 'fail', error: 'bug in check' },
        rejects: { status: 'fail', error: 'nope' },
        weird: { status: 'fail', error: 'undefined' },
      },
    });
    expect((await get(port, '/healthz')).status).toBe(200);
  });
});

describe('detail', () => {
  const failing = () => {
    throw new Error('db.internal:5432 refused');
  };

  it.each([
    ['a predicate that says no', () => false],
    ['never', 'never' as const],
  ])('is hidden for %s: status only', async (_name, detail) => {
    const { health, port } = await serve({
      probes: { detail },
      checks: { db: { check: failing } },
    });
    health.started();
    const ready = await get(port, '/ready');
    expect([ready.status, ready.text]).toEqual([503, '{"status":"fail"}']);
    expect((await get(port, '/healthz')).text).toBe('{"status":"ok"}');
  });

  it('a predicate sees the request', async () => {
    const seen: string[] = [];
    const { health, port } = await serve({
      probes: {
        detail: (req) => {
          seen.push(req.url ?? '');
          return req.url?.includes('debug') === true;
        },
      },
      checks: { db: { check: failing } },
    });
    health.started();
    expect((await get(port, '/ready')).json).toEqual({ status: 'fail' });
    expect((await get(port, '/ready?debug')).json).toMatchObject({
      checks: { db: { status: 'fail' } },
    });
    expect(seen).toEqual(['/ready', '/ready?debug']);
  });

  it("'always' shows it", async () => {
    const { health, port } = await serve({
      probes: { detail: 'always' },
      checks: { db: { check: failing } },
    });
    health.started();
    expect((await get(port, '/ready')).json).toMatchObject({
      checks: { db: { error: 'db.internal:5432 refused' } },
    });
  });
});

describe('circuit breakers', () => {
  it("an open or isolated breaker degrades readiness by default; 'fail' takes it out of rotation", async () => {
    const breaker = circuitBreaker({ window: { type: 'consecutive', failures: 1 } });
    const { health, port } = await serve({ breakers: { payments: breaker } });
    health.started();
    expect((await get(port, '/ready')).json).toEqual({
      status: 'ok',
      checks: { payments: { status: 'ok', latencyMs: 0, detail: { state: 'closed' } } },
    });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    expect(breaker.state).toBe('open');
    const r = await get(port, '/ready');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      status: 'degraded',
      checks: {
        payments: {
          status: 'fail',
          latencyMs: 0,
          error: 'circuit open',
          detail: { state: 'open' },
        },
      },
    });

    const other = circuitBreaker();
    const strict = await serve({ breakers: { ledger: other }, onBreakerOpen: 'fail' });
    strict.health.started();
    const release = other.isolate();
    const s = await get(strict.port, '/ready');
    expect([s.status, s.json]).toMatchObject([
      503,
      { status: 'fail', checks: { ledger: { error: 'circuit isolated' } } },
    ]);
    release();
    expect((await get(strict.port, '/ready')).status).toBe(200);
  });
});

describe('separate probe server', () => {
  it('listen() serves the probes, 404 elsewhere, and close() frees the port', async () => {
    const health = createHealth({ probes: { host: '127.0.0.1' } });
    cleanups.push(() => health.close());
    const probe = await health.listen(0);
    expect(probe.port).toBeGreaterThan(0);
    expect((await get(probe.port, '/startup')).status).toBe(503);
    health.started();
    expect((await get(probe.port, '/ready')).json).toEqual({ status: 'ok' });
    expect((await get(probe.port, '/anything')).status).toBe(404);
    await probe.close();
    await expect(get(probe.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('health.close() closes its probe servers; listen() reports a port in use', async () => {
    const health = createHealth();
    const probe = await health.listen(0, '127.0.0.1');
    await expect(health.listen(probe.port, '127.0.0.1')).rejects.toThrow(/EADDRINUSE/);
    await health.close();
    await expect(get(probe.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('takes probes.port when no port is given', async () => {
    const blocker = createServer();
    const port = await listenLocal(blocker);
    await closeServer(blocker);
    const health = createHealth({ probes: { port, host: '127.0.0.1' } });
    cleanups.push(() => health.close());
    const probe = await health.listen();
    expect(probe.port).toBe(port);
  });

  it.each([
    [(h: Health) => h.listen(), /option "port" is required/],
    [(h: Health) => h.listen(-1), /option "port" must be >= 0/],
    [(h: Health) => h.listen(1.5), /option "port" must be an integer/],
    [(h: Health) => h.listen(0, ''), /option "host" must be a non-empty string/],
  ])('rejects bad listen arguments %#', async (call, message) => {
    const health = createHealth();
    cleanups.push(() => health.close());
    await expect(call(health)).rejects.toThrow(TypeError);
    await expect(call(health)).rejects.toThrow(message);
  });
});

describe('programmatic answers', () => {
  it('liveness(), readiness() and startup() return the full answer', async () => {
    const health = createHealth({ checks: { a: { check: () => 1 } } });
    cleanups.push(() => health.close());
    expect(health.startup()).toEqual({ statusCode: 503, body: { status: 'starting' } });
    expect(await health.readiness()).toEqual({ statusCode: 503, body: { status: 'starting' } });
    health.started();
    health.started();
    expect(health.startup()).toEqual({ statusCode: 200, body: { status: 'ok' } });
    expect(await health.readiness()).toEqual({
      statusCode: 200,
      body: { status: 'ok', checks: { a: { status: 'ok', latencyMs: 0, detail: 1 } } },
    });
    expect(health.liveness().statusCode).toBe(200);
  });

  it('maxEventLoopDelayMs: Infinity switches the measurement off', () => {
    const health = createHealth({ maxEventLoopDelayMs: Number.POSITIVE_INFINITY });
    cleanups.push(() => health.close());
    expect(health.liveness()).toEqual({
      statusCode: 200,
      body: { status: 'ok', eventLoopDelayMs: 0 },
    });
  });
});

describe('createHealth options', () => {
  const ok = () => 1;
  it.each([
    [null, /options must be an object/],
    [{ probe: {} }, /unknown option "probe"/],
    [
      { onCriticalFailure: 'ignore' },
      /option "onCriticalFailure" must be one of 'fail', 'degrade'/,
    ],
    [{ onBreakerOpen: true }, /option "onBreakerOpen" must be one of/],
    [{ maxEventLoopDelayMs: 0 }, /option "maxEventLoopDelayMs" must be > 0/],
    [{ maxEventLoopDelayMs: '1s' }, /option "maxEventLoopDelayMs" must be a number/],
    [
      { clock: { now: () => 0 } },
      /option "clock" must have now\(\), setTimeout\(\) and clearTimeout\(\)/,
    ],
    [{ probes: 5 }, /option "probes" must be an object/],
    [{ probes: { path: '/x' } }, /unknown option "probes\.path"/],
    [{ probes: { readinessPath: 'ready' } }, /option "probes\.readinessPath" must be a path/],
    [{ probes: { livenessPath: '/h?x=1' } }, /option "probes\.livenessPath" must be a path/],
    [{ probes: { startupPath: '/healthz' } }, /must differ/],
    [{ probes: { port: 70_000 } }, /option "probes\.port" must be <= 65535/],
    [{ probes: { host: 7 } }, /option "probes\.host" must be a non-empty string/],
    [
      { probes: { detail: 'public' } },
      /option "probes\.detail" must be one of 'never', 'always', 'loopback'/,
    ],
    [
      { probes: { liveness: { periodSeconds: 0 } } },
      /option "probes\.liveness\.periodSeconds" must be >= 1/,
    ],
    [
      { probes: { readiness: { timeoutSeconds: 0.5 } } },
      /option "probes\.readiness\.timeoutSeconds" must be an integer/,
    ],
    [
      { probes: { startup: { failureThreshold: -1 } } },
      /option "probes\.startup\.failureThreshold"/,
    ],
    [{ probes: { startup: { delay: 1 } } }, /unknown option "probes\.startup\.delay"/],
    [
      { checks: { db: { check: ok, timeoutMs: -1 } } },
      /option "checks\.db\.timeoutMs" must be > 0/,
    ],
    [{ checks: { db: ok } }, /option "checks\.db" must be an object/],
    [{ breakers: { db: {} } }, /option "breakers\.db" must be a circuit breaker/],
    [
      { checks: { db: { check: ok } }, breakers: { db: circuitBreaker() } },
      /option "breakers\.db" has the name of a check/,
    ],
  ])('rejects %j', (options, message) => {
    expect(() => createHealth(options as HealthOptions)).toThrow(TypeError);
    expect(() => createHealth(options as HealthOptions)).toThrow(message);
  });
});

describe('graceful shutdown wiring', () => {
  it('health.shutdown fails readiness at once while liveness stays up, on the health clock', async () => {
    const clock = new ManualClock();
    const { health, port } = await serve({
      clock,
      shutdown: { signals: [], exit: false, drainDelayMs: 1_000, requestTimeoutMs: 0 },
    });
    health.started();
    expect((await get(port, '/ready')).status).toBe(200);
    const done = health.shutdown.shutdown('test');
    expect(health.state.shuttingDown).toBe(true);
    expect(health.shutdown.phase).toBe('draining');
    const ready = await get(port, '/ready');
    expect([ready.status, ready.json]).toEqual([503, { status: 'shutting_down' }]);
    expect((await get(port, '/healthz')).status).toBe(200);
    // The drain delay runs on the clock given to createHealth.
    await clock.advance(999);
    expect(health.shutdown.phase).toBe('draining');
    await clock.advance(1);
    await expect(done).resolves.toBe(0);
  });

  it('listens for signals from creation until close()', async () => {
    const before = process.listenerCount('SIGTERM');
    const health = createHealth();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    await health.close();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    const quiet = createHealth({ shutdown: { signals: [] } });
    expect(process.listenerCount('SIGTERM')).toBe(before);
    await quiet.close();
  });

  it('rejects bad shutdown options at creation, leaving no listener behind', () => {
    const before = process.listenerCount('SIGTERM');
    expect(() => createHealth({ shutdown: { drainDelayMs: -1 } })).toThrow(TypeError);
    expect(() => createHealth({ shutdown: { drainDelayMs: -1 } })).toThrow(/"drainDelayMs"/);
    expect(() => createHealth({ shutdown: 'now' as never })).toThrow(/must be an object/);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
