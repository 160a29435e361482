import {
  type Backoff,
  type BackoffLike,
  type BackoffSequence,
  backoffOption,
  checkDelay,
  exponentialBackoff,
  isEndless,
  MAX_DELAY_MS,
} from './backoff.js';
import { budgetOption, type RetryBudget } from './budget.js';
import { type Clock, systemClock } from './clock.js';
import { Context } from './context.js';
import { isRejection, TimeoutError } from './errors.js';
import { Emitter, type Event } from './event.js';
import {
  enterAll,
  enterSecond,
  exitAll,
  exitPair,
  type Frame,
  innerContext,
  segmentOf,
} from './interceptor.js';
import { type Link, type Operation, type Policy, PolicyBase, RUN, runNext } from './policy.js';
import { retryAfterOf } from './retry-after.js';
import { clockOption, functionOption, numberOption, optionsObject } from './validate.js';

/** Options of {@link retry}. */
export interface RetryOptions {
  /**
   * Retries after the first call (so at most `maxRetries + 1` calls). A non-negative integer;
   * default 4. `Infinity` is accepted only when something else ends the loop: a `budget`, or a
   * `backoff` schedule of your own (an array, an iterable, a custom {@link Backoff}) that runs out.
   * With the built-in endless schedules (a number, `constantBackoff`, `exponentialBackoff`) and no
   * budget it is a TypeError, because one dead dependency would keep the loop going forever.
   */
  maxRetries?: number;
  /**
   * The delays between attempts: a {@link Backoff}, a constant in ms, or a re-iterable list of
   * delays in ms whose end also ends the retries. Default `exponentialBackoff()`: base 1 s,
   * doubling, capped at 30 s, full jitter. A server-requested delay replaces the step's delay but
   * still uses up the step, so the n-th retry keeps the n-th delay of the schedule.
   */
  backoff?: BackoffLike;
  /**
   * Which errors to retry; default every error. Refusals (`BrokenCircuitError`,
   * `IsolatedCircuitError`) and cancellations (the caller's signal aborted, or an error named
   * `AbortError`) are never retried whatever this says.
   */
  retryOn?: (error: unknown) => boolean;
  /**
   * Which resolved values count as failures to retry. Default: an HTTP-like response, i.e. an
   * object whose numeric `status` is 429 or 503. When retries run out on such a value the
   * execution resolves with the last one (it does not throw).
   */
  retryOnResult?: (value: unknown) => boolean;
  /** A shared budget that bounds retries across callers; default none. */
  budget?: RetryBudget;
  /**
   * The longest server-requested delay (Retry-After, `retryAfterMs`) honoured, in ms; a longer
   * request gives up at once. Default 60_000.
   */
  maxRetryAfter?: number;
  /** Time source for delays and HTTP-date Retry-After values; default the system clock. */
  clock?: Clock;
}

/**
 * Why a retry execution ended without success:
 * - `'max-retries'`: `maxRetries` retries were made;
 * - `'not-retryable'`: `retryOn` rejected the error;
 * - `'budget-spent'`: the shared budget refused another attempt;
 * - `'circuit-open'`: a breaker refused the call, or opened on this attempt's failure;
 * - `'retry-after-too-long'`: the server asked for a longer wait than `maxRetryAfter`;
 * - `'backoff-exhausted'`: the backoff schedule ran out;
 * - `'cancelled'`: the caller's signal (or an outer timeout) aborted, or the attempt was aborted.
 */
export type GiveUpReason =
  | 'max-retries'
  | 'not-retryable'
  | 'budget-spent'
  | 'circuit-open'
  | 'retry-after-too-long'
  | 'backoff-exhausted'
  | 'cancelled';

/** The failed outcome of an attempt: a thrown error, or a value `retryOnResult` flagged. */
export type AttemptOutcome = { readonly error: unknown } | { readonly result: unknown };

/** Emitted before each retry's delay. */
export type RetryEvent = {
  /** The attempt about to be made: 1 for the first retry. */
  readonly attempt: number;
  /** The wait before it, in ms. */
  readonly delayMs: number;
  /** True when the delay is the server's (Retry-After, `retryAfterMs`) rather than the backoff's. */
  readonly retryAfter: boolean;
} & AttemptOutcome;

/** Emitted once when an execution ends without success; carries its last outcome. */
export type GiveUpEvent = {
  /** Attempts made, the first included. */
  readonly attempts: number;
  readonly reason: GiveUpReason;
} & AttemptOutcome;

/** Emitted when an attempt after at least one retry succeeds. */
export interface RecoveredEvent {
  /** Attempts made, the first included (so >= 2). */
  readonly attempts: number;
}

/** A policy made by {@link retry}. */
export interface RetryPolicy extends Policy {
  readonly maxRetries: number;
  /** Before each retry's delay. */
  readonly onRetry: Event<RetryEvent>;
  /** When an execution ends without success, with the reason. */
  readonly onGiveUp: Event<GiveUpEvent>;
  /** When an execution succeeds after one or more retries. */
  readonly onRecovered: Event<RecoveredEvent>;
}

const KNOWN = [
  'maxRetries',
  'backoff',
  'retryOn',
  'retryOnResult',
  'budget',
  'maxRetryAfter',
  'clock',
] as const;

/** Stateless, so one instance serves every retry policy built with defaults. */
const DEFAULT_BACKOFF = exponentialBackoff();

/** The default result filter: an HTTP-like response asking to try again later. */
function isRetryableResponse(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const s = (value as { status?: unknown }).status;
  return s === 429 || s === 503;
}

/**
 * True for an error that reports a cancellation, except the one a timeout inside this attempt
 * caused: that attempt merely took too long, and another may well succeed.
 */
function isAbortError(err: unknown, attemptCtx: Context): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as { name?: unknown }).name !== 'AbortError') return false;
  return !(attemptCtx.aborted && attemptCtx.reason instanceof TimeoutError);
}

/** Frees the connection behind a response we are about to drop (fetch `Response.body`). */
function cancelBody(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  const body = (value as { body?: { cancel?: unknown } | null }).body;
  if (typeof body !== 'object' || body === null || typeof body.cancel !== 'function') return;
  try {
    const p = (body.cancel as () => unknown).call(body);
    // A locked or already-consumed body rejects; nothing to free then.
    if (p !== null && typeof p === 'object' && typeof (p as Promise<void>).catch === 'function') {
      (p as Promise<void>).catch(ignore);
    }
  } catch {
    // Same: a body that cannot be cancelled holds nothing we could free.
  }
}

function ignore(): void {}

class Retry extends PolicyBase implements RetryPolicy {
  readonly maxRetries: number;
  readonly onRetry: Event<RetryEvent>;
  readonly onGiveUp: Event<GiveUpEvent>;
  readonly onRecovered: Event<RecoveredEvent>;
  readonly #backoff: Backoff;
  readonly #retryOn: ((error: unknown) => boolean) | null;
  readonly #retryOnResult: ((value: unknown) => boolean) | null;
  readonly #budget: RetryBudget | null;
  readonly #maxRetryAfter: number;
  readonly #clock: Clock;
  readonly #retry = new Emitter<RetryEvent>();
  readonly #giveUp = new Emitter<GiveUpEvent>();
  readonly #recovered = new Emitter<RecoveredEvent>();

  constructor(
    maxRetries: number,
    backoff: Backoff,
    retryOn: ((error: unknown) => boolean) | null,
    retryOnResult: ((value: unknown) => boolean) | null,
    budget: RetryBudget | null,
    maxRetryAfter: number,
    clock: Clock,
  ) {
    super();
    this.maxRetries = maxRetries;
    this.#backoff = backoff;
    this.#retryOn = retryOn;
    this.#retryOnResult = retryOnResult;
    this.#budget = budget;
    this.#maxRetryAfter = maxRetryAfter;
    this.#clock = clock;
    this.onRetry = this.#retry.event;
    this.onGiveUp = this.#giveUp.event;
    this.onRecovered = this.#recovered.event;
  }

  // The host pattern of interceptor.ts, in two parts. The first attempt runs here without an
  // async frame: its segment (breaker, timeout) is entered inline and the outcome is read by one
  // reaction on the operation's promise, so a success costs no more than that reaction. Only a
  // failed first attempt enters the async loop below. The first attempt allocates no context of
  // its own when the incoming one is fresh (attempt 0, no refusal): it runs in the caller's. The
  // segment's (at most two) interceptors and tokens stay in locals: a frame array per call
  // measured a tenth of the whole composed call.
  [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    const list = segmentOf(next);
    const rest = list === null ? next : next!.next;
    if (this.#budget !== null) this.#budget.recordAttempt();
    const first = ctx.attempt === 0 && ctx.refusal === undefined ? ctx : Context.delegate(ctx);
    first.attempt = 0;
    const outer = list === null ? null : list[0]!;
    const inner = list !== null && list.length === 2 ? list[1]! : null;
    let outerToken: unknown;
    let innerToken: unknown;
    let mid = first;
    let attemptCtx = first;
    try {
      if (outer !== null) {
        outerToken = outer.enter(first);
        if (outerToken instanceof Context) mid = outerToken;
        attemptCtx = mid;
        if (inner !== null) {
          innerToken = enterSecond(outer, outerToken, first, inner, mid);
          if (innerToken instanceof Context) attemptCtx = innerToken;
        }
      }
    } catch (err) {
      // Refused, with the segment already exited.
      return this.#loop(fn, ctx, next, first, first, true, err);
    }
    let result: T | PromiseLike<T>;
    try {
      // runNext inlined: its call sites are shared by every policy, this one by first attempts only.
      result =
        rest === null
          ? fn(attemptCtx)
          : (rest.policy[RUN](fn, attemptCtx, rest.next) as Promise<T>);
    } catch (err) {
      exitPair(outer, outerToken, first, inner, innerToken, mid, false, err);
      return this.#loop(fn, ctx, next, first, attemptCtx, true, err);
    }
    if (!(result instanceof Promise)) {
      if (result === null || typeof (result as { then?: unknown }).then !== 'function') {
        // A plain value (rare): kept out of this method, which stays small enough to inline.
        exitPair(outer, outerToken, first, inner, innerToken, mid, true, result);
        return this.#firstValue(fn, ctx, next, first, attemptCtx, result as T);
      }
      result = Promise.resolve(result);
    }
    return (result as Promise<T>).then(
      (value) => {
        exitPair(outer, outerToken, first, inner, innerToken, mid, true, value);
        return this.#afterFirst(fn, ctx, next, first, attemptCtx, true, value);
      },
      (err: unknown) => {
        exitPair(outer, outerToken, first, inner, innerToken, mid, false, err);
        return this.#afterFirst(fn, ctx, next, first, attemptCtx, false, err);
      },
    );
  }

  /** A first attempt that returned a plain value (segment exited). */
  #firstValue<T>(
    fn: Operation<T>,
    ctx: Context,
    next: Link | null,
    first: Context,
    firstInner: Context,
    value: T,
  ): Promise<T> {
    try {
      return Promise.resolve(this.#afterFirst(fn, ctx, next, first, firstInner, true, value));
    } catch (err) {
      return Promise.reject(err); // a throwing retryOnResult predicate
    }
  }

  /** The first attempt's outcome (segment exited): the value on success, else the loop's promise. */
  #afterFirst<T>(
    fn: Operation<T>,
    ctx: Context,
    next: Link | null,
    first: Context,
    firstInner: Context,
    ok: boolean,
    outcome: unknown,
  ): T | Promise<T> {
    if (ok && !this.#isRetryableResult(outcome)) {
      this.#succeeded();
      return outcome as T;
    }
    return this.#loop(fn, ctx, next, first, firstInner, !ok, outcome);
  }

  /** Retries after a failed first attempt (whose segment, if any, is already exited). */
  async #loop<T>(
    fn: Operation<T>,
    ctx: Context,
    next: Link | null,
    firstCtx: Context,
    firstInner: Context,
    firstFailed: boolean,
    firstOutcome: unknown,
  ): Promise<T> {
    const list = segmentOf(next);
    const inner = list === null ? next : next!.next;
    const budget = this.#budget;
    let seq: BackoffSequence | null = null;
    let attemptCtx = firstCtx;
    // The context the attempt's operation saw (inside its segment).
    let innerCtx = firstInner;
    let failed = firstFailed;
    let outcome = firstOutcome;
    for (;;) {
      // A failed attempt: every reason to stop, cheapest and most final first.
      let reason = this.#verdict(ctx, attemptCtx, innerCtx, failed, outcome);
      let delay = 0;
      let serverDelay = false;
      if (reason === null) {
        seq ??= this.#backoff.start();
        const step = seq.next();
        if (step === undefined) {
          reason = 'backoff-exhausted';
        } else {
          // A custom Backoff is checked here; the message is built only when it is wrong.
          delay =
            step >= 0 && step <= MAX_DELAY_MS
              ? step
              : checkDelay(step, `retry: option "backoff": delay #${attemptCtx.attempt}`);
          const requested = retryAfterOf(outcome, this.#clock.now());
          if (requested !== undefined) {
            if (requested > this.#maxRetryAfter) reason = 'retry-after-too-long';
            else {
              delay = requested;
              serverDelay = true;
            }
          }
        }
      }
      // Withdraw last, so that a retry refused for another reason costs the budget nothing.
      if (reason === null && budget !== null && !budget.tryWithdraw()) reason = 'budget-spent';
      if (reason !== null) return this.#end(reason, ctx, attemptCtx, failed, outcome);

      if (!failed) cancelBody(outcome);
      const attempt = attemptCtx.attempt + 1;
      if (this.#retry.active) {
        this.#retry.emit(
          failed
            ? { attempt, delayMs: delay, retryAfter: serverDelay, error: outcome }
            : { attempt, delayMs: delay, retryAfter: serverDelay, result: outcome },
        );
      }
      if (delay > 0 ? await this.#sleep(delay, ctx) : ctx.aborted) {
        return this.#end('cancelled', ctx, attemptCtx, failed, outcome);
      }

      // The next attempt, in a context of its own (fresh refusal, its attempt number).
      attemptCtx = Context.delegate(ctx);
      attemptCtx.attempt = attempt;
      let frame: Frame | null = null;
      innerCtx = attemptCtx;
      failed = false;
      try {
        // A refusal throws here with the segment already exited.
        if (list !== null) {
          frame = enterAll(list, attemptCtx);
          innerCtx = innerContext(frame);
        }
        outcome = await runNext(fn, innerCtx, inner);
      } catch (err) {
        failed = true;
        outcome = err;
      }
      if (frame !== null) exitAll(list!, frame, !failed, outcome);

      if (!failed && !this.#isRetryableResult(outcome)) {
        this.#succeeded();
        if (this.#recovered.active) this.#recovered.emit({ attempts: attempt + 1 });
        return outcome as T;
      }
    }
  }

  /** Tells a budget that keeps success feedback (gRPC throttling) about a success. */
  #succeeded(): void {
    const budget = this.#budget;
    if (budget !== null && budget.recordSuccess !== undefined) budget.recordSuccess();
  }

  #isRetryableResult(value: unknown): boolean {
    return this.#retryOnResult === null
      ? isRetryableResponse(value)
      : Boolean(this.#retryOnResult(value));
  }

  /** The reasons to give up that do not depend on the schedule; null to go on. */
  #verdict(
    ctx: Context,
    attemptCtx: Context,
    innerCtx: Context,
    failed: boolean,
    outcome: unknown,
  ): GiveUpReason | null {
    if (ctx.aborted) return 'cancelled';
    if (failed) {
      if (isRejection(outcome)) return 'circuit-open';
      if (isAbortError(outcome, innerCtx)) return 'cancelled';
      if (this.#retryOn !== null && !this.#retryOn(outcome)) return 'not-retryable';
    }
    const budget = this.#budget;
    if (budget !== null && budget.recordFailure !== undefined) budget.recordFailure();
    // A breaker inside opened on this very failure (or is isolated): the next call would be
    // refused, so stop now rather than after a pointless sleep.
    if (attemptCtx.refusal !== undefined) return 'circuit-open';
    if (attemptCtx.attempt >= this.maxRetries) return 'max-retries';
    return null;
  }

  /** Reports the give-up and settles: the caller's cancellation, the last error, or the last value. */
  #end<T>(
    reason: GiveUpReason,
    ctx: Context,
    attemptCtx: Context,
    failed: boolean,
    outcome: unknown,
  ): T {
    if (this.#giveUp.active) {
      const attempts = attemptCtx.attempt + 1;
      this.#giveUp.emit(
        failed ? { attempts, reason, error: outcome } : { attempts, reason, result: outcome },
      );
    }
    if (reason === 'cancelled' && ctx.aborted) {
      if (!failed) cancelBody(outcome);
      throw ctx.reason;
    }
    if (failed) throw outcome;
    return outcome as T;
  }

  /** Waits `ms`; resolves true (at once, timer cleared) if `ctx` is aborted meanwhile. */
  #sleep(ms: number, ctx: Context): Promise<boolean> {
    const clock = this.#clock;
    return new Promise<boolean>((resolve) => {
      let dispose: (() => void) | null = null;
      const timer = clock.setTimeout(() => {
        dispose?.();
        resolve(false);
      }, ms);
      dispose = ctx.onAbort(() => {
        clock.clearTimeout(timer);
        resolve(true);
      });
      // An abort that happened before the listener was added (e.g. from an onRetry listener)
      // would never fire it.
      if (ctx.aborted) {
        dispose();
        clock.clearTimeout(timer);
        resolve(true);
      }
    });
  }
}

/**
 * Retries failed calls with backoff and jitter, honouring a server's Retry-After and an optional
 * shared retry budget. It never retries refusals (open or isolated circuit) nor cancellations, and
 * stops at once, without sleeping, when a breaker inside opens. Each attempt's
 * `ExecutionContext.attempt` is 0 for the first call, 1 for the first retry, and so on.
 *
 * @example
 * const policy = wrap(retry({ maxRetries: 3, budget: retryBudget() }), circuitBreaker(), timeout(2_000));
 * const res = await policy.execute(({ signal }) => fetch(url, { signal })); // 503s are retried
 */
export function retry(options?: RetryOptions): RetryPolicy {
  const owner = 'retry';
  const o = optionsObject<RetryOptions>(owner, options, KNOWN);
  const maxRetries = numberOption(owner, 'maxRetries', o.maxRetries, 4, {
    integer: true,
    infinite: true,
  });
  const backoff = backoffOption(owner, 'backoff', o.backoff, DEFAULT_BACKOFF);
  const retryOn = functionOption<((error: unknown) => boolean) | null>(
    owner,
    'retryOn',
    o.retryOn,
    null,
  );
  const retryOnResult = functionOption<((value: unknown) => boolean) | null>(
    owner,
    'retryOnResult',
    o.retryOnResult,
    null,
  );
  const budget = budgetOption(owner, o.budget);
  const maxRetryAfter = numberOption(owner, 'maxRetryAfter', o.maxRetryAfter, 60_000, {
    max: MAX_DELAY_MS,
  });
  const clock = clockOption(owner, o.clock, systemClock);
  if (maxRetries === Number.POSITIVE_INFINITY && budget === null && isEndless(backoff)) {
    throw new TypeError(
      'retry: option "maxRetries" may be Infinity only with a "budget" or a "backoff" schedule that ends (an array or iterable of delays, or a custom Backoff)',
    );
  }
  return new Retry(maxRetries, backoff, retryOn, retryOnResult, budget, maxRetryAfter, clock);
}
