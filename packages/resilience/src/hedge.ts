import type { RetryBudget } from './budget.js';
import { type Clock, systemClock } from './clock.js';
import { Context, type OwnerContext } from './context.js';
import { DeadlineQueue } from './deadlines.js';
import { isRejection, withoutStack } from './errors.js';
import { Emitter, type Event } from './event.js';
import { type Link, type Operation, type Policy, PolicyBase, RUN, runNext } from './policy.js';
import { clockOption, describe, functionOption, numberOption, optionsObject } from './validate.js';

/** Options of {@link hedge}. */
export interface HedgeOptions {
  /**
   * Milliseconds to wait for an acceptable result before starting the next attempt. Required,
   * since the right value depends on the dependency (typically its p95 latency): `0` starts every
   * attempt at once, `Infinity` hedges only when an attempt fails.
   */
  delay: number;
  /** Extra attempts allowed besides the first: an integer >= 1. Default 1. */
  maxHedges?: number;
  /**
   * Whether a fulfilled value ends the execution. Default: every value does. An unacceptable
   * value counts as a failed attempt (it starts the next attempt at once).
   */
  isAcceptable?: (result: unknown) => boolean;
  /**
   * Shared with retries: `recordAttempt()` once per execution, `tryWithdraw()` before each extra
   * attempt, and the optional `recordSuccess()` for the winning attempt and `recordFailure()`
   * for each attempt that fails or returns an unacceptable value (not for refusals by an open
   * circuit, nor for attempts abandoned because another won or the caller cancelled).
   */
  budget?: RetryBudget;
  /** Time source for the delay; default the system clock. */
  clock?: Clock;
}

/** Emitted when an extra attempt starts. */
export interface HedgeEvent {
  /** 1 for the first hedged attempt, 2 for the second, and so on. */
  readonly attempt: number;
}

/** A policy made by {@link hedge}. */
export interface HedgePolicy extends Policy {
  /** Milliseconds without an acceptable result before the next attempt starts. */
  readonly delay: number;
  /** Extra attempts allowed besides the first. */
  readonly maxHedges: number;
  /** Fires each time an extra attempt starts. */
  readonly onHedge: Event<HedgeEvent>;
}

const KNOWN = ['delay', 'maxHedges', 'isAcceptable', 'budget', 'clock'] as const;

/**
 * The abort reason a losing attempt sees. An `AbortError` like `AbortController.abort()`'s own, so
 * `fetch` and friends treat it as a plain cancellation, and not a `TimeoutError`, so a breaker
 * inside counts the loser as neutral. Shared: nobody receives a loser's outcome.
 */
const LOST: unknown = withoutStack(
  () => new DOMException('another hedged attempt finished first', 'AbortError'),
);

/** One attempt: tracked by the policy's shared delay timer while it is the latest one. */
class Attempt {
  gen = 0;
  settled = false;
  /** Set when the attempt ended, or was abandoned when the execution closed. */
  ended = false;
  /** The attempt started after this one (an intrusive list: no array per execution). */
  later: Attempt | null = null;
  constructor(
    readonly run: HedgeRun,
    readonly ctx: OwnerContext,
  ) {}
}

type Predicate = (value: unknown) => boolean;

class Hedge extends PolicyBase implements HedgePolicy {
  readonly delay: number;
  readonly maxHedges: number;
  readonly isAcceptable: Predicate | null;
  readonly budget: RetryBudget | null;
  /** One shared timer for every execution's delay (all delays are equal, so a FIFO suffices). */
  readonly timers: DeadlineQueue<Attempt> | null;
  readonly hedged = new Emitter<HedgeEvent>();
  readonly onHedge = this.hedged.event;

  constructor(
    delay: number,
    maxHedges: number,
    isAcceptable: Predicate | null,
    budget: RetryBudget | null,
    clock: Clock,
  ) {
    super();
    this.delay = delay;
    this.maxHedges = maxHedges;
    this.isAcceptable = isAcceptable;
    this.budget = budget;
    this.timers =
      delay > 0 && delay !== Number.POSITIVE_INFINITY
        ? new DeadlineQueue<Attempt>(clock, delay, (a) => a.run.onDelay(a))
        : null;
  }

  [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    if (ctx.aborted) return Promise.reject(ctx.reason);
    this.budget?.recordAttempt();
    const run = new HedgeRun(this, fn as Operation<unknown>, ctx, next);
    capturing = run;
    const promise = new Promise<T>(capture);
    capturing = null;
    if (ctx.mayAbort) {
      // The run is its own listener object (handleEvent): no closure per execution.
      run.signal = ctx.signal;
      run.signal.addEventListener('abort', run, ONCE);
    }
    run.start();
    return promise;
  }
}

const ONCE = { once: true } as const;
const unset = (): void => {};

/** Hands a new promise's settle functions to {@link capturing} without a closure per call. */
let capturing: HedgeRun | null = null;
function capture(resolve: (value: never) => void, reject: (reason: unknown) => void): void {
  capturing!.resolve = resolve as (value: unknown) => void;
  capturing!.reject = reject;
}

/** The state of one execution: its attempts in flight and how it ends. */
class HedgeRun {
  resolve: (value: unknown) => void = unset;
  reject: (reason: unknown) => void = unset;
  signal: AbortSignal | null = null;
  /** Attempts in start order (linked through `later`), and how many are still running. */
  first: Attempt | null = null;
  latest: Attempt | null = null;
  running = 0;
  /** Attempts started so far (the next attempt's number). */
  started = 0;
  /** The attempt whose delay is being timed, if any. */
  current: Attempt | null = null;
  /** Set when no further attempt may start (budget spent, refusal). */
  stopped = false;
  done = false;

  constructor(
    readonly policy: Hedge,
    readonly fn: Operation<unknown>,
    readonly ctx: Context,
    readonly next: Link | null,
  ) {}

  /** Starts the primary attempt (and, with a zero delay, every hedge at once). */
  start(): void {
    this.launch();
    if (this.policy.delay === 0) {
      while (!this.done && this.mayHedge()) this.launch();
    }
  }

  /** True when another attempt may start now; spends a budget token if so. */
  mayHedge(): boolean {
    if (this.stopped || this.started > this.policy.maxHedges) return false;
    const budget = this.policy.budget;
    if (budget !== null && !budget.tryWithdraw()) {
      this.stopped = true;
      return false;
    }
    return true;
  }

  launch(): void {
    const policy = this.policy;
    const index = this.started++;
    const a = new Attempt(this, Context.owner(this.ctx, index));
    if (this.latest === null) this.first = a;
    else this.latest.later = a;
    this.latest = a;
    this.running++;
    const timers = policy.timers;
    if (timers !== null) {
      // Only the latest attempt is timed: the delay restarts with each attempt.
      if (this.current !== null) timers.settle(this.current);
      this.current = null;
      if (this.started <= policy.maxHedges && !this.stopped) {
        this.current = a;
        timers.track(a, true);
      }
    }
    if (index > 0 && policy.hedged.active) policy.hedged.emit({ attempt: index });
    void attempt(this, a);
  }

  /** The delay passed with no acceptable result. */
  onDelay(a: Attempt): void {
    if (this.done || a !== this.current) return;
    this.current = null;
    if (this.mayHedge()) this.launch();
  }

  fulfilled(a: Attempt, value: unknown): void {
    this.end(a);
    if (this.done) return;
    const accept = this.policy.isAcceptable;
    if (accept !== null) {
      let ok: boolean;
      try {
        ok = accept(value);
      } catch (err) {
        this.lost(a, false, err);
        return;
      }
      if (!ok) {
        this.lost(a, true, value);
        return;
      }
    }
    const budget = this.policy.budget;
    if (budget !== null && budget.recordSuccess !== undefined) budget.recordSuccess();
    this.finish();
    this.resolve(value);
  }

  failed(a: Attempt, err: unknown): void {
    this.end(a);
    if (this.done) return;
    this.lost(a, false, err);
  }

  /** An attempt ended without an acceptable result: hedge at once, or settle if it was the last. */
  lost(a: Attempt, ok: boolean, outcome: unknown): void {
    if (a.ctx.refusal !== undefined || (!ok && isRejection(outcome))) {
      // A breaker inside is open or just opened: another attempt now would be refused too.
      this.stopped = true;
    } else {
      const budget = this.policy.budget;
      if (budget !== null && budget.recordFailure !== undefined) budget.recordFailure();
    }
    if (this.mayHedge()) {
      this.launch();
      return;
    }
    if (this.running > 0) return;
    this.finish();
    if (ok) this.resolve(outcome);
    else this.reject(outcome);
  }

  /** An attempt's own bookkeeping when it ends, whether or not the execution is still open. */
  end(a: Attempt): void {
    if (a.ended) return; // abandoned by finish(), which did the rest
    a.ended = true;
    this.running--;
    if (a === this.current) {
      this.policy.timers!.settle(a);
      this.current = null;
    }
    a.ctx.release();
  }

  /** Closes the execution: stops the delay, aborts the attempts still running, drops listeners. */
  finish(reason: unknown = LOST): void {
    this.done = true;
    if (this.current !== null) {
      this.policy.timers!.settle(this.current);
      this.current = null;
    }
    for (let a = this.first; a !== null; a = a.later) {
      if (a.ended) continue;
      a.ended = true;
      a.ctx.abort(reason);
      a.ctx.release();
    }
    this.running = 0;
    if (this.signal !== null) {
      this.signal.removeEventListener('abort', this);
      this.signal = null;
    }
  }

  /** The caller's signal aborted: every attempt is abandoned and the call rejects at once. */
  handleEvent(): void {
    if (this.done) return;
    const reason = this.ctx.reason;
    this.finish(reason);
    this.reject(reason);
  }
}

/** Runs one attempt; never rejects (outcomes go to the run). */
async function attempt(run: HedgeRun, a: Attempt): Promise<void> {
  let value: unknown;
  try {
    value = await runNext(run.fn, a.ctx, run.next);
  } catch (err) {
    run.failed(a, err);
    return;
  }
  run.fulfilled(a, value);
}

/**
 * Hedged requests: starts the call, and when no acceptable result has arrived after `delay` ms,
 * starts another attempt, up to `maxHedges` extra attempts (each also starts at once when an
 * attempt fails). The first acceptable result wins; the attempts still running are aborted with
 * an `AbortError` (not a `TimeoutError`, so a breaker inside counts them as neutral).
 *
 * - Each attempt has its own signal and `attempt` number (0 for the first, then 1, 2...).
 * - When no attempt succeeds, the call settles like the last attempt to end: it rejects with
 *   that attempt's error (not an AggregateError, so retry predicates and `instanceof` checks
 *   outside keep working), or resolves with its unacceptable value.
 * - Cancelling the caller's signal aborts every attempt and rejects at once with the reason.
 * - With a `budget`, each execution deposits once and each extra attempt must withdraw; when the
 *   budget says no, no more attempts start (those running go on). An open circuit inside (a
 *   `BrokenCircuitError`, `IsolatedCircuitError` or a refusal) also stops further attempts.
 * - One shared timer per policy serves every execution's delay (no timer per call); it may start
 *   a hedge slightly after `delay` (by at most 2 % of it, 100 ms at most), never before.
 *
 * @example
 * const h = hedge({ delay: 150, maxHedges: 2 });
 * await h.execute(({ signal }) => fetch(replicaUrl(), { signal }));
 */
export function hedge(options: HedgeOptions): HedgePolicy;
export function hedge(delay: number, options?: Omit<HedgeOptions, 'delay'>): HedgePolicy;
export function hedge(
  delayOrOptions: number | HedgeOptions,
  options?: Omit<HedgeOptions, 'delay'>,
): HedgePolicy {
  const owner = 'hedge';
  let opts: Partial<HedgeOptions>;
  if (typeof delayOrOptions === 'number') {
    opts = {
      ...optionsObject<HedgeOptions>(owner, options, KNOWN.slice(1)),
      delay: delayOrOptions,
    };
  } else {
    if (options !== undefined) {
      throw new TypeError(
        `${owner}: pass every option in one options object, got a second argument ${describe(options)}`,
      );
    }
    opts = optionsObject<HedgeOptions>(owner, delayOrOptions, KNOWN);
  }
  if (opts.delay === undefined) throw new TypeError(`${owner}: option "delay" is required`);
  const delay = numberOption(owner, 'delay', opts.delay, 0, { min: 0, infinite: true });
  const maxHedges = numberOption(owner, 'maxHedges', opts.maxHedges, 1, { min: 1, integer: true });
  const isAcceptable = functionOption<Predicate | null>(
    owner,
    'isAcceptable',
    opts.isAcceptable,
    null,
  );
  const budget = opts.budget;
  if (
    budget !== undefined &&
    (budget === null ||
      typeof budget !== 'object' ||
      typeof budget.recordAttempt !== 'function' ||
      typeof budget.tryWithdraw !== 'function')
  ) {
    throw new TypeError(
      `${owner}: option "budget" must have recordAttempt() and tryWithdraw(), got ${describe(budget)}`,
    );
  }
  const clock = clockOption(owner, opts.clock, systemClock);
  return new Hedge(delay, maxHedges, isAcceptable, budget ?? null, clock);
}
