import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  realpath,
  rm,
  statfs,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_DISK_FILL_MAX_BYTES,
  DiskFillError,
  fillDisk,
  parseByteSize,
} from '../src/experiment/disk-fill.js';
import { snapshot } from './tree.js';

let root: string;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'nines-disk-fill-')));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fileBytes(dir: string): Promise<number> {
  let total = 0;
  for (const v of (await snapshot(dir)).values()) {
    if (v.startsWith('file:')) total += Number(v.slice(5));
  }
  return total;
}

describe('parseByteSize', () => {
  it('reads numbers and binary and decimal units', () => {
    expect(parseByteSize(1024)).toBe(1024);
    expect(parseByteSize(0)).toBe(0);
    expect(parseByteSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseByteSize('64 MiB')).toBe(64 * 1024 * 1024);
    expect(parseByteSize('1GB')).toBe(1_000_000_000);
    expect(parseByteSize('1gib')).toBe(1024 ** 3);
    expect(parseByteSize('512k')).toBe(512 * 1024);
    expect(parseByteSize('512kB')).toBe(512_000);
    expect(parseByteSize('2Ki')).toBe(2048);
    expect(parseByteSize('1.5KiB')).toBe(1536);
    expect(parseByteSize('0.3KB')).toBe(300);
    expect(parseByteSize('100')).toBe(100);
    expect(parseByteSize('100B')).toBe(100);
    expect(parseByteSize(' 2T ')).toBe(2 * 1024 ** 4);
    expect(parseByteSize('1TB')).toBe(1e12);
  });

  it('rejects bad text with a message that quotes it', () => {
    for (const bad of ['', 'MiB', '12XB', '-1MiB', '1e3', '1..2k', 'ten', '5 M B', '0x10']) {
      expect(() => parseByteSize(bad), bad).toThrow(`${JSON.stringify(bad)} is not a byte size`);
    }
    expect(() => parseByteSize('99999999999TiB')).toThrow('too large');
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expect(() => parseByteSize(bad)).toThrow(TypeError);
    }
    expect(() => parseByteSize(null as unknown as string)).toThrow(
      'parseByteSize: expected a string or a number, got null',
    );
  });
});

describe('fillDisk', () => {
  it('fills the quota to the percent, counting what is already there', async () => {
    const quota = join(root, 'quota');
    await mkdir(join(quota, 'nested'), { recursive: true });
    await writeFile(join(quota, 'a'), Buffer.alloc(10_000));
    await writeFile(join(quota, 'nested', 'b'), Buffer.alloc(5_000));
    const fill = await fillDisk({ directory: quota, capacityBytes: 256 * 1024, percent: 95 });
    const expected = Math.floor(256 * 1024 * 0.95) - 15_000;
    expect(fill.usedBefore).toBe(15_000);
    expect(fill.bytes).toBe(expected);
    expect(fill.directory).toBe(quota);
    expect(dirname(fill.file)).toBe(quota);
    expect(basename(fill.file)).toMatch(/^\.nines-disk-fill-[0-9a-f]{16}$/);
    expect((await lstat(fill.file)).size).toBe(expected);
    expect(await fileBytes(quota)).toBe(Math.floor(256 * 1024 * 0.95));
    await fill.remove();
    await expect(lstat(fill.file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fileBytes(quota)).toBe(15_000);
  });

  it('writes more than one chunk exactly', async () => {
    const capacity = 3 * 1024 * 1024 + 123;
    const fill = await fillDisk({ directory: root, capacityBytes: capacity, percent: 100 });
    expect(fill.bytes).toBe(capacity);
    expect((await lstat(fill.file)).size).toBe(capacity);
    await fill.remove();
  });

  it('does not count symlinks or what they point at', async () => {
    const outside = join(root, 'outside');
    const quota = join(root, 'quota');
    await mkdir(outside);
    await mkdir(quota);
    await writeFile(join(outside, 'big'), Buffer.alloc(50_000));
    await symlink(join(outside, 'big'), join(quota, 'link-file'));
    await symlink(outside, join(quota, 'link-dir'));
    const fill = await fillDisk({ directory: quota, capacityBytes: 10_000, percent: 50 });
    expect(fill.usedBefore).toBe(0);
    expect(fill.bytes).toBe(5_000);
    expect((await lstat(join(outside, 'big'))).size).toBe(50_000);
    await fill.remove();
  });

  it('writes nothing when the quota is already at or over the percent', async () => {
    await writeFile(join(root, 'x'), Buffer.alloc(900));
    const full = await fillDisk({ directory: root, capacityBytes: 1000, percent: 90 });
    expect(full.bytes).toBe(0);
    expect(full.usedBefore).toBe(900);
    expect((await lstat(full.file)).size).toBe(0);
    await full.remove();
    await writeFile(join(root, 'y'), Buffer.alloc(900));
    const over = await fillDisk({ directory: root, capacityBytes: 1000, percent: 100 });
    expect(over.bytes).toBe(0);
    expect(over.usedBefore).toBe(1800);
    await over.remove();
    expect([...(await snapshot(root)).keys()].map((p) => basename(p)).sort()).toEqual(['x', 'y']);
  });

  it('never writes more than maxBytes, whatever the experiment asks', async () => {
    const fill = await fillDisk({
      directory: root,
      capacityBytes: 10 * 1024 * 1024,
      percent: 100,
      maxBytes: 4096,
    });
    expect(fill.bytes).toBe(4096);
    expect((await lstat(fill.file)).size).toBe(4096);
    await fill.remove();
    const none = await fillDisk({ directory: root, capacityBytes: 100, percent: 100, maxBytes: 0 });
    expect(none.bytes).toBe(0);
    await none.remove();
    expect(DEFAULT_DISK_FILL_MAX_BYTES).toBe(1024 ** 3);
  });

  it('creates a missing directory and removes it again on remove()', async () => {
    const quota = join(root, 'a', 'b', 'quota');
    const fill = await fillDisk({ directory: quota, capacityBytes: 2000, percent: 50 });
    expect(fill.bytes).toBe(1000);
    expect((await lstat(quota)).isDirectory()).toBe(true);
    await fill.remove();
    expect(await readdir(root)).toEqual([]);
  });

  it('keeps a created directory that someone else has written to since', async () => {
    const quota = join(root, 'made');
    const fill = await fillDisk({ directory: quota, capacityBytes: 2000, percent: 50 });
    await writeFile(join(quota, 'theirs'), 'keep me');
    await fill.remove();
    expect(await readdir(quota)).toEqual(['theirs']);
  });

  it('resolves relative directories against the cwd', async () => {
    const quota = join(root, 'rel');
    await mkdir(quota);
    const fill = await fillDisk({
      directory: relative(process.cwd(), quota),
      capacityBytes: 100,
      percent: 10,
    });
    expect(dirname(fill.file)).toBe(quota);
    expect(fill.bytes).toBe(10);
    await fill.remove();
  });

  it('remove() is idempotent and safe to call concurrently', async () => {
    const fill = await fillDisk({ directory: root, capacityBytes: 100, percent: 100 });
    await Promise.all([fill.remove(), fill.remove()]);
    await fill.remove();
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses a directory that is a symlink, a file, the root or the home directory', async () => {
    const real = join(root, 'real');
    await mkdir(real);
    await symlink(real, join(root, 'link'));
    await writeFile(join(root, 'file'), 'x');
    const before = await snapshot(root);
    const cases: Array<[string, string]> = [
      [join(root, 'link'), 'is a symbolic link'],
      [`${join(root, 'link')}/`, 'is a symbolic link'],
      [join(root, 'file'), 'is not a directory'],
      ['/', 'is a filesystem root'],
      [join(root, '..', '..', '..', '..', '..', '..', '..', '..'), 'is a filesystem root'],
      [homedir(), 'is the home directory'],
    ];
    for (const [directory, why] of cases) {
      const error = await fillDisk({ directory, capacityBytes: 100, percent: 50 }).catch(
        (e: unknown) => e,
      );
      expect(error, directory).toBeInstanceOf(DiskFillError);
      expect((error as DiskFillError).code).toBe('EDISKFILL');
      expect((error as Error).message).toContain(why);
      expect((error as Error).message).toContain(JSON.stringify(directory));
    }
    expect(await snapshot(root)).toEqual(before);
  });

  it('refuses a symlink to the home directory via its real path', async () => {
    const link = join(root, 'home-parent');
    await symlink(dirname(await realpath(homedir())), link);
    const viaParent = join(link, basename(await realpath(homedir())));
    await expect(
      fillDisk({ directory: viaParent, capacityBytes: 100, percent: 50 }),
    ).rejects.toThrow('resolves to the home directory');
  });

  it('refuses a directory with more than 10,000 entries, without writing', async () => {
    const big = join(root, 'big');
    await mkdir(join(big, 'sub'), { recursive: true });
    const names = Array.from({ length: 10_000 }, (_, i) => join(big, 'sub', `f${i}`));
    for (let i = 0; i < names.length; i += 500) {
      await Promise.all(names.slice(i, i + 500).map((n) => writeFile(n, '')));
    }
    await expect(fillDisk({ directory: big, capacityBytes: 100, percent: 50 })).rejects.toThrow(
      /more than 10000 entries/,
    );
    expect((await readdir(big)).sort()).toEqual(['sub']);
  });

  it('refuses a fill that would leave the real filesystem short of free space', async () => {
    const fs = await statfs(root);
    const free = fs.bavail * fs.bsize;
    const total = fs.blocks * fs.bsize;
    const floor = Math.max(total * 0.1, 512 * 1024 ** 2);
    // The check runs before the first byte; the abort is a safety net should it ever not.
    const guard = AbortSignal.timeout(5_000);
    for (const bytes of [free + 1024 ** 3, Math.ceil(free - floor) + 1024 ** 2]) {
      const error = await fillDisk({
        directory: root,
        capacityBytes: bytes,
        percent: 100,
        maxBytes: bytes,
        signal: guard,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiskFillError);
      expect((error as Error).message).toContain('must keep at least');
      expect(await readdir(root)).toEqual([]);
    }
  });

  it('stops at once on abort and removes the partial file', async () => {
    const quota = join(root, 'q');
    await mkdir(quota);
    const controller = new AbortController();
    // Abort as soon as the fill file appears, i.e. in the middle of a 512 MiB write.
    const watching = (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        if ((await readdir(quota)).length > 0) {
          controller.abort(new Error('stop now'));
          return;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const error = await fillDisk({
      directory: quota,
      capacityBytes: 512 * 1024 ** 2,
      percent: 100,
      maxBytes: 512 * 1024 ** 2,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await watching;
    expect(error).toEqual(new Error('stop now'));
    expect(await readdir(quota)).toEqual([]);
  });

  it('rejects at once with an already-aborted signal, touching nothing', async () => {
    const quota = join(root, 'never');
    const error = await fillDisk({
      directory: quota,
      capacityBytes: 100,
      percent: 50,
      signal: AbortSignal.abort(),
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(await readdir(root)).toEqual([]);
  });

  it('removes directories it created when it refuses', async () => {
    const fs = await statfs(root);
    const huge = fs.bavail * fs.bsize + 1024 ** 3;
    await expect(
      fillDisk({
        directory: join(root, 'x', 'y'),
        capacityBytes: huge,
        percent: 100,
        maxBytes: huge,
      }),
    ).rejects.toBeInstanceOf(DiskFillError);
    expect(await readdir(root)).toEqual([]);
  });

  it('rejects bad options with a TypeError naming the option', async () => {
    const ok = { directory: root, capacityBytes: 100, percent: 50 };
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /fillDisk: options must be an object/],
      [null, /fillDisk: options must be an object/],
      ['quota', /fillDisk: options must be an object/],
      [{ ...ok, percent: 0 }, /option "percent" must be > 0, got 0/],
      [{ ...ok, percent: -5 }, /option "percent" must be > 0, got -5/],
      [{ ...ok, percent: 101 }, /option "percent" must be <= 100, got 101/],
      [{ ...ok, percent: Number.NaN }, /option "percent" must be a number, got NaN/],
      [{ ...ok, percent: '95%' }, /option "percent" must be a number/],
      [{ directory: root, capacityBytes: 100 }, /option "percent" is required/],
      [{ ...ok, capacityBytes: 0 }, /option "capacityBytes" must be > 0, got 0/],
      [{ ...ok, capacityBytes: 1.5 }, /option "capacityBytes" must be an integer, got 1.5/],
      [{ ...ok, capacityBytes: Number.POSITIVE_INFINITY }, /option "capacityBytes" must be finite/],
      [{ ...ok, capacityBytes: 2 ** 60 }, /option "capacityBytes" is too large/],
      [{ ...ok, capacityBytes: '64MiB' }, /option "capacityBytes" must be a number/],
      [{ directory: root, percent: 5 }, /option "capacityBytes" is required/],
      [{ ...ok, maxBytes: -1 }, /option "maxBytes" must be >= 0, got -1/],
      [{ ...ok, maxBytes: 0.5 }, /option "maxBytes" must be an integer/],
      [
        { ...ok, directory: '' },
        /option "directory" must be a non-empty path string, got string ""/,
      ],
      [
        { ...ok, directory: 42 },
        /option "directory" must be a non-empty path string, got number 42/,
      ],
      [{ ...ok, directory: undefined }, /option "directory" must be a non-empty path string/],
      [{ ...ok, directory: 'a\0b' }, /option "directory" must be a non-empty path string/],
      [{ ...ok, signal: {} }, /option "signal" must be an AbortSignal/],
      [{ ...ok, capacity: 100 }, /unknown option "capacity"/],
    ];
    for (const [options, message] of cases) {
      const error = await fillDisk(options as never).catch((e: unknown) => e);
      expect(error, String(message)).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/^fillDisk: /);
    }
    expect(await readdir(root)).toEqual([]);
    // Still serving after all that.
    const fill = await fillDisk(ok);
    expect(fill.bytes).toBe(50);
    await fill.remove();
  });
});
