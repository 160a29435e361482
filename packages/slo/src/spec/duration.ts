/**
 * Durations as spec authors write them: Prometheus-style (`200ms`, `1.5s`, `5m`, `1h`, `30d`,
 * `4w`) for thresholds and slices, and OpenSLO's shorthand (`28d`, `1M`, `1Q`) for windows, where
 * `m` is a minute and `M` a month.
 *
 * @internal
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
};

/**
 * Parses a fixed-length duration (`200ms`, `0.25s`, `5m`, `1h`, `2d`, `1w`) into seconds, or
 * returns undefined when the text is not one. Calendar units (`M`, `Q`, `Y`) are not fixed
 * lengths and are rejected here.
 */
export function parseSeconds(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text);
  if (!m) return undefined;
  // Round to the nanosecond so 200ms is exactly 0.2, the number a bucket list spells 0.2.
  return Math.round(Number(m[1]) * UNIT_SECONDS[m[2]!]! * 1e9) / 1e9;
}

/** A window written in OpenSLO's duration shorthand: an integer and one of `m h d w M Q Y`. */
export interface Shorthand {
  readonly count: number;
  readonly unit: 'm' | 'h' | 'd' | 'w' | 'M' | 'Q' | 'Y';
}

/** Parses OpenSLO's duration shorthand, or returns undefined. */
export function parseShorthand(text: string): Shorthand | undefined {
  const m = /^(\d+)([mhdwMQY])$/.exec(text);
  if (!m) return undefined;
  return { count: Number(m[1]), unit: m[2] as Shorthand['unit'] };
}

/**
 * Whole days of a fixed-length shorthand (`30d`, `4w`, `720h`), or undefined when it is not a
 * whole number of days or is a calendar unit.
 */
export function wholeDays(d: Shorthand): number | undefined {
  if (d.unit === 'd') return d.count;
  if (d.unit === 'w') return d.count * 7;
  if (d.unit === 'h' && d.count % 24 === 0) return d.count / 24;
  if (d.unit === 'm' && d.count % 1440 === 0) return d.count / 1440;
  return undefined;
}

/** The calendar unit of `1M`, `3M` or `1Q`, the calendar periods the model supports. */
export function calendarUnit(d: Shorthand): 'month' | 'quarter' | undefined {
  if (d.unit === 'M' && d.count === 1) return 'month';
  if ((d.unit === 'M' && d.count === 3) || (d.unit === 'Q' && d.count === 1)) return 'quarter';
  return undefined;
}

/**
 * The hint for a window shorter than a day. The usual cause is `1m` (a minute) typed for `1M`
 * (a month), which the SLO would otherwise silently judge over sixty seconds.
 */
export function shortWindowHint(d: Shorthand | undefined): string {
  if (d?.unit !== 'm') return '';
  return d.count === 1 ? '; did you mean 1M (a month)?' : `; did you mean ${d.count}M (months)?`;
}

/** Seconds as the shortest readable duration, for messages (`0.2` gives `200ms`). */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1e6) / 1e3}ms`;
  for (const [unit, size] of [
    ['w', 604_800],
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * A percentage to a fraction without binary noise: `99.9` gives 0.999, not 0.9990000000000001,
 * by moving the decimal point in the text rather than dividing.
 */
export function percentToFraction(percent: number): number {
  const text = String(percent);
  if (/e/i.test(text) || percent < 0) return percent / 100;
  const [int = '0', frac = ''] = text.split('.');
  const padded = int.padStart(3, '0');
  return Number(`${padded.slice(0, -2)}.${padded.slice(-2)}${frac}`);
}

/** Checks an IANA time zone name with the runtime's own database. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
