import { describe, functionOption, numberOption, optionsObject } from './validate.js';

/**
 * A delay schedule: one fresh {@link BackoffSequence} per retry execution (or per closed -> open
 * cycle of a breaker). Stateless factories keep one policy safe to share between callers.
 */
export interface Backoff {
  /** Starts a new sequence of delays. */
  start(): BackoffSequence;
}

/** The delays of one execution, in milliseconds. */
export interface BackoffSequence {
  /** The next delay, or `undefined` when the schedule is exhausted (stop retrying). */
  next(): number | undefined;
}

/**
 * Anything that can serve as a backoff: a constant delay in milliseconds, a re-iterable list of
 * delays (e.g. `[100, 500, 2_000]`, which also ends the retries when it runs out), or a
 * {@link Backoff}.
 */
export type BackoffLike = number | Iterable<number> | Backoff;

/**
 * The longest delay any backoff may produce: Node's timers fire at once (with a warning) for
 * anything above 2^31 - 1 ms, about 24.8 days, which would turn a long wait into a hot loop.
 */
export const MAX_DELAY_MS = 2_147_483_647;

/**
 * How randomness spreads the delays of many clients so that they do not retry in lockstep
 * (temp = `min(max, base * factor^n)` for the n-th retry, n = 0 first):
 * - `'full'`: `uniform(0, temp)`; the least total work (AWS, "Exponential Backoff And Jitter").
 * - `'equal'`: `temp / 2 + uniform(0, temp / 2)`; never shorter than half the exponential delay.
 * - `'decorrelated'`: AWS's `min(max, uniform(base, previous * 3))` from `previous = base`.
 * - `'none'`: exactly `temp`.
 */
export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Delay scale of the first retry, in ms. Default 1000. */
  base?: number;
  /** Growth per retry, >= 1. Default 2. */
  factor?: number;
  /** Cap on every delay, in ms (>= base, <= {@link MAX_DELAY_MS}). Default 30_000. */
  max?: number;
  /** Default `'full'`. */
  jitter?: Jitter;
  /** Source of uniform numbers in [0, 1); default `Math.random`. Inject a fixed one in tests. */
  random?: () => number;
}

/** A backoff made by {@link exponentialBackoff}. */
export interface ExponentialBackoff extends Backoff {
  readonly base: number;
  readonly factor: number;
  readonly max: number;
  readonly jitter: Jitter;
  /**
   * The delay before retry `n` (0 = the first retry), always in [0, max] even for huge `n`.
   * `previous` is the delay returned for `n - 1`; only decorrelated jitter uses it (default `base`).
   */
  delay(n: number, previous?: number): number;
}

/** A backoff made by {@link constantBackoff}. */
export interface ConstantBackoff extends Backoff {
  /** The delay before every retry, in ms. */
  readonly delayMs: number;
}

const JITTERS: readonly Jitter[] = ['full', 'equal', 'decorrelated', 'none'];
const EXPONENTIAL_KEYS = ['base', 'factor', 'max', 'jitter', 'random'] as const;

class Exponential implements ExponentialBackoff {
  readonly base: number;
  readonly factor: number;
  readonly max: number;
  readonly jitter: Jitter;
  readonly #random: () => number;

  constructor(base: number, factor: number, max: number, jitter: Jitter, random: () => number) {
    this.base = base;
    this.factor = factor;
    this.max = max;
    this.jitter = jitter;
    this.#random = random;
  }

  start(): BackoffSequence {
    return new ExponentialSequence(this);
  }

  delay(n: number, previous = this.base): number {
    if (typeof n !== 'number' || !(n >= 0)) {
      throw new TypeError(`exponentialBackoff.delay: n must be a number >= 0, got ${describe(n)}`);
    }
    const { base, max } = this;
    let d: number;
    if (this.jitter === 'decorrelated') {
      // previous <= max <= MAX_DELAY_MS keeps previous * 3 finite.
      const prev = previous >= base ? Math.min(previous, max) : base;
      d = base + this.#random() * (prev * 3 - base);
    } else {
      // base * factor^n overflows to Infinity for large n, which the cap then absorbs; the two
      // cases where that product would be NaN (0 * Infinity, 1^Infinity) are settled first.
      let temp = base === 0 ? 0 : this.factor === 1 ? base : base * this.factor ** n;
      if (!(temp < max)) temp = max;
      switch (this.jitter) {
        case 'full':
          d = this.#random() * temp;
          break;
        case 'equal':
          // The sum can round past temp for subnormal temps; equal jitter never exceeds temp.
          d = Math.min(temp, temp / 2 + this.#random() * (temp / 2));
          break;
        default:
          d = temp;
      }
    }
    // Clamp last, so that a misbehaving random() can never produce a negative, NaN or oversized delay.
    return d < max ? Math.max(d, 0) : max;
  }
}

class ExponentialSequence implements BackoffSequence {
  readonly #owner: Exponential;
  #n = 0;
  #previous: number;
  constructor(owner: Exponential) {
    this.#owner = owner;
    this.#previous = owner.base;
  }
  next(): number {
    const d = this.#owner.delay(this.#n, this.#previous);
    this.#n++;
    this.#previous = d;
    return d;
  }
}

/**
 * Exponential backoff with a cap and jitter: the delay before the n-th retry (n = 0 first) is drawn
 * from `min(max, base * factor^n)` according to `jitter`. The schedule never ends; the retry's
 * `maxRetries` or a budget bounds it.
 *
 * @example
 * retry({ backoff: exponentialBackoff({ base: 200, max: 5_000, jitter: 'decorrelated' }) });
 */
export function exponentialBackoff(options?: ExponentialBackoffOptions): ExponentialBackoff {
  const owner = 'exponentialBackoff';
  const o = optionsObject<ExponentialBackoffOptions>(owner, options, EXPONENTIAL_KEYS);
  const base = numberOption(owner, 'base', o.base, 1_000, { min: 0, max: MAX_DELAY_MS });
  const factor = numberOption(owner, 'factor', o.factor, 2, { min: 1 });
  const max = numberOption(owner, 'max', o.max, Math.max(30_000, base), {
    min: base,
    max: MAX_DELAY_MS,
  });
  const jitter = o.jitter ?? 'full';
  if (!JITTERS.includes(jitter)) {
    throw new TypeError(
      `${owner}: option "jitter" must be one of ${JITTERS.map((j) => `'${j}'`).join(', ')}, got ${describe(jitter)}`,
    );
  }
  const random = functionOption<() => number>(owner, 'random', o.random, Math.random);
  return new Exponential(base, factor, max, jitter, random);
}

class Constant implements ConstantBackoff, BackoffSequence {
  readonly delayMs: number;
  constructor(ms: number) {
    this.delayMs = ms;
  }
  // Stateless: the backoff is its own sequence, so starting one allocates nothing.
  start(): BackoffSequence {
    return this;
  }
  next(): number {
    return this.delayMs;
  }
}

/**
 * The same delay before every retry. The schedule never ends.
 *
 * @example
 * retry({ maxRetries: 3, backoff: constantBackoff(250) });
 */
export function constantBackoff(ms: number): ConstantBackoff {
  if (ms === undefined) throw new TypeError('constantBackoff: the delay "ms" is required');
  return new Constant(numberOption('constantBackoff', 'ms', ms, 0, { max: MAX_DELAY_MS }));
}

/** A fixed list of delays, checked and copied once so later edits to the caller's array do nothing. */
class ListBackoff implements Backoff {
  readonly #delays: readonly number[];
  constructor(delays: readonly number[]) {
    this.#delays = delays;
  }
  start(): BackoffSequence {
    return new ListSequence(this.#delays);
  }
}

class ListSequence implements BackoffSequence {
  readonly #delays: readonly number[];
  #i = 0;
  constructor(delays: readonly number[]) {
    this.#delays = delays;
  }
  next(): number | undefined {
    return this.#i < this.#delays.length ? this.#delays[this.#i++] : undefined;
  }
}

/** Any other iterable: a fresh iterator per sequence, each delay checked as it is drawn. */
class IterableBackoff implements Backoff {
  readonly #iterable: Iterable<number>;
  readonly #where: string;
  constructor(iterable: Iterable<number>, where: string) {
    this.#iterable = iterable;
    this.#where = where;
  }
  start(): BackoffSequence {
    return new IterableSequence(this.#iterable[Symbol.iterator](), this.#where);
  }
}

class IterableSequence implements BackoffSequence {
  readonly #it: Iterator<number>;
  readonly #where: string;
  #i = 0;
  #done = false;
  constructor(it: Iterator<number>, where: string) {
    this.#it = it;
    this.#where = where;
  }
  next(): number | undefined {
    if (this.#done) return undefined;
    const r = this.#it.next();
    if (r.done) {
      this.#done = true;
      return undefined;
    }
    return checkDelay(r.value, `${this.#where}: delay #${this.#i++}`);
  }
}

/**
 * @internal Throws a TypeError unless `value` is a usable delay: a finite number in
 * [0, {@link MAX_DELAY_MS}]. `what` names it in the message.
 */
export function checkDelay(value: unknown, what: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_DELAY_MS)) {
    throw new TypeError(
      `${what} must be a finite number of ms in [0, ${MAX_DELAY_MS}], got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * @internal Validates a backoff-like option of policy `owner` and turns it into a {@link Backoff}
 * (see {@link toBackoff}); `fallback` when `value` is undefined.
 */
export function backoffOption(
  owner: string,
  name: string,
  value: unknown,
  fallback: Backoff,
): Backoff {
  if (value === undefined) return fallback;
  const where = `${owner}: option "${name}"`;
  if (typeof value === 'number') return new Constant(checkDelay(value, where));
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `${where} must be a number of ms, an iterable of delays or a Backoff, got ${describe(value)}`,
    );
  }
  const v = value as Partial<Backoff> & Partial<Iterable<unknown>> & { next?: unknown };
  if (typeof v.start === 'function') return v as Backoff;
  if (typeof v[Symbol.iterator] !== 'function') {
    throw new TypeError(
      `${where} must be a number of ms, an iterable of delays or a Backoff, got ${describe(value)}`,
    );
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkDelay(value[i], `${where}: delay #${i}`);
    return new ListBackoff(Object.freeze(value.slice()));
  }
  // A generator object or other iterator returns itself from [Symbol.iterator](): it would run out
  // after the first execution and silently stop every later retry.
  if (typeof v.next === 'function') {
    throw new TypeError(
      `${where} is an iterator, which can be consumed only once; pass an array or an object whose [Symbol.iterator]() starts afresh (e.g. { *[Symbol.iterator]() { ... } })`,
    );
  }
  return new IterableBackoff(value as Iterable<number>, where);
}

/**
 * Turns a delay in ms, a re-iterable list of delays or a {@link Backoff} into a {@link Backoff}, for
 * any option that takes a schedule (a retry's `backoff`, a breaker's open duration). Throws a
 * TypeError for anything else, for a negative or non-finite delay in a list, and for a one-shot
 * iterator (a generator object), which could serve only one execution.
 *
 * @example
 * toBackoff(500).start().next(); // 500
 * toBackoff([100, 500]).start(); // yields 100, 500, then undefined
 */
export function toBackoff(value: BackoffLike): Backoff {
  if (value === undefined) throw new TypeError('toBackoff: a backoff is required');
  return backoffOption('toBackoff', 'value', value, undefined as unknown as Backoff);
}

/** @internal True for the built-in schedules that never end (constant and exponential). */
export function isEndless(backoff: Backoff): boolean {
  return backoff instanceof Constant || backoff instanceof Exponential;
}
