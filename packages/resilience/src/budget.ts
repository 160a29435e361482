import { type Clock, systemClock } from './clock.js';
import { clockOption, describe, numberOption, optionsObject } from './validate.js';

/**
 * A retry budget shared by many callers (and by hedges): it lets extra attempts through only
 * while they stay a bounded share of first attempts, so a fleet of clients cannot multiply the
 * load on a service that is already failing.
 *
 * A retry policy calls, per execution: `recordAttempt()` once before the first attempt; after
 * each attempt, `recordSuccess?.()` when it succeeded or `recordFailure?.()` when it failed in a
 * way the policy would retry (not for refusals such as an open circuit, nor for cancellations);
 * and `tryWithdraw()` just before sleeping for a retry, once every other check has passed.
 */
export interface RetryBudget {
  /** Records a first attempt (a deposit). */
  recordAttempt(): void;
  /** Asks to make one extra attempt (retry or hedge); false when the budget is spent. */
  tryWithdraw(): boolean;
  /** Optional feedback: an attempt succeeded (gRPC-style throttling earns tokens back). */
  recordSuccess?(): void;
  /** Optional feedback: an attempt failed with a retryable outcome (gRPC-style throttling pays). */
  recordFailure?(): void;
}

/** Options of {@link retryBudget}. */
export interface RetryBudgetOptions {
  /** Extra attempts allowed per first attempt, in [0, 1000]. Default 0.2 (20 %). */
  percentCanRetry?: number;
  /** How long a first attempt keeps earning retries, in ms. Default 10_000. */
  ttl?: number;
  /** Retries always allowed per second even with no traffic (the reserve). Default 10. */
  minRetriesPerSec?: number;
  /** Time source; default the system clock. */
  clock?: Clock;
}

/** A budget made by {@link retryBudget}. */
export interface WindowedRetryBudget extends RetryBudget {
  readonly percentCanRetry: number;
  readonly ttl: number;
  readonly minRetriesPerSec: number;
  /** Whole retries that {@link RetryBudget.tryWithdraw} would allow right now. */
  readonly available: number;
}

/** Options of {@link tokenBucketBudget}. */
export interface TokenBucketBudgetOptions {
  /** Bucket size, in [0.001, 1000]; retries stop once half of it is spent. Default 10. */
  maxTokens?: number;
  /** Tokens earned back per successful attempt, >= 0.001 (3 decimals kept). Default 0.1. */
  tokenRatio?: number;
}

/** A budget made by {@link tokenBucketBudget}. */
export interface TokenBucketBudget extends RetryBudget {
  readonly maxTokens: number;
  readonly tokenRatio: number;
  /** Tokens in the bucket now, in [0, maxTokens]. */
  readonly tokens: number;
  /** Earns `tokenRatio` tokens back. */
  recordSuccess(): void;
  /** Costs one token. */
  recordFailure(): void;
}

/** Deposits and withdrawals expire one slice at a time, as in Finagle's windowed adder. */
const SLICES = 10;
/** Sums of fractional deposits may land a hair under a whole retry. */
const EPSILON = 1e-9;
const BUDGET_KEYS = ['percentCanRetry', 'ttl', 'minRetriesPerSec', 'clock'] as const;

class Windowed implements WindowedRetryBudget {
  readonly percentCanRetry: number;
  readonly ttl: number;
  readonly minRetriesPerSec: number;
  readonly #clock: Clock;
  readonly #sliceMs: number;
  readonly #reserve: number;
  /** Net retry credit per slice: +percentCanRetry per deposit, -1 per withdrawal. */
  readonly #slices = new Float64Array(SLICES);
  #current = 0;
  #currentStart: number;

  constructor(percent: number, ttl: number, minPerSec: number, clock: Clock) {
    this.percentCanRetry = percent;
    this.ttl = ttl;
    this.minRetriesPerSec = minPerSec;
    this.#clock = clock;
    this.#sliceMs = ttl / SLICES;
    this.#reserve = (minPerSec * ttl) / 1000;
    this.#currentStart = clock.now();
  }

  recordAttempt(): void {
    this.#roll();
    this.#slices[this.#current]! += this.percentCanRetry;
  }

  tryWithdraw(): boolean {
    if (this.#balance() < 1 - EPSILON) return false;
    this.#slices[this.#current]! -= 1;
    return true;
  }

  get available(): number {
    return Math.max(0, Math.floor(this.#balance() + EPSILON));
  }

  /** Credit in the window plus the reserve. Withdrawals count against the window, so the reserve
   * itself refills only as they expire: at most `minRetriesPerSec * ttl` reserve retries per ttl. */
  #balance(): number {
    this.#roll();
    let sum = this.#reserve;
    for (let i = 0; i < SLICES; i++) sum += this.#slices[i]!;
    return sum;
  }

  /** Clears the slices that time has left behind; lazy, so the budget needs no timer. */
  #roll(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#currentStart;
    if (elapsed < this.#sliceMs) return; // also when a skewed clock went backwards
    const steps = Math.floor(elapsed / this.#sliceMs);
    if (steps >= SLICES) {
      this.#slices.fill(0);
      this.#current = 0;
      this.#currentStart = now;
      return;
    }
    for (let i = 0; i < steps; i++) {
      this.#current = (this.#current + 1) % SLICES;
      this.#slices[this.#current] = 0;
    }
    this.#currentStart += steps * this.#sliceMs;
  }
}

/**
 * Finagle's retry budget: retries may add at most `percentCanRetry` of the first attempts made in
 * the last `ttl`, plus a reserve of `minRetriesPerSec` so that low traffic can still retry. It is
 * computed from the clock when asked (no timer), and one budget is meant to be shared by every
 * retry policy (and hedge) that calls the same dependency.
 *
 * @example
 * const budget = retryBudget(); // 20 % + 10/s over 10 s
 * const a = retry({ budget });
 * const b = retry({ budget, maxRetries: 2 });
 */
export function retryBudget(options?: RetryBudgetOptions): WindowedRetryBudget {
  const owner = 'retryBudget';
  const o = optionsObject<RetryBudgetOptions>(owner, options, BUDGET_KEYS);
  const percent = numberOption(owner, 'percentCanRetry', o.percentCanRetry, 0.2, { max: 1000 });
  const ttl = numberOption(owner, 'ttl', o.ttl, 10_000, { exclusiveMin: true });
  const minPerSec = numberOption(owner, 'minRetriesPerSec', o.minRetriesPerSec, 10);
  return new Windowed(percent, ttl, minPerSec, clockOption(owner, o.clock, systemClock));
}

/** Tokens are kept in thousandths so that gRPC's 3-decimal ratios add up exactly. */
const MILLI = 1000;
const BUCKET_KEYS = ['maxTokens', 'tokenRatio'] as const;

class TokenBucket implements TokenBucketBudget {
  readonly maxTokens: number;
  readonly tokenRatio: number;
  readonly #max: number;
  readonly #ratio: number;
  readonly #threshold: number;
  #milli: number;

  constructor(maxTokens: number, tokenRatio: number) {
    this.#max = Math.round(maxTokens * MILLI);
    this.#ratio = Math.round(tokenRatio * MILLI);
    this.maxTokens = this.#max / MILLI;
    this.tokenRatio = this.#ratio / MILLI;
    this.#threshold = this.#max / 2;
    this.#milli = this.#max;
  }

  get tokens(): number {
    return this.#milli / MILLI;
  }

  recordAttempt(): void {}

  tryWithdraw(): boolean {
    return this.#milli > this.#threshold;
  }

  recordSuccess(): void {
    const t = this.#milli + this.#ratio;
    this.#milli = Math.min(t, this.#max);
  }

  recordFailure(): void {
    const t = this.#milli - MILLI;
    this.#milli = Math.max(t, 0);
  }
}

/**
 * gRPC's retry throttling (proposal A6): the bucket starts full at `maxTokens`; every failed
 * attempt costs one token and every successful one earns `tokenRatio` back; retries (and hedges)
 * are allowed only while more than half the bucket is left. Unlike {@link retryBudget} it reacts
 * to outcomes, not to traffic, so it uses the optional `recordSuccess` / `recordFailure` hooks of
 * {@link RetryBudget}; asking it for a retry costs nothing by itself.
 *
 * @example
 * const budget = tokenBucketBudget({ maxTokens: 10, tokenRatio: 0.1 });
 * const policy = retry({ budget });
 */
export function tokenBucketBudget(options?: TokenBucketBudgetOptions): TokenBucketBudget {
  const owner = 'tokenBucketBudget';
  const o = optionsObject<TokenBucketBudgetOptions>(owner, options, BUCKET_KEYS);
  const maxTokens = numberOption(owner, 'maxTokens', o.maxTokens, 10, { min: 0.001, max: 1000 });
  const tokenRatio = numberOption(owner, 'tokenRatio', o.tokenRatio, 0.1, { min: 0.001 });
  return new TokenBucket(maxTokens, tokenRatio);
}

/** @internal Validates a `budget` option: an object with the {@link RetryBudget} methods. */
export function budgetOption(owner: string, value: unknown): RetryBudget | null {
  if (value === undefined) return null;
  const b = value as Partial<Record<keyof RetryBudget, unknown>> | null;
  if (
    b === null ||
    typeof b !== 'object' ||
    typeof b.recordAttempt !== 'function' ||
    typeof b.tryWithdraw !== 'function' ||
    (b.recordSuccess !== undefined && typeof b.recordSuccess !== 'function') ||
    (b.recordFailure !== undefined && typeof b.recordFailure !== 'function')
  ) {
    throw new TypeError(
      `${owner}: option "budget" must have recordAttempt() and tryWithdraw() (and optionally recordSuccess(), recordFailure()), got ${describe(value)}`,
    );
  }
  return b as RetryBudget;
}
