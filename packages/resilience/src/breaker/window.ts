import type { Thresholds } from './options.js';
import type { WindowSnapshot } from './snapshot.js';

/** @internal Builds the path of a snapshot field for error messages. */
export type Where = (path: string) => string;

/**
 * What a breaker records while closed: one implementation per window type. A window only counts;
 * the breaker decides what counts as a failure or a slow call, and which results are stale.
 *
 * @internal
 */
export interface BreakerWindow {
  readonly type: WindowSnapshot['type'];
  /** True when `record` needs the current time for every call. */
  readonly needsClock: boolean;
  /**
   * True when `record` needs the current time for a failure. When only this is set, successes
   * are recorded with `now` NaN: they go to the newest bucket known, without a clock read.
   */
  readonly needsClockOnFailure: boolean;
  /** Calls in the window (as of the last `advance` or `record`). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Drops what fell out of the window by `now` (time windows). */
  advance(now: number): void;
  /**
   * Records one call and, when it was a failure or slow, returns true if the window now says
   * "open". A success never opens the circuit.
   */
  record(failed: boolean, slow: boolean, now: number): boolean;
  /** Forgets every call. */
  reset(): void;
  /** The window's content, JSON-safe. */
  snapshot(now: number): WindowSnapshot;
  /** Validates a snapshot against this window's configuration (TypeError naming the field). */
  parse(value: unknown, where: Where): WindowSnapshot;
  /** Replaces the content with a snapshot that `parse` accepted. */
  load(snapshot: WindowSnapshot): void;
}

/**
 * @internal The rules of the count and time windows. The rate tests divide (rather than multiply
 * the threshold) so that the reported `failureRate` and the decision never disagree.
 */
export function tripped(t: Thresholds, calls: number, failures: number, slow: number): boolean {
  if (t.failures > 0 || t.failureRate > 0) {
    const enoughFailures = t.failures === 0 || failures >= t.failures;
    const highRate =
      t.failureRate === 0 || (calls >= t.minimumCalls && failures / calls >= t.failureRate);
    if (enoughFailures && highRate) return true;
  }
  return t.slowRate > 0 && calls >= t.minimumCalls && slow / calls >= t.slowRate;
}

/** @internal Shared snapshot checks. */
export function plainObject(value: unknown, where: Where, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where(path)} must be an object, got ${describeShort(value)}`);
  }
  return value as Record<string, unknown>;
}

/** @internal Rejects unknown and missing keys. */
export function exactKeys(
  obj: Record<string, unknown>,
  keys: readonly string[],
  where: Where,
  path: string,
): void {
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) {
      throw new TypeError(`${where(`${path}.${key}`)} is not a snapshot field`);
    }
  }
  for (const key of keys) {
    if (!(key in obj)) throw new TypeError(`${where(`${path}.${key}`)} is missing`);
  }
}

/** @internal A non-negative safe integer, at most `max`. */
export function countField(value: unknown, where: Where, path: string, max?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${where(path)} must be an integer >= 0, got ${describeShort(value)}`);
  }
  if (max !== undefined && value > max) {
    throw new TypeError(`${where(path)} must be <= ${max}, got ${value}`);
  }
  return value;
}

/** @internal Names a value for snapshot errors. */
export function describeShort(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value;
}
