/**
 * Availability math: the nines table (allowed downtime for a target), its inverse, and the
 * availability of composed dependencies.
 *
 * Period lengths follow the table every SRE text quotes (99.9 % = 8.76 h a year, 43.8 min a
 * month): a year is 365 days and a month is a twelfth of it (30.42 days). A 365.25-day year would
 * give 8.77 h, and a 30-day month 43.2 min, so neither reproduces the table.
 */

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;

/** Names of the fixed periods of the nines table, longest first. */
export type PeriodName = 'year' | 'quarter' | 'month' | 'week' | 'day';

/** A period: a named one, or a number of days (e.g. an SLO's rolling window, `{ days: 28 }`). */
export type Period = PeriodName | { readonly days: number };

/**
 * Length of each named period in ms: year = 365 d, quarter = year / 4 (91.25 d),
 * month = year / 12 (30.42 d), week = 7 d, day = 24 h.
 */
export const PERIOD_MS: Readonly<Record<PeriodName, number>> = Object.freeze({
  year: YEAR_MS,
  quarter: YEAR_MS / 4,
  month: YEAR_MS / 12,
  week: 7 * DAY_MS,
  day: DAY_MS,
});

/** The named periods in table order, longest first. */
export const PERIODS: readonly PeriodName[] = Object.freeze([
  'year',
  'quarter',
  'month',
  'week',
  'day',
]);

/** @internal A value as an error message shows it. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return `${typeof value} ${String(value)}`;
}

/** @internal Checks a finite number in [min, max] (or (min, max) when `open`). */
export function checkNumber(
  owner: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
  open = false,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${owner}: "${name}" must be a finite number, got ${describeValue(value)}`);
  }
  if (open ? value <= min || value >= max : value < min || value > max) {
    const range = open ? `(${min}, ${max})` : `[${min}, ${max}]`;
    throw new TypeError(`${owner}: "${name}" must be in ${range}, got ${value}`);
  }
  return value;
}

/**
 * @internal Checks an objective: a fraction in (0, 1). 1 is refused because 100 % leaves no error
 * budget; a number above 1 is most likely a percent, so the message says how to write it.
 */
export function checkTarget(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(
      `${owner}: "${name}" must be a fraction in (0, 1) such as 0.999, got ${describeValue(value)}`,
    );
  }
  if (value <= 0 || value >= 1) {
    const hint =
      value === 1
        ? ' (100 % leaves no error budget)'
        : value > 1 && value < 100
          ? ` (a percent? write ${Number(`${value}e-2`)} or "${value}%")`
          : '';
    throw new TypeError(`${owner}: "${name}" must be a fraction in (0, 1), got ${value}${hint}`);
  }
  return value;
}

/**
 * Parses a target written as a fraction (`0.9995`), a percent string (`"99.95%"`, `"99.95 %"`)
 * or a bare percent string (`"99.95"`, as typed on a command line). Returns the fraction, which is
 * exactly the number the same decimal written as a fraction would give (`"99.95%"` → `0.9995`).
 *
 * Strict: a number must be in (0, 1); a string must be a plain decimal (no sign, exponent or
 * spaces inside); 100 % and above, and 0, are refused. A bare string of 1 or less (`"0.999"`) is
 * refused as ambiguous, since it reads as a fraction but would be taken as a percent; write
 * `"0.999%"` if that is what is meant.
 *
 * @throws TypeError naming `target` when the input is not a valid target.
 */
export function parseTarget(target: number | string): number {
  if (typeof target === 'number') return checkTarget('parseTarget', 'target', target);
  if (typeof target !== 'string') {
    throw new TypeError(
      `parseTarget: "target" must be a number or a string such as "99.9%", got ${describeValue(target)}`,
    );
  }
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(target);
  if (!match) {
    throw new TypeError(
      `parseTarget: "target" must be a percent such as "99.9%" or "99.9", got ${describeValue(target)}`,
    );
  }
  const digits = match[1]!;
  const percent = Number(digits);
  if (match[2] === '' && percent <= 1) {
    throw new TypeError(
      `parseTarget: "target" ${JSON.stringify(target)} is ambiguous: pass the number ${digits} for a fraction, or write "${digits}%"`,
    );
  }
  if (percent <= 0 || percent >= 100) {
    const hint = percent === 100 ? ' (100 % leaves no error budget)' : '';
    throw new TypeError(
      `parseTarget: "target" must be above 0 % and below 100 %, got ${JSON.stringify(target)}${hint}`,
    );
  }
  // Shifting the decimal point in the text, not dividing by 100, gives the double nearest to the
  // decimal fraction: "99.9%" → 0.999, where 99.9 / 100 is 0.9990000000000001.
  return Number(`${digits}e-2`);
}

/**
 * Length of a period in ms.
 *
 * @throws TypeError naming `period` for an unknown name or a non-positive number of days.
 */
export function periodMs(period: Period): number {
  if (typeof period === 'string') {
    if (Object.hasOwn(PERIOD_MS, period)) return PERIOD_MS[period];
  } else if (period !== null && typeof period === 'object' && !Array.isArray(period)) {
    const days = (period as { days?: unknown }).days;
    if (typeof days === 'number' && Number.isFinite(days) && days > 0) return days * DAY_MS;
    throw new TypeError(
      `periodMs: "period.days" must be a positive finite number, got ${describeValue(days)}`,
    );
  }
  throw new TypeError(
    `periodMs: "period" must be one of ${PERIODS.join(', ')} or { days }, got ${describeValue(period)}`,
  );
}

/**
 * Downtime a target allows in a period, in ms: `(1 - target) × period`.
 *
 * @param target - fraction in (0, 1), e.g. 0.999
 * @param period - default `'month'` (a twelfth of a 365-day year)
 * @throws TypeError naming `target` or `period`.
 */
export function allowedDowntime(target: number, period: Period = 'month'): number {
  checkTarget('allowedDowntime', 'target', target);
  return (1 - target) * periodMs(period);
}

/**
 * The target that allows exactly `downtimeMs` of downtime in a period: `1 - downtime / period`.
 * One hour a month gives 0.99863 (99.863 %).
 *
 * @throws TypeError naming `downtimeMs` unless it is above 0 and below the period (the result
 *   must be a valid target in (0, 1)), or naming `period`.
 */
export function targetForDowntime(downtimeMs: number, period: Period = 'month'): number {
  const length = periodMs(period);
  checkNumber('targetForDowntime', 'downtimeMs', downtimeMs, 0, length, true);
  return 1 - downtimeMs / length;
}

/**
 * Number of nines of a target: `-log10(1 - target)`. 0.999 → 3, 0.9995 → 3.30, 0.99 → 2.
 * Rounded to 6 decimals: a target near 1 is stored with a relative error of about
 * 1e-16 / (1 - target), so more decimals would only show binary noise (0.99999999 → 7.999999998).
 *
 * @throws TypeError naming `target`.
 */
export function ninesCount(target: number): number {
  checkTarget('ninesCount', 'target', target);
  return Math.round(-Math.log10(1 - target) * 1e6) / 1e6;
}

/** Allowed downtime over one period. */
export interface Downtime {
  readonly period: PeriodName;
  /** Length of the period in ms. */
  readonly periodMs: number;
  /** Allowed downtime in ms. */
  readonly ms: number;
  /** Allowed downtime for people, three significant digits: `"43.8 min"`. */
  readonly text: string;
}

/** The nines table of one target (see {@link ninesTable}). */
export interface NinesTable {
  /** The target as a fraction. */
  readonly target: number;
  /** The target as a percent string, e.g. `"99.9%"`. */
  readonly percent: string;
  /** {@link ninesCount} of the target. */
  readonly nines: number;
  readonly year: Downtime;
  readonly quarter: Downtime;
  readonly month: Downtime;
  readonly week: Downtime;
  readonly day: Downtime;
}

/**
 * The allowed downtime of a target per year, quarter, month, week and day. Iterate {@link PERIODS}
 * for the rows in order.
 *
 * @example ninesTable(0.999).month.text === '43.8 min'; ninesTable(0.999).year.text === '8.76 h'
 * @throws TypeError naming `target` unless it is a fraction in (0, 1).
 */
export function ninesTable(target: number): NinesTable {
  checkTarget('ninesTable', 'target', target);
  const row = (period: PeriodName): Downtime => {
    const length = PERIOD_MS[period];
    const ms = (1 - target) * length;
    return Object.freeze({ period, periodMs: length, ms, text: formatDuration(ms) });
  };
  return Object.freeze({
    target,
    percent: formatPercent(target),
    nines: ninesCount(target),
    year: row('year'),
    quarter: row('quarter'),
    month: row('month'),
    week: row('week'),
    day: row('day'),
  });
}

const UNITS: readonly (readonly [string, number])[] = [
  ['d', DAY_MS],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

/** Rounds to `digits` significant digits, keeping every integer digit (1234 stays 1234). */
function significant(value: number, digits: number): number {
  if (value >= 10 ** digits) return Math.round(value);
  return Number(value.toPrecision(digits));
}

/**
 * Formats a duration for people in the largest unit that keeps the number at 1 or more (d, h,
 * min, s, ms), with `significantDigits` significant digits and no trailing zeros:
 * `"8.76 h"`, `"43.8 min"`, `"26.3 s"`, `"7.3 h"`. A value that rounds up to the next unit moves
 * to it (59.97 s → `"1 min"`). Zero is `"0 s"`.
 *
 * @param significantDigits - integer in [1, 15], default 3
 * @throws TypeError naming `ms` (finite, >= 0) or `significantDigits`.
 */
export function formatDuration(ms: number, significantDigits = 3): string {
  checkNumber('formatDuration', 'ms', ms, 0, Number.MAX_VALUE);
  checkNumber('formatDuration', 'significantDigits', significantDigits, 1, 15);
  if (!Number.isInteger(significantDigits)) {
    throw new TypeError(
      `formatDuration: "significantDigits" must be an integer, got ${significantDigits}`,
    );
  }
  if (ms === 0) return '0 s';
  let i = UNITS.findIndex(([, size]) => ms >= size);
  if (i === -1) i = UNITS.length - 1;
  let [unit, size] = UNITS[i]!;
  let value = significant(ms / size, significantDigits);
  if (i > 0 && value * size >= UNITS[i - 1]![1]) {
    // Convert the rounded value, not ms: 23.98 h rounds to 24 h, which is 1 d, not 0.999 d.
    const rounded = value * size;
    [unit, size] = UNITS[i - 1]!;
    value = significant(rounded / size, significantDigits);
  }
  return `${value} ${unit}`;
}

/**
 * Formats a fraction as a percent without binary noise: 0.999 → `"99.9%"`, 0.9995 → `"99.95%"`.
 * With `fractionDigits`, rounds to at most that many decimals (0.9986301 → `"99.863%"` with 3),
 * but never to `"100%"` for a value below 1 nor to `"0%"` for a value above 0: it keeps as many
 * more decimals as it takes.
 *
 * @param fraction - in [0, 1]
 * @param fractionDigits - integer in [0, 12]; default: as many as the value has (up to 10)
 * @throws TypeError naming `fraction` or `fractionDigits`.
 */
export function formatPercent(fraction: number, fractionDigits?: number): string {
  checkNumber('formatPercent', 'fraction', fraction, 0, 1);
  if (fractionDigits !== undefined) {
    checkNumber('formatPercent', 'fractionDigits', fractionDigits, 0, 12);
    if (!Number.isInteger(fractionDigits)) {
      throw new TypeError(
        `formatPercent: "fractionDigits" must be an integer, got ${fractionDigits}`,
      );
    }
  }
  const percent = fraction * 100;
  let digits = fractionDigits ?? 10;
  let rounded = Number(percent.toFixed(digits));
  while (digits < 12 && ((rounded === 100 && fraction < 1) || (rounded === 0 && fraction > 0))) {
    digits++;
    rounded = Number(percent.toFixed(digits));
  }
  return `${rounded}%`;
}

function checkAvailability(owner: string, name: string, value: unknown): number {
  return checkNumber(owner, name, value, 0, 1);
}

function checkList(owner: string, values: readonly unknown[]): void {
  if (values.length === 0) {
    throw new TypeError(`${owner}: needs at least one availability`);
  }
  for (let i = 0; i < values.length; i++) {
    checkAvailability(owner, `availabilities[${i}]`, values[i]);
  }
}

/**
 * Availability of parts that must all be up (a request that passes through each of them): the
 * product. Never above the weakest part. Parts are assumed to fail independently.
 *
 * @param availabilities - each in [0, 1], at least one
 * @throws TypeError naming `availabilities[i]`.
 */
export function inSeries(...availabilities: number[]): number {
  checkList('inSeries', availabilities);
  let product = 1;
  for (const a of availabilities) product *= a;
  return product;
}

/**
 * Availability of parts of which any one suffices (redundant replicas with failover):
 * `1 - Π(1 - aᵢ)`. Never below the strongest part. Parts are assumed to fail independently,
 * and failover to be instant and perfect, so this is an upper bound for real systems.
 *
 * @param availabilities - each in [0, 1], at least one
 * @throws TypeError naming `availabilities[i]`.
 */
export function inParallel(...availabilities: number[]): number {
  checkList('inParallel', availabilities);
  let down = 1;
  let best = 0;
  for (const a of availabilities) {
    down *= 1 - a;
    if (a > best) best = a;
  }
  // 1 - (1 - a) can land an ulp below a; the true value is never below the best part.
  return Math.max(1 - down, best);
}

/** Bound on replica counts, so the binomial sum of {@link kOfN} stays cheap. */
const MAX_REPLICAS = 10_000;

function checkCount(owner: string, name: string, value: unknown, min: number): number {
  checkNumber(owner, name, value, min, MAX_REPLICAS);
  if (!Number.isInteger(value)) {
    throw new TypeError(`${owner}: "${name}" must be an integer, got ${value}`);
  }
  return value as number;
}

/**
 * Availability of `n` identical independent replicas of which one suffices: `1 - (1 - a)^n`.
 *
 * @param a - availability of one replica, in [0, 1]
 * @param n - integer in [1, 10000]
 * @throws TypeError naming `a` or `n`.
 */
export function redundant(a: number, n: number): number {
  checkAvailability('redundant', 'a', a);
  checkCount('redundant', 'n', n, 1);
  return Math.max(1 - (1 - a) ** n, a);
}

/**
 * Availability of `n` identical independent replicas of which at least `k` must be up (a quorum:
 * 2 of 3, 3 of 5): the binomial tail `Σ_{i=k..n} C(n,i) aⁱ (1-a)ⁿ⁻ⁱ`. `kOfN(a, 1, n)` is
 * {@link redundant}; `kOfN(a, n, n)` is `aⁿ` (in series).
 *
 * @param a - availability of one replica, in [0, 1]
 * @param k - integer in [1, n]
 * @param n - integer in [1, 10000]
 * @throws TypeError naming `a`, `k` or `n`.
 */
export function kOfN(a: number, k: number, n: number): number {
  checkAvailability('kOfN', 'a', a);
  checkCount('kOfN', 'n', n, 1);
  checkCount('kOfN', 'k', k, 1);
  if (k > n) throw new TypeError(`kOfN: "k" must be <= n (${n}), got ${k}`);
  if (a === 0) return 0;
  if (a === 1) return 1;
  // Sum the failure side, P(fewer than k up), in log space: terms are small when a is high, which
  // keeps precision where it matters, and logs avoid overflow of C(n, i) and underflow of aⁿ.
  const logA = Math.log(a);
  const logB = Math.log1p(-a);
  let logC = 0; // log C(n, 0)
  let fail = 0;
  for (let i = 0; i < k; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i);
    fail += Math.exp(logC + i * logA + (n - i) * logB);
  }
  return Math.min(1, Math.max(0, 1 - fail));
}

/**
 * A system described as data for {@link compose}: an availability, or parts in series, in
 * parallel, `n` redundant copies of a part, or a `k`-of-`n` quorum of a part. Nest freely.
 */
export type Component =
  | number
  | { readonly series: readonly Component[] }
  | { readonly parallel: readonly Component[] }
  | { readonly redundant: Component; readonly n: number }
  | { readonly quorum: Component; readonly k: number; readonly n: number };

/**
 * Availability of a nested system described as data, e.g. an API in series with a database pair
 * and a 2-of-3 cache quorum:
 * `compose({ series: [0.999, { parallel: [0.99, 0.99] }, { quorum: 0.99, k: 2, n: 3 }] })`.
 *
 * @throws TypeError naming the path of the bad part, e.g. `component.series[1].parallel[0]`.
 */
export function compose(component: Component): number {
  return composeAt(component, 'component');
}

function composeAt(c: unknown, path: string): number {
  if (typeof c === 'number') return checkAvailability('compose', path, c);
  if (c === null || typeof c !== 'object' || Array.isArray(c)) {
    throw new TypeError(
      `compose: "${path}" must be an availability or { series | parallel | redundant | quorum }, got ${describeValue(c)}`,
    );
  }
  const node = c as Record<string, unknown>;
  const kinds = ['series', 'parallel', 'redundant', 'quorum'].filter((k) => k in node);
  if (kinds.length !== 1) {
    throw new TypeError(
      `compose: "${path}" must have exactly one of series, parallel, redundant, quorum, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`,
    );
  }
  const kind = kinds[0]!;
  if (kind === 'series' || kind === 'parallel') {
    const parts = node[kind];
    if (!Array.isArray(parts) || parts.length === 0) {
      throw new TypeError(
        `compose: "${path}.${kind}" must be a non-empty array, got ${describeValue(parts)}`,
      );
    }
    const values = parts.map((p, i) => composeAt(p, `${path}.${kind}[${i}]`));
    return kind === 'series' ? inSeries(...values) : inParallel(...values);
  }
  const part = composeAt(node[kind], `${path}.${kind}`);
  const n = checkCount('compose', `${path}.n`, node.n, 1);
  if (kind === 'redundant') return redundant(part, n);
  const k = checkCount('compose', `${path}.k`, node.k, 1);
  if (k > n) throw new TypeError(`compose: "${path}.k" must be <= n (${n}), got ${k}`);
  return kOfN(part, k, n);
}
