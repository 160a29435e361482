import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseShare, findInstances, killInstances } from '../src/experiment/instances.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SUPERVISOR = join(FIXTURES, 'supervisor.mjs');
const SERVICE = join(FIXTURES, 'hello-service.mjs');

interface Event {
  event: string;
  index: number;
  pid: number;
  code?: number | null;
  signal?: string | null;
  port?: number;
}

interface Running {
  child: ChildProcess;
  /** Supervisor events (stdout). */
  events: Event[];
  /** The services' own lines (stderr), e.g. `listening` with the port. */
  service: Event[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dir: string;
const started: Running[] = [];
const pidsSeen = new Set<number>();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nines-supervisor-'));
});

afterEach(async () => {
  for (const run of started.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }
  // Services of a supervisor killed outright exit on their own; make sure anyway.
  for (const pid of pidsSeen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pidsSeen.clear();
  await rm(dir, { recursive: true, force: true });
});

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
}

function supervise(args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [SUPERVISOR, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Running = {
    child,
    events: [],
    service: [],
    stderr: [],
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  lines(child.stdout!, (line) => {
    const event = JSON.parse(line) as Event;
    if (typeof event.pid === 'number') pidsSeen.add(event.pid);
    run.events.push(event);
  });
  lines(child.stderr!, (line) => {
    run.stderr.push(line);
    if (line.startsWith('{')) run.service.push(JSON.parse(line) as Event);
  });
  started.push(run);
  return run;
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function pidFileOf(index: number): Promise<number | undefined> {
  try {
    const text = (await readFile(join(dir, `${index}.pid`), 'utf8')).trim();
    return text === '' ? undefined : Number(text);
  } catch {
    return undefined;
  }
}

async function get(
  port: number,
  path: string,
): Promise<{ status: number; body: { pid: number; index: number } }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as { pid: number; index: number } };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the service with this pid is listening; returns its port. */
function portOf(run: Running, pid: number): Promise<number> {
  return waitFor(
    `pid ${pid} to listen`,
    () => run.service.find((e) => e.pid === pid && e.event === 'listening')?.port,
  );
}

describe('supervisor fixture with real services', () => {
  it('restarts an instance killed by killInstances, and stops cleanly on SIGTERM', async () => {
    const run = supervise(['--pid-dir', dir, '--count', '3', '--', process.execPath, SERVICE], {
      PORT: '0',
    });
    const first = await waitFor('three pid files', async () => {
      const pids = await Promise.all([0, 1, 2].map(pidFileOf));
      return pids.every((p) => p !== undefined) ? (pids as number[]) : undefined;
    });
    expect(run.events.filter((e) => e.event === 'started').map((e) => [e.index, e.pid])).toEqual(
      first.map((pid, index) => [index, pid]),
    );
    for (const [index, pid] of first.entries()) {
      const port = await portOf(run, pid);
      expect(await get(port, '/')).toEqual({
        status: 200,
        body: { ok: true, index, pid, path: '/' },
      });
      expect((await get(port, '/ready')).status).toBe(200);
    }

    const { instances, skipped } = await findInstances({ pidDir: dir });
    expect(skipped).toEqual([]);
    expect(instances).toEqual(first.map((pid, i) => ({ pid, source: join(dir, `${i}.pid`) })));

    const chosen = chooseShare(instances, 0.3, () => 0.5);
    expect(chosen).toHaveLength(1);
    const victim = chosen[0]!;
    const index = first.indexOf(victim.pid);
    const results = await killInstances(chosen);
    expect(results).toEqual([
      { pid: victim.pid, source: victim.source, killed: true, exited: true },
    ]);
    // (The supervisor may not have reaped it yet; its exit event below says how it went.)

    const restarted = await waitFor('the restart', () =>
      run.events.find((e) => e.event === 'restarted' && e.index === index),
    );
    expect(run.events).toContainEqual({
      event: 'exited',
      index,
      pid: victim.pid,
      code: null,
      signal: 'SIGKILL',
    });
    expect(restarted.pid).not.toBe(victim.pid);
    expect(
      await waitFor('the rewritten pid file', async () => {
        const pid = await pidFileOf(index);
        return pid === restarted.pid ? pid : undefined;
      }),
    ).toBe(restarted.pid);
    const port = await portOf(run, restarted.pid);
    expect((await get(port, '/')).body).toMatchObject({ index, pid: restarted.pid });
    // The others were left alone.
    for (const pid of first) if (pid !== victim.pid) expect(alive(pid)).toBe(true);
    expect((await findInstances({ pidDir: dir })).instances.map((i) => i.pid).sort()).toEqual(
      first.map((p) => (p === victim.pid ? restarted.pid : p)).sort(),
    );

    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    const all = [...first, restarted.pid];
    await waitFor('every service to be gone', () => (all.some(alive) ? undefined : true));
    expect(await readdir(dir)).toEqual([]);
    expect(run.events.filter((e) => e.event === 'restarted')).toHaveLength(1);
  });

  it('restarts every instance when all are killed with SIGTERM', async () => {
    const run = supervise(['--pid-dir', dir, '--count', '2', '--', process.execPath, SERVICE], {
      PORT: '0',
    });
    const { instances } = await waitFor('two instances', async () => {
      const found = await findInstances({ pidDir: dir });
      return found.instances.length === 2 ? found : undefined;
    });
    // Both are listening, so their SIGTERM handlers are in place.
    for (const instance of instances) await portOf(run, instance.pid);
    const results = await killInstances(chooseShare(instances, 1), { signal: 'SIGTERM' });
    expect(results.every((r) => r.killed && r.exited)).toBe(true);
    await waitFor('two restarts', () =>
      run.events.filter((e) => e.event === 'restarted').length === 2 ? true : undefined,
    );
    // The service stops itself cleanly on SIGTERM.
    expect(
      run.events
        .filter((e) => e.event === 'exited')
        .map((e) => [e.pid, e.code, e.signal])
        .sort(),
    ).toEqual(instances.map((i) => [i.pid, 0, null]).sort());
    const now = await waitFor('two new live instances', async () => {
      const found = await findInstances({ pidDir: dir });
      const fresh = found.instances.filter((i) => !instances.some((old) => old.pid === i.pid));
      return fresh.length === 2 ? fresh : undefined;
    });
    for (const instance of now) {
      expect((await get(await portOf(run, instance.pid), '/ready')).status).toBe(200);
    }
    run.child.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 0, signal: null });
  });

  it('gives each copy port = base + index when a base port is set', async () => {
    const base = await freePortPair();
    const run = supervise([
      '--pid-dir',
      dir,
      '--count',
      '2',
      '--',
      process.execPath,
      SERVICE,
      '--port',
      String(base),
    ]);
    const pids = await waitFor('two listening services', () => {
      const listening = run.service.filter((e) => e.event === 'listening');
      return listening.length === 2 ? listening : undefined;
    });
    expect(pids.map((e) => [e.index, e.port]).sort()).toEqual([
      [0, base],
      [1, base + 1],
    ]);
    expect((await get(base + 1, '/')).body.index).toBe(1);
    expect((await fetch(`http://127.0.0.1:${base}/nope`)).status).toBe(404);
    run.child.kill('SIGTERM');
    expect((await run.exit).code).toBe(0);
  });

  it('refuses a bad command line with a usage message', async () => {
    for (const args of [
      [],
      ['--pid-dir', dir],
      ['--count', 'x', '--pid-dir', dir, '--', 'node'],
      ['--nope', '1', '--', 'node'],
    ]) {
      const run = supervise(args);
      expect(await run.exit, args.join(' ')).toEqual({ code: 2, signal: null });
      expect(run.stderr.join('\n')).toMatch(/^supervisor: .*\nusage: node supervisor\.mjs/);
    }
  });
});

/** Finds a port p with p and p + 1 free on 127.0.0.1 (probing with real listeners). */
async function freePortPair(): Promise<number> {
  const { createServer } = await import('node:net');
  const listen = (port: number) =>
    new Promise<import('node:net').Server | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = await listen(0);
    if (a === undefined) continue;
    const port = (a.address() as { port: number }).port;
    const b = port < 65535 ? await listen(port + 1) : undefined;
    await new Promise((r) => a.close(r));
    if (b !== undefined) {
      await new Promise((r) => b.close(r));
      return port;
    }
  }
  throw new Error('no free pair of ports');
}
