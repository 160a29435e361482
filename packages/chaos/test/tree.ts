/** A folder tree as test data: what is in it, to compare before and after an action. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every path under `dir` with its kind and size (symlinks not followed). */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out.set(p, 'dir');
        await walk(p);
      } else if (e.isSymbolicLink()) out.set(p, 'link');
      else out.set(p, `file:${(await lstat(p)).size}`);
    }
  };
  await walk(dir);
  return out;
}
