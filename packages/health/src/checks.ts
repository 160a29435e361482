import { type Clock, TimeoutError } from '@nines/resilience';
import {
  booleanOption,
  describe,
  enumOption,
  numberOption,
  optionsObject,
} from '@nines/resilience/options';
import { type CheckOptions, DEFAULTS } from './options.js';

/**
 * The outcome of one check (or circuit breaker) as the readiness body shows it.
 */
export interface CheckResult {
  /** `'ok'` when the check resolved in time, `'fail'` when it threw, rejected or timed out. */
  readonly status: 'ok' | 'fail';
  /** How long the check ran (ms, rounded); its timeout when it timed out. */
  readonly latencyMs: number;
  /** Why it failed: the error's message, or "timed out after N ms". */
  readonly error?: string;
  /** What the check resolved with, as JSON (omitted when `undefined`, unserialisable or huge). */
  readonly detail?: unknown;
  /**
   * True when the check was still running when the probe had to answer, so its previous result
   * is shown (see {@link CheckRunner.run}).
   */
  readonly stale?: boolean;
}

/**
 * A check's validated configuration, with its failure handling resolved against
 * `HealthOptions.onCriticalFailure`.
 *
 * @internal
 */
export interface CheckConfig {
  readonly name: string;
  readonly check: CheckOptions['check'];
  readonly timeoutMs: number;
  readonly cacheMs: number;
  readonly critical: boolean;
  /** What a failure does to readiness: `'fail'` only for a critical check that is not degraded. */
  readonly onFailure: 'fail' | 'degrade';
}

const CHECK_KEYS = ['check', 'timeoutMs', 'cacheMs', 'critical', 'onFailure'] as const;

/** @internal Validates `HealthOptions.checks`; `owner` names the entry point in errors. */
export function parseChecks(
  owner: string,
  value: unknown,
  onCriticalFailure: 'fail' | 'degrade',
): CheckConfig[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${owner}: option "checks" must be an object, got ${describe(value)}`);
  }
  const configs: CheckConfig[] = [];
  for (const [name, raw] of Object.entries(value)) {
    const path = `checks.${name}`;
    if (name === '') throw new TypeError(`${owner}: option "checks" has an empty check name`);
    const o = optionsObject<CheckOptions>(owner, raw, CHECK_KEYS, path);
    if (raw === undefined) {
      throw new TypeError(`${owner}: option "${path}" must be an object, got undefined`);
    }
    if (typeof o.check !== 'function') {
      throw new TypeError(
        `${owner}: option "${path}.check" must be a function, got ${describe(o.check)}`,
      );
    }
    const timeoutMs = numberOption(
      owner,
      `${path}.timeoutMs`,
      o.timeoutMs,
      DEFAULTS.check.timeoutMs,
      { min: 0, exclusiveMin: true, max: 2_147_483_647 },
    );
    const cacheMs = numberOption(owner, `${path}.cacheMs`, o.cacheMs, DEFAULTS.check.cacheMs, {
      max: 2_147_483_647,
    });
    const critical = booleanOption(owner, `${path}.critical`, o.critical, DEFAULTS.check.critical);
    const own =
      o.onFailure === undefined
        ? undefined
        : enumOption(owner, `${path}.onFailure`, o.onFailure, 'fail', ['fail', 'degrade']);
    if (own === 'fail' && !critical) {
      // A non-critical check never fails readiness; saying otherwise is a contradiction.
      throw new TypeError(
        `${owner}: option "${path}.onFailure" is 'fail' but the check is not critical`,
      );
    }
    configs.push({
      name,
      check: o.check,
      timeoutMs,
      cacheMs,
      critical,
      onFailure: critical ? (own ?? onCriticalFailure) : 'degrade',
    });
  }
  return configs;
}

const MAX_ERROR_CHARS = 500;
const MAX_DETAIL_CHARS = 4_096;

/** The message of whatever a check threw, bounded, never throwing itself. */
export function errorMessage(err: unknown): string {
  let text: string;
  try {
    text = err instanceof Error ? err.message || err.name : String(err);
  } catch {
    text = 'check failed with an unprintable value';
  }
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text;
}

/**
 * A JSON copy of what a check resolved with, taken once per run so rendering a probe body can
 * never throw (cycles, BigInt) nor show later mutations.
 */
function jsonDetail(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value);
    if (text === undefined || text.length > MAX_DETAIL_CHARS) return undefined;
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const round = (ms: number): number => Math.round(ms);

/** One check's cache and in-flight run. */
class Entry {
  readonly config: CheckConfig;
  readonly #clock: Clock;
  /** The last completed result, kept after it expires (shown as stale while a rerun is late). */
  last: CheckResult | undefined;
  #expiresAt = Number.NEGATIVE_INFINITY;
  #running: Promise<CheckResult> | undefined;

  constructor(config: CheckConfig, clock: Clock) {
    this.config = config;
    this.#clock = clock;
  }

  /** The cached result while fresh, else the run in flight (shared by every caller), else a new run. */
  current(): CheckResult | Promise<CheckResult> {
    if (this.last !== undefined && this.#clock.now() < this.#expiresAt) return this.last;
    if (this.#running === undefined) {
      const run = this.#start();
      // A check that settled synchronously has already cleared #running and stored its result.
      if (this.#running === undefined) return this.last!;
      return run;
    }
    return this.#running;
  }

  #start(): Promise<CheckResult> {
    const clock = this.#clock;
    const { check, timeoutMs } = this.config;
    const started = clock.now();
    const controller = new AbortController();
    let resolve!: (result: CheckResult) => void;
    const run = new Promise<CheckResult>((r) => {
      resolve = r;
    });
    this.#running = run;
    let settled = false;
    const finish = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      this.last = result;
      this.#expiresAt = clock.now() + this.config.cacheMs;
      this.#running = undefined;
      resolve(result);
    };
    const ok = (value: unknown): void => {
      const detail = jsonDetail(value);
      const latencyMs = round(clock.now() - started);
      finish(
        detail === undefined ? { status: 'ok', latencyMs } : { status: 'ok', latencyMs, detail },
      );
    };
    const fail = (err: unknown): void => {
      finish({
        status: 'fail',
        latencyMs: round(clock.now() - started),
        error: errorMessage(err),
      });
    };
    // Armed before the check runs: a check that never settles is reported at its deadline and
    // abandoned (its signal aborted so it can stop), never awaited.
    const timer = clock.setTimeout(() => {
      controller.abort(new TimeoutError(timeoutMs));
      finish({ status: 'fail', latencyMs: timeoutMs, error: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    let value: unknown;
    try {
      value = check(controller.signal);
    } catch (err) {
      fail(err);
      return run;
    }
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === 'function') {
      // Promise.resolve also turns a thenable whose then() throws into a rejection.
      Promise.resolve(value).then(ok, fail);
    } else {
      ok(value);
    }
    return run;
  }
}

/** One check's configuration with the result a run produced for it. */
export interface CheckOutcome {
  readonly config: CheckConfig;
  readonly result: CheckResult;
}

/**
 * Runs the configured checks in parallel. Each result is cached for the check's `cacheMs` after
 * it completes, and a run in flight is shared by every probe that asks meanwhile, so however many
 * probes (or probe servers, or humans) ask, a dependency sees at most one check per cache period.
 * Each run is bounded by the check's `timeoutMs`, at which its signal aborts and it is reported
 * failed. Nothing a check does (throw, reject, hang, resolve with a cycle) makes the runner throw.
 *
 * @internal
 */
export class CheckRunner {
  readonly #entries: Entry[];
  readonly #clock: Clock;

  constructor(configs: readonly CheckConfig[], clock: Clock) {
    this.#clock = clock;
    this.#entries = configs.map((c) => new Entry(c, clock));
  }

  /** Number of configured checks. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Results of every check, in configuration order; never rejects. A probe must answer before
   * the kubelet gives up on it, so after `budgetMs` a check still running is reported by its
   * previous result (marked `stale`) or, without one, as failed ("still running"); it keeps
   * running in the background and its result is cached for the next probe.
   */
  run(budgetMs = Number.POSITIVE_INFINITY): Promise<CheckOutcome[]> {
    const entries = this.#entries;
    const results: Array<CheckResult | undefined> = new Array(entries.length);
    const pending: Array<[number, Promise<CheckResult>]> = [];
    for (let i = 0; i < entries.length; i++) {
      const r = entries[i]!.current();
      if (r instanceof Promise) pending.push([i, r]);
      else results[i] = r;
    }
    const outcomes = (): CheckOutcome[] =>
      entries.map((e, i) => ({ config: e.config, result: results[i]! }));
    if (pending.length === 0) return Promise.resolve(outcomes());
    const clock = this.#clock;
    return new Promise<CheckOutcome[]>((resolve) => {
      let left = pending.length;
      let done = false;
      let timer: unknown;
      const finish = (): void => {
        done = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        resolve(outcomes());
      };
      for (const [i, p] of pending) {
        p.then((r) => {
          if (done) return;
          results[i] = r;
          if (--left === 0) finish();
        });
      }
      if (budgetMs < Number.POSITIVE_INFINITY) {
        timer = clock.setTimeout(() => {
          if (done) return;
          for (const [i] of pending) {
            if (results[i] !== undefined) continue;
            const last = entries[i]!.last;
            results[i] =
              last !== undefined
                ? { ...last, stale: true }
                : {
                    status: 'fail',
                    latencyMs: round(budgetMs),
                    error: `still running after ${round(budgetMs)} ms`,
                  };
          }
          finish();
        }, budgetMs);
      }
    });
  }
}
