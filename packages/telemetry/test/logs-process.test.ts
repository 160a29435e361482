import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/*
 * End to end: a real node:http service in a child process (test/fixtures/logs-server.mjs) logging
 * through the BUILT package (dist/logs), so the build is a prerequisite: beforeAll runs it, and the
 * root `npm test` builds first anyway. Lines are counted in the real file or pipe against the
 * requests served. Waits poll with bounded deadlines; nothing sleeps to "let things happen".
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/logs-server.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/logs/index.js', import.meta.url));

type Line = Record<string, unknown>;

interface Service {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
let dir: string;

beforeAll(() => {
  // Emits dist even when a file elsewhere in the package does not typecheck yet; a missing
  // dist/logs is the only failure that matters here.
  try {
    execFileSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-b', 'packages/telemetry'],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
  } catch (err) {
    if (!existsSync(built)) throw err;
  }
  dir = mkdtempSync(join(tmpdir(), 'nines-logs-process-'));
}, 180_000);

afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function withDeadline<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function start(
  config: Record<string, unknown>,
  stdout: 'pipe' | 'ignore' = 'ignore',
): Promise<Service> {
  const child = spawn(process.execPath, ['--expose-gc', fixture, JSON.stringify(config)], {
    stdio: ['ignore', stdout, 'pipe'],
  });
  children.push(child);
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  let stderr = '';
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr += `${line}\n`;
      if (line.startsWith('{"port":')) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then(() => reject(new Error(`fixture exited before listening:\n${stderr}`)));
  });
  return {
    child,
    port: await withDeadline('fixture start', 15_000, port),
    stderr: () => stderr,
    exited,
  };
}

/** GET over a keep-alive agent; rejects on a dropped connection. */
function get(port: number, path: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** `n` requests to /work, `concurrency` at a time; resolves with how many got a 200. */
async function serve(port: number, n: number, concurrency = 8): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let ok = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const { status } = await get(port, '/work', agent);
      if (status === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return ok;
}

function readLines(file: string): Line[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
}

/** A request the service never answers (it crashes or exits): resolves when the socket drops. */
async function fire(port: number, path: string): Promise<void> {
  const agent = new Agent();
  await get(port, path, agent).then(
    () => {
      throw new Error(`${path} was answered`);
    },
    () => undefined,
  );
  agent.destroy();
}

const N = 200;
const BURST = 2000;

describe('no lost lines (child process, real file)', () => {
  it('normal exit: the server closes, the process ends by itself, every request has its line', async () => {
    const file = join(dir, 'normal.log');
    const svc = await start({ file });
    expect(await serve(svc.port, N)).toBe(N);
    svc.child.kill('SIGTERM');
    const { code, signal } = await withDeadline('normal exit', 15_000, svc.exited);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const lines = readLines(file);
    const access = lines.filter((l) => l.msg === 'request completed');
    expect(access).toHaveLength(N);
    expect(access.every((l) => l.route === '/work' && l.status === 200 && l.level === 'info')).toBe(
      true,
    );
    expect(lines.at(-1)).toMatchObject({ msg: 'stopping', served: N });
    expect(lines).toHaveLength(N + 1);
  });

  it('process.exit() right after a burst: pino flushes the queued lines on exit', async () => {
    const file = join(dir, 'exit.log');
    const svc = await start({ file });
    expect(await serve(svc.port, N)).toBe(N);
    await fire(svc.port, `/exit?n=${BURST}`);
    const { code } = await withDeadline('exit', 15_000, svc.exited);
    expect(code).toBe(0);
    const lines = readLines(file);
    expect(lines.filter((l) => l.msg === 'request completed')).toHaveLength(N);
    const burst = lines.filter((l) => l.msg === 'before exit');
    expect(burst).toHaveLength(BURST);
    expect(burst.map((l) => l.i)).toEqual(Array.from({ length: BURST }, (_, i) => i));
    expect(lines).toHaveLength(N + BURST);
  });

  for (const [path, message] of [
    ['/throw', 'boom'],
    ['/reject', 'rejected'],
  ] as const) {
    it(`${path}: the fatal handler logs the error after every earlier line and exits with 1`, async () => {
      const file = join(dir, `fatal-${path.slice(1)}.log`);
      const svc = await start({ file, fatal: true });
      expect(await serve(svc.port, N)).toBe(N);
      await fire(svc.port, `${path}?n=${BURST}`);
      const { code, signal } = await withDeadline('fatal exit', 15_000, svc.exited);
      expect({ code, signal }).toEqual({ code: 1, signal: null });
      const lines = readLines(file);
      expect(lines.filter((l) => l.msg === 'request completed')).toHaveLength(N);
      expect(lines.filter((l) => l.msg === 'before crash')).toHaveLength(BURST);
      expect(lines).toHaveLength(N + BURST + 1);
      expect(lines.at(-1)).toMatchObject({
        level: 'fatal',
        service: 'fixture',
        origin: path === '/throw' ? 'uncaughtException' : 'unhandledRejection',
        err: { message },
      });
      // Node's own report is not printed: the handler took over the crash.
      expect(svc.stderr()).not.toContain('at Server.');
    });
  }
  it('/throw without the handler: pino still writes the queued lines on exit, the crash only reaches stderr', async () => {
    const file = join(dir, 'unhandled.log');
    const svc = await start({ file });
    expect(await serve(svc.port, N)).toBe(N);
    await fire(svc.port, `/throw?n=${BURST}`);
    const { code } = await withDeadline('crash', 15_000, svc.exited);
    expect(code).toBe(1);
    const lines = readLines(file);
    expect(lines).toHaveLength(N + BURST);
    expect(lines.some((l) => l.level === 'fatal')).toBe(false);
    expect(svc.stderr()).toContain('Error: boom');
  });
});

describe('slow destination (child process, stdout pipe read slowly)', () => {
  const REQUESTS = 60;
  const LINES = 300; // about 1 KB each: 18 MB logged in all

  interface Stats {
    served: number;
    droppedLines: number;
    heapUsed: number;
  }

  async function run(maxBufferBytes: number | 'Infinity') {
    const svc = await start({ maxBufferBytes }, 'pipe');
    const out = svc.child.stdout!;
    const chunks: Buffer[] = [];
    // Slow reader: at most 8 KB every 20 ms, so the pipe stays full while the service logs.
    const slow = setInterval(() => {
      for (let k = 0; k < 2; k++) {
        const c = out.read(4096) as Buffer | null;
        if (c === null) break;
        chunks.push(c);
      }
    }, 20);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const stats = async (): Promise<Stats> =>
        JSON.parse((await get(svc.port, '/stats', agent)).body) as Stats;
      const before = await stats();
      const durations: number[] = [];
      for (let r = 0; r < REQUESTS; r++) {
        const t0 = performance.now();
        const { status } = await withDeadline(
          'burst request',
          10_000,
          get(svc.port, `/burst?n=${LINES}`, agent),
        );
        durations.push(performance.now() - t0);
        expect(status).toBe(200);
      }
      const after = await stats();
      agent.destroy();

      // Now read at full speed and wait for the service to catch up.
      clearInterval(slow);
      out.on('data', (c: Buffer) => chunks.push(c));
      const text = (): string => Buffer.concat(chunks).toString('utf8');
      if (maxBufferBytes !== 'Infinity') {
        await withDeadline(
          'drop report',
          30_000,
          new Promise<void>((resolve) => {
            const check = (): void => {
              if (text().includes('"dropped_lines"')) resolve();
              else out.once('data', check);
            };
            check();
          }),
        );
      }
      svc.child.kill('SIGTERM');
      expect((await withDeadline('exit', 30_000, svc.exited)).code).toBe(0);
      const lines = text()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line);
      return { before, after, durations, lines };
    } finally {
      clearInterval(slow);
      agent.destroy();
    }
  }

  it('keeps serving with bounded memory, and counts and reports every dropped line', async () => {
    const { before, after, durations, lines } = await run(256 * 1024);
    expect(Math.max(...durations)).toBeLessThan(5_000);
    expect(after.served).toBe(REQUESTS + 1);
    expect(after.droppedLines).toBeGreaterThan(0);
    // 18 MB went through a buffer bounded at 256 KiB.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(6 * 1024 * 1024);

    // Every line is whole JSON (a dropped line is dropped entirely) and the books balance:
    // lines received + lines dropped = lines logged.
    const reports = lines.filter((l) => l.dropped_lines !== undefined);
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((l) => l.level === 'warn')).toBe(true);
    const droppedTotal = Math.max(...reports.map((l) => l.dropped_lines_total as number));
    expect(reports.reduce((s, l) => s + (l.dropped_lines as number), 0)).toBe(droppedTotal);
    expect(droppedTotal).toBeGreaterThanOrEqual(after.droppedLines);
    const logged = REQUESTS * LINES + REQUESTS + 2 + 1; // bursts, their access lines, 2 stats, stopping
    const received = lines.length - reports.length;
    // The second /stats access line is written after its response: it may or may not be counted.
    expect(received + droppedTotal).toBeGreaterThanOrEqual(logged - 1);
    expect(received + droppedTotal).toBeLessThanOrEqual(logged);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopping' });
  }, 120_000);

  it('without a bound the same load grows the heap and drops nothing (what the bound prevents)', async () => {
    const { before, after, durations, lines } = await run('Infinity');
    expect(Math.max(...durations)).toBeLessThan(5_000);
    expect(after.droppedLines).toBe(0);
    expect(after.heapUsed - before.heapUsed).toBeGreaterThan(10 * 1024 * 1024);
    expect(lines.filter((l) => l.msg === 'burst')).toHaveLength(REQUESTS * LINES);
  }, 120_000);
});
