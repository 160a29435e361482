import type { SloWindow } from '../model.js';

const DAY_MS = 86_400_000;

/** The compliance period an SLO is judged over at one instant. */
export interface Period {
  /** Start of the period (ms since the epoch); for a rolling window, `now - days`. */
  readonly start: number;
  /** End of the period; for a rolling window, `now`. */
  readonly end: number;
  /** `end - start` for a calendar period (28 to 92 days); `days x 1 d` for a rolling one. */
  readonly lengthMs: number;
}

/**
 * Computes rolling and calendar periods. Calendar periods start at local midnight on the first day
 * of the month or quarter in the window's IANA time zone, found with `Intl` (no dependency), so
 * DST shifts and non-whole-hour offsets are honoured.
 *
 * @internal
 */
export class PeriodCalculator {
  readonly window: SloWindow;
  /** Period length used to scale alert factors and the budget in minutes (nominal for calendars). */
  readonly nominalMs: number;
  readonly #format: Intl.DateTimeFormat | undefined;
  #cached: Period | undefined;

  constructor(window: SloWindow) {
    this.window = window;
    if (window.type === 'rolling') {
      this.nominalMs = window.days * DAY_MS;
      this.#format = undefined;
    } else {
      this.nominalMs = (window.unit === 'month' ? 30 : 90) * DAY_MS;
      this.#format = new Intl.DateTimeFormat('en-US', {
        timeZone: window.timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    }
  }

  /** The period containing `now`. */
  at(now: number): Period {
    const w = this.window;
    if (w.type === 'rolling') {
      return { start: now - this.nominalMs, end: now, lengthMs: this.nominalMs };
    }
    const c = this.#cached;
    if (c !== undefined && now >= c.start && now < c.end) return c;
    const local = this.#wallClock(now);
    const firstMonth = w.unit === 'month' ? local.month : local.month - ((local.month - 1) % 3);
    const step = w.unit === 'month' ? 1 : 3;
    const start = this.#instantOfLocalMidnight(local.year, firstMonth, 1);
    const nextMonth = firstMonth + step;
    const end =
      nextMonth > 12
        ? this.#instantOfLocalMidnight(local.year + 1, nextMonth - 12, 1)
        : this.#instantOfLocalMidnight(local.year, nextMonth, 1);
    const p = { start, end, lengthMs: end - start };
    this.#cached = p;
    return p;
  }

  /** Wall-clock fields of `t` in the time zone. */
  #wallClock(t: number): { year: number; month: number; day: number; ms: number } {
    const parts = this.#format!.formatToParts(new Date(t));
    const f: Record<string, number> = {};
    for (const p of parts) if (p.type !== 'literal') f[p.type] = Number(p.value);
    const ms = Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!, f.second!);
    return { year: f.year!, month: f.month!, day: f.day!, ms };
  }

  /** The zone's offset from UTC at instant `t`, in ms (local wall time minus UTC). */
  #offset(t: number): number {
    const whole = Math.floor(t / 1000) * 1000;
    return this.#wallClock(whole).ms - whole;
  }

  /** UTC instant of 00:00 local time on year-month-day (two passes settle DST changes). */
  #instantOfLocalMidnight(year: number, month: number, day: number): number {
    const asUtc = Date.UTC(year, month - 1, day);
    let t = asUtc - this.#offset(asUtc);
    t = asUtc - this.#offset(t);
    return t;
  }
}

/** Throws a TypeError naming the field when the zone is not a valid IANA time zone. */
export function checkTimeZone(field: string, timeZone: unknown): void {
  if (typeof timeZone !== 'string' || timeZone === '') {
    throw new TypeError(`${field} must be an IANA time zone name, got ${String(timeZone)}`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new TypeError(`${field} is not a known IANA time zone: "${timeZone}"`);
  }
}
