// End-to-end chaos experiments with real processes on loopback: instrumented services, the fault
// proxy, a supervisor, and `nines chaos run` itself.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const service = fileURLToPath(new URL('../../chaos/examples/service.js', import.meta.url));
const supervisor = fileURLToPath(
  new URL('../../chaos/test/fixtures/supervisor.mjs', import.meta.url),
);
const TOKEN = 'e2e-token-0123456789abcdef';

const children: ChildProcess[] = [];
const dirs: string[] = [];
const stops: Array<() => void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  // SIGTERM first: the supervisor then stops the instances it started (a SIGKILL would leave them
  // running); whatever has not exited after 5 s is killed.
  await Promise.all(
    children.splice(0).map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGTERM');
      const late = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(late);
    }),
  );
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function until<T>(fn: () => T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Spawns a process and keeps its output lines. */
function run(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  children.push(child);
  const out: string[] = [];
  const err: string[] = [];
  const collect = (into: string[]) => {
    let rest = '';
    return (d: Buffer) => {
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop() ?? '';
      into.push(...parts);
    };
  };
  child.stdout?.on('data', collect(out));
  child.stderr?.on('data', collect(err));
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1)));
  });
  return { child, out, err, exited };
}

interface Service {
  readonly port: number;
  readonly faults?: string;
  readonly out: string[];
}

async function startService(env: Record<string, string>): Promise<Service> {
  const p = run([service], env);
  const line = await until(
    () => p.out.find((l) => l.startsWith('{"ready":true')),
    `${env.SERVICE} to listen (stderr: ${p.err.join('\n')})`,
  );
  const ready = JSON.parse(line) as { port: number; faults?: string };
  return { port: ready.port, ...(ready.faults ? { faults: ready.faults } : {}), out: p.out };
}

/** `nines proxy` with one proxy named store in front of `upstreamPort`. */
async function startProxy(upstreamPort: number) {
  const p = run([
    cli,
    'proxy',
    '--port',
    '0',
    '--proxy',
    `store=127.0.0.1:0=127.0.0.1:${upstreamPort}`,
  ]);
  const text = () => p.out.join('\n');
  await until(() => /store: 127\.0\.0\.1:\d+ ->/.test(text()), 'the proxy banner');
  const admin = /admin API on (\S+)/.exec(text())![1]!;
  const listen = Number(/store: 127\.0\.0\.1:(\d+) ->/.exec(text())![1]);
  return { admin, listen };
}

/** Steady traffic: one GET every `everyMs`, statuses kept, until stopped (bounded by `maxMs`). */
function traffic(url: string, everyMs = 50, maxMs = 60_000) {
  const statuses: number[] = [];
  const started = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - started > maxMs) return clearInterval(timer);
    fetch(url, { signal: AbortSignal.timeout(15_000) })
      .then(async (r) => {
        await r.arrayBuffer();
        statuses.push(r.status);
      })
      .catch(() => statuses.push(0));
  }, everyMs);
  stops.push(() => clearInterval(timer));
  return { statuses, stop: () => clearInterval(timer) };
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function workdir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nines-chaos-e2e-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const slos = `service: front
slos:
  - name: availability
    objective: 99%
    sli: availability
`;

interface JournalLike {
  status: string;
  deviated: boolean;
  reason: string;
  aborted_by: { name: string } | null;
  steady_states: {
    during: Array<{ met: boolean; probes: Array<{ name: string; met: boolean; detail: string }> }>;
    after: { met: boolean } | null;
  };
  run: Array<{ name: string; type: string; status: string; output?: unknown }>;
  rollbacks: Array<{ name: string; type: string; status: string }>;
}

async function chaosRun(dir: string, ...args: string[]) {
  const p = run(
    [cli, 'chaos', 'run', 'experiment.yaml', '--journal', 'journal.json', ...args],
    {},
    dir,
  );
  const journal = async () =>
    JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as JournalLike;
  return { ...p, journal };
}

/** A store, the fault proxy in front of it, and a front calling the store through the proxy. */
async function frontBehindProxy(env: Record<string, string>) {
  const store = await startService({ SERVICE: 'store' });
  const proxy = await startProxy(store.port);
  const front = await startService({
    SERVICE: 'front',
    UPSTREAM: `http://127.0.0.1:${proxy.listen}`,
    ...env,
  });
  return { proxy, front };
}

/** The in-process faults active in a service, from its admin endpoint. */
async function activeFaults(service: Service): Promise<unknown[]> {
  const res = await fetch(`${service.faults}/faults`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return ((await res.json()) as { faults: unknown[] }).faults;
}

async function toxics(admin: string): Promise<unknown[]> {
  return (await (await fetch(`${admin}/proxies/store/toxics`)).json()) as unknown[];
}

describe('nines chaos run, end to end', () => {
  it('an instance killed under a supervisor is restarted, traffic recovers and the experiment passes', async () => {
    const storePort = await freePort();
    const pidDir = await workdir({});
    const sup = run(
      [supervisor, '--pid-dir', pidDir, '--count', '1', '--', process.execPath, service],
      {
        SERVICE: 'store',
        PORT: String(storePort),
      },
    );
    const started = await until(
      () => sup.out.find((l) => l.includes('"started"')),
      'the supervisor',
    );
    const firstPid = (JSON.parse(started) as { pid: number }).pid;
    const front = await startService({
      SERVICE: 'front',
      UPSTREAM: `http://127.0.0.1:${storePort}`,
      // Retries ride out a restart (about a second, several on a loaded machine: 40 x 200 ms
      // covers 8 s). The breaker is kept out of the way: every retry of every request counts as
      // a refused call, so at 20 requests a second any consecutive-failure threshold opens it
      // during a slow restart and turns the restart into an outage of its own.
      RETRIES: '40',
      BREAKER_FAILURES: '1000000',
      TIMEOUT_MS: '1000',
    });
    const load = traffic(`http://127.0.0.1:${front.port}/work`);
    const dir = await workdir({
      'slos.yaml': slos,
      'experiment.yaml': `title: Front survives losing a store instance
slos: slos.yaml
metrics: { front: "http://127.0.0.1:${front.port}/metrics" }
instances: { store: { pid-dir: "${pidDir}" } }
warmup: 5s
hypothesis:
  every: 1s
  probes:
    - name: front availability burn over 20s below 10
      slo: availability
      burn-rate: { window: 20s, below: 10 }
    - name: store ready
      http: { url: "http://127.0.0.1:${storePort}/ready" }
      within: 10s
method:
  - name: kill store
    kill: { instances: store }
  - pause: 4s
`,
    });
    const chaos = await chaosRun(dir);
    const code = await chaos.exited;
    const journal = await chaos.journal();
    expect({
      code,
      status: journal.status,
      deviated: journal.deviated,
      reason: journal.reason,
    }).toEqual({
      code: 0,
      status: 'completed',
      deviated: false,
      reason: 'the hypothesis held before, during and after the method',
    });
    const killed = (journal.run[0]!.output as { killed: Array<{ pid: number; exited: boolean }> })
      .killed;
    expect(killed).toEqual([expect.objectContaining({ pid: firstPid, exited: true })]);
    // The supervisor restarted it, and the front's traffic is served again.
    expect(sup.out.some((l) => l.includes('"restarted"'))).toBe(true);
    const newPid = Number((await readFile(join(pidDir, '0.pid'), 'utf8')).trim());
    expect(newPid).not.toBe(firstPid);
    const before = load.statuses.length;
    await until(() => load.statuses.length > before + 10, 'more traffic');
    expect(load.statuses.slice(-10).every((s) => s === 200)).toBe(true);
    expect(chaos.out.join('\n')).toContain('PASSED: the hypothesis held');
  }, 60_000);

  it('latency on the store opens the front breaker and the experiment detects the SLO burn', async () => {
    const { proxy, front } = await frontBehindProxy({ TIMEOUT_MS: '200' });
    traffic(`http://127.0.0.1:${front.port}/work`);
    const dir = await workdir({
      'slos.yaml': slos,
      'experiment.yaml': `title: Front rides out a slow store
slos: slos.yaml
metrics: { front: "http://127.0.0.1:${front.port}/metrics" }
proxy: ${proxy.admin}
warmup: 2s
hypothesis:
  every: 1s
  probes:
    - name: front availability burn over 10s below 2
      slo: availability
      burn-rate: { window: 10s, below: 2 }
method:
  - name: slow store
    add-latency: { proxy: store, latency: 500ms, duration: 4s }
  - pause: 5s
`,
    });
    const chaos = await chaosRun(dir);
    expect(await chaos.exited).toBe(1);
    const journal = await chaos.journal();
    expect(journal.status).toBe('completed');
    expect(journal.deviated).toBe(true);
    expect(journal.reason).toMatch(
      /"front availability burn over 10s below 2" did not hold during the method: burn rate \d/,
    );
    const misses = journal.steady_states.during.filter((c) => !c.met);
    expect(misses.length).toBeGreaterThan(0);
    // The breaker in front opened while the store was slow, and closed once the latency was gone.
    await until(
      () => front.out.some((l) => l.includes('circuit breaker upstream: closed -> open')),
      'the breaker to open',
    );
    await until(
      () => front.out.some((l) => /circuit breaker upstream: half-open -> closed/.test(l)),
      'the breaker to close again',
    );
    expect(await toxics(proxy.admin)).toEqual([]);
    expect(journal.run.map((r) => `${r.name}:${r.type}:${r.status}`)).toEqual([
      'slow store:add-latency:succeeded',
      'slow store:undo add-latency:succeeded',
      'step-2:pause:succeeded',
    ]);
  }, 60_000);

  it('an abort condition stops the run mid-way and leaves no fault active', async () => {
    const { proxy, front } = await frontBehindProxy({ FAULTS_TOKEN: TOKEN });
    traffic(`http://127.0.0.1:${front.port}/work`);
    const dir = await workdir({
      'experiment.yaml': `title: Errors on front trip the abort
metrics: { front: "http://127.0.0.1:${front.port}/metrics" }
proxy: ${proxy.admin}
faults: { front: { url: "${front.faults}", token: "\${env:FRONT_TOKEN}" } }
abort:
  every: 500ms
  unless:
    - name: error ratio stays below 20 %
      error-ratio: { metrics: front, window: 5s, below: 20% }
method:
  - name: break front
    inject-error: { faults: front, target: front, status: 500 }
  - name: slow store
    add-latency: { proxy: store, latency: 100ms }
  - name: wait
    pause: 60s
`,
    });
    const started = Date.now();
    const chaos = await chaosRun(dir, '--var', `FRONT_TOKEN=${TOKEN}`);
    expect(await chaos.exited).toBe(3);
    expect(Date.now() - started).toBeLessThan(30_000);
    const journal = await chaos.journal();
    expect(journal.status).toBe('aborted');
    expect(journal.aborted_by?.name).toBe('error ratio stays below 20 %');
    expect(journal.run.at(-1)).toMatchObject({ name: 'wait', status: 'interrupted' });
    expect(journal.rollbacks.map((r) => `${r.type}:${r.status}`)).toEqual([
      'undo add-latency:succeeded',
      'undo inject-error:succeeded',
    ]);
    expect(await activeFaults(front)).toEqual([]);
    expect(await toxics(proxy.admin)).toEqual([]);
    const res = await fetch(`http://127.0.0.1:${front.port}/work`);
    expect(res.status).toBe(200);
  }, 60_000);

  it('SIGINT mid-run stops the method and runs every rollback', async () => {
    const { proxy, front } = await frontBehindProxy({ FAULTS_TOKEN: TOKEN });
    const dir = await workdir({
      'experiment.yaml': `title: Interrupted
proxy: ${proxy.admin}
faults: { front: { url: "${front.faults}", token: ${TOKEN} } }
method:
  - name: half errors
    inject-error: { faults: front, target: front, status: 503, share: 50% }
  - name: slow store
    add-latency: { proxy: store, latency: 300ms }
  - name: full disk
    fill-disk: { directory: ./quota, capacity: 1MiB, percent: 90 }
  - name: wait
    pause: 60s
rollbacks:
  - name: tell
    http: { url: "http://127.0.0.1:${front.port}/ready" }
`,
    });
    const chaos = await chaosRun(dir);
    await until(() => chaos.out.some((l) => l.includes('step wait (pause)')), 'the pause to start');
    expect(await readdir(join(dir, 'quota'))).toHaveLength(1);
    chaos.child.kill('SIGINT');
    expect(await chaos.exited).toBe(130);
    const journal = await chaos.journal();
    expect(journal.status).toBe('interrupted');
    expect(journal.rollbacks.map((r) => `${r.name}:${r.type}:${r.status}`)).toEqual([
      'full disk:undo fill-disk:succeeded',
      'slow store:undo add-latency:succeeded',
      'half errors:undo inject-error:succeeded',
      'tell:http:succeeded',
    ]);
    expect(chaos.err.join('\n')).toContain('SIGINT: stopping the method and running the rollbacks');
    // The fill file is gone, and so is the quota folder the action created for it.
    expect(await readdir(join(dir, 'quota')).catch((e: NodeJS.ErrnoException) => e.code)).toBe(
      'ENOENT',
    );
    expect(await toxics(proxy.admin)).toEqual([]);
    expect(await activeFaults(front)).toEqual([]);
  }, 60_000);
});
