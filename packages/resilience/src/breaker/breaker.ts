import type { Clock } from '../clock.js';
import type { Context } from '../context.js';
import { BrokenCircuitError, IsolatedCircuitError, withoutStack } from '../errors.js';
import { type Disposer, Emitter, type Event } from '../event.js';
import { InterceptorPolicy } from '../interceptor.js';
import type { Policy } from '../policy.js';
import { ConsecutiveWindow } from './consecutive.js';
import { CountWindow } from './count.js';
import type {
  CircuitFailureEvent,
  CircuitIgnoredEvent,
  CircuitRejectionEvent,
  CircuitState,
  CircuitStateChange,
  CircuitSuccessEvent,
} from './events.js';
import { OpenSchedule } from './open-duration.js';
import { type BreakerConfig, type CircuitBreakerOptions, OWNER, parseOptions } from './options.js';
import { type CircuitBreakerSnapshot, parseSnapshot } from './snapshot.js';
import { TimeWindow } from './time.js';
import type { BreakerWindow, Where } from './window.js';

/** Counters of the current window and state, from {@link CircuitBreaker.stats}. */
export interface CircuitBreakerStats {
  readonly state: CircuitState;
  /** Calls in the window (for a consecutive window: the current run of failures). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** `failures / calls`, 0 when the window is empty. */
  readonly failureRate: number;
  /** `slowCalls / calls`, 0 when the window is empty. */
  readonly slowCallRate: number;
  /** Reopens since the circuit was last closed. */
  readonly reopens: number;
  /** Ms until an open circuit admits a trial call; 0 in any other state. */
  readonly retryAfterMs: number;
  /** Trial calls running (half-open only). */
  readonly trialsInFlight: number;
  /** Trial successes so far (half-open only). */
  readonly trialSuccesses: number;
}

/**
 * A circuit breaker made by {@link circuitBreaker}. It composes with `wrap()` and runs inline
 * inside retry, bulkhead and fallback.
 */
export interface CircuitBreaker extends Policy {
  /** The `name` option, if any. */
  readonly name: string | undefined;
  /** The current state; reading it applies a due open -> half-open transition. */
  readonly state: CircuitState;
  /** A fresh copy of the counters. */
  readonly stats: CircuitBreakerStats;
  /**
   * Opens the circuit by hand until the returned disposer is called (state `'isolated'`, calls
   * rejected with `IsolatedCircuitError`). Isolations are counted: the circuit closes, with fresh
   * counts, when the last one is released. Calling a disposer twice is harmless.
   */
  isolate(): Disposer;
  /** The state as plain JSON (see {@link CircuitBreakerSnapshot}). */
  toJSON(): CircuitBreakerSnapshot;
  /**
   * Replaces the state with a snapshot from `toJSON()` (this or another process). Calls running
   * now no longer move the counts. Throws a TypeError naming the field for an invalid snapshot,
   * and an Error while the circuit is isolated (release the isolation first).
   */
  restore(snapshot: CircuitBreakerSnapshot): void;
  /** Exactly one event per transition. */
  readonly onStateChange: Event<CircuitStateChange>;
  /** A call that counted as a success (also calls that started in an earlier state). */
  readonly onSuccess: Event<CircuitSuccessEvent>;
  /** A call that counted as a failure (also calls that started in an earlier state). */
  readonly onFailure: Event<CircuitFailureEvent>;
  /** A call that was refused. */
  readonly onRejection: Event<CircuitRejectionEvent>;
  /** A call whose error was neutral (ignored or cancelled). */
  readonly onIgnored: Event<CircuitIgnoredEvent>;
}

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
type Code = typeof CLOSED | typeof OPEN | typeof HALF_OPEN | typeof ISOLATED;
const NAMES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
const CODES = { closed: CLOSED, open: OPEN, 'half-open': HALF_OPEN } as const;

const SUCCESS = 0;
const FAILURE = 1;
const IGNORED = 2;
const CANCELLED = 3;

/**
 * The token of a call whose start time matters (slow-call detection, a listener, a trial call).
 * Other calls get their generation number as token: no allocation.
 */
class Ticket {
  constructor(
    readonly gen: number,
    readonly start: number,
  ) {}
}

// Rejection errors are built by module-level functions, not a closure per rejection.
let pendingRetryAfter = 0;
let pendingMessage: string | undefined;
const makeBroken = () => new BrokenCircuitError(pendingRetryAfter, pendingMessage);
function brokenCircuit(retryAfterMs: number, message: string | undefined): BrokenCircuitError {
  pendingRetryAfter = retryAfterMs;
  pendingMessage = message;
  const error = withoutStack(makeBroken);
  pendingMessage = undefined;
  return error;
}
const makeIsolated = () => new IsolatedCircuitError();

function createWindow(config: BreakerConfig): BreakerWindow {
  const w = config.window;
  switch (w.type) {
    case 'consecutive':
      return new ConsecutiveWindow(w.failures);
    case 'count':
      return new CountWindow(w.size, w.thresholds);
    default:
      return new TimeWindow(w.durationMs, w.buckets, w.thresholds);
  }
}

const initialWhere: Where = (path) => `${OWNER}: option "initialState${path}"`;
const restoreWhere: Where = (path) => `${OWNER}.restore: "snapshot${path}"`;

/**
 * The state machine. Every state change bumps `#gen`; a call's token carries the generation it was
 * admitted in, so results of calls that started before a transition never move the counts. Time
 * driven transitions (open -> half-open, a hung trial call) are applied lazily by `#refresh`, as
 * of the moment they were due, whenever the breaker is used or read: no timer, ever.
 */
class Breaker extends InterceptorPolicy implements CircuitBreaker {
  readonly name: string | undefined;
  readonly #clock: Clock;
  readonly #window: BreakerWindow;
  readonly #schedule: OpenSchedule;
  readonly #maxConcurrent: number;
  readonly #successThreshold: number;
  readonly #maxTrialMs: number;
  /** Infinity when slow-call detection is off. */
  readonly #slowMs: number;
  readonly #timed: boolean;
  readonly #isFailure: ((error: unknown) => boolean) | null;
  readonly #isFailureResult: ((result: unknown) => boolean) | null;
  readonly #isIgnored: ((error: unknown) => boolean) | null;
  readonly #fullMessage: string;

  #state: Code = CLOSED;
  #gen = 0;
  #openUntil = 0;
  #reopens = 0;
  /** Start times of the trial calls running in this half-open period. */
  readonly #trials: number[] = [];
  #successes = 0;
  #isolations = 0;
  #warned = false;

  readonly #stateChange = new Emitter<CircuitStateChange>();
  // Whether a closed-state call needs a ticket (start time), cached because enter() asks on
  // every call: slow-call timing, or someone listening to outcomes (they get durations).
  #ticketed = false;
  /** A success needs no classification and no clock: no result predicate, no rate window. */
  #plainSuccess = false;
  readonly #updateTicketed = () => {
    this.#ticketed =
      this.#timed || this.#success.active || this.#failure.active || this.#ignored.active;
  };
  readonly #success = new Emitter<CircuitSuccessEvent>(this.#updateTicketed);
  readonly #failure = new Emitter<CircuitFailureEvent>(this.#updateTicketed);
  readonly #rejection = new Emitter<CircuitRejectionEvent>();
  readonly #ignored = new Emitter<CircuitIgnoredEvent>(this.#updateTicketed);
  readonly onStateChange = this.#stateChange.event;
  readonly onSuccess = this.#success.event;
  readonly onFailure = this.#failure.event;
  readonly onRejection = this.#rejection.event;
  readonly onIgnored = this.#ignored.event;

  constructor(config: BreakerConfig) {
    super();
    this.name = config.name;
    this.#clock = config.clock;
    this.#window = createWindow(config);
    this.#schedule = new OpenSchedule(config.open);
    this.#maxConcurrent = config.maxConcurrent;
    this.#successThreshold = config.successThreshold;
    this.#maxTrialMs = config.maxTrialMs;
    this.#slowMs = config.slowMs;
    this.#timed = config.slowMs < Number.POSITIVE_INFINITY;
    this.#ticketed = this.#timed;
    this.#isFailure = config.isFailure;
    this.#isFailureResult = config.isFailureResult;
    this.#plainSuccess = config.isFailureResult === null && !this.#window.needsClock;
    this.#isIgnored = config.isIgnored;
    this.#fullMessage =
      config.name === undefined
        ? 'circuit is half-open and every trial permit is taken'
        : `circuit "${config.name}" is half-open and every trial permit is taken`;
    if (config.initialState !== undefined) {
      this.#load(
        parseSnapshot(config.initialState, initialWhere, this.#window, this.#successThreshold),
      );
    }
  }

  // ---- admission and recording (the hot path) ----

  enter(ctx: Context): unknown {
    if (this.#state === CLOSED) {
      return this.#ticketed ? new Ticket(this.#gen, this.#clock.now()) : this.#gen;
    }
    return this.#enterOther(ctx);
  }

  #enterOther(ctx: Context): unknown {
    if (this.#state === ISOLATED) return this.#reject(ctx, withoutStack(makeIsolated));
    const now = this.#clock.now();
    this.#refresh(now);
    switch (this.#state) {
      case HALF_OPEN:
        if (this.#trials.length < this.#maxConcurrent) {
          this.#trials.push(now);
          return new Ticket(this.#gen, now);
        }
        return this.#reject(ctx, brokenCircuit(0, this.#fullMessage));
      case OPEN: {
        const ms = this.#openUntil - now;
        return this.#reject(ctx, brokenCircuit(ms, this.#openMessage(ms)));
      }
      default:
        // A state-change listener isolated or closed the circuit meanwhile.
        return this.enter(ctx);
    }
  }

  #reject(ctx: Context, error: BrokenCircuitError | IsolatedCircuitError): never {
    ctx.refuse(error);
    if (this.#rejection.active) this.#rejection.emit({ error });
    throw error;
  }

  exit(token: unknown, ok: boolean, outcome: unknown, ctx: Context): void {
    // The common case first: a plain success while closed, nobody listening, no timing needed.
    // A number token equal to the generation was issued while closed, with nobody listening,
    // and nothing has changed since.
    if (ok && token === this.#gen && this.#plainSuccess && !this.#success.active) {
      this.#window.record(false, false, Number.NaN);
      return;
    }
    let gen: number;
    let start: number;
    if (typeof token === 'number') {
      gen = token;
      start = Number.NaN;
    } else {
      gen = (token as Ticket).gen;
      start = (token as Ticket).start;
    }
    const kind = this.#classify(ok, outcome, ctx);
    const state = this.#state;
    // The clock is read only when something needs it.
    const window = this.#window;
    const now =
      !Number.isNaN(start) ||
      state === HALF_OPEN ||
      (kind === FAILURE ? window.needsClockOnFailure : window.needsClock)
        ? this.#clock.now()
        : Number.NaN;
    const durationMs = now - start;
    const neutral = kind >= IGNORED;
    // NaN (duration unknown) compares false, and #slowMs is Infinity when detection is off.
    const slow = !neutral && durationMs > this.#slowMs;
    this.#emitOutcome(kind, ok, outcome, durationMs, slow);

    if (state === HALF_OPEN) this.#refresh(now);
    if (gen !== this.#gen) return; // started in an earlier state: does not move the counts
    if (this.#state === CLOSED) {
      if (!neutral && this.#window.record(kind === FAILURE, slow, now)) {
        this.#trip(Number.isNaN(now) ? this.#clock.now() : now, ctx);
      }
    } else if (this.#state === HALF_OPEN) {
      this.#release(start);
      if (neutral) return;
      if (kind === FAILURE || slow) this.#trip(now, ctx);
      else if (++this.#successes >= this.#successThreshold) this.#close();
    }
  }

  #classify(ok: boolean, outcome: unknown, ctx: Context): number {
    if (ok) {
      const p = this.#isFailureResult;
      return p !== null && this.#test(p, 'isFailureResult', outcome, true) ? FAILURE : SUCCESS;
    }
    if (ctx.cancelled) return CANCELLED;
    const ignored = this.#isIgnored;
    if (ignored !== null && this.#test(ignored, 'isIgnored', outcome, false)) return IGNORED;
    const p = this.#isFailure;
    return p === null || this.#test(p, 'isFailure', outcome, true) ? FAILURE : SUCCESS;
  }

  /**
   * Runs a user predicate. `exit` must never throw, so a predicate that throws yields `onThrow`
   * (failure for the failure predicates, not ignored for `isIgnored`), with one warning per breaker.
   */
  #test(p: (v: unknown) => boolean, name: string, v: unknown, onThrow: boolean): boolean {
    try {
      return !!p(v);
    } catch (err) {
      if (!this.#warned) {
        this.#warned = true;
        process.emitWarning(
          `${OWNER}: option "${name}" threw (${err instanceof Error ? err.message : String(err)}); the call counts as if it had returned ${onThrow}`,
          'NinesBreakerWarning',
        );
      }
      return onThrow;
    }
  }

  #emitOutcome(kind: number, ok: boolean, outcome: unknown, durationMs: number, slow: boolean) {
    if (kind === SUCCESS) {
      if (this.#success.active) this.#success.emit({ durationMs, slow });
    } else if (kind === FAILURE) {
      if (this.#failure.active) {
        this.#failure.emit(
          ok
            ? { kind: 'result', result: outcome, durationMs, slow }
            : { kind: 'error', error: outcome, durationMs, slow },
        );
      }
    } else if (this.#ignored.active) {
      this.#ignored.emit({ error: outcome, durationMs, cancelled: kind === CANCELLED });
    }
  }

  /** Frees the trial permit of the call that started at `start`. */
  #release(start: number): void {
    const trials = this.#trials;
    const i = trials.indexOf(start);
    if (i >= 0) {
      trials[i] = trials[trials.length - 1]!;
      trials.pop();
    }
  }

  // ---- transitions ----

  /** Applies the time-driven transitions that are due by `now`, each as of when it was due. */
  #refresh(now: number): void {
    for (;;) {
      if (this.#state === OPEN) {
        if (now < this.#openUntil) return;
        this.#trials.length = 0;
        this.#successes = 0;
        this.#transition(HALF_OPEN);
      } else if (this.#state === HALF_OPEN && this.#trials.length > 0) {
        let oldest = this.#trials[0]!;
        for (const t of this.#trials) if (t < oldest) oldest = t;
        const due = oldest + this.#maxTrialMs;
        if (now < due) return;
        this.#trip(due, null);
      } else {
        return;
      }
    }
  }

  /** Opens the circuit at time `at`, from closed (first open) or half-open (a reopen). */
  #trip(at: number, ctx: Context | null): void {
    const reopens = this.#state === CLOSED ? 0 : this.#reopens + 1;
    const ms = this.#schedule.duration(reopens);
    this.#reopens = reopens;
    this.#openUntil = at + ms;
    this.#trials.length = 0;
    this.#successes = 0;
    // Refuse before telling listeners, so an outer retry sees it whatever they do.
    if (ctx !== null) ctx.refuse(brokenCircuit(ms, this.#openMessage(ms)));
    this.#transition(OPEN);
  }

  #close(): void {
    this.#window.reset();
    this.#schedule.reset();
    this.#reopens = 0;
    this.#trials.length = 0;
    this.#successes = 0;
    this.#transition(CLOSED);
  }

  /** Sets the state (the caller has set everything else first) and tells the listeners. */
  #transition(to: Code): void {
    const from = this.#state;
    this.#state = to;
    this.#gen++;
    if (this.#stateChange.active) this.#stateChange.emit({ from: NAMES[from]!, to: NAMES[to]! });
  }

  #openMessage(ms: number): string | undefined {
    return this.name === undefined
      ? undefined
      : `circuit "${this.name}" is open; a trial call is allowed in ${Math.ceil(ms)} ms`;
  }

  /** Applies due transitions before anything that reads or changes the state. */
  #sync(): number {
    const now = this.#clock.now();
    if (this.#state === OPEN || this.#state === HALF_OPEN) this.#refresh(now);
    return now;
  }

  // ---- public surface ----

  get state(): CircuitState {
    if (this.#state === OPEN || this.#state === HALF_OPEN) this.#refresh(this.#clock.now());
    return NAMES[this.#state]!;
  }

  get stats(): CircuitBreakerStats {
    const now = this.#sync();
    const w = this.#window;
    w.advance(now);
    const calls = w.calls;
    const state = this.#state;
    return {
      state: NAMES[state]!,
      calls,
      failures: w.failures,
      slowCalls: w.slowCalls,
      failureRate: calls === 0 ? 0 : w.failures / calls,
      slowCallRate: calls === 0 ? 0 : w.slowCalls / calls,
      reopens: this.#reopens,
      retryAfterMs: state === OPEN ? this.#openUntil - now : 0,
      trialsInFlight: state === HALF_OPEN ? this.#trials.length : 0,
      trialSuccesses: state === HALF_OPEN ? this.#successes : 0,
    };
  }

  isolate(): Disposer {
    if (this.#isolations++ === 0) {
      this.#sync();
      this.#trials.length = 0;
      this.#successes = 0;
      this.#transition(ISOLATED);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#isolations === 0) this.#close();
    };
  }

  toJSON(): CircuitBreakerSnapshot {
    const now = this.#sync();
    const state = this.#state;
    const window = this.#window.snapshot(now);
    if (state === ISOLATED) {
      return {
        version: 1,
        state: 'open',
        openUntil: now + this.#schedule.first(),
        reopens: 0,
        trialSuccesses: 0,
        window,
      };
    }
    return {
      version: 1,
      state: NAMES[state] as CircuitBreakerSnapshot['state'],
      openUntil: state === OPEN ? this.#openUntil : null,
      reopens: this.#reopens,
      trialSuccesses: state === HALF_OPEN ? this.#successes : 0,
      window,
    };
  }

  restore(snapshot: CircuitBreakerSnapshot): void {
    const s = parseSnapshot(snapshot, restoreWhere, this.#window, this.#successThreshold);
    if (this.#isolations > 0) {
      throw new Error(`${OWNER}.restore: the circuit is isolated; release every isolation first`);
    }
    this.#sync();
    const from = this.#state;
    this.#load(s);
    const to = this.#state;
    this.#state = from;
    if (from === to) {
      this.#gen++;
    } else {
      this.#transition(to);
    }
  }

  /** Loads a validated snapshot (state included; `restore` handles the event). */
  #load(s: CircuitBreakerSnapshot): void {
    this.#window.load(s.window);
    this.#schedule.reset();
    this.#state = CODES[s.state];
    this.#openUntil = s.openUntil ?? 0;
    this.#reopens = s.reopens;
    this.#successes = s.trialSuccesses;
    this.#trials.length = 0;
  }
}

/**
 * A circuit breaker. With no options it follows the classic defaults: it opens after 5 failures
 * within 60 s (time window of 60 one-second buckets), stays open 30 s, then admits 1 trial call at
 * a time; 3 trial successes close it and any trial failure reopens it at once. An open circuit
 * rejects calls with `BrokenCircuitError` (whose `retryAfterMs` says when a trial is allowed) and
 * tells an outer retry to stop at once. The breaker never sets a timer: time-driven transitions are
 * applied when it is next used or read, so thousands of idle breakers cost memory only.
 *
 * @example
 * const breaker = circuitBreaker({
 *   window: { type: 'count', size: 20, failureRate: 0.5 },
 *   slowCall: { durationMs: 2_000, rate: 0.8 },
 *   openMs: exponentialBackoff({ base: 5_000, max: 60_000, jitter: 'none' }),
 * });
 * breaker.onStateChange(({ from, to }) => log.warn({ from, to }, 'circuit'));
 * const policy = wrap(retry(), breaker, timeout(2_000));
 */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker {
  return new Breaker(parseOptions(options));
}
