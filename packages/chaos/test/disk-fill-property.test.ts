import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DISK_FILL_MAX_BYTES,
  type DiskFill,
  fillDisk,
} from '../src/experiment/disk-fill.js';
import { snapshot } from './tree.js';

function bytesUnder(snap: Map<string, string>, dir: string): number {
  let total = 0;
  for (const [p, v] of snap) {
    if (p.startsWith(dir + sep) && v.startsWith('file:')) total += Number(v.slice(5));
  }
  return total;
}

/**
 * A temp tree with a quota directory, a sibling "outside" directory holding files, symlinks
 * from the tree pointing outside, and another directory the test owns.
 */
async function layout(pre: readonly { nested: boolean; size: number }[]) {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'nines-disk-fill-prop-')));
  const tree = join(root, 'tree');
  const quota = join(tree, 'quota');
  const outside = join(root, 'outside');
  const other = join(root, 'other');
  await mkdir(join(quota, 'nested'), { recursive: true });
  await mkdir(join(outside, 'sub'), { recursive: true });
  await mkdir(other);
  await writeFile(join(outside, 'o1'), Buffer.alloc(3000));
  await writeFile(join(outside, 'sub', 'o2'), Buffer.alloc(700));
  await writeFile(join(other, 'x'), Buffer.alloc(1234));
  await symlink(outside, join(tree, 'link-out'));
  await symlink(join(outside, 'o1'), join(tree, 'link-file'));
  await symlink(join(outside, 'o1'), join(quota, 'planted'));
  for (const [i, f] of pre.entries()) {
    await writeFile(join(quota, f.nested ? 'nested' : '', `pre-${i}`), Buffer.alloc(f.size));
  }
  return { root, tree, quota, outside, other };
}

type Layout = Awaited<ReturnType<typeof layout>>;

/** Directory strings, friendly and hostile, as an experiment file might spell them, and whether they must be refused. */
const DIRECTORIES: ReadonlyArray<readonly [(l: Layout) => string, 'fill' | 'refuse']> = [
  [(l) => l.quota, 'fill'],
  [(l) => `${l.quota}/../quota`, 'fill'],
  [(l) => `${l.quota}/./nested/..`, 'fill'],
  [(l) => relative(process.cwd(), l.quota), 'fill'],
  [(l) => `${l.quota}/../../outside`, 'fill'],
  [(l) => `${l.quota}/../../../../../../../../../../..`, 'refuse'],
  [(l) => join(l.tree, 'link-out'), 'refuse'],
  [(l) => `${join(l.tree, 'link-out')}/`, 'refuse'],
  [(l) => join(l.tree, 'link-out', 'sub'), 'fill'],
  [(l) => join(l.tree, 'link-out', 'new', 'deeper'), 'fill'],
  [(l) => join(l.tree, 'link-file'), 'refuse'],
  [(l) => join(l.quota, 'planted'), 'refuse'],
  [(l) => join(l.outside, 'o1'), 'refuse'],
  [(l) => join(l.outside, 'o1', 'below-a-file'), 'refuse'],
  [(l) => l.other, 'fill'],
  [(l) => join(l.tree, 'fresh', 'quota'), 'fill'],
  [(l) => relative(process.cwd(), join(l.tree, 'link-out', '..', 'quota')), 'fill'],
];

describe('fillDisk (property)', () => {
  it('never changes anything outside the resolved quota directory, nor exceeds the caps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 * 1024 }),
        fc.oneof(fc.integer({ min: 1, max: 100 }), fc.double({ min: 1e-6, max: 100, noNaN: true })),
        fc.option(fc.integer({ min: 0, max: 400 * 1024 }), { nil: undefined }),
        fc.array(
          fc.record({ nested: fc.boolean(), size: fc.integer({ min: 0, max: 80 * 1024 }) }),
          {
            maxLength: 5,
          },
        ),
        fc.nat({ max: DIRECTORIES.length - 1 }),
        async (capacityBytes, percent, maxBytes, pre, which) => {
          const l = await layout(pre);
          try {
            const [spell, outcome] = DIRECTORIES[which]!;
            const directory = spell(l);
            const before = await snapshot(l.root);
            let fill: DiskFill | undefined;
            try {
              fill = await fillDisk({
                directory,
                capacityBytes,
                percent,
                ...(maxBytes === undefined ? {} : { maxBytes }),
              });
            } catch (error) {
              // A refusal changes nothing at all.
              expect(outcome, String(error)).toBe('refuse');
              expect(await snapshot(l.root)).toEqual(before);
              return;
            }
            expect(outcome).toBe('fill');
            const real = await realpath(resolve(directory));
            expect(fill.directory).toBe(real);
            expect(real.startsWith(l.root + sep)).toBe(true);
            const after = await snapshot(l.root);
            // Everything that was there is unchanged.
            for (const [p, v] of before) expect(after.get(p), p).toBe(v);
            // New: the fill file, in the quota directory, and directories leading to it.
            for (const [p, v] of after) {
              if (before.has(p)) continue;
              if (v === 'dir') expect(`${real}${sep}`.startsWith(p + sep), p).toBe(true);
              else expect(p).toBe(fill.file);
            }
            expect(fill.file.startsWith(real + sep)).toBe(true);
            const usedBefore = bytesUnder(before, real);
            expect(fill.usedBefore).toBe(usedBefore);
            const cap = maxBytes ?? DEFAULT_DISK_FILL_MAX_BYTES;
            const total = bytesUnder(after, real);
            expect(total).toBeLessThanOrEqual(Math.max(usedBefore, capacityBytes));
            expect(total).toBeLessThanOrEqual(usedBefore + cap);
            expect(total - usedBefore).toBe(fill.bytes);
            const wanted = Math.floor((capacityBytes * percent) / 100) - usedBefore;
            expect(fill.bytes).toBe(Math.max(0, Math.min(wanted, capacityBytes - usedBefore, cap)));
            await fill.remove();
            expect(await snapshot(l.root)).toEqual(before);
          } finally {
            await rm(l.root, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
