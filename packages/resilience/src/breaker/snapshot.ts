import type { BreakerWindow, Where } from './window.js';
import { countField, describeShort, exactKeys, plainObject } from './window.js';

/** The content of a consecutive window: the current run of failures. */
export interface ConsecutiveWindowSnapshot {
  readonly type: 'consecutive';
  readonly failures: number;
}

/**
 * The content of a count window: the remembered calls, oldest first, each `0` success, `1`
 * failure, `2` slow success, `3` slow failure.
 */
export interface CountWindowSnapshot {
  readonly type: 'count';
  readonly size: number;
  readonly outcomes: readonly number[];
}

/**
 * The content of a time window: `buckets` buckets of `durationMs / buckets` ms, oldest first, each
 * `[calls, failures, slowCalls]`; the last one is bucket number `head`, which covers clock times
 * `[head * width, (head + 1) * width)`.
 */
export interface TimeWindowSnapshot {
  readonly type: 'time';
  readonly durationMs: number;
  readonly buckets: number;
  readonly head: number;
  readonly counts: readonly (readonly [number, number, number])[];
}

/** The content of a breaker's window. */
export type WindowSnapshot = ConsecutiveWindowSnapshot | CountWindowSnapshot | TimeWindowSnapshot;

/**
 * A breaker's state as plain JSON, from {@link CircuitBreaker.toJSON}. Restoring it (with
 * `restore()` or the `initialState` option) keeps the remaining open time, because `openUntil` is
 * an absolute time on the breaker's clock (epoch ms for the system clock). An isolated breaker is
 * saved as `'open'` for one first open duration: isolation belongs to whoever holds it, in this
 * process.
 */
export interface CircuitBreakerSnapshot {
  readonly version: 1;
  readonly state: 'closed' | 'open' | 'half-open';
  /** When an open circuit lets a trial call through; `null` unless `state` is `'open'`. */
  readonly openUntil: number | null;
  /** Reopens since the circuit was last closed (drives a growing open duration); 0 when closed. */
  readonly reopens: number;
  /** Trial successes so far; 0 unless `state` is `'half-open'`. */
  readonly trialSuccesses: number;
  readonly window: WindowSnapshot;
}

const KEYS = ['version', 'state', 'openUntil', 'reopens', 'trialSuccesses', 'window'] as const;
const STATES = ['closed', 'open', 'half-open'] as const;

/**
 * @internal Validates a snapshot for a breaker with this window and success threshold; every
 * problem is a TypeError naming the field. Returns a normalised copy.
 */
export function parseSnapshot(
  value: unknown,
  where: Where,
  window: BreakerWindow,
  successThreshold: number,
): CircuitBreakerSnapshot {
  const o = plainObject(value, where, '');
  exactKeys(o, KEYS, where, '');
  if (o.version !== 1) {
    throw new TypeError(`${where('.version')} must be 1, got ${describeShort(o.version)}`);
  }
  const state = o.state;
  if (!STATES.includes(state as (typeof STATES)[number])) {
    throw new TypeError(
      `${where('.state')} must be 'closed', 'open' or 'half-open', got ${describeShort(state)}`,
    );
  }
  const s = state as CircuitBreakerSnapshot['state'];
  let openUntil: number | null = null;
  if (s === 'open') {
    if (typeof o.openUntil !== 'number' || !Number.isFinite(o.openUntil)) {
      throw new TypeError(
        `${where('.openUntil')} must be a finite clock time when the state is 'open', got ${describeShort(o.openUntil)}`,
      );
    }
    openUntil = o.openUntil;
  } else if (o.openUntil !== null) {
    throw new TypeError(
      `${where('.openUntil')} must be null when the state is '${s}', got ${describeShort(o.openUntil)}`,
    );
  }
  const reopens = countField(o.reopens, where, '.reopens', s === 'closed' ? 0 : undefined);
  const trialSuccesses = countField(
    o.trialSuccesses,
    where,
    '.trialSuccesses',
    s === 'half-open' ? successThreshold - 1 : 0,
  );
  return {
    version: 1,
    state: s,
    openUntil,
    reopens,
    trialSuccesses,
    window: window.parse(o.window, where),
  };
}
