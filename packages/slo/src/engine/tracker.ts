import type { Slo } from '../model.js';
import {
  type AlertEvaluation,
  type AlertFiredEvent,
  type AlertPairStatus,
  type AlertResolvedEvent,
  type AlertSeverity,
  type AlertWindowPair,
  burnRateFactor,
  DEFAULT_ALERT_WINDOWS,
  type SeverityStatus,
} from './alerts.js';
import { BucketRing } from './buckets.js';
import { type Clock, coarseClock } from './clock.js';
import { Emitter, type Listen } from './events.js';
import { checkTimeZone, type Period, PeriodCalculator } from './period.js';
import { parseSnapshot, SNAPSHOT_VERSION, type TrackerSnapshot } from './snapshot.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Windows up to this length are summed from fine buckets; longer ones from coarse buckets. */
const FINE_SPAN_MS = 6 * HOUR;

/**
 * One observation, or many at once:
 * - `{ good: true }` / `{ good: false }`: one event, classified by the caller;
 * - `{ good: 120, bad: 3 }`: counts (either may be omitted; non-negative integers);
 * - `{ durationMs: 183 }`: one event of a latency SLO, good when `durationMs <= thresholdSeconds x
 *   1000` (the histogram's `le` is inclusive too).
 */
export type SloEvent =
  | { readonly good: boolean }
  | { readonly good?: number; readonly bad?: number }
  | { readonly durationMs: number };

/** Options of {@link sloTracker}. */
export interface SloTrackerOptions {
  /**
   * Time source (ms since the epoch), read once per `record()`. Default {@link coarseClock}
   * (`Date.now()` cached for up to 250 ms); `Date` for exact times.
   */
  readonly clock?: Clock;
  /**
   * Width of the recent buckets used for windows up to 6 h, in ms. Must divide 15 minutes and be
   * at least 1 s. Default 60 000 (1 minute): short windows are then exact to one minute.
   */
  readonly resolutionMs?: number;
  /**
   * Low-traffic guard: an alert pair may fire only when both its windows hold at least this many
   * events. Default 0 (as the Workbook's rules: one failure in ten requests is a 10 % error ratio).
   */
  readonly minEvents?: number;
  /** Alert window pairs; default {@link DEFAULT_ALERT_WINDOWS}, scaled to the SLO's period. */
  readonly alertWindows?: readonly AlertWindowPair[];
  /** State to start from (see {@link SloTracker.restore}). */
  readonly snapshot?: TrackerSnapshot;
}

/**
 * Slice counts of a timeslices SLO over a window. Only closed slices are judged: the open one gets
 * its verdict when it ends. A slice is good when its good ratio is at least `sliceTarget`, or when
 * it holds no events (no traffic is not an outage).
 */
export interface SliceStats {
  readonly sliceMs: number;
  /** Closed slices in the window, with or without traffic. */
  readonly elapsed: number;
  readonly good: number;
  /** Slices whose good ratio fell below `sliceTarget`; never more than `elapsed`. */
  readonly bad: number;
}

/** Event counts and ratios over one window ending now. */
export interface WindowStats {
  readonly windowMs: number;
  /**
   * Events in the window. For a timeslices SLO: the events of the closed slices the window covers
   * (the open slice is not judged yet).
   */
  readonly good: number;
  readonly bad: number;
  readonly total: number;
  /**
   * Occurrences: `bad / total`. Timeslices: bad slices over closed slices in the window. 0 without
   * events or slices (no traffic is not an outage).
   */
  readonly errorRatio: number;
  /** `errorRatio / (1 - objective)`: 1 spends the budget exactly over the period. */
  readonly burnRate: number;
  /** The slice counts behind `errorRatio` for a timeslices SLO; null for occurrences. */
  readonly slices: SliceStats | null;
}

/** The slice budget of a timeslices SLO over its period. */
export interface SliceBudget extends SliceStats {
  /** Slices in the whole period (`period / sliceMs`, rounded up). */
  readonly inPeriod: number;
  /** The budget in slices: `(1 - objective) x inPeriod`. */
  readonly allowedBad: number;
  /** `allowedBad - bad`; negative when overspent. */
  readonly remainingBad: number;
}

/** The error budget over the SLO's period. */
export interface BudgetStatus {
  readonly objective: number;
  /** Start and end of the period evaluated (for a rolling window: now minus its days, and now). */
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly good: number;
  readonly bad: number;
  readonly total: number;
  /**
   * Occurrences: `good / total` over the period, 1 without events. Timeslices: good slices over
   * the period's closed slices, 1 before the first slice closes.
   */
  readonly attainment: number;
  /**
   * Share of the budget spent; above 1 when overspent. Occurrences: `(bad / total) / (1 -
   * objective)`. Timeslices: `bad slices / ((1 - objective) x slices in the period)`.
   */
  readonly consumed: number;
  /** `1 - consumed`; negative when overspent. */
  readonly remaining: number;
  /** The whole budget as minutes of full outage: `(1 - objective) x period` (43.2 for 99.9 %/30 d). */
  readonly budgetMinutes: number;
  /** `remaining x budgetMinutes`: how many more minutes of full outage the period can take. */
  readonly remainingMinutes: number;
  /** Bad events the period's traffic allows so far: `(1 - objective) x total`. */
  readonly allowedBadEvents: number;
  /** `allowedBadEvents - bad`; negative when overspent. */
  readonly remainingEvents: number;
  /** The slice budget of a timeslices SLO; null for occurrences. */
  readonly slices: SliceBudget | null;
}

/** When the budget runs out if the burn rate of a recent window continues. */
export interface BudgetForecast {
  readonly windowMs: number;
  readonly burnRate: number;
  readonly remaining: number;
  /**
   * When the budget is spent (ms since the epoch): now when it already is; null when nothing is
   * burning, or (calendar windows) when the period ends first and the budget resets.
   */
  readonly exhaustedAt: number | null;
  /** `exhaustedAt - now`, or null. */
  readonly msLeft: number | null;
}

/** The in-process engine for one SLO: see {@link sloTracker}. */
export interface SloTracker {
  readonly slo: Slo;
  /** Width of the recent buckets (ms). */
  readonly resolutionMs: number;
  /** Width of the buckets covering the whole period (1 h rolling, 15 min calendar). */
  readonly coarseMs: number;
  /** The alert pairs with their factors for this SLO's period. */
  readonly alertWindows: readonly (AlertWindowPair & { readonly factor: number })[];
  /** Longest window a query may ask for (the period or the longest alert window). */
  readonly maxWindowMs: number;
  /** Bytes held by the bucket arrays; constant whatever the traffic. */
  readonly memoryBytes: number;
  /** Slice width of a timeslices SLO (ms), or null for occurrences. */
  readonly sliceMs: number | null;
  /** Counts one event or a batch. Allocation-free; throws a TypeError naming a bad field. */
  record(event: SloEvent): void;
  /** `good / total` over the SLO's period (good slices over closed slices for timeslices); 1 without events. */
  attainment(): number;
  budget(): BudgetStatus;
  /**
   * Counts, error ratio and burn rate over the last `windowMs`, rounded up to whole buckets: the
   * current bucket and those before it. Windows up to 6 h are exact to one `resolutionMs`; longer
   * ones skip the part of their oldest coarse bucket that is not wholly inside the window. For a
   * timeslices SLO: the last `ceil(windowMs / sliceMs)` closed slices (the open one is not judged).
   */
  window(windowMs: number): WindowStats;
  burnRate(windowMs: number): number;
  errorRatio(windowMs: number): number;
  /** Forecast from the burn rate over `windowMs` (default 1 h). */
  forecast(windowMs?: number): BudgetForecast;
  /** Evaluates the multi-window multi-burn-rate alerts now, emitting fire/resolve transitions. */
  evaluateAlerts(): AlertEvaluation;
  /** Exactly once each time a severity starts firing. */
  readonly onAlertFired: Listen<AlertFiredEvent>;
  /** Exactly once each time a firing severity stops. */
  readonly onAlertResolved: Listen<AlertResolvedEvent>;
  /** JSON-safe copy of the state (see {@link TrackerSnapshot}). */
  snapshot(): TrackerSnapshot;
  /**
   * Replaces the state with a snapshot (validated). Buckets older than the tracker now holds are
   * dropped; buckets from the tracker's future (a clock that stepped back) go to the newest bucket.
   */
  restore(snapshot: TrackerSnapshot): void;
}

const OPTION_KEYS = new Set(['clock', 'resolutionMs', 'minEvents', 'alertWindows', 'snapshot']);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v;
}

function checkSlo(slo: unknown): Slo {
  const s = slo as Slo | null;
  const bad = (field: string, msg: string): never => {
    throw new TypeError(`sloTracker: slo.${field} ${msg}`);
  };
  if (s === null || typeof s !== 'object') {
    throw new TypeError(`sloTracker: slo must be an object, got ${describe(slo)}`);
  }
  if (typeof s.name !== 'string' || s.name === '')
    bad('name', `must be a non-empty string, got ${describe(s.name)}`);
  if (typeof s.objective !== 'number' || !(s.objective > 0 && s.objective < 1)) {
    bad('objective', `must be a fraction in (0, 1) such as 0.999, got ${describe(s.objective)}`);
  }
  const w = s.window as Slo['window'] | undefined;
  if (w === null || typeof w !== 'object') bad('window', `must be an object, got ${describe(w)}`);
  if (w!.type === 'rolling') {
    if (!Number.isInteger(w!.days) || w!.days < 1) {
      bad('window.days', `must be a whole number of days >= 1, got ${describe(w!.days)}`);
    }
  } else if (w!.type === 'calendar') {
    if (w!.unit !== 'month' && w!.unit !== 'quarter') {
      bad('window.unit', `must be "month" or "quarter", got ${describe(w!.unit)}`);
    }
    checkTimeZone('sloTracker: slo.window.timeZone', w!.timeZone);
  } else {
    bad(
      'window.type',
      `must be "rolling" or "calendar", got ${describe((w as { type?: unknown }).type)}`,
    );
  }
  const sli = s.sli as Slo['sli'] | undefined;
  if (sli === null || typeof sli !== 'object')
    bad('sli', `must be an object, got ${describe(sli)}`);
  if (sli!.type === 'latency') {
    const t = sli!.thresholdSeconds;
    if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) {
      bad('sli.thresholdSeconds', `must be a positive number, got ${describe(t)}`);
    }
  } else if (sli!.type !== 'availability') {
    bad(
      'sli.type',
      `must be "availability" or "latency", got ${describe((sli as { type?: unknown }).type)}`,
    );
  }
  const b = s.budgeting as Slo['budgeting'] | undefined | null;
  if (b === null || (b !== undefined && typeof b !== 'object')) {
    bad('budgeting', `must be an object, got ${describe(b)}`);
  }
  if (b !== undefined && b!.type !== 'occurrences') {
    if (b!.type !== 'timeslices') {
      bad(
        'budgeting.type',
        `must be "occurrences" or "timeslices", got ${describe((b as { type?: unknown }).type)}`,
      );
    }
    const t = b as { sliceSeconds?: unknown; sliceTarget?: unknown };
    if (
      typeof t.sliceSeconds !== 'number' ||
      !Number.isInteger(t.sliceSeconds) ||
      t.sliceSeconds < 1
    ) {
      bad(
        'budgeting.sliceSeconds',
        `must be a whole number of seconds >= 1, got ${describe(t.sliceSeconds)}`,
      );
    }
    if (typeof t.sliceTarget !== 'number' || !(t.sliceTarget > 0 && t.sliceTarget <= 1)) {
      bad(
        'budgeting.sliceTarget',
        `must be a fraction in (0, 1] such as 0.95, got ${describe(t.sliceTarget)}`,
      );
    }
  }
  return s;
}

function checkPairs(value: unknown): readonly AlertWindowPair[] {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `sloTracker: option "alertWindows" must be an array, got ${describe(value)}`,
    );
  }
  value.forEach((p: AlertWindowPair, i) => {
    const f = `sloTracker: option "alertWindows[${i}]`;
    if (p === null || typeof p !== 'object') throw new TypeError(`${f}" must be an object`);
    if (p.severity !== 'page' && p.severity !== 'ticket') {
      throw new TypeError(`${f}.severity" must be "page" or "ticket", got ${describe(p.severity)}`);
    }
    for (const k of ['budgetPercent', 'longWindowMs', 'shortWindowMs'] as const) {
      const v = p[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw new TypeError(`${f}.${k}" must be a positive number, got ${describe(v)}`);
      }
    }
    if (p.budgetPercent > 100) {
      throw new TypeError(`${f}.budgetPercent" must be <= 100, got ${p.budgetPercent}`);
    }
    if (p.shortWindowMs > p.longWindowMs) {
      throw new TypeError(`${f}.shortWindowMs" must not exceed longWindowMs`);
    }
  });
  return value;
}

/** Slices must line up with the buckets and, for calendar periods, with the period's start. */
function checkSlices(slo: Slo, resolutionMs: number): void {
  const b = slo.budgeting;
  if (b === undefined || b.type !== 'timeslices') return;
  const sliceMs = b.sliceSeconds * 1000;
  const field = 'sloTracker: slo.budgeting.sliceSeconds';
  if (sliceMs % resolutionMs !== 0 && resolutionMs % sliceMs !== 0) {
    throw new TypeError(
      `${field} must be a multiple or a divisor of the resolution (${resolutionMs / 1000} s), got ${b.sliceSeconds}`,
    );
  }
  if (slo.window.type === 'calendar' && (15 * MINUTE) % sliceMs !== 0) {
    // Calendar periods start at local midnight, a multiple of 15 minutes in every zone.
    throw new TypeError(
      `${field} must divide 15 minutes (900 s) for a calendar window, got ${b.sliceSeconds}`,
    );
  }
  const periodMs = slo.window.type === 'rolling' ? slo.window.days * DAY : 28 * DAY;
  if (sliceMs > periodMs) {
    throw new TypeError(`${field} must not exceed the period, got ${b.sliceSeconds}`);
  }
}

/** Per-call holder for window sums, reused so queries do not allocate for intermediate sums. */
const scratch = new Float64Array(2);

class Tracker implements SloTracker {
  readonly slo: Slo;
  readonly resolutionMs: number;
  readonly coarseMs: number;
  readonly alertWindows: readonly (AlertWindowPair & { readonly factor: number })[];
  readonly maxWindowMs: number;
  readonly sliceMs: number | null;
  readonly #clock: Clock;
  readonly #allowed: number;
  readonly #thresholdMs: number;
  readonly #latency: boolean;
  readonly #minEvents: number;
  readonly #period: PeriodCalculator;
  /** Fine slots per coarse slot. */
  readonly #k: number;
  readonly #fine: BucketRing;
  readonly #coarse: BucketRing;
  /** Per-slice counts over the longest window (timeslices only). */
  readonly #slices: BucketRing | null;
  readonly #sliceTarget: number;
  /** Smallest of resolution and slice: the step at which record() must rotate. */
  readonly #step: number;
  readonly #sg: Float64Array;
  readonly #sb: Float64Array;
  #si: number;
  // The head buckets' arrays and indices, cached for the hot path.
  readonly #fg: Float64Array;
  readonly #fb: Float64Array;
  readonly #cg: Float64Array;
  readonly #cb: Float64Array;
  #fi: number;
  #ci: number;
  /** End of the head fine bucket: until the clock reaches it, record() touches only the head. */
  #slotEnd: number;
  readonly #since: Record<AlertSeverity, number | null> = { page: null, ticket: null };
  readonly #fired = new Emitter<AlertFiredEvent>();
  readonly #resolved = new Emitter<AlertResolvedEvent>();
  readonly onAlertFired = this.#fired.listen;
  readonly onAlertResolved = this.#resolved.listen;

  constructor(slo: Slo, options: SloTrackerOptions) {
    this.slo = slo;
    this.#clock = options.clock ?? coarseClock;
    this.resolutionMs = options.resolutionMs ?? MINUTE;
    this.#minEvents = options.minEvents ?? 0;
    this.#allowed = 1 - slo.objective;
    this.#latency = slo.sli.type === 'latency';
    this.#thresholdMs = slo.sli.type === 'latency' ? slo.sli.thresholdSeconds * 1000 : 0;
    this.#period = new PeriodCalculator(slo.window);
    const pairs = options.alertWindows ?? DEFAULT_ALERT_WINDOWS;
    this.alertWindows = pairs.map((p) => ({
      ...p,
      factor: burnRateFactor(p, this.#period.nominalMs),
    }));
    // Calendar periods start at local midnight; every zone's offset is a multiple of 15 minutes.
    this.coarseMs = slo.window.type === 'rolling' ? HOUR : 15 * MINUTE;
    this.#k = this.coarseMs / this.resolutionMs;
    const longestPeriod =
      slo.window.type === 'rolling'
        ? slo.window.days * DAY
        : (slo.window.unit === 'month' ? 31 : 92) * DAY;
    let longestAlert = 0;
    for (const p of pairs) longestAlert = Math.max(longestAlert, p.longWindowMs);
    this.maxWindowMs = Math.max(longestPeriod, longestAlert);
    const now = this.#now();
    const slot = Math.floor(now / this.resolutionMs);
    this.#fine = new BucketRing(this.resolutionMs, FINE_SPAN_MS / this.resolutionMs + 1, slot);
    this.#coarse = new BucketRing(
      this.coarseMs,
      Math.ceil(this.maxWindowMs / this.coarseMs) + 2,
      Math.floor(slot / this.#k),
    );
    this.#fg = this.#fine.good;
    this.#fb = this.#fine.bad;
    this.#cg = this.#coarse.good;
    this.#cb = this.#coarse.bad;
    this.#fi = this.#fine.headIndex;
    this.#ci = this.#coarse.headIndex;
    const b = slo.budgeting;
    if (b !== undefined && b.type === 'timeslices') {
      this.sliceMs = b.sliceSeconds * 1000;
      this.#sliceTarget = b.sliceTarget;
      // Two slices more than the longest window: the open one and one for the rounding up.
      this.#slices = new BucketRing(
        this.sliceMs,
        Math.ceil(this.maxWindowMs / this.sliceMs) + 2,
        Math.floor(now / this.sliceMs),
      );
      this.#sg = this.#slices.good;
      this.#sb = this.#slices.bad;
      this.#si = this.#slices.headIndex;
      this.#step = Math.min(this.sliceMs, this.resolutionMs);
    } else {
      this.sliceMs = null;
      this.#sliceTarget = 0;
      this.#slices = null;
      this.#sg = new Float64Array(0);
      this.#sb = this.#sg;
      this.#si = 0;
      this.#step = this.resolutionMs;
    }
    this.#slotEnd = (Math.floor(now / this.#step) + 1) * this.#step;
    if (options.snapshot !== undefined) this.restore(options.snapshot);
  }

  get memoryBytes(): number {
    return this.#fine.bytes + this.#coarse.bytes + (this.#slices?.bytes ?? 0);
  }

  #now(): number {
    const t = this.#clock.now();
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      throw new TypeError(
        `sloTracker: clock.now() must return a finite number, got ${describe(t)}`,
      );
    }
    return t;
  }

  /** Rotates the rings to `now`. A clock that went back keeps writing to the newest bucket. */
  #roll(now: number): void {
    const slot = Math.floor(now / this.resolutionMs);
    if (slot > this.#fine.head) {
      this.#fine.advance(slot);
      this.#coarse.advance(Math.floor(slot / this.#k));
      this.#fi = this.#fine.headIndex;
      this.#ci = this.#coarse.headIndex;
    }
    const slices = this.#slices;
    if (slices !== null) {
      const s = Math.floor(now / slices.sizeMs);
      if (s > slices.head) {
        slices.advance(s);
        this.#si = slices.headIndex;
      }
    }
    this.#slotEnd = (Math.floor(now / this.#step) + 1) * this.#step;
  }

  /** Reads the clock and rotates; returns the engine's time (never before its newest bucket). */
  #sync(): number {
    const now = this.#now();
    if (now >= this.#slotEnd) this.#roll(now);
    return Math.max(now, this.#slotEnd - this.#step);
  }

  record(event: SloEvent): void {
    const now = this.#clock.now();
    // NaN fails this test too, and a NaN clock then only ever writes to the head bucket.
    if (now >= this.#slotEnd) this.#roll(now);
    if (event === null || typeof event !== 'object') {
      throw new TypeError(`record: event must be an object, got ${describe(event)}`);
    }
    const e = event as { good?: unknown; bad?: unknown; durationMs?: unknown };
    let g = 0;
    let b = 0;
    const good = e.good;
    if (good === true) g = 1;
    else if (good === false) b = 1;
    else if (e.durationMs !== undefined) {
      const d = e.durationMs;
      if (!this.#latency) {
        throw new TypeError(
          `record: event.durationMs needs a latency SLO; "${this.slo.name}" is ${this.slo.sli.type}`,
        );
      }
      if (typeof d !== 'number' || !(d >= 0) || d === Number.POSITIVE_INFINITY) {
        throw new TypeError(
          `record: event.durationMs must be a finite number >= 0, got ${describe(d)}`,
        );
      }
      if (d <= this.#thresholdMs) g = 1;
      else b = 1;
    } else {
      if (good !== undefined) {
        if (typeof good !== 'number' || !Number.isSafeInteger(good) || good < 0) {
          throw new TypeError(
            `record: event.good must be a boolean or an integer >= 0, got ${describe(good)}`,
          );
        }
        g = good;
      }
      const bad = e.bad;
      if (bad !== undefined) {
        if (typeof bad !== 'number' || !Number.isSafeInteger(bad) || bad < 0) {
          throw new TypeError(`record: event.bad must be an integer >= 0, got ${describe(bad)}`);
        }
        b = bad;
      }
      if (good === undefined && bad === undefined) {
        throw new TypeError('record: event needs good (boolean or count), bad or durationMs');
      }
    }
    this.#fg[this.#fi]! += g;
    this.#fb[this.#fi]! += b;
    this.#cg[this.#ci]! += g;
    this.#cb[this.#ci]! += b;
    if (this.#slices !== null) {
      this.#sg[this.#si]! += g;
      this.#sb[this.#si]! += b;
    }
  }

  /**
   * Judges the closed slices `from..to` (clamped to the closed slices the ring holds); returns
   * slice and event counts. A slice is good at or above the target, or without events.
   */
  #judge(from: number, to: number, windowMs: number): WindowStats {
    const ring = this.#slices!;
    if (from < ring.tail) from = ring.tail;
    if (to > ring.head - 1) to = ring.head - 1;
    const target = this.#sliceTarget;
    let good = 0;
    let bad = 0;
    let badSlices = 0;
    for (let s = from; s <= to; s++) {
      const i = ring.indexOf(s);
      const g = this.#sg[i]!;
      const b = this.#sb[i]!;
      good += g;
      bad += b;
      // The ratio, not g >= target x total: division is correctly rounded, so a ratio exactly at
      // the target compares equal to it.
      if (b > 0 && g / (g + b) < target) badSlices++;
    }
    // Slices from before the tracker started are in the ring, empty: they count as elapsed and
    // good, so a window is its length whatever the tracker has seen (and never 0/0).
    const elapsed = Math.max(0, to - from + 1);
    const errorRatio = elapsed > 0 ? badSlices / elapsed : 0;
    return {
      windowMs,
      good,
      bad,
      total: good + bad,
      errorRatio,
      burnRate: errorRatio / this.#allowed,
      slices: { sliceMs: ring.sizeMs, elapsed, good: elapsed - badSlices, bad: badSlices },
    };
  }

  /** Sums the buckets from fine slot `startFine` to the head into `scratch`. */
  #sumFrom(startFine: number): void {
    scratch[0] = 0;
    scratch[1] = 0;
    const fine = this.#fine;
    const head = fine.head;
    if (startFine >= fine.tail) {
      fine.sum(startFine, head, scratch);
      return;
    }
    // Older part from coarse buckets wholly inside the window, the rest from fine buckets; the
    // oldest edge is thus exact to one coarse bucket (it never counts an event older than asked).
    const k = this.#k;
    const cut = Math.ceil(fine.tail / k) * k;
    this.#coarse.sum(Math.ceil(startFine / k), cut / k - 1, scratch);
    fine.sum(cut, head, scratch);
  }

  #checkWindow(windowMs: unknown): number {
    if (typeof windowMs !== 'number' || !(windowMs > 0) || windowMs > this.maxWindowMs) {
      throw new TypeError(
        `windowMs must be a number in (0, ${this.maxWindowMs}], got ${describe(windowMs)}`,
      );
    }
    return windowMs;
  }

  /** Counts over the last `windowMs`: the head bucket and the `ceil(windowMs / resolution) - 1` before it. */
  #stats(windowMs: number): WindowStats {
    const ring = this.#slices;
    if (ring !== null) {
      // The closed slices covering the window, rounded up to whole slices.
      const n = Math.ceil(windowMs / ring.sizeMs);
      return this.#judge(ring.head - n, ring.head - 1, windowMs);
    }
    const n = Math.ceil(windowMs / this.resolutionMs);
    this.#sumFrom(this.#fine.head - n + 1);
    return this.#toStats(windowMs, scratch[0]!, scratch[1]!);
  }

  #toStats(windowMs: number, good: number, bad: number): WindowStats {
    const total = good + bad;
    const errorRatio = total > 0 ? bad / total : 0;
    return {
      windowMs,
      good,
      bad,
      total,
      errorRatio,
      burnRate: errorRatio / this.#allowed,
      slices: null,
    };
  }

  /** Counts over the period; returns the period too. */
  #periodStats(now: number): { period: Period; stats: WindowStats } {
    const period = this.#period.at(now);
    if (this.slo.window.type === 'rolling') {
      return { period, stats: this.#stats(period.lengthMs) };
    }
    const ring = this.#slices;
    if (ring !== null) {
      const stats = this.#judge(
        Math.ceil(period.start / ring.sizeMs),
        ring.head - 1,
        now - period.start,
      );
      return { period, stats };
    }
    this.#sumFrom(Math.ceil(period.start / this.resolutionMs));
    return { period, stats: this.#toStats(now - period.start, scratch[0]!, scratch[1]!) };
  }

  attainment(): number {
    const { stats } = this.#periodStats(this.#sync());
    return attainmentOf(stats);
  }

  /** Slices in the whole period and the budget spent (timeslices: against all of them). */
  #consumed(period: Period, stats: WindowStats): { consumed: number; inPeriod: number } {
    if (stats.slices === null) return { consumed: stats.burnRate, inPeriod: 0 };
    // Rounded up as windows are, so a rolling period's budget is its burn rate (elapsed = inPeriod).
    const inPeriod = Math.ceil(period.lengthMs / stats.slices.sliceMs);
    return { consumed: stats.slices.bad / (this.#allowed * inPeriod), inPeriod };
  }

  budget(): BudgetStatus {
    const now = this.#sync();
    const { period, stats } = this.#periodStats(now);
    const { consumed, inPeriod } = this.#consumed(period, stats);
    const remaining = 1 - consumed;
    const sl = stats.slices;
    const budgetMinutes = (this.#allowed * period.lengthMs) / MINUTE;
    const allowedBadEvents = this.#allowed * stats.total;
    return {
      objective: this.slo.objective,
      periodStart: period.start,
      periodEnd: period.end,
      good: stats.good,
      bad: stats.bad,
      total: stats.total,
      attainment: attainmentOf(stats),
      consumed,
      remaining,
      budgetMinutes,
      remainingMinutes: remaining * budgetMinutes,
      allowedBadEvents,
      remainingEvents: allowedBadEvents - stats.bad,
      slices:
        sl === null
          ? null
          : {
              ...sl,
              inPeriod,
              allowedBad: this.#allowed * inPeriod,
              remainingBad: this.#allowed * inPeriod - sl.bad,
            },
    };
  }

  window(windowMs: number): WindowStats {
    this.#checkWindow(windowMs);
    this.#sync();
    return this.#stats(windowMs);
  }

  burnRate(windowMs: number): number {
    return this.window(windowMs).burnRate;
  }

  errorRatio(windowMs: number): number {
    return this.window(windowMs).errorRatio;
  }

  forecast(windowMs: number = HOUR): BudgetForecast {
    this.#checkWindow(windowMs);
    const now = this.#sync();
    const { period, stats } = this.#periodStats(now);
    const remaining = 1 - this.#consumed(period, stats).consumed;
    const burnRate = this.#stats(windowMs).burnRate;
    let exhaustedAt: number | null = null;
    if (remaining <= 0) exhaustedAt = now;
    else if (burnRate > 0) {
      // At burn rate b the budget drains at b / period per unit of time.
      exhaustedAt = now + (remaining * period.lengthMs) / burnRate;
      if (this.slo.window.type === 'calendar' && exhaustedAt > period.end) exhaustedAt = null;
    }
    return {
      windowMs,
      burnRate,
      remaining,
      exhaustedAt,
      msLeft: exhaustedAt === null ? null : exhaustedAt - now,
    };
  }

  evaluateAlerts(): AlertEvaluation {
    const now = this.#sync();
    const page = this.#severity('page', now);
    const ticket = this.#severity('ticket', now);
    return { slo: this.slo.name, at: now, page, ticket };
  }

  #severity(severity: AlertSeverity, now: number): SeverityStatus {
    const enabled = this.slo.alerting?.[severity] ?? true;
    const pairs: AlertPairStatus[] = [];
    let firing = false;
    for (const p of this.alertWindows) {
      if (p.severity !== severity) continue;
      const long = this.#stats(p.longWindowMs);
      const short = this.#stats(p.shortWindowMs);
      const threshold = p.factor * this.#allowed;
      const enoughEvents = long.total >= this.#minEvents && short.total >= this.#minEvents;
      const over =
        enabled && enoughEvents && long.errorRatio > threshold && short.errorRatio > threshold;
      if (over) firing = true;
      pairs.push({
        severity,
        longWindowMs: p.longWindowMs,
        shortWindowMs: p.shortWindowMs,
        factor: p.factor,
        threshold,
        longErrorRatio: long.errorRatio,
        shortErrorRatio: short.errorRatio,
        longBurnRate: long.burnRate,
        shortBurnRate: short.burnRate,
        longEvents: long.total,
        shortEvents: short.total,
        enoughEvents,
        firing: over,
      });
    }
    const since = this.#since[severity];
    if (firing && since === null) {
      this.#since[severity] = now;
      if (this.#fired.active) {
        this.#fired.emit({
          type: 'fired',
          slo: this.slo.name,
          severity,
          at: now,
          pairs: pairs.filter((p) => p.firing),
        });
      }
    } else if (!firing && since !== null) {
      this.#since[severity] = null;
      if (this.#resolved.active) {
        this.#resolved.emit({
          type: 'resolved',
          slo: this.slo.name,
          severity,
          at: now,
          firedAt: since,
          durationMs: now - since,
        });
      }
    }
    return { enabled, firing, since: this.#since[severity], pairs };
  }

  snapshot(): TrackerSnapshot {
    const at = this.#sync();
    return {
      version: SNAPSHOT_VERSION,
      slo: this.slo.name,
      at,
      resolutionMs: this.resolutionMs,
      coarseMs: this.coarseMs,
      fine: this.#fine.entries(),
      coarse: this.#coarse.entries(),
      ...(this.#slices === null
        ? {}
        : { slices: { sliceMs: this.#slices.sizeMs, buckets: this.#slices.entries() } }),
      alerts: { page: this.#since.page, ticket: this.#since.ticket },
    };
  }

  restore(snapshot: TrackerSnapshot): void {
    const s = parseSnapshot(snapshot);
    if (s.slo !== this.slo.name) {
      throw new TypeError(`snapshot.slo is "${s.slo}", expected "${this.slo.name}"`);
    }
    if (s.resolutionMs !== this.resolutionMs) {
      throw new TypeError(
        `snapshot.resolutionMs is ${s.resolutionMs}, the tracker uses ${this.resolutionMs}`,
      );
    }
    if (s.coarseMs !== this.coarseMs) {
      throw new TypeError(`snapshot.coarseMs is ${s.coarseMs}, the tracker uses ${this.coarseMs}`);
    }
    // The engine's time never goes back: a snapshot taken "later" than now (the clock stepped
    // back across the restart) keeps its head, and new events join the newest bucket meanwhile.
    const at = Math.max(this.#now(), s.at);
    const slot = Math.floor(at / this.resolutionMs);
    this.#fine.clear(slot);
    this.#coarse.clear(Math.floor(slot / this.#k));
    for (const [start, g, b] of s.fine) this.#fine.addAt(start / this.resolutionMs, g, b);
    for (const [start, g, b] of s.coarse) this.#coarse.addAt(start / this.coarseMs, g, b);
    this.#fi = this.#fine.headIndex;
    this.#ci = this.#coarse.headIndex;
    const ring = this.#slices;
    if (ring !== null) {
      ring.clear(Math.floor(at / ring.sizeMs));
      if (s.slices !== undefined) {
        if (s.slices.sliceMs !== ring.sizeMs) {
          throw new TypeError(
            `snapshot.slices.sliceMs is ${s.slices.sliceMs}, the tracker uses ${ring.sizeMs}`,
          );
        }
        for (const [start, g, b] of s.slices.buckets) ring.addAt(start / ring.sizeMs, g, b);
      } else if (ring.sizeMs % this.resolutionMs === 0) {
        // A snapshot without slices (version 1, or an occurrences SLO's): each fine bucket lies in
        // one slice, so the last 6 h are rebuilt; older slices count as without events.
        for (const [start, g, b] of s.fine) ring.addAt(Math.floor(start / ring.sizeMs), g, b);
      }
      this.#si = ring.headIndex;
    }
    this.#slotEnd = (Math.floor(at / this.#step) + 1) * this.#step;
    this.#since.page = s.alerts.page;
    this.#since.ticket = s.alerts.ticket;
  }
}

function attainmentOf(stats: WindowStats): number {
  const sl = stats.slices;
  if (sl !== null) return sl.elapsed > 0 ? sl.good / sl.elapsed : 1;
  return stats.total > 0 ? stats.good / stats.total : 1;
}

/**
 * The in-process engine for one SLO: counts events in time buckets (memory fixed by the period,
 * not by traffic), and answers attainment, budget, burn rates, a forecast and the Workbook's
 * multi-window multi-burn-rate alerts.
 *
 * @example
 * const tracker = sloTracker(slo);
 * tracker.record({ durationMs: 183 });
 * tracker.budget().remainingMinutes; // 43.2 for an untouched 99.9 % / 30 d budget
 */
export function sloTracker(slo: Slo, options: SloTrackerOptions = {}): SloTracker {
  const s = checkSlo(slo);
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`sloTracker: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`sloTracker: unknown option "${key}"`);
  }
  const { clock, resolutionMs, minEvents, alertWindows } = options;
  if (clock !== undefined && (clock === null || typeof clock.now !== 'function')) {
    throw new TypeError(
      `sloTracker: option "clock" must have a now() method, got ${describe(clock)}`,
    );
  }
  if (
    resolutionMs !== undefined &&
    (typeof resolutionMs !== 'number' ||
      !Number.isInteger(resolutionMs) ||
      resolutionMs < 1000 ||
      (15 * MINUTE) % resolutionMs !== 0)
  ) {
    throw new TypeError(
      `sloTracker: option "resolutionMs" must be a whole number of ms >= 1000 dividing 15 minutes, got ${describe(resolutionMs)}`,
    );
  }
  if (
    minEvents !== undefined &&
    (typeof minEvents !== 'number' || !Number.isInteger(minEvents) || minEvents < 0)
  ) {
    throw new TypeError(
      `sloTracker: option "minEvents" must be an integer >= 0, got ${describe(minEvents)}`,
    );
  }
  if (alertWindows !== undefined) checkPairs(alertWindows);
  checkSlices(s, resolutionMs ?? MINUTE);
  return new Tracker(s, options);
}
