/**
 * The kill action's parts: find the live instances of a service through pid files, choose a
 * share of them at random, and signal them, waiting until each one is really gone.
 */

import { constants as fsConstants } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { describe, functionOption, numberOption, optionsObject } from '@nines/resilience/options';

/** Where to find the instances of a service. At least one field must be given. */
export interface InstanceSelector {
  /** Files each holding one pid. */
  readonly pidFiles?: readonly string[];
  /** Every `*.pid` file in this folder. */
  readonly pidDir?: string;
  /** Pids given directly. */
  readonly pids?: readonly number[];
}

/** A live process found by {@link findInstances}. */
export interface Instance {
  readonly pid: number;
  /** The pid file it came from, or `'pids'`. */
  readonly source: string;
}

/** A pid file or pid that was not used, and why. */
export interface SkippedInstance {
  readonly source: string;
  readonly reason: string;
}

/** What {@link killInstances} did to one instance. */
export interface KillResult {
  readonly pid: number;
  readonly source: string;
  /** The signal was delivered. */
  readonly killed: boolean;
  /** The process is gone (within `timeoutMs`). */
  readonly exited: boolean;
  /** Why the signal was not delivered or the process did not go away. */
  readonly error?: string;
}

/** Options of {@link killInstances}. */
export interface KillOptions {
  /** Signal to send. Default `'SIGKILL'`. */
  readonly signal?: NodeJS.Signals;
  /** How long to wait for each process to be gone. Default 5000. */
  readonly timeoutMs?: number;
  /** Stops the waiting (the signals already sent stay sent); the results say who had not exited yet. */
  readonly signalAbort?: AbortSignal;
}

/** Largest pid any supported system hands out (Linux `pid_max` is at most 2^22). */
const MAX_PID = 2 ** 31 - 1;
/** A pid file is a few bytes; read no more than this, whatever the file holds. */
const MAX_PID_FILE_BYTES = 64;
const POLL_MS = 10;
const PID_TEXT = /^\d{1,10}$/;

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : String(error);
}

function nonEmptyString(owner: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new TypeError(
      `${owner}: option "${name}" must be a non-empty path string, got ${describe(value)}`,
    );
  }
  return value;
}

function checkPid(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PID) {
    throw new TypeError(
      `${owner}: ${name} must be a whole number from 1 to ${MAX_PID}, got ${describe(value)}`,
    );
  }
  return value;
}

/** Reads a few bytes of a pid file; never the whole of a huge or endless one. */
async function readPidFile(file: string): Promise<string> {
  // O_NONBLOCK: a FIFO planted as a pid file must not hang the open.
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
    const buffer = Buffer.alloc(MAX_PID_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_PID_FILE_BYTES) throw new Error(`longer than ${MAX_PID_FILE_BYTES} bytes`);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** On Linux a zombie (exited, not yet reaped) still answers signal 0; it counts as gone. */
async function isZombie(pid: number): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the command may hold spaces and parentheses, the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** 'alive', 'gone', or 'EPERM' (alive but not ours to signal). */
async function probe(pid: number): Promise<'alive' | 'gone' | 'EPERM'> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ESRCH') return 'gone';
    if (code === 'EPERM') return 'EPERM';
    throw error;
  }
  return (await isZombie(pid)) ? 'gone' : 'alive';
}

function selfReason(pid: number): string | undefined {
  if (pid === process.pid) return 'is this process';
  if (pid === process.ppid) return 'is the parent of this process';
  if (pid === 1) return 'is the init process';
  return undefined;
}

/**
 * Resolves the live instances a selector names. Pid files that are missing, unreadable, hold junk
 * or a dead pid are skipped and reported, as are pids that are this process, its parent, pid 1,
 * not ours to signal, or listed twice (the first source wins).
 *
 * @example
 * const { instances, skipped } = await findInstances({ pidDir: './run' });
 */
export async function findInstances(
  selector: InstanceSelector,
): Promise<{ instances: Instance[]; skipped: SkippedInstance[] }> {
  const owner = 'findInstances';
  if (selector === undefined)
    throw new TypeError(`${owner}: selector must be an object, got undefined`);
  const s = optionsObject<InstanceSelector>(owner, selector, ['pidFiles', 'pidDir', 'pids']);
  if (s.pidFiles === undefined && s.pidDir === undefined && s.pids === undefined) {
    throw new TypeError(`${owner}: the selector needs "pidFiles", "pidDir" or "pids"`);
  }
  const candidates: Array<{
    source: string;
    pid?: number;
    read?: Promise<{ text: string } | { error: unknown }>;
  }> = [];
  const skipped: SkippedInstance[] = [];
  if (s.pidFiles !== undefined) {
    if (!Array.isArray(s.pidFiles)) {
      throw new TypeError(
        `${owner}: option "pidFiles" must be an array of paths, got ${describe(s.pidFiles)}`,
      );
    }
    for (const [i, file] of s.pidFiles.entries()) {
      candidates.push({ source: nonEmptyString(owner, `pidFiles[${i}]`, file) });
    }
  }
  if (s.pidDir !== undefined) {
    const dir = nonEmptyString(owner, 'pidDir', s.pidDir);
    try {
      const names = (await readdir(dir, { withFileTypes: true }))
        .filter((e) => !e.isDirectory() && e.name.endsWith('.pid'))
        .map((e) => e.name)
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      for (const name of names) candidates.push({ source: join(dir, name) });
    } catch (error) {
      skipped.push({ source: dir, reason: `cannot read the pid directory (${errorCode(error)})` });
    }
  }
  if (s.pids !== undefined) {
    if (!Array.isArray(s.pids)) {
      throw new TypeError(
        `${owner}: option "pids" must be an array of pids, got ${describe(s.pids)}`,
      );
    }
    for (const [i, pid] of s.pids.entries()) {
      candidates.push({ source: 'pids', pid: checkPid(owner, `option "pids[${i}]"`, pid) });
    }
  }

  for (const c of candidates) {
    // Read every file at once; settled into values so none is left rejected while others are probed.
    if (c.pid === undefined) {
      c.read = readPidFile(c.source).then(
        (text) => ({ text }),
        (error: unknown) => ({ error }),
      );
    }
  }
  const instances: Instance[] = [];
  const seen = new Map<number, string>();
  for (const c of candidates) {
    let pid = c.pid;
    if (c.read !== undefined) {
      const read = await c.read;
      if ('error' in read) {
        const { error } = read;
        const code = errorCode(error);
        skipped.push({
          source: c.source,
          reason:
            code === 'ENOENT'
              ? 'the pid file is missing'
              : `cannot read the pid file (${error instanceof Error && !('code' in error) ? error.message : code})`,
        });
        continue;
      }
      const text = read.text.trim();
      const n = Number(text);
      if (!PID_TEXT.test(text) || n < 1 || n > MAX_PID) {
        skipped.push({
          source: c.source,
          reason: `not a pid: ${JSON.stringify(text.slice(0, 20))}`,
        });
        continue;
      }
      pid = n;
    }
    if (pid === undefined) continue;
    const self = selfReason(pid);
    if (self !== undefined) {
      skipped.push({ source: c.source, reason: `pid ${pid} ${self}` });
      continue;
    }
    const first = seen.get(pid);
    if (first !== undefined) {
      skipped.push({ source: c.source, reason: `pid ${pid} is already listed by ${first}` });
      continue;
    }
    const state = await probe(pid);
    if (state === 'gone') {
      skipped.push({ source: c.source, reason: `pid ${pid} is not running` });
      continue;
    }
    if (state === 'EPERM') {
      skipped.push({ source: c.source, reason: `pid ${pid} is not ours to signal (EPERM)` });
      continue;
    }
    seen.set(pid, c.source);
    instances.push({ pid, source: c.source });
  }
  return { instances, skipped };
}

/**
 * Chooses `ceil(n * share)` of `items` (at least one when there are any), without repeats, in
 * random order, drawing from `random` (uniform in [0, 1); default `Math.random`).
 *
 * @example
 * chooseShare(instances, 0.5); // half of them, rounded up
 */
export function chooseShare<T>(
  items: readonly T[],
  share: number,
  random: () => number = Math.random,
): T[] {
  const owner = 'chooseShare';
  if (!Array.isArray(items))
    throw new TypeError(`${owner}: items must be an array, got ${describe(items)}`);
  numberOption(owner, 'share', share, 1, { min: 0, exclusiveMin: true, max: 1 });
  functionOption(owner, 'random', random, Math.random);
  const n = items.length;
  if (n === 0) return [];
  // The small tolerance keeps 10 * 0.3 (3.0000000000000004) at 3.
  const k = Math.min(n, Math.max(1, Math.ceil(n * share - 1e-9)));
  const pool = items.slice();
  for (let i = 0; i < k; i++) {
    const r = random();
    if (!(r >= 0 && r < 1)) {
      throw new TypeError(`${owner}: random() must return a number in [0, 1), got ${describe(r)}`);
    }
    const j = i + Math.floor(r * (n - i));
    const picked = pool[j] as T;
    pool[j] = pool[i] as T;
    pool[i] = picked;
  }
  pool.length = k;
  return pool;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends `signal` (default SIGKILL) to each instance, then polls until each is gone or `timeoutMs`
 * (default 5000) has passed. Refuses, before signalling anyone, any instance that is this
 * process, its parent or pid 1 (and pids below 1, which would signal process groups).
 *
 * @example
 * const results = await killInstances(chooseShare(instances, 0.5), { signal: 'SIGTERM' });
 */
export async function killInstances(
  instances: readonly Instance[],
  options?: KillOptions,
): Promise<KillResult[]> {
  const owner = 'killInstances';
  const o = optionsObject<KillOptions>(owner, options, ['signal', 'timeoutMs', 'signalAbort']);
  const signal = o.signal ?? 'SIGKILL';
  if (typeof signal !== 'string' || !Object.hasOwn(osConstants.signals, signal)) {
    throw new TypeError(
      `${owner}: option "signal" must be a signal name such as 'SIGKILL', got ${describe(signal)}`,
    );
  }
  const timeoutMs = numberOption(owner, 'timeoutMs', o.timeoutMs, 5000, { min: 0 });
  const abort: unknown = o.signalAbort;
  if (abort !== undefined && !(abort instanceof AbortSignal)) {
    throw new TypeError(
      `${owner}: option "signalAbort" must be an AbortSignal, got ${describe(abort)}`,
    );
  }
  if (!Array.isArray(instances)) {
    throw new TypeError(`${owner}: instances must be an array, got ${describe(instances)}`);
  }
  for (const [i, instance] of instances.entries()) {
    if (instance === null || typeof instance !== 'object') {
      throw new TypeError(`${owner}: instances[${i}] must be an object, got ${describe(instance)}`);
    }
    const pid = checkPid(owner, `instances[${i}].pid`, instance.pid);
    const self = selfReason(pid);
    if (self !== undefined) throw new Error(`${owner}: refusing to signal pid ${pid}: it ${self}`);
  }
  abort?.throwIfAborted();

  const results: Array<{
    pid: number;
    source: string;
    killed: boolean;
    exited: boolean;
    error?: string;
  }> = [];
  for (const { pid, source } of instances) {
    const result = {
      pid,
      source: String(source),
      killed: false,
      exited: false,
    } as (typeof results)[number];
    try {
      process.kill(pid, signal);
      result.killed = true;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ESRCH') {
        result.exited = true;
        result.error = 'no such process';
      } else result.error = `cannot signal pid ${pid} (${code})`;
    }
    results.push(result);
  }

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let waiting = 0;
    for (const r of results) {
      if (!r.killed || r.exited) continue;
      if ((await probe(r.pid)) === 'gone') r.exited = true;
      else waiting++;
    }
    if (waiting === 0) break;
    if (abort?.aborted) {
      for (const r of results) if (r.killed && !r.exited) r.error = 'stopped waiting: aborted';
      break;
    }
    if (Date.now() >= deadline) {
      for (const r of results) {
        if (r.killed && !r.exited) r.error = `still running ${timeoutMs} ms after ${signal}`;
      }
      break;
    }
    await delay(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
  return results;
}
