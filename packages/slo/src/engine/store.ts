import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseSnapshot, type TrackerSnapshot } from './snapshot.js';

/** Where tracker snapshots are kept between process lifetimes. */
export interface SnapshotStore {
  /** The last saved snapshot, or `undefined` when none was saved yet. */
  load(): Promise<TrackerSnapshot | undefined>;
  save(snapshot: TrackerSnapshot): Promise<void>;
}

/** A {@link SnapshotStore} in a JSON file, with synchronous variants for exit handlers. */
export interface FileSnapshotStore extends SnapshotStore {
  readonly path: string;
  loadSync(): TrackerSnapshot | undefined;
  saveSync(snapshot: TrackerSnapshot): void;
}

function isMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}

function decode(path: string, text: string): TrackerSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return parseSnapshot(value);
  } catch (err) {
    throw new TypeError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * Stores a snapshot in one JSON file. A save writes a temporary file next to it and renames it over
 * the old one, so a crash mid-write leaves the previous snapshot intact (rename is atomic on POSIX
 * file systems).
 */
export function fileStore(path: string): FileSnapshotStore {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`fileStore: path must be a non-empty string, got ${String(path)}`);
  }
  // Unique per process and save so concurrent writers never share a temporary file.
  let seq = 0;
  const temp = () => `${path}.${process.pid}.${seq++}.tmp`;
  return {
    path,
    async load() {
      try {
        return decode(path, await readFile(path, 'utf8'));
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    loadSync() {
      try {
        return decode(path, readFileSync(path, 'utf8'));
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async save(snapshot) {
      const tmp = temp();
      await writeFile(tmp, JSON.stringify(snapshot), { flush: true });
      await rename(tmp, path);
    },
    saveSync(snapshot) {
      const tmp = temp();
      writeFileSync(tmp, JSON.stringify(snapshot), { flush: true });
      renameSync(tmp, path);
    },
  };
}
