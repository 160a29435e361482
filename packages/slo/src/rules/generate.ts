/**
 * Prometheus recording and alerting rules from the SLO model: the path for fleets that outgrow
 * one process. The alert pairs and factors are the in-process engine's
 * ({@link DEFAULT_ALERT_WINDOWS}, {@link burnRateFactor}), so both alert on the same conditions.
 */
import {
  type AlertSeverity,
  type AlertWindowPair,
  burnRateFactor,
  DEFAULT_ALERT_WINDOWS,
} from '../engine/alerts.js';
import { PeriodCalculator } from '../engine/period.js';
import type { Slo } from '../model.js';
import { errorRatio, promDuration, promNumber, promString, sanitizeLabelName } from './promql.js';

/** A recording rule. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** An alerting rule. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires; absent: at once. */
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** One rule group, evaluated in order: every rule reads the series recorded before it. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

/** The result of {@link prometheusRules}: a Prometheus rule file's content. */
export interface PrometheusRules {
  readonly groups: readonly RuleGroup[];
}

/** Options of {@link prometheusRules}. */
export interface PrometheusRulesOptions {
  /** Alert window pairs; default {@link DEFAULT_ALERT_WINDOWS}, factors scaled to each period. */
  readonly alertWindows?: readonly AlertWindowPair[];
  /** Labels added to every rule (e.g. `{ cluster: 'eu-1' }`); names are sanitized. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Emit {@link BUDGET_EXHAUSTED_ALERT} (default true) for SLOs with any alert enabled. */
  readonly budgetExhaustedAlert?: boolean;
  /** The exhausted alert's `for`, a Prometheus duration (default `'5m'`). */
  readonly budgetExhaustedFor?: string;
}

/** Name of the multi-window multi-burn-rate alerts; the `severity` label tells page from ticket. */
export const BURN_RATE_ALERT = 'SloErrorBudgetBurn';
/** Name of the alert that fires when the period's budget is spent (remaining <= 0). */
export const BUDGET_EXHAUSTED_ALERT = 'SloErrorBudgetExhausted';

/** Labels the rules set themselves; an SLO or option label may not use them. */
const RESERVED = ['slo', 'service', 'severity', 'slo_objective', 'slo_window', 'slo_sli'];
const OPTION_KEYS = ['alertWindows', 'labels', 'budgetExhaustedAlert', 'budgetExhaustedFor'];
const PROM_DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkLabels(value: unknown, field: string): Record<string, string> {
  if (!isObject(value)) throw new TypeError(`${field} must be an object of strings`);
  const out: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new TypeError(`${field}.${k} must be a string, got ${describe(v)}`);
    }
    const name = sanitizeLabelName(k);
    if (RESERVED.includes(name)) {
      throw new Error(`${field}.${k}: the label "${name}" is set by the rules themselves`);
    }
    if (from[name] !== undefined) {
      throw new Error(`${field}: labels "${from[name]}" and "${k}" both become "${name}"`);
    }
    from[name] = k;
    out[name] = v;
  }
  return out;
}

function checkPairs(value: unknown): readonly AlertWindowPair[] {
  const f = 'prometheusRules: option "alertWindows';
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`${f}" must be a non-empty array, got ${describe(value)}`);
  }
  value.forEach((p: unknown, i) => {
    const g = `${f}[${i}]`;
    if (!isObject(p)) throw new TypeError(`${g}" must be an object`);
    if (p.severity !== 'page' && p.severity !== 'ticket') {
      throw new TypeError(`${g}.severity" must be "page" or "ticket", got ${describe(p.severity)}`);
    }
    for (const k of ['longWindowMs', 'shortWindowMs'] as const) {
      const v = p[k];
      // Whole seconds at least: the windows become PromQL range durations.
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1000) {
        throw new TypeError(`${g}.${k}" must be a whole number of ms >= 1000, got ${describe(v)}`);
      }
    }
    const b = p.budgetPercent;
    if (typeof b !== 'number' || !(b > 0 && b <= 100)) {
      throw new TypeError(`${g}.budgetPercent" must be a number in (0, 100], got ${describe(b)}`);
    }
    if ((p.shortWindowMs as number) > (p.longWindowMs as number)) {
      throw new TypeError(`${g}.shortWindowMs" must not exceed longWindowMs`);
    }
  });
  return value as AlertWindowPair[];
}

interface Checked {
  readonly pairs: readonly AlertWindowPair[];
  readonly labels: Record<string, string>;
  readonly exhausted: boolean;
  readonly exhaustedFor: string;
}

function checkOptions(options: unknown): Checked {
  if (options === undefined) {
    return { pairs: DEFAULT_ALERT_WINDOWS, labels: {}, exhausted: true, exhaustedFor: '5m' };
  }
  if (!isObject(options)) throw new TypeError('prometheusRules: options must be an object');
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k)) throw new TypeError(`prometheusRules: unknown option "${k}"`);
  }
  const o = options as PrometheusRulesOptions;
  if (o.budgetExhaustedAlert !== undefined && typeof o.budgetExhaustedAlert !== 'boolean') {
    throw new TypeError(
      `prometheusRules: option "budgetExhaustedAlert" must be a boolean, got ${describe(o.budgetExhaustedAlert)}`,
    );
  }
  const exhaustedFor = o.budgetExhaustedFor ?? '5m';
  if (typeof exhaustedFor !== 'string' || !PROM_DURATION.test(exhaustedFor)) {
    throw new TypeError(
      `prometheusRules: option "budgetExhaustedFor" must be a Prometheus duration like "5m", got ${describe(exhaustedFor)}`,
    );
  }
  return {
    pairs: o.alertWindows === undefined ? DEFAULT_ALERT_WINDOWS : checkPairs(o.alertWindows),
    labels: o.labels === undefined ? {} : checkLabels(o.labels, 'prometheusRules: option "labels"'),
    exhausted: o.budgetExhaustedAlert ?? true,
    exhaustedFor,
  };
}

function checkSlo(slo: unknown, field: string): Slo {
  if (!isObject(slo)) throw new TypeError(`${field} must be an SLO object`);
  for (const k of ['name', 'service'] as const) {
    if (typeof slo[k] !== 'string' || slo[k] === '') {
      throw new TypeError(`${field}.${k} must be a non-empty string, got ${describe(slo[k])}`);
    }
  }
  const o = slo.objective;
  if (typeof o !== 'number' || !(o > 0 && o < 1)) {
    throw new TypeError(`${field}.objective must be a number in (0, 1), got ${describe(o)}`);
  }
  const w = slo.window;
  if (
    !isObject(w) ||
    (w.type === 'rolling'
      ? !(typeof w.days === 'number' && Number.isInteger(w.days) && w.days > 0)
      : w.type !== 'calendar' || (w.unit !== 'month' && w.unit !== 'quarter'))
  ) {
    throw new TypeError(
      `${field}.window must be { type: 'rolling', days } with whole days > 0 or { type: 'calendar', unit: 'month' | 'quarter' }`,
    );
  }
  const sli = slo.sli;
  if (!isObject(sli) || (sli.type !== 'availability' && sli.type !== 'latency')) {
    throw new TypeError(`${field}.sli.type must be "availability" or "latency"`);
  }
  if (sli.type === 'latency') {
    const t = sli.thresholdSeconds;
    if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) {
      throw new TypeError(`${field}.sli.thresholdSeconds must be a positive number`);
    }
  }
  const a = slo.alerting;
  if (!isObject(a) || typeof a.page !== 'boolean' || typeof a.ticket !== 'boolean') {
    throw new TypeError(`${field}.alerting must be { page: boolean, ticket: boolean }`);
  }
  return slo as unknown as Slo;
}

/** How the window is described in `slo_window` and annotations. */
function windowText(slo: Slo, periodMs: number): string {
  const w = slo.window;
  return w.type === 'rolling' ? promDuration(periodMs) : `calendar ${w.unit} (${w.timeZone})`;
}

/** Labels in name order, as Prometheus shows them, so the files read and diff well. */
function sorted(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k] as string;
  return out;
}

/** Keeps user text from being read as a Go template by Prometheus. */
function literal(text: string): string {
  return text.replace(/\{\{|\}\}/g, (m) => `{{ "${m}" }}`);
}

function percent(objective: number): string {
  return `${promNumber(objective * 100)}%`;
}

function sloRules(slo: Slo, field: string, opts: Checked): RuleGroup {
  const ratio = errorRatio(slo, field);
  const period = new PeriodCalculator(slo.window).nominalMs;
  const periodRange = promDuration(period);
  const budget = 1 - slo.objective;
  const budgetText = promNumber(budget);
  const id = { slo: slo.name, service: slo.service };
  const labels = sorted({
    ...opts.labels,
    ...checkLabels(slo.labels ?? {}, `${field}.labels`),
    ...id,
  });
  const sel = `{slo=${promString(slo.name)}, service=${promString(slo.service)}}`;
  const rules: (RecordingRule | AlertingRule)[] = [];

  // Every window of the pairs, ascending, then the period; 24 h and 1 d share a record.
  const windows = [
    ...new Set(
      [...opts.pairs]
        .flatMap((p) => [p.shortWindowMs, p.longWindowMs])
        .sort((a, b) => a - b)
        .map(promDuration),
    ),
  ];
  if (!windows.includes(periodRange)) windows.push(periodRange);
  for (const w of windows) {
    rules.push({ record: `slo:sli_error:ratio_rate${w}`, expr: ratio(w), labels });
  }
  for (const w of windows) {
    rules.push({
      record: `slo:burn_rate:ratio_rate${w}`,
      expr: `slo:sli_error:ratio_rate${w}${sel} / ${budgetText}`,
      labels,
    });
  }
  const days = period / 86_400_000;
  rules.push(
    { record: 'slo:objective:ratio', expr: `vector(${promNumber(slo.objective)})`, labels },
    { record: 'slo:error_budget:ratio', expr: `vector(${budgetText})`, labels },
    { record: 'slo:time_period:days', expr: `vector(${promNumber(days)})`, labels },
    {
      record: 'slo:period_error_budget_remaining:ratio',
      expr: `1 - slo:burn_rate:ratio_rate${periodRange}${sel}`,
      labels,
    },
    {
      record: 'nines_slo_info',
      expr: 'vector(1)',
      labels: sorted({
        ...labels,
        slo_objective: promNumber(slo.objective),
        slo_window: windowText(slo, period),
        slo_sli: slo.sli.type,
      }),
    },
  );

  const name = literal(`${slo.service}/${slo.name}`);
  for (const severity of ['page', 'ticket'] as const satisfies readonly AlertSeverity[]) {
    const pairs = opts.pairs.filter((p) => p.severity === severity);
    if (!slo.alerting[severity] || pairs.length === 0) continue;
    const terms: string[] = [];
    const texts: string[] = [];
    for (const p of pairs) {
      const factor = promNumber(burnRateFactor(p, period));
      const long = promDuration(p.longWindowMs);
      const short = promDuration(p.shortWindowMs);
      const over = `> (${factor} * ${budgetText})`;
      terms.push(
        `(\n  slo:sli_error:ratio_rate${long}${sel} ${over}\nand\n  slo:sli_error:ratio_rate${short}${sel} ${over}\n)`,
      );
      texts.push(`${factor}x over ${long} and ${short}`);
    }
    rules.push({
      alert: BURN_RATE_ALERT,
      expr: terms.join('\nor\n'),
      labels: { service: slo.service, severity, slo: slo.name },
      annotations: {
        summary: `SLO ${name} burns its error budget too fast (${severity}).`,
        description: `Objective ${percent(slo.objective)} over ${literal(windowText(slo, period))}: the error ratio exceeds the budget (${budgetText}) times ${texts.join(', or ')}.`,
      },
    });
  }
  if (opts.exhausted && (slo.alerting.page || slo.alerting.ticket)) {
    rules.push({
      alert: BUDGET_EXHAUSTED_ALERT,
      expr: `slo:period_error_budget_remaining:ratio${sel} <= 0`,
      for: opts.exhaustedFor,
      labels: { service: slo.service, severity: 'ticket', slo: slo.name },
      annotations: {
        summary: `SLO ${name} has spent its error budget.`,
        description: `Objective ${percent(slo.objective)} over ${literal(windowText(slo, period))}: no error budget remains; the error budget policy freezes deploys.`,
      },
    });
  }
  return { name: `nines-slo/${slo.service}/${slo.name}`, rules };
}

/**
 * Prometheus rules for SLOs: one group per SLO (`nines-slo/<service>/<name>`) holding, in
 * evaluation order,
 * - `slo:sli_error:ratio_rate<w>`: the SLI's error ratio for each alert window and the period,
 *   0 (never NaN) without traffic;
 * - `slo:burn_rate:ratio_rate<w>`: the error ratio over the budget `1 - objective`;
 * - `slo:objective:ratio`, `slo:error_budget:ratio`, `slo:time_period:days`,
 *   `slo:period_error_budget_remaining:ratio` and `nines_slo_info`;
 * - {@link BURN_RATE_ALERT} per enabled severity (the pairs OR-ed, each pair
 *   `long > f x budget and short > f x budget`) and {@link BUDGET_EXHAUSTED_ALERT}.
 *
 * Every series carries the labels `slo` and `service` and the SLO's labels (sanitized).
 * Calendar windows are approximated by their nominal length (30 or 90 days) as a rolling range,
 * and timeslice budgeting by event ratios: PromQL has no calendar ranges.
 *
 * @throws TypeError naming the SLO field or option that is invalid; Error when two SLOs share a
 *   service and name or labels clash.
 */
export function prometheusRules(
  slos: readonly Slo[],
  options?: PrometheusRulesOptions,
): PrometheusRules {
  if (!Array.isArray(slos)) {
    throw new TypeError(`prometheusRules: slos must be an array, got ${describe(slos)}`);
  }
  const opts = checkOptions(options);
  const seen = new Map<string, number>();
  const groups = slos.map((s: unknown, i) => {
    const field = `prometheusRules: slos[${i}]`;
    const slo = checkSlo(s, field);
    const group = sloRules(slo, field, opts);
    const before = seen.get(group.name);
    if (before !== undefined) {
      throw new Error(
        `${field}: SLO "${slo.name}" of service "${slo.service}" is also slos[${before}]`,
      );
    }
    seen.set(group.name, i);
    return group;
  });
  return { groups };
}
