import { type Clock, systemClock } from './clock.js';
import { Context, type OwnerContext } from './context.js';
import { DeadlineQueue } from './deadlines.js';
import { TimeoutError } from './errors.js';
import { Emitter, type Event } from './event.js';
import { InterceptorPolicy } from './interceptor.js';
import { type Link, type Operation, type Policy, PolicyBase, RUN, runNext } from './policy.js';
import { clockOption, numberOption, optionsObject } from './validate.js';

/**
 * - `cooperative` (default): at the deadline the operation's signal is aborted with a
 *   {@link TimeoutError}; the caller gets whatever the operation then returns or throws
 *   (`fetch` rejects with that very TimeoutError).
 * - `aggressive`: the caller's promise rejects with a TimeoutError at the deadline, whether or not
 *   the operation honours its signal (which is aborted too).
 */
export type TimeoutStrategy = 'cooperative' | 'aggressive';

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /** Default `'cooperative'`. */
  strategy?: TimeoutStrategy;
  /** Time source; default the system clock. */
  clock?: Clock;
}

/** Emitted when a deadline passes. */
export interface TimeoutEvent {
  readonly timeoutMs: number;
  readonly attempt: number;
}

/** A policy made by {@link timeout}. */
export interface TimeoutPolicy extends Policy {
  readonly timeoutMs: number;
  readonly strategy: TimeoutStrategy;
  /** Calls currently running under this policy. */
  readonly inFlight: number;
  /** Fires once for each call whose deadline passes. */
  readonly onTimeout: Event<TimeoutEvent>;
}

const KNOWN = ['strategy', 'clock'] as const;

class Timeouts {
  readonly queue: DeadlineQueue<OwnerContext>;
  readonly onTimeout = new Emitter<TimeoutEvent>();
  constructor(
    readonly ms: number,
    clock: Clock,
  ) {
    this.queue = new DeadlineQueue<OwnerContext>(clock, ms, (ctx) => this.expire(ctx));
  }
  expire(ctx: OwnerContext): void {
    const error = new TimeoutError(this.ms);
    ctx.abort(error);
    ctx.onDeadline?.(error);
    if (this.onTimeout.active) this.onTimeout.emit({ timeoutMs: this.ms, attempt: ctx.attempt });
  }
}

class CooperativeTimeout extends InterceptorPolicy implements TimeoutPolicy {
  readonly strategy = 'cooperative' as const;
  readonly #t: Timeouts;
  readonly onTimeout: Event<TimeoutEvent>;
  constructor(t: Timeouts) {
    super();
    this.#t = t;
    this.onTimeout = t.onTimeout.event;
  }
  get timeoutMs(): number {
    return this.#t.ms;
  }
  get inFlight(): number {
    return this.#t.queue.live;
  }
  enter(ctx: Context): OwnerContext {
    const child = Context.owner(ctx);
    const queue = this.#t.queue;
    // Lazily: the deadline is acted on only if the operation reads its signal (or asks whether
    // it is aborted); one that never does could not have been aborted anyway.
    child.deadlines = queue;
    queue.track(child, false);
    return child;
  }
  exit(token: unknown): void {
    const child = token as OwnerContext;
    // A call that never looked at its signal and ran past the deadline: note it now.
    if (this.#t.queue.settle(child) && !child.selfAborted) this.#t.expire(child);
    child.release();
  }
}

class AggressiveTimeout extends PolicyBase implements TimeoutPolicy {
  readonly strategy = 'aggressive' as const;
  readonly #t: Timeouts;
  readonly onTimeout: Event<TimeoutEvent>;
  constructor(t: Timeouts) {
    super();
    this.#t = t;
    this.onTimeout = t.onTimeout.event;
  }
  get timeoutMs(): number {
    return this.#t.ms;
  }
  get inFlight(): number {
    return this.#t.queue.live;
  }
  [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    const child = Context.owner(ctx);
    const queue = this.#t.queue;
    return new Promise<T>((resolve, reject) => {
      child.onDeadline = reject;
      queue.track(child, true);
      const done = () => {
        queue.settle(child);
        child.release();
      };
      let result: T | PromiseLike<T>;
      try {
        result = runNext(fn, child, next);
      } catch (err) {
        done();
        reject(err);
        return;
      }
      Promise.resolve(result).then(
        (value) => {
          done();
          resolve(value);
        },
        (err: unknown) => {
          done();
          reject(err);
        },
      );
    });
  }
}

/**
 * Bounds each call to `ms` milliseconds. One shared timer per policy serves every call in flight,
 * and the operation's `signal` is only created if the operation reads it.
 *
 * @example
 * const t = timeout(2_000);
 * await t.execute(({ signal }) => fetch(url, { signal })); // rejects with TimeoutError after 2 s
 */
export function timeout(ms: number, options?: TimeoutOptions | TimeoutStrategy): TimeoutPolicy {
  const owner = 'timeout';
  if (ms === undefined) throw new TypeError('timeout: the duration "ms" is required');
  const duration = numberOption(owner, 'ms', ms, 0, { min: 0, exclusiveMin: true });
  const opts =
    typeof options === 'string'
      ? { strategy: options }
      : optionsObject<TimeoutOptions>(owner, options, KNOWN);
  const strategy = opts.strategy ?? 'cooperative';
  if (strategy !== 'cooperative' && strategy !== 'aggressive') {
    throw new TypeError(
      `timeout: option "strategy" must be 'cooperative' or 'aggressive', got ${JSON.stringify(strategy)}`,
    );
  }
  const t = new Timeouts(duration, clockOption(owner, opts.clock, systemClock));
  return strategy === 'cooperative' ? new CooperativeTimeout(t) : new AggressiveTimeout(t);
}
