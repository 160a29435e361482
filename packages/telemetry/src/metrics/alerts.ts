/**
 * The lesson's symptom alerts, evaluated in process from the RED recorder: a rate drop from a
 * baseline, an error ratio and a latency quantile above their thresholds. Symptoms only: what a
 * user of the service feels, never a cause such as CPU or a dependency's health.
 */
import { type Clock, type Disposer, type Event, systemClock } from '@nines/resilience';
import {
  booleanOption,
  clockOption,
  describe,
  numberOption,
  optionsObject,
} from '@nines/resilience/options';
import type { RedMetrics } from './red.js';
import { type Attachment, RedRecorder, type RedView } from './red.js';
import { SliceWindow } from './window.js';

/** The three symptom rules. */
export type SymptomRule = 'rate-drop' | 'error-ratio' | 'latency';

/** Default current window: 5 minutes, long enough that a few slow requests are not a symptom. */
export const DEFAULT_SYMPTOM_WINDOW_MS = 5 * 60_000;
/** Default baseline: the hour before the current window, so a drop is judged against recent normal. */
export const DEFAULT_BASELINE_MS = 60 * 60_000;
/** Default slice width of the alert windows (30 s): windows move in 30 s steps. */
export const DEFAULT_SYMPTOM_RESOLUTION_MS = 30_000;
/** Default low-traffic guard: 100 requests (an error ratio of 1 % then means 2 errors at least). */
export const DEFAULT_MIN_REQUESTS = 100;

/** Options of the rate-drop rule. */
export interface RateDropOptions {
  /** Fires when the current rate is more than this fraction below the baseline rate. Default 0.3. */
  readonly drop?: number;
  /** Length of the baseline, ending where the current window starts. Default 1 h. */
  readonly baselineMs?: number;
}

/** Options of the error-ratio rule. */
export interface ErrorRatioOptions {
  /** Fires when 5xx / requests is above this over the window. Default 0.01. */
  readonly threshold?: number;
}

/** Options of the latency rule. */
export interface LatencyOptions {
  /** The quantile judged, in (0, 1). Default 0.99. */
  readonly quantile?: number;
  /** Fires when the quantile is above this many seconds. Default 0.5. */
  readonly thresholdSeconds?: number;
}

/** Options of {@link symptomAlerts}. */
export interface SymptomAlertsOptions {
  /** The current window every rule judges. Default {@link DEFAULT_SYMPTOM_WINDOW_MS}. */
  readonly windowMs?: number;
  /** Slice width; `windowMs` and `baselineMs` must be multiples of it. Default 30 s. */
  readonly resolutionMs?: number;
  /**
   * Low-traffic guard: the error-ratio and latency rules need this many requests in the window,
   * and the rate-drop rule needs a baseline that predicts this many in a window (and a baseline
   * at least one window long), so a quiet service never pages. Default 100.
   */
  readonly minRequests?: number;
  /** Also evaluate every route+method the recorder sees, not only the whole service. Default false. */
  readonly perRoute?: boolean;
  /** Evaluate every `intervalMs` on the clock's timers (unref'd). Default: only on `evaluate()`. */
  readonly intervalMs?: number;
  /**
   * Timers for `intervalMs` and the time of events. Pass the clock given to `createRedMetrics`
   * (the windows follow the recorder's clock). Default the system clock.
   */
  readonly clock?: Clock;
  /** `false` turns the rule off. */
  readonly rateDrop?: RateDropOptions | false;
  readonly errorRatio?: ErrorRatioOptions | false;
  readonly latency?: LatencyOptions | false;
}

/** Where a rule is evaluated: the whole service (route and method null) or one route+method. */
export interface SymptomScope {
  readonly rule: SymptomRule;
  readonly service: string;
  readonly route: string | null;
  readonly method: string | null;
}

/** One rule on one scope at one evaluation. */
export interface SymptomStatus extends SymptomScope {
  readonly firing: boolean;
  /** When the current episode started, or null. */
  readonly since: number | null;
  /**
   * rate-drop: the fraction the rate fell below the baseline (0.45 = 45 % lower; negative when
   * it rose). error-ratio: 5xx / requests. latency: the quantile in seconds (an estimate within
   * 3.125 %; whether it is above the threshold is decided exactly, from a count of requests at or
   * under the threshold). Null without data.
   */
  readonly value: number | null;
  readonly threshold: number;
  /** Requests in the current window. */
  readonly requests: number;
  /** Whether the low-traffic guard let the rule judge. */
  readonly enoughTraffic: boolean;
  /** rate-drop only: requests per second now and over the baseline; null for other rules. */
  readonly currentRate: number | null;
  readonly baselineRate: number | null;
}

/** The result of {@link SymptomAlerts.evaluate}. */
export interface SymptomEvaluation {
  readonly at: number;
  readonly statuses: readonly SymptomStatus[];
}

/** Emitted once when a rule starts firing on a scope. */
export interface SymptomAlertFired extends SymptomStatus {
  readonly type: 'fired';
  readonly at: number;
}

/** Emitted once when a firing rule stops (condition false, or not enough traffic to judge). */
export interface SymptomAlertResolved extends SymptomScope {
  readonly type: 'resolved';
  readonly at: number;
  readonly firedAt: number;
  readonly durationMs: number;
  readonly value: number | null;
}

/** A firing alert, as {@link SymptomAlerts.active} lists it. */
export interface ActiveSymptomAlert extends SymptomScope {
  readonly since: number;
  readonly value: number | null;
  readonly threshold: number;
}

/** The evaluator returned by {@link symptomAlerts}. */
export interface SymptomAlerts {
  /** Judges every rule on every scope now, emitting fire/resolve transitions. */
  evaluate(): SymptomEvaluation;
  /** The firing alerts, as of the last evaluation. */
  active(): readonly ActiveSymptomAlert[];
  /** Exactly once each time a rule starts firing on a scope. */
  readonly onFired: Event<SymptomAlertFired>;
  /** Exactly once each time it stops. */
  readonly onResolved: Event<SymptomAlertResolved>;
  /** Stops the interval and removes the alert windows from the recorder. */
  close(): void;
}

/** Listener list; building an event is skipped when nobody listens. */
class Listeners<T> {
  #list: Array<(event: T) => void> = [];

  get active(): boolean {
    return this.#list.length > 0;
  }

  readonly listen: Event<T> = (listener): Disposer => {
    if (typeof listener !== 'function') {
      throw new TypeError(`listener must be a function, got ${describe(listener)}`);
    }
    // Copy on write so a listener that unsubscribes during emit does not skip its neighbour.
    this.#list = [...this.#list, listener];
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#list = this.#list.filter((l) => l !== listener);
    };
  };

  /** A throwing listener becomes a process warning: it must not stop the evaluation. */
  emit(event: T): void {
    for (const l of this.#list) {
      try {
        l(event);
      } catch (err) {
        process.emitWarning(
          err instanceof Error ? err : new Error(String(err)),
          'NinesListenerError',
        );
      }
    }
  }
}

interface Rules {
  readonly windowMs: number;
  readonly resolutionMs: number;
  readonly minRequests: number;
  readonly rateDrop: { readonly drop: number; readonly baselineMs: number } | null;
  readonly errorRatio: { readonly threshold: number } | null;
  readonly latency: { readonly quantile: number; readonly thresholdSeconds: number } | null;
}

interface RuleState {
  since: number | null;
  value: number | null;
  threshold: number;
}

const RULES: readonly SymptomRule[] = ['rate-drop', 'error-ratio', 'latency'];

function ruleOptions<O extends object>(
  owner: string,
  name: string,
  value: unknown,
  keys: string[],
) {
  if (value === false) return null;
  return optionsObject<O>(owner, value, keys, name);
}

function checkRules(owner: string, o: Partial<SymptomAlertsOptions>): Rules {
  const resolutionMs = numberOption(
    owner,
    'resolutionMs',
    o.resolutionMs,
    DEFAULT_SYMPTOM_RESOLUTION_MS,
    { min: 1000, integer: true },
  );
  const multiple = (name: string, v: number): number => {
    if (v % resolutionMs !== 0) {
      throw new TypeError(
        `${owner}: option "${name}" must be a multiple of resolutionMs (${resolutionMs}), got ${v}`,
      );
    }
    return v;
  };
  const windowMs = multiple(
    'windowMs',
    numberOption(owner, 'windowMs', o.windowMs, DEFAULT_SYMPTOM_WINDOW_MS, {
      min: resolutionMs,
      max: 24 * 3_600_000,
      integer: true,
    }),
  );
  const minRequests = numberOption(owner, 'minRequests', o.minRequests, DEFAULT_MIN_REQUESTS, {
    min: 1,
    integer: true,
  });
  const rd = ruleOptions<RateDropOptions>(owner, 'rateDrop', o.rateDrop, ['drop', 'baselineMs']);
  const er = ruleOptions<ErrorRatioOptions>(owner, 'errorRatio', o.errorRatio, ['threshold']);
  const lt = ruleOptions<LatencyOptions>(owner, 'latency', o.latency, [
    'quantile',
    'thresholdSeconds',
  ]);
  return {
    windowMs,
    resolutionMs,
    minRequests,
    rateDrop:
      rd === null
        ? null
        : {
            drop: numberOption(owner, 'rateDrop.drop', rd.drop, 0.3, {
              min: 0,
              exclusiveMin: true,
              max: 1,
            }),
            baselineMs: multiple(
              'rateDrop.baselineMs',
              numberOption(owner, 'rateDrop.baselineMs', rd.baselineMs, DEFAULT_BASELINE_MS, {
                min: windowMs,
                max: 7 * 24 * 3_600_000,
                integer: true,
              }),
            ),
          },
    errorRatio:
      er === null
        ? null
        : {
            threshold: numberOption(owner, 'errorRatio.threshold', er.threshold, 0.01, {
              min: 0,
              max: 1,
            }),
          },
    latency:
      lt === null
        ? null
        : {
            quantile: numberOption(owner, 'latency.quantile', lt.quantile, 0.99, {
              min: 0,
              exclusiveMin: true,
              max: 1,
            }),
            thresholdSeconds: numberOption(
              owner,
              'latency.thresholdSeconds',
              lt.thresholdSeconds,
              0.5,
              { min: 0, exclusiveMin: true },
            ),
          },
  };
}

class Evaluator implements SymptomAlerts {
  readonly #red: RedRecorder;
  readonly #rules: Rules;
  readonly #clock: Clock;
  readonly #attachment: Attachment;
  /** Slices in the current window and in the baseline. */
  readonly #k: number;
  readonly #b: number;
  readonly #states = new Map<RedView, RuleState[]>();
  readonly #fired = new Listeners<SymptomAlertFired>();
  readonly #resolved = new Listeners<SymptomAlertResolved>();
  readonly onFired = this.#fired.listen;
  readonly onResolved = this.#resolved.listen;
  #timer: unknown;
  #closed = false;

  constructor(red: RedRecorder, rules: Rules, clock: Clock, perRoute: boolean, interval: number) {
    this.#red = red;
    this.#rules = rules;
    this.#clock = clock;
    const res = rules.resolutionMs;
    this.#k = rules.windowMs / res;
    this.#b = rules.rateDrop === null ? 0 : rules.rateDrop.baselineMs / res;
    const threshold = rules.latency?.thresholdSeconds;
    // Counts over the window and baseline; latency buckets over the window only (they are the
    // large part), and only when the latency rule is on.
    this.#attachment = red.attach(perRoute, (now) => {
      const ws = [new SliceWindow(res, this.#k + this.#b, false, now)];
      if (threshold !== undefined) ws.push(new SliceWindow(res, this.#k, true, now, threshold));
      return ws;
    });
    if (interval > 0) this.#arm(interval);
  }

  #arm(interval: number): void {
    const handle = this.#clock.setTimeout(() => {
      if (this.#closed) return;
      try {
        this.evaluate();
      } catch (err) {
        process.emitWarning(
          `symptomAlerts: evaluation failed: ${err instanceof Error ? err.message : String(err)}`,
          'NinesMetricsWarning',
        );
      }
      this.#arm(interval);
    }, interval);
    (handle as { unref?: () => void } | null)?.unref?.();
    this.#timer = handle;
  }

  evaluate(): SymptomEvaluation {
    const at = this.#clock.now();
    const now = this.#red.now();
    const statuses: SymptomStatus[] = [];
    for (const [view, windows] of this.#attachment.windows) {
      let states = this.#states.get(view);
      if (states === undefined) {
        states = RULES.map(() => ({ since: null, value: null, threshold: 0 }));
        this.#states.set(view, states);
      }
      const scope = { service: this.#red.service, route: view.route, method: view.method };
      for (const status of this.#judge(now, windows, scope)) {
        const i = RULES.indexOf(status.rule);
        const st = this.#transition(states[i]!, status, at);
        statuses.push(st);
      }
    }
    return { at, statuses };
  }

  #judge(
    now: number,
    windows: SliceWindow[],
    scope: Omit<SymptomScope, 'rule'>,
  ): Omit<SymptomStatus, 'since'>[] {
    const r = this.#rules;
    const counts = windows[0]!;
    const cur = counts.summarize(now, this.#k, 0);
    const out: Omit<SymptomStatus, 'since'>[] = [];
    const none = { currentRate: null, baselineRate: null };
    if (r.rateDrop !== null) {
      const base = counts.summarize(now, this.#b, this.#k);
      const currentRate = cur.coveredMs > 0 ? cur.requests / (cur.coveredMs / 1000) : 0;
      const baselineRate = base.coveredMs > 0 ? base.requests / (base.coveredMs / 1000) : 0;
      // The baseline must span a whole window and predict enough requests for one.
      const enoughTraffic =
        base.coveredMs >= r.windowMs &&
        cur.coveredMs > 0 &&
        baselineRate * (r.windowMs / 1000) >= r.minRequests;
      const value = baselineRate > 0 ? 1 - currentRate / baselineRate : null;
      out.push({
        ...scope,
        rule: 'rate-drop',
        firing: enoughTraffic && value !== null && value > r.rateDrop.drop,
        value,
        threshold: r.rateDrop.drop,
        requests: cur.requests,
        enoughTraffic,
        currentRate,
        baselineRate,
      });
    }
    if (r.errorRatio !== null) {
      const enoughTraffic = cur.requests >= r.minRequests;
      const value = cur.requests > 0 ? cur.classes[4] / cur.requests : null;
      out.push({
        ...scope,
        ...none,
        rule: 'error-ratio',
        firing: enoughTraffic && value !== null && value > r.errorRatio.threshold,
        value,
        threshold: r.errorRatio.threshold,
        requests: cur.requests,
        enoughTraffic,
      });
    }
    if (r.latency !== null) {
      const { quantile, thresholdSeconds } = r.latency;
      const h = windows[1]!.summarize(now, this.#k, 0, [quantile]);
      const enoughTraffic = h.requests >= r.minRequests;
      // Exact: the nearest-rank quantile is above the threshold iff fewer requests than its rank
      // took at most the threshold.
      const rank = Math.max(1, Math.ceil(quantile * h.requests - 1e-9));
      const over = h.requests > 0 && h.atOrBelow < rank;
      out.push({
        ...scope,
        ...none,
        rule: 'latency',
        firing: enoughTraffic && over,
        value: h.quantiles[0] ?? null,
        threshold: thresholdSeconds,
        requests: h.requests,
        enoughTraffic,
      });
    }
    return out;
  }

  #transition(state: RuleState, s: Omit<SymptomStatus, 'since'>, at: number): SymptomStatus {
    state.value = s.value;
    state.threshold = s.threshold;
    if (s.firing && state.since === null) {
      state.since = at;
      const status: SymptomStatus = { ...s, since: at };
      if (this.#fired.active) this.#fired.emit({ ...status, type: 'fired', at });
      return status;
    }
    if (!s.firing && state.since !== null) {
      const firedAt = state.since;
      state.since = null;
      if (this.#resolved.active) {
        this.#resolved.emit({
          type: 'resolved',
          rule: s.rule,
          service: s.service,
          route: s.route,
          method: s.method,
          at,
          firedAt,
          durationMs: at - firedAt,
          value: s.value,
        });
      }
    }
    return { ...s, since: state.since };
  }

  active(): readonly ActiveSymptomAlert[] {
    const out: ActiveSymptomAlert[] = [];
    for (const [view, states] of this.#states) {
      states.forEach((st, i) => {
        if (st.since === null) return;
        out.push({
          rule: RULES[i]!,
          service: this.#red.service,
          route: view.route,
          method: view.method,
          since: st.since,
          value: st.value,
          threshold: st.threshold,
        });
      });
    }
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#red.detach(this.#attachment);
  }
}

/**
 * Evaluates the symptom alerts of a RED recorder in process:
 * - `rate-drop`: the request rate over the last `windowMs` (default 5 min) is more than `drop`
 *   (default 30 %) below the rate over the `baselineMs` before it (default the hour before), and
 *   that baseline predicts at least `minRequests` in a window;
 * - `error-ratio`: 5xx / requests over the window is above `threshold` (default 1 %);
 * - `latency`: the `quantile` (default p99) over the window is above `thresholdSeconds` (default
 *   0.5 s).
 * The error-ratio and latency rules need `minRequests` (default 100) in the window. Each rule
 * is judged for the whole service and, with `perRoute`, for each route+method; each episode
 * emits exactly one `fired` and one `resolved` event. The alert windows are added to the
 * recorder by this call (fixed memory: about 1.6 KB per 30 s slice of the window with the latency
 * rule on, per scope) and removed by `close()`; without alerts the recorder does no extra work.
 *
 * @example
 * const alerts = symptomAlerts(red, { intervalMs: 15_000 });
 * alerts.onFired((a) => log.warn(a, `symptom ${a.rule} firing on ${a.service}`));
 * alerts.active(); // [{ rule: 'error-ratio', service: 'orders', value: 0.04, … }]
 */
export function symptomAlerts(red: RedMetrics, options?: SymptomAlertsOptions): SymptomAlerts {
  const owner = 'symptomAlerts';
  if (!(red instanceof RedRecorder)) {
    throw new TypeError(`${owner}: red must come from createRedMetrics(), got ${describe(red)}`);
  }
  const o = optionsObject<SymptomAlertsOptions>(owner, options, [
    'windowMs',
    'resolutionMs',
    'minRequests',
    'perRoute',
    'intervalMs',
    'clock',
    'rateDrop',
    'errorRatio',
    'latency',
  ]);
  const rules = checkRules(owner, o);
  const perRoute = booleanOption(owner, 'perRoute', o.perRoute, false);
  const interval = numberOption(owner, 'intervalMs', o.intervalMs, 0, { min: 100, integer: true });
  const clock = clockOption<Clock>(owner, o.clock, systemClock);
  return new Evaluator(red, rules, clock, perRoute, interval);
}
