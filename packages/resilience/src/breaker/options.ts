import type { Backoff } from '../backoff.js';
import { type Clock, systemClock } from '../clock.js';
import { clockOption, describe, functionOption, numberOption, optionsObject } from '../validate.js';
import type { CircuitBreakerSnapshot } from './snapshot.js';

/** Default time window: 60 s (the lesson's "5 failures within 60 s"). */
export const DEFAULT_TIME_WINDOW_MS = 60_000;
/** Default bucket count of a time window: 1 s buckets for the default 60 s window. */
export const DEFAULT_TIME_BUCKETS = 60;
/** Default failure threshold of the time and consecutive windows. */
export const DEFAULT_FAILURES = 5;
/** Default minimum number of calls before a rate is judged in a time window. */
export const DEFAULT_TIME_MINIMUM_CALLS = 10;
/** Default size of a count window (resilience4j's). */
export const DEFAULT_COUNT_SIZE = 100;
/** Default failure rate of a count window when no threshold is given (resilience4j's 50 %). */
export const DEFAULT_COUNT_FAILURE_RATE = 0.5;
/** Default open duration. */
export const DEFAULT_OPEN_MS = 30_000;
/** Default number of concurrent trial calls while half-open. */
export const DEFAULT_HALF_OPEN_MAX_CONCURRENT = 1;
/** Default number of trial successes that close a half-open circuit. */
export const DEFAULT_HALF_OPEN_SUCCESSES = 3;
/** Default age after which a trial call that has not finished counts as failed. */
export const DEFAULT_MAX_TRIAL_MS = 30_000;
/** Default slow-call rate (resilience4j's 100 %). */
export const DEFAULT_SLOW_CALL_RATE = 1;

const MAX_COUNT_SIZE = 1_000_000;
const MAX_TIME_BUCKETS = 10_000;

/** Opens after `failures` failures in a row; any success starts the count again. */
export interface ConsecutiveWindowOptions {
  readonly type: 'consecutive';
  /** Consecutive failures that open the circuit (integer >= 1). Default 5. */
  readonly failures?: number;
}

/**
 * Judges the last `size` calls. When both `failures` and `failureRate` are given, both must be
 * reached; when neither is given, `failureRate` is 0.5.
 */
export interface CountWindowOptions {
  readonly type: 'count';
  /** Calls remembered (integer in [1, 1_000_000]). Default 100. */
  readonly size?: number;
  /** Failures among the remembered calls that open the circuit (integer >= 1). */
  readonly failures?: number;
  /** Failure rate in (0, 1] that opens the circuit once `minimumCalls` calls are remembered. */
  readonly failureRate?: number;
  /** Calls needed before a rate (failure or slow) is judged (integer in [1, size]). Default `size`. */
  readonly minimumCalls?: number;
}

/**
 * Judges the calls that ended in the last `durationMs`, kept in `buckets` time buckets that are
 * rotated lazily from the clock when the breaker is used (no timer). A call counts for between
 * `durationMs - durationMs / buckets` and `durationMs` after it ended. When both `failures` and
 * `failureRate` are given, both must be reached; when neither is given, `failures` is 5.
 */
export interface TimeWindowOptions {
  readonly type: 'time';
  /** Window length in ms (> 0). Default 60_000. */
  readonly durationMs?: number;
  /** Number of buckets (integer in [1, 10_000]). Default 60. */
  readonly buckets?: number;
  /** Failures within the window that open the circuit (integer >= 1). */
  readonly failures?: number;
  /** Failure rate in (0, 1] that opens the circuit once `minimumCalls` calls are in the window. */
  readonly failureRate?: number;
  /** Calls needed before a rate (failure or slow) is judged (integer >= 1). Default 10. */
  readonly minimumCalls?: number;
}

/** Which calls the breaker judges, and when they open it. */
export type WindowOptions = ConsecutiveWindowOptions | CountWindowOptions | TimeWindowOptions;

/**
 * Slow-call detection, as in resilience4j: a call (success or failure) that takes longer than
 * `durationMs` is slow; the circuit opens when the share of slow calls in the window reaches
 * `rate` (once the window's `minimumCalls` is reached). A slow trial call in half-open reopens the
 * circuit. Needs a count or time window.
 */
export interface SlowCallOptions {
  /** Calls strictly longer than this (ms, > 0) are slow. Required. */
  readonly durationMs: number;
  /** Slow-call rate in (0, 1] that opens the circuit. Default 1. */
  readonly rate?: number;
}

/** Half-open behaviour. */
export interface HalfOpenOptions {
  /** Trial calls admitted at the same time (integer >= 1); others are rejected. Default 1. */
  readonly maxConcurrent?: number;
  /** Trial successes that close the circuit (integer >= 1). Default 3. */
  readonly successThreshold?: number;
  /**
   * A trial call still running after this many ms counts as failed and reopens the circuit, so a
   * hung call cannot hold the only permit forever. Detected lazily, on the next call or state
   * read. Default 30_000.
   */
  readonly maxTrialMs?: number;
}

/**
 * How long the circuit stays open: a fixed number of ms; a {@link Backoff} (a sequence is started
 * at the first open after the circuit was closed and advanced on each reopen, keeping its last
 * value when it ends); or a function of the number of reopens since the circuit was last closed
 * (0 for the first open). Invalid values returned at run time fall back to the previous duration
 * (or 30 s) with a process warning.
 */
export type OpenDuration = number | Backoff | ((reopens: number) => number);

/** Options of {@link circuitBreaker}. Every option is checked at construction. */
export interface CircuitBreakerOptions {
  /** Shown in rejection messages. */
  readonly name?: string;
  /** Default `{ type: 'time', durationMs: 60_000, buckets: 60, failures: 5 }`. */
  readonly window?: WindowOptions;
  /** Slow-call detection; off by default. */
  readonly slowCall?: SlowCallOptions;
  /** Default 30_000 ms. */
  readonly openMs?: OpenDuration;
  /** Default `{ maxConcurrent: 1, successThreshold: 3, maxTrialMs: 30_000 }`. */
  readonly halfOpen?: HalfOpenOptions;
  /**
   * Which errors count as failures; default every error. An error that is neither a failure nor
   * ignored counts as a success (the dependency answered). A predicate that throws means "failure"
   * (with one process warning).
   */
  readonly isFailure?: (error: unknown) => boolean;
  /** Which results count as failures; default none. A predicate that throws means "failure". */
  readonly isFailureResult?: (result: unknown) => boolean;
  /**
   * Errors that are neutral: neither success nor failure (a half-open permit is released).
   * Checked before `isFailure`; one that throws means "not ignored". Errors raised after the
   * call was cancelled (by the caller, or a hedge that dropped it) are always neutral; a
   * `TimeoutError` is not a cancellation and counts as a failure.
   */
  readonly isIgnored?: (error: unknown) => boolean;
  /** State to start from, from {@link CircuitBreaker.toJSON}; validated like `restore()`. */
  readonly initialState?: CircuitBreakerSnapshot;
  /** Time source; default the system clock. The breaker never sets a timer. */
  readonly clock?: Clock;
}

/** @internal What a window needs to decide to open. 0 switches a rule off. */
export interface Thresholds {
  readonly failures: number;
  readonly failureRate: number;
  readonly slowRate: number;
  readonly minimumCalls: number;
}

/** @internal A validated window configuration. */
export type WindowConfig =
  | { readonly type: 'consecutive'; readonly failures: number }
  | { readonly type: 'count'; readonly size: number; readonly thresholds: Thresholds }
  | {
      readonly type: 'time';
      readonly durationMs: number;
      readonly buckets: number;
      readonly thresholds: Thresholds;
    };

/** @internal Validated options. */
export interface BreakerConfig {
  readonly name: string | undefined;
  readonly window: WindowConfig;
  /** Infinity when slow-call detection is off. */
  readonly slowMs: number;
  readonly open: OpenDuration;
  readonly maxConcurrent: number;
  readonly successThreshold: number;
  readonly maxTrialMs: number;
  readonly isFailure: ((error: unknown) => boolean) | null;
  readonly isFailureResult: ((result: unknown) => boolean) | null;
  readonly isIgnored: ((error: unknown) => boolean) | null;
  readonly initialState: unknown;
  readonly clock: Clock;
}

/** @internal */
export const OWNER = 'circuitBreaker';

const KNOWN = [
  'name',
  'window',
  'slowCall',
  'openMs',
  'halfOpen',
  'isFailure',
  'isFailureResult',
  'isIgnored',
  'initialState',
  'clock',
] as const;
const WINDOW_KEYS = {
  consecutive: ['type', 'failures'],
  count: ['type', 'size', 'failures', 'failureRate', 'minimumCalls'],
  time: ['type', 'durationMs', 'buckets', 'failures', 'failureRate', 'minimumCalls'],
} as const;
const SLOW_KEYS = ['durationMs', 'rate'] as const;
const HALF_OPEN_KEYS = ['maxConcurrent', 'successThreshold', 'maxTrialMs'] as const;

/** Checks a nested options object and its keys; undefined stays undefined. */
function nested(
  name: string,
  value: unknown,
  known: readonly string[],
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${OWNER}: option "${name}" must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${OWNER}: unknown option "${name}.${key}" (known: ${known.join(', ')})`);
    }
  }
  return value as Record<string, unknown>;
}

const count = (name: string, value: unknown, fallback: number, max?: number): number =>
  numberOption(OWNER, name, value, fallback, {
    min: 1,
    integer: true,
    ...(max === undefined ? {} : { max }),
  });
const rate = (name: string, value: unknown, fallback: number): number =>
  numberOption(OWNER, name, value, fallback, { min: 0, exclusiveMin: true, max: 1 });
const positive = (name: string, value: unknown, fallback: number): number =>
  numberOption(OWNER, name, value, fallback, { min: 0, exclusiveMin: true });

function windowConfig(value: unknown, slowRate: number): WindowConfig {
  if (value === undefined) {
    return {
      type: 'time',
      durationMs: DEFAULT_TIME_WINDOW_MS,
      buckets: DEFAULT_TIME_BUCKETS,
      thresholds: {
        failures: DEFAULT_FAILURES,
        failureRate: 0,
        slowRate,
        minimumCalls: DEFAULT_TIME_MINIMUM_CALLS,
      },
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${OWNER}: option "window" must be an object, got ${describe(value)}`);
  }
  const type = (value as { type?: unknown }).type;
  if (type !== 'consecutive' && type !== 'count' && type !== 'time') {
    throw new TypeError(
      `${OWNER}: option "window.type" must be 'consecutive', 'count' or 'time', got ${describe(type)}`,
    );
  }
  const w = nested('window', value, WINDOW_KEYS[type])!;
  if (type === 'consecutive') {
    if (slowRate > 0) {
      throw new TypeError(
        `${OWNER}: option "slowCall" needs a 'count' or 'time' window (a slow-call rate needs a window of calls)`,
      );
    }
    return { type, failures: count('window.failures', w.failures, DEFAULT_FAILURES) };
  }
  const failures = count('window.failures', w.failures, 0);
  let failureRate = rate('window.failureRate', w.failureRate, 0);
  if (type === 'count') {
    const size = count('window.size', w.size, DEFAULT_COUNT_SIZE, MAX_COUNT_SIZE);
    const minimumCalls = count('window.minimumCalls', w.minimumCalls, size);
    if (minimumCalls > size) {
      throw new TypeError(
        `${OWNER}: option "window.minimumCalls" must be <= "window.size" (${size}), got ${minimumCalls}`,
      );
    }
    if (failures > size) {
      throw new TypeError(
        `${OWNER}: option "window.failures" must be <= "window.size" (${size}), got ${failures}`,
      );
    }
    if (failures === 0 && failureRate === 0) failureRate = DEFAULT_COUNT_FAILURE_RATE;
    return { type, size, thresholds: { failures, failureRate, slowRate, minimumCalls } };
  }
  const durationMs = positive('window.durationMs', w.durationMs, DEFAULT_TIME_WINDOW_MS);
  const buckets = count('window.buckets', w.buckets, DEFAULT_TIME_BUCKETS, MAX_TIME_BUCKETS);
  const minimumCalls = count('window.minimumCalls', w.minimumCalls, DEFAULT_TIME_MINIMUM_CALLS);
  return {
    type,
    durationMs,
    buckets,
    thresholds: {
      failures: failures === 0 && failureRate === 0 ? DEFAULT_FAILURES : failures,
      failureRate,
      slowRate,
      minimumCalls,
    },
  };
}

function openOption(value: unknown): OpenDuration {
  if (value === undefined) return DEFAULT_OPEN_MS;
  if (typeof value === 'function') return value as (reopens: number) => number;
  if (typeof value === 'object' && value !== null) {
    if (typeof (value as Partial<Backoff>).start !== 'function') {
      throw new TypeError(
        `${OWNER}: option "openMs" must be a number, a function or a Backoff with start(), got ${describe(value)}`,
      );
    }
    return value as Backoff;
  }
  return positive('openMs', value, DEFAULT_OPEN_MS);
}

/** @internal Validates every option; throws a TypeError naming the first bad one. */
export function parseOptions(options: unknown): BreakerConfig {
  const o = optionsObject<CircuitBreakerOptions>(OWNER, options, KNOWN);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) {
    throw new TypeError(
      `${OWNER}: option "name" must be a non-empty string, got ${describe(o.name)}`,
    );
  }
  const slow = nested('slowCall', o.slowCall, SLOW_KEYS);
  let slowMs = Number.POSITIVE_INFINITY;
  let slowRate = 0;
  if (slow !== undefined) {
    if (slow.durationMs === undefined) {
      throw new TypeError(`${OWNER}: option "slowCall.durationMs" is required`);
    }
    slowMs = positive('slowCall.durationMs', slow.durationMs, 0);
    slowRate = rate('slowCall.rate', slow.rate, DEFAULT_SLOW_CALL_RATE);
  }
  const window = windowConfig(o.window, slowRate);
  const half = nested('halfOpen', o.halfOpen, HALF_OPEN_KEYS) ?? {};
  return {
    name: o.name,
    window,
    slowMs,
    open: openOption(o.openMs),
    maxConcurrent: count(
      'halfOpen.maxConcurrent',
      half.maxConcurrent,
      DEFAULT_HALF_OPEN_MAX_CONCURRENT,
    ),
    successThreshold: count(
      'halfOpen.successThreshold',
      half.successThreshold,
      DEFAULT_HALF_OPEN_SUCCESSES,
    ),
    maxTrialMs: positive('halfOpen.maxTrialMs', half.maxTrialMs, DEFAULT_MAX_TRIAL_MS),
    isFailure: functionOption(OWNER, 'isFailure', o.isFailure, null),
    isFailureResult: functionOption(OWNER, 'isFailureResult', o.isFailureResult, null),
    isIgnored: functionOption(OWNER, 'isIgnored', o.isIgnored, null),
    initialState: o.initialState,
    clock: clockOption(OWNER, o.clock, systemClock),
  };
}
