import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

/*
 * End to end: a real service in a child process (test/fixtures/shutdown-server.mjs, which imports
 * the built package from dist/), real connections, real signals. Waits poll with bounded
 * deadlines; nothing waits a fixed time to "let things happen".
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/shutdown-server.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface LogEvent {
  event: string;
  phase?: string;
  port?: number;
  name?: string;
  outcome?: string;
  requests?: number;
  at: number;
}

interface Service {
  child: ChildProcess;
  port: number;
  events: LogEvent[];
  /** Resolves with the first logged event that matches, or rejects after `withinMs`. */
  waitFor: (match: (e: LogEvent) => boolean, withinMs: number) => Promise<LogEvent>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill();
});

beforeAll(() => {
  // The fixture runs the built package: build it (a no-op when dist is up to date, as after the
  // root `npm test`, whose typecheck emits dist).
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'packages/health'], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch (err) {
    if (!existsSync(dist)) throw err;
  }
}, 120_000);

/** Real time since an arbitrary origin, to order what the test saw. */
const now = (): number => performance.now();

async function startService(config: Record<string, number>): Promise<Service> {
  const child = spawn(process.execPath, [fixture, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    at: now(),
  }));
  const events: LogEvent[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push({ ...(JSON.parse(line) as Omit<LogEvent, 'at'>), at: now() });
    for (const w of waiters) w();
  });
  const waitFor = (match: (e: LogEvent) => boolean, withinMs: number): Promise<LogEvent> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = events.find(match);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`no matching event within ${withinMs} ms; got ${JSON.stringify(events)}
stderr: ${stderr}`),
        );
      }, withinMs);
      waiters.add(check);
      check();
    });
  const listening = await waitFor((e) => e.event === 'listening', 10_000);
  return { child, port: listening.port!, events, waitFor, exited };
}

interface Outcome {
  status?: number;
  headers?: IncomingHttpHeaders;
  error?: string;
  body?: string;
}

function get(port: number, path: string, agent?: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/** Calls `probe` until `done` says yes, or fails after `withinMs`. */
async function poll<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  withinMs: number,
): Promise<T> {
  const deadline = now() + withinMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
    await sleep(10);
  }
}

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

/** Waits for the child's exit, failing if it takes longer than `withinMs`. */
async function exitWithin(
  service: Service,
  withinMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the service did not exit within ${withinMs} ms`)),
      withinMs,
    );
  });
  try {
    return await Promise.race([service.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('graceful shutdown of a real process', { timeout: 15_000 }, () => {
  it('under load, on SIGTERM: readiness 503 first, liveness 200, every request answered, new connections refused, exit 0', async () => {
    const drainDelayMs = 800;
    const requestTimeoutMs = 1_500;
    const hookBudget = 2 * 500;
    const service = await startService({ drainDelayMs, requestTimeoutMs, hookTimeoutMs: 500 });
    const { port } = service;
    const agent = new Agent({ keepAlive: true, maxSockets: 50 });

    // 50 clients in a loop of 150-350 ms requests over kept-alive connections, until they stop
    // sending as a load balancer would once it has noticed the failing readiness.
    let stop = false;
    let sigtermAt = Number.POSITIVE_INFINITY;
    const outcomes: Array<Outcome & { sentAfterSignal: boolean }> = [];
    const workers = Array.from({ length: 50 }, async (_, i) => {
      for (let k = 0; k < 40 && !stop; k++) {
        const ms = 150 + ((i * 37 + k * 53) % 200);
        const sentAfterSignal = now() > sigtermAt;
        outcomes.push({ ...(await get(port, `/slow?ms=${ms}`, agent)), sentAfterSignal });
      }
    });
    await poll(
      () => get(port, '/inflight'),
      (r) => r.body === '50',
      5_000,
    );

    sigtermAt = now();
    service.child.kill('SIGTERM');
    const unready = await poll(
      () => get(port, '/ready'),
      (r) => r.status === 503,
      1_000,
    );
    const unreadyAt = now();
    const live = await get(port, '/healthz');
    expect(unready.body).toContain('shutting_down');
    expect(live.status).toBe(200);
    // Long requests on new connections during the drain: still in flight when accepting stops.
    const late = Array.from({ length: 10 }, () => get(port, '/slow?ms=1000'));
    // Both probes were answered during the drain, before the service stopped accepting.
    expect(service.events.some((e) => e.phase === 'closing')).toBe(false);

    // Well before the drain ends (a margin of about half of it for a slow machine).
    await sleep(drainDelayMs / 2);
    stop = true;

    const closing = await service.waitFor((e) => e.phase === 'closing', 3_000);
    expect(closing.at - unreadyAt).toBeGreaterThan(drainDelayMs / 2);
    expect(await connectError(port)).toBe('ECONNREFUSED');

    const lateOutcomes = await Promise.all(late);
    await Promise.all(workers);
    agent.destroy();
    const exit = await exitWithin(service, drainDelayMs + requestTimeoutMs + hookBudget + 2_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sigtermAt).toBeLessThan(drainDelayMs + requestTimeoutMs + hookBudget + 1_000);

    // Every request, sent before or after the signal, was answered with 200.
    expect(outcomes.length).toBeGreaterThan(100);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    expect(outcomes.filter((o) => o.sentAfterSignal).length).toBeGreaterThan(0);
    // Those still running at the close were answered, and told not to reuse the connection.
    expect(lateOutcomes.map((o) => [o.status, o.headers?.connection])).toEqual(
      Array.from({ length: 10 }, () => [200, 'close']),
    );

    const log = service.events.map((e) => e.phase ?? (e.name ? `${e.name}:${e.outcome}` : e.event));
    expect(log).toEqual([
      'listening',
      'draining',
      'closing',
      'hooks',
      'telemetry:ok',
      'database:ok',
      'probes:ok',
      'done',
    ]);
  });

  it('cuts off a request that outlives requestTimeoutMs and exits 1', async () => {
    const drainDelayMs = 300;
    const requestTimeoutMs = 1_000;
    const service = await startService({ drainDelayMs, requestTimeoutMs });
    const long = get(service.port, '/slow?ms=8000');
    await poll(
      () => get(service.port, '/inflight'),
      (r) => r.body === '1',
      5_000,
    );
    const sigtermAt = now();
    service.child.kill('SIGTERM');
    const exit = await exitWithin(service, drainDelayMs + requestTimeoutMs + 2 * 500 + 2_000);
    expect(exit).toMatchObject({ code: 1, signal: null });
    // Not before the request's time was up.
    expect(exit.at - sigtermAt).toBeGreaterThanOrEqual(drainDelayMs + requestTimeoutMs - 50);
    expect((await long).error).toBe('ECONNRESET');
    expect(service.events.find((e) => e.event === 'cut-off')).toMatchObject({ requests: 1 });
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    'forces the exit within a second on a second signal (%s -> exit %i)',
    async (second, code) => {
      const service = await startService({ drainDelayMs: 300, requestTimeoutMs: 5_000 });
      const long = get(service.port, '/slow?ms=8000');
      await poll(
        () => get(service.port, '/inflight'),
        (r) => r.body === '1',
        5_000,
      );
      service.child.kill('SIGTERM');
      // The second signal arrives while the shutdown still waits for the request.
      await service.waitFor((e) => e.phase === 'closing', 2_000);
      const secondAt = now();
      service.child.kill(second);
      const exit = await exitWithin(service, 1_000);
      expect(exit).toMatchObject({ code, signal: null });
      expect(exit.at - secondAt).toBeLessThan(1_000);
      expect((await long).error).toBe('ECONNRESET');
    },
  );

  it('does not keep an idle process alive: with nothing to do it exits on its own', async () => {
    const script = [
      `import { createShutdown } from ${JSON.stringify(dist)};`,
      `import { HealthState } from ${JSON.stringify(dist.replace(/index\.js$/, 'state.js'))};`,
      'createShutdown(new HealthState());',
      "process.stdout.write(String(process.listenerCount('SIGTERM')));",
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const [exitCode] = (await Promise.race([
      once(child, 'exit'),
      sleep(5_000).then(() => {
        throw new Error('the idle process did not exit within 5 s');
      }),
    ])) as [number | null];
    expect(out).toBe('1');
    expect(exitCode).toBe(0);
  });
});
