/**
 * The disk-fill action: "fill the disk to 95 %" without ever filling a real disk. The directory
 * named by the experiment is treated as a quota of `capacityBytes`, and one file is written inside
 * it so that the directory holds `percent` % of that quota. Whatever the experiment file says, the
 * action writes only inside that directory, never past the quota, never past the operator's
 * `maxBytes`, and never so much that the real filesystem drops below 10 % or 512 MiB free.
 */

import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rmdir,
  statfs,
  unlink,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, parse, resolve } from 'node:path';
import { describe, numberOption, optionsObject } from '@nines/resilience/options';

/** Options of {@link fillDisk}. */
export interface DiskFillOptions {
  /** The quota directory; created (like `mkdir -p`) when absent. Relative paths resolve against the process cwd. */
  readonly directory: string;
  /** The quota's size in bytes; an integer > 0. */
  readonly capacityBytes: number;
  /** How full the quota should be afterwards, in percent: 0 < percent <= 100. */
  readonly percent: number;
  /** Hard cap on the bytes written, set by the operator rather than the experiment file. Default {@link DEFAULT_DISK_FILL_MAX_BYTES}. */
  readonly maxBytes?: number;
  /** Stops writing at once; the partial file is removed and the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A completed fill; {@link DiskFill.remove} is its rollback. */
export interface DiskFill {
  /** Absolute path of the file written (inside the real path of the quota directory). */
  readonly file: string;
  /** The real path of the quota directory. */
  readonly directory: string;
  /** Bytes written. */
  readonly bytes: number;
  /** Bytes already in the directory before the fill (regular files, recursive, symlinks not followed). */
  readonly usedBefore: number;
  /** Removes the file (and any directories the fill created). Idempotent. */
  remove(): Promise<void>;
}

/**
 * A fill that was refused for safety (the directory is a symlink, `/`, the home directory, too
 * large to measure, or the real filesystem would run low). The message says what and why.
 */
export class DiskFillError extends Error {
  readonly code = 'EDISKFILL';
  constructor(message: string) {
    super(message);
    this.name = 'DiskFillError';
  }
}

/** Default operator cap on one fill: 1 GiB. */
export const DEFAULT_DISK_FILL_MAX_BYTES: number = 1024 ** 3;

/** Directories holding more entries than this (recursively) are refused: a quota is small. */
const MAX_ENTRIES = 10_000;
/** The real filesystem must keep at least this share free after the fill... */
const MIN_FREE_SHARE = 0.1;
/** ...and at least this many bytes. */
const MIN_FREE_BYTES = 512 * 1024 ** 2;
const CHUNK_BYTES = 1024 * 1024;
const FILE_PREFIX = '.nines-disk-fill-';
const OWNER = 'fillDisk';
const KNOWN = ['directory', 'capacityBytes', 'percent', 'maxBytes', 'signal'] as const;

// One zeroed buffer for every write; it is never written to, so sharing it is safe.
let zeros: Buffer | undefined;
function zeroChunk(): Buffer {
  zeros ??= Buffer.alloc(CHUNK_BYTES);
  return zeros;
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  ki: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};
const SIZE_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i;

/**
 * Parses a byte size: a plain number of bytes, or a number with a unit. Binary units (`KiB`,
 * `Ki`, and the bare letters `k`, `M`, `G`, `T` as in `dd`) are powers of 1024; `KB`, `MB`, `GB`,
 * `TB` are powers of 1000. Case-insensitive; fractions are rounded to whole bytes.
 *
 * @example
 * parseByteSize('64MiB'); // 67108864
 * parseByteSize('1GB');   // 1000000000
 * parseByteSize('512k');  // 524288
 * parseByteSize(1024);    // 1024
 */
export function parseByteSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text < 0) {
      throw new TypeError(
        `parseByteSize: a byte count must be a whole number >= 0, got ${describe(text)}`,
      );
    }
    return text;
  }
  if (typeof text !== 'string') {
    throw new TypeError(`parseByteSize: expected a string or a number, got ${describe(text)}`);
  }
  const match = SIZE_PATTERN.exec(text.trim());
  const unit = match === null ? undefined : UNITS[match[2]!.toLowerCase()];
  if (match === null || unit === undefined) {
    throw new Error(
      `parseByteSize: ${JSON.stringify(text)} is not a byte size (expected a number with an optional unit: B, k, KiB, KB, M, MiB, MB, G, GiB, GB, T, TiB, TB)`,
    );
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) {
    throw new Error(`parseByteSize: ${JSON.stringify(text)} is too large`);
  }
  return bytes;
}

interface Checked {
  readonly directory: string;
  readonly capacityBytes: number;
  readonly percent: number;
  readonly maxBytes: number;
  readonly signal: AbortSignal | undefined;
}

function checkOptions(value: unknown): Checked {
  if (value === undefined) {
    throw new TypeError(`${OWNER}: options must be an object, got undefined`);
  }
  const o = optionsObject<DiskFillOptions>(OWNER, value, KNOWN);
  const directory: unknown = o.directory;
  if (typeof directory !== 'string' || directory === '' || directory.includes('\0')) {
    throw new TypeError(
      `${OWNER}: option "directory" must be a non-empty path string, got ${describe(directory)}`,
    );
  }
  if (o.capacityBytes === undefined) {
    throw new TypeError(`${OWNER}: option "capacityBytes" is required`);
  }
  if (o.percent === undefined) {
    throw new TypeError(`${OWNER}: option "percent" is required`);
  }
  const capacityBytes = numberOption(OWNER, 'capacityBytes', o.capacityBytes, 0, {
    min: 0,
    exclusiveMin: true,
    integer: true,
  });
  if (!Number.isSafeInteger(capacityBytes)) {
    throw new TypeError(`${OWNER}: option "capacityBytes" is too large, got ${capacityBytes}`);
  }
  const percent = numberOption(OWNER, 'percent', o.percent, 0, {
    min: 0,
    exclusiveMin: true,
    max: 100,
  });
  const maxBytes = numberOption(OWNER, 'maxBytes', o.maxBytes, DEFAULT_DISK_FILL_MAX_BYTES, {
    min: 0,
    integer: true,
  });
  const signal: unknown = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${OWNER}: option "signal" must be an AbortSignal, got ${describe(signal)}`,
    );
  }
  return { directory, capacityBytes, percent, maxBytes, signal };
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/**
 * Sums the sizes of the regular files under `dir` (recursive; symlinks are neither followed nor
 * counted). Gives up with a refusal past {@link MAX_ENTRIES} entries so that pointing the action
 * at a large tree cannot turn into a long walk.
 */
async function measure(dir: string, shown: string): Promise<number> {
  let used = 0;
  let entries = 0;
  const pending = [dir];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const list = await readdir(next, { withFileTypes: true });
    entries += list.length;
    if (entries > MAX_ENTRIES) {
      throw new DiskFillError(
        `${OWNER}: refusing ${shown}: it holds more than ${MAX_ENTRIES} entries, which is not a quota directory`,
      );
    }
    for (const entry of list) {
      const path = join(next, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) {
        try {
          used += (await lstat(path)).size;
        } catch (error) {
          // A file removed while we walk simply no longer counts.
          if (errorCode(error) !== 'ENOENT') throw error;
        }
      }
    }
  }
  return used;
}

/** Creates the missing directories of `target` one level at a time, returning those it created (outermost first). */
async function makeDirectories(target: string): Promise<string[]> {
  const missing: string[] = [];
  for (let dir = target; ; ) {
    try {
      await lstat(dir);
      break;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    missing.push(dir);
    const parent = resolve(dir, '..');
    if (parent === dir) break;
    dir = parent;
  }
  const created: string[] = [];
  try {
    for (let i = missing.length - 1; i >= 0; i--) {
      const dir = missing[i]!;
      try {
        await mkdir(dir);
        created.push(dir);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
    }
  } catch (error) {
    await removeDirectories(created);
    throw error;
  }
  return created;
}

/** Removes directories the fill created, innermost first, only while they are empty. */
async function removeDirectories(created: readonly string[]): Promise<void> {
  for (let i = created.length - 1; i >= 0; i--) {
    try {
      await rmdir(created[i]!);
    } catch {
      // Not empty (someone else's files now live there) or already gone: leave it.
      return;
    }
  }
}

async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

async function realHome(): Promise<string | undefined> {
  try {
    return await realpath(homedir());
  } catch {
    return undefined;
  }
}

async function checkFreeSpace(dir: string, bytes: number, shown: string): Promise<void> {
  const fs = await statfs(dir);
  const total = fs.blocks * fs.bsize;
  const free = fs.bavail * fs.bsize;
  const after = free - bytes;
  const floor = Math.max(total * MIN_FREE_SHARE, MIN_FREE_BYTES);
  if (after < floor) {
    const mib = (n: number) => `${Math.floor(n / 1024 ** 2)} MiB`;
    throw new DiskFillError(
      `${OWNER}: refusing to write ${bytes} bytes in ${shown}: the real filesystem has ${mib(free)} free of ${mib(total)} and must keep at least ${mib(floor)} (10 % and 512 MiB) free; the fill is about the quota, never the disk`,
    );
  }
}

async function writeZeros(
  handle: FileHandle,
  bytes: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const chunk = zeroChunk();
  let written = 0;
  while (written < bytes) {
    signal?.throwIfAborted();
    const length = Math.min(CHUNK_BYTES, bytes - written);
    const { bytesWritten } = await handle.write(chunk, 0, length);
    written += bytesWritten;
  }
  signal?.throwIfAborted();
  return written;
}

/**
 * Fills a quota directory to `percent` % of `capacityBytes` by writing one file of zeros into it.
 * Bytes written = `max(0, floor(capacity * percent / 100) - usedBefore)`, clamped to
 * `capacity - usedBefore` and to `maxBytes`. Refuses (with {@link DiskFillError}) a directory that
 * is a symlink, not a directory, `/`, the home directory, or holds more than 10,000 entries, and a
 * fill that would leave the real filesystem with less than 10 % or 512 MiB free. The file is
 * created with `O_CREAT | O_EXCL | O_NOFOLLOW`, so it never follows a planted symlink or
 * overwrites anything. On error or abort the partial file is removed.
 *
 * @example
 * const fill = await fillDisk({ directory: './quota', capacityBytes: parseByteSize('64MiB'), percent: 95 });
 * try { await probeService(); } finally { await fill.remove(); }
 */
export async function fillDisk(options: DiskFillOptions): Promise<DiskFill> {
  const { directory, capacityBytes, percent, maxBytes, signal } = checkOptions(options);
  signal?.throwIfAborted();
  const resolved = resolve(directory);
  const shown = JSON.stringify(directory);
  if (resolved === parse(resolved).root) {
    throw new DiskFillError(`${OWNER}: refusing ${shown}: it is a filesystem root`);
  }
  const home = await realHome();
  if (resolved === homedir() || resolved === home) {
    throw new DiskFillError(`${OWNER}: refusing ${shown}: it is the home directory`);
  }

  const created = await makeDirectories(resolved);
  let file: string | undefined;
  try {
    const info = await lstat(resolved);
    if (info.isSymbolicLink()) {
      throw new DiskFillError(
        `${OWNER}: refusing ${shown}: it is a symbolic link (name the real directory)`,
      );
    }
    if (!info.isDirectory()) {
      throw new DiskFillError(`${OWNER}: refusing ${shown}: it is not a directory`);
    }
    // A parent may be a symlink; the quota is wherever the directory really is.
    const real = await realpath(resolved);
    if (real === parse(real).root) {
      throw new DiskFillError(`${OWNER}: refusing ${shown}: it resolves to a filesystem root`);
    }
    if (real === home) {
      throw new DiskFillError(`${OWNER}: refusing ${shown}: it resolves to the home directory`);
    }
    const usedBefore = await measure(real, shown);
    const wanted = Math.floor((capacityBytes * percent) / 100) - usedBefore;
    const bytes = Math.max(0, Math.min(wanted, capacityBytes - usedBefore, maxBytes));
    if (bytes > 0) await checkFreeSpace(real, bytes, shown);
    signal?.throwIfAborted();

    file = join(real, `${FILE_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await open(
      file,
      fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW,
      0o600,
    );
    let written: number;
    try {
      written = await writeZeros(handle, bytes, signal);
    } finally {
      await handle.close();
    }
    return fillResult(file, real, written, usedBefore, created);
  } catch (error) {
    if (file !== undefined) await removeFile(file).catch(() => {});
    await removeDirectories(created);
    throw error;
  }
}

function fillResult(
  file: string,
  directory: string,
  bytes: number,
  usedBefore: number,
  created: readonly string[],
): DiskFill {
  let removing: Promise<void> | undefined;
  return {
    file,
    directory,
    bytes,
    usedBefore,
    remove() {
      // Concurrent calls share one removal; a failed one (say EACCES) may be retried.
      removing ??= (async () => {
        await removeFile(file);
        await removeDirectories(created);
      })().catch((error: unknown) => {
        removing = undefined;
        throw error;
      });
      return removing;
    },
  };
}
