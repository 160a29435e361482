/** Audit sinks (a JSON-lines file or a function) and the bounded in-memory record. */
import { appendFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe } from '@nines/resilience/options';
import type { AuditEntry } from './types.js';

/** Entries kept in memory for `faults.audit()` and `GET /audit`. */
export const AUDIT_KEEP = 1000;

/** Writes one entry; may throw (the registry decides what a failed write means). */
export type AuditSink = (entry: AuditEntry) => void;

/**
 * Builds the sink of the `audit` option: a path appends one JSON line per entry (synchronously:
 * changes are rare, and a line must be on disk before the change it records takes effect); a
 * function is called with each entry. A path whose directory does not exist fails here, at start.
 */
export function auditSink(owner: string, value: unknown): AuditSink | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as AuditSink;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(
      `${owner}: option "audit" must be a file path or a function, got ${describe(value)}`,
    );
  }
  const path = resolve(value);
  const dir = dirname(path);
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new TypeError(`${owner}: option "audit": directory ${dir} does not exist`);
  }
  try {
    if (statSync(path).isDirectory()) {
      throw new TypeError(`${owner}: option "audit": ${path} is a directory, not a file`);
    }
  } catch (error) {
    if (error instanceof TypeError) throw error;
  }
  return (entry) => appendFileSync(path, `${JSON.stringify(entry)}\n`);
}

/** The last {@link AUDIT_KEEP} entries, oldest first. */
export class AuditRing {
  #entries: AuditEntry[] = [];
  #start = 0;

  push(entry: AuditEntry): void {
    if (this.#entries.length < AUDIT_KEEP) {
      this.#entries.push(entry);
    } else {
      this.#entries[this.#start] = entry;
      this.#start = (this.#start + 1) % AUDIT_KEEP;
    }
  }

  /** The last `limit` entries (all kept when omitted), oldest first. */
  last(limit = AUDIT_KEEP): AuditEntry[] {
    const all = this.#entries.slice(this.#start).concat(this.#entries.slice(0, this.#start));
    return limit >= all.length ? all : all.slice(all.length - limit);
  }
}
