import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findInstances, type Instance, killInstances } from '../src/experiment/instances.js';

let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nines-instances-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
});

/** Starts a real node process running `code`; resolves once it prints "ready". */
async function startChild(code = ''): Promise<ChildProcess & { pid: number }> {
  const child = spawn(
    process.execPath,
    ['-e', `${code}; process.stdout.write('ready\\n'); setInterval(() => {}, 1e9);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not start within 10 s')), 10_000);
    child.once('error', reject);
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return child as ChildProcess & { pid: number };
}

/** The pid of a process that has run and exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function exitOf(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('findInstances', () => {
  it('finds live pids through files, a directory and a list', async () => {
    const a = await startChild();
    const b = await startChild();
    const c = await startChild();
    await writeFile(join(dir, 'a.pid'), `${a.pid}\n`);
    await mkdir(join(dir, 'run'));
    await writeFile(join(dir, 'run', '2.pid'), ` ${b.pid} `);
    await writeFile(join(dir, 'run', 'notes.txt'), 'not a pid file');
    const found = await findInstances({
      pidFiles: [join(dir, 'a.pid')],
      pidDir: join(dir, 'run'),
      pids: [c.pid],
    });
    expect(found.skipped).toEqual([]);
    expect(found.instances).toEqual([
      { pid: a.pid, source: join(dir, 'a.pid') },
      { pid: b.pid, source: join(dir, 'run', '2.pid') },
      { pid: c.pid, source: 'pids' },
    ]);
  });

  it('skips and reports missing, junk, empty, huge and dead pid files', async () => {
    const live = await startChild();
    const dead = await deadPid();
    const files: Record<string, string> = {
      '1-live.pid': String(live.pid),
      '2-junk.pid': 'hello',
      '3-empty.pid': '',
      '4-negative.pid': '-5',
      '5-float.pid': '12.5',
      '6-dead.pid': String(dead),
      '7-huge.pid': '1'.repeat(10_000),
      '8-zero.pid': '0',
      '9-two.pid': `${live.pid} ${live.pid}`,
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await mkdir(join(dir, '10-dir.pid'));
    execFileSync('mkfifo', [join(dir, '11-fifo.pid')]);
    const found = await findInstances({
      pidDir: dir,
      pidFiles: [join(dir, 'missing.pid')],
    });
    expect(found.instances).toEqual([{ pid: live.pid, source: join(dir, '1-live.pid') }]);
    const reasons = Object.fromEntries(
      found.skipped.map((s) => [s.source.slice(dir.length + 1), s.reason]),
    );
    expect(reasons).toEqual({
      'missing.pid': 'the pid file is missing',
      '2-junk.pid': 'not a pid: "hello"',
      '3-empty.pid': 'not a pid: ""',
      '4-negative.pid': 'not a pid: "-5"',
      '5-float.pid': 'not a pid: "12.5"',
      '6-dead.pid': `pid ${dead} is not running`,
      '7-huge.pid': 'cannot read the pid file (longer than 64 bytes)',
      '8-zero.pid': 'not a pid: "0"',
      '11-fifo.pid': 'cannot read the pid file (not a regular file)',
      '9-two.pid': `not a pid: ${JSON.stringify(`${live.pid} ${live.pid}`.slice(0, 20))}`,
    });
  });

  it('reports a missing pid directory instead of failing', async () => {
    const found = await findInstances({ pidDir: join(dir, 'nope') });
    expect(found.instances).toEqual([]);
    expect(found.skipped).toEqual([
      { source: join(dir, 'nope'), reason: 'cannot read the pid directory (ENOENT)' },
    ]);
  });

  it('never offers this process, its parent, pid 1 or a pid twice', async () => {
    const live = await startChild();
    await writeFile(join(dir, 'self.pid'), String(process.pid));
    await writeFile(join(dir, 'same.pid'), String(live.pid));
    const found = await findInstances({
      pids: [live.pid, process.ppid, 1, await deadPid()],
      pidFiles: [join(dir, 'self.pid'), join(dir, 'same.pid')],
    });
    expect(found.instances).toEqual([{ pid: live.pid, source: join(dir, 'same.pid') }]);
    expect(found.skipped.map((s) => s.reason)).toEqual([
      `pid ${process.pid} is this process`,
      `pid ${live.pid} is already listed by ${join(dir, 'same.pid')}`,
      `pid ${process.ppid} is the parent of this process`,
      'pid 1 is the init process',
      expect.stringMatching(/^pid \d+ is not running$/),
    ]);
  });

  it('rejects a bad selector with a TypeError naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /findInstances: selector must be an object/],
      [null, /findInstances: options must be an object, got null/],
      [[], /findInstances: options must be an object, got Array/],
      [{}, /needs "pidFiles", "pidDir" or "pids"/],
      [{ pidfile: 'x' }, /unknown option "pidfile"/],
      [{ pidFiles: 'a.pid' }, /option "pidFiles" must be an array of paths/],
      [{ pidFiles: [''] }, /option "pidFiles\[0\]" must be a non-empty path string/],
      [
        { pidFiles: ['a', 3] },
        /option "pidFiles\[1\]" must be a non-empty path string, got number 3/,
      ],
      [{ pidDir: '' }, /option "pidDir" must be a non-empty path string/],
      [{ pids: 12 }, /option "pids" must be an array of pids/],
      [{ pids: [0] }, /option "pids\[0\]" must be a whole number from 1/],
      [{ pids: [-1] }, /option "pids\[0\]" must be a whole number from 1/],
      [{ pids: [1.5] }, /option "pids\[0\]" must be a whole number from 1/],
      [{ pids: ['123'] }, /option "pids\[0\]" must be a whole number from 1/],
    ];
    for (const [selector, message] of cases) {
      const error = await findInstances(selector as never).catch((e: unknown) => e);
      expect(error, String(message)).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
    }
    const live = await startChild();
    expect((await findInstances({ pids: [live.pid] })).instances).toHaveLength(1);
  });
});

describe('killInstances', () => {
  it('kills a real child with SIGKILL and reports it exited', async () => {
    const child = await startChild();
    const exit = exitOf(child);
    const results = await killInstances([{ pid: child.pid, source: 'test' }]);
    expect(results).toEqual([{ pid: child.pid, source: 'test', killed: true, exited: true }]);
    expect(await exit).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('sends the chosen signal to several children', async () => {
    const a = await startChild();
    const b = await startChild();
    const exits = [exitOf(a), exitOf(b)];
    const results = await killInstances(
      [
        { pid: a.pid, source: 'a' },
        { pid: b.pid, source: 'b' },
      ],
      { signal: 'SIGTERM', timeoutMs: 5000 },
    );
    expect(results.map((r) => [r.source, r.killed, r.exited])).toEqual([
      ['a', true, true],
      ['b', true, true],
    ]);
    expect((await Promise.all(exits)).map((e) => e.signal)).toEqual(['SIGTERM', 'SIGTERM']);
  });

  it('reports a process that outlives the timeout', async () => {
    const stubborn = await startChild("process.on('SIGTERM', () => {})");
    const started = Date.now();
    const results = await killInstances([{ pid: stubborn.pid, source: 'stubborn' }], {
      signal: 'SIGTERM',
      timeoutMs: 200,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(results).toEqual([
      {
        pid: stubborn.pid,
        source: 'stubborn',
        killed: true,
        exited: false,
        error: 'still running 200 ms after SIGTERM',
      },
    ]);
    expect(stubborn.exitCode).toBeNull();
    expect(stubborn.signalCode).toBeNull();
  });

  it('stops waiting when aborted, still reporting who was signalled', async () => {
    const stubborn = await startChild("process.on('SIGTERM', () => {})");
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const results = await killInstances([{ pid: stubborn.pid, source: 's' }], {
      signal: 'SIGTERM',
      timeoutMs: 10_000,
      signalAbort: controller.signal,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(results).toEqual([
      {
        pid: stubborn.pid,
        source: 's',
        killed: true,
        exited: false,
        error: 'stopped waiting: aborted',
      },
    ]);
    await expect(
      killInstances([{ pid: stubborn.pid, source: 's' }], { signalAbort: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(stubborn.signalCode).toBeNull();
  });

  it('reports a pid that is already gone', async () => {
    const dead = await deadPid();
    expect(await killInstances([{ pid: dead, source: 'x' }])).toEqual([
      { pid: dead, source: 'x', killed: false, exited: true, error: 'no such process' },
    ]);
  });

  it('refuses this process, its parent, pid 1 and group pids before signalling anyone', async () => {
    const child = await startChild();
    for (const pid of [process.pid, process.ppid, 1]) {
      await expect(
        killInstances([
          { pid: child.pid, source: 'child' },
          { pid, source: 'bad' },
        ]),
      ).rejects.toThrow(`killInstances: refusing to signal pid ${pid}`);
    }
    for (const pid of [0, -1, -child.pid, 1.5, Number.NaN]) {
      await expect(killInstances([{ pid, source: 'bad' }])).rejects.toThrow(
        /killInstances: instances\[0\]\.pid must be a whole number from 1/,
      );
    }
    // Nothing was signalled: the child is still running.
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect((await findInstances({ pids: [child.pid] })).instances).toHaveLength(1);
  });

  it('rejects bad options with a TypeError naming the option', async () => {
    const child = await startChild();
    const one: Instance[] = [{ pid: child.pid, source: 'c' }];
    const cases: Array<[unknown, unknown, RegExp]> = [
      [one, { signal: 'SIGNOPE' }, /option "signal" must be a signal name/],
      [one, { signal: 9 }, /option "signal" must be a signal name/],
      [one, { timeoutMs: -1 }, /option "timeoutMs" must be >= 0, got -1/],
      [one, { timeoutMs: Number.POSITIVE_INFINITY }, /option "timeoutMs" must be finite/],
      [one, { signalAbort: 'stop' }, /option "signalAbort" must be an AbortSignal/],
      [one, { sig: 'SIGKILL' }, /unknown option "sig"/],
      [one, 'SIGKILL', /options must be an object/],
      [{ pid: child.pid }, undefined, /instances must be an array/],
      [[null], undefined, /instances\[0\] must be an object/],
    ];
    for (const [instances, options, message] of cases) {
      const error = await killInstances(instances as never, options as never).catch(
        (e: unknown) => e,
      );
      expect(error, String(message)).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/^killInstances: /);
    }
    expect(child.signalCode).toBeNull();
    expect(await killInstances([])).toEqual([]);
    expect((await killInstances(one))[0]).toMatchObject({ killed: true, exited: true });
  });
});
