/**
 * The nines YAML format: one file per service, a list of SLOs, defaults for everything but the
 * name, the objective and the SLI.
 *
 * ```yaml
 * service: orders
 * slos:
 *   - name: availability
 *     objective: 99.9%
 *     sli: availability
 *   - name: latency
 *     objective: 99%
 *     window: 28d
 *     sli: { latency: { threshold: 200ms } }
 * ```
 *
 * @internal
 */
import {
  type AlertingConfig,
  type Budgeting,
  METRICS,
  type Sli,
  type Slo,
  type SloWindow,
} from '../model.js';
import { checkFraction, checkName, checkService, type Loaded, latencySli } from './common.js';
import {
  calendarUnit,
  isTimeZone,
  parseSeconds,
  parseShorthand,
  percentToFraction,
  shortWindowHint,
} from './duration.js';
import { type Source, suggest, type Value } from './reader.js';

const TOP = ['service', 'description', 'labels', 'slos'] as const;
const SLO = [
  'name',
  'description',
  'objective',
  'window',
  'sli',
  'budgeting',
  'alerting',
  'labels',
] as const;

/** Loads the SLOs of one nines document. */
export function loadNines(src: Source): Loaded[] {
  const root = src.root();
  if (root.node === null)
    throw root.error('the file is empty; expected a map with "service" and "slos"');
  const top = root.fields(TOP);
  const serviceValue = top.required('service');
  const service = checkService(serviceValue, serviceValue.string());
  const serviceLabels = top.get('labels')?.labels() ?? {};
  const items = top.required('slos').list();
  if (items.length === 0) throw top.required('slos').error('must list at least one SLO');
  return items.map((item) => loadSlo(item, service, serviceLabels));
}

function loadSlo(item: Value, service: string, serviceLabels: Record<string, string>): Loaded {
  const f = item.fields(SLO);
  const nameValue = f.required('name');
  const name = checkName(nameValue, nameValue.string());
  const description = f.get('description')?.string();
  const objective = readObjective(f.required('objective', 'e.g. 99.9% or 0.999'));
  const window = f.has('window') ? readWindow(f.get('window')!) : DEFAULT_WINDOW;
  const sli = readSli(f.required('sli', 'availability or { latency: { threshold: 200ms } }'));
  const budgeting = f.has('budgeting') ? readBudgeting(f.get('budgeting')!) : OCCURRENCES;
  const alerting = f.has('alerting') ? readAlerting(f.get('alerting')!) : DEFAULT_ALERTING;
  const labels = { ...serviceLabels, ...(f.get('labels')?.labels() ?? {}) };
  const line = item.src.lines.linePos(item.node?.range?.[0] ?? 0).line;
  const slo: Slo = {
    name,
    service,
    ...(description === undefined ? {} : { description }),
    objective,
    window,
    sli,
    budgeting,
    alerting,
    labels,
    origin: { file: item.src.file, line },
  };
  return { slo, at: nameValue };
}

const DEFAULT_WINDOW: SloWindow = { type: 'rolling', days: 30 };
const OCCURRENCES: Budgeting = { type: 'occurrences' };
const DEFAULT_ALERTING: AlertingConfig = { page: true, ticket: true };

/**
 * `99.9%` or `0.999`. A bare number above 1 (`99.9`) is refused rather than guessed: it is a
 * percentage in Sloth and a fraction everywhere else in this format.
 */
export function readObjective(value: Value): number {
  const raw = value.numberOrString();
  if (typeof raw === 'number') {
    if (raw >= 100) return checkFraction(value, 1, String(raw));
    if (raw > 1) {
      throw value.error(
        `${raw} is not a valid objective: a bare number is a fraction (${percentToFraction(raw)}); write ${raw}% for a percentage`,
      );
    }
    return checkFraction(value, raw, value.text);
  }
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(raw);
  if (!m)
    throw value.error(
      `"${raw}" is not a valid objective (write a percentage like 99.9% or a fraction like 0.999)`,
    );
  return checkFraction(value, percentToFraction(Number(m[1])), raw);
}

function readWindow(value: Value): SloWindow {
  if (value.isMap) {
    const f = value.fields(['calendar', 'timeZone']);
    const unitValue = f.required('calendar', 'month or quarter');
    const unit = unitValue.string();
    if (unit !== 'month' && unit !== 'quarter') {
      throw unitValue.error(`"${unit}" is not a calendar window (month or quarter)`);
    }
    return { type: 'calendar', unit, timeZone: readTimeZone(f.get('timeZone')) };
  }
  const text = value.string();
  const d = parseShorthand(text);
  if (d && (d.unit === 'd' || d.unit === 'w') && d.count > 0) {
    return { type: 'rolling', days: d.unit === 'w' ? d.count * 7 : d.count };
  }
  const unit = d && calendarUnit(d);
  if (unit) return { type: 'calendar', unit, timeZone: 'UTC' };
  throw value.error(
    `"${text}" is not a valid window: write whole days (30d, 28d, 7d), weeks (4w), or a calendar month or quarter (1M, 1Q, { calendar: month, timeZone: Europe/Paris })${shortWindowHint(d)}`,
  );
}

/** An IANA time zone, UTC when absent. */
export function readTimeZone(value: Value | undefined): string {
  if (!value) return 'UTC';
  const zone = value.string();
  if (!isTimeZone(zone))
    throw value.error(`"${zone}" is not an IANA time zone (e.g. Europe/Paris, UTC)`);
  return zone;
}

function readSli(value: Value): Sli {
  if (!value.isMap) {
    if (value.scalar === 'availability') return { type: 'availability' };
    if (value.scalar === 'latency') {
      throw value.error('a latency SLI needs a threshold: { latency: { threshold: 200ms } }');
    }
    const hint = suggest(value.text, ['availability']);
    throw value.error(
      `must be availability or { availability: {...} } or { latency: {...} }, got ${value.text}${hint ? `; did you mean ${hint}?` : ''}`,
    );
  }
  const [kind, body] = value.fields(['availability', 'latency']).oneOf(['availability', 'latency']);
  if (kind === 'availability') {
    // `availability:` with nothing after it is the plain kind without queries.
    if (!body.isMap && body.scalar === null) return { type: 'availability' };
    const f = body.fields(['total', 'bad', 'good']);
    if (!f.has('total') && !f.has('bad') && !f.has('good')) return { type: 'availability' };
    const total = f.required('total', 'the counter of all events').string();
    const [which, query] = f.oneOf(['bad', 'good']);
    return {
      type: 'availability',
      prometheus:
        which === 'bad' ? { total, bad: query.string() } : { total, good: query.string() },
    };
  }
  const f = body.fields(['threshold', 'buckets', 'histogram', 'selector']);
  const thresholdValue = f.required('threshold', 'e.g. 200ms');
  const threshold = readSeconds(thresholdValue);
  const bucketsValue = f.get('buckets');
  const buckets = bucketsValue && {
    value: bucketsValue,
    list: bucketsValue.list().map(readSeconds),
  };
  if (buckets?.list.length === 0) throw bucketsValue!.error('must list at least one boundary');
  const histogram = f.get('histogram')?.string();
  const selectorValue = f.get('selector');
  const selector = selectorValue?.string();
  if (selector !== undefined && !/^\{.*\}$/s.test(selector.trim())) {
    throw selectorValue!.error(
      `"${selector}" is not a label selector (e.g. {service_name="orders"})`,
    );
  }
  const prometheus =
    histogram === undefined && selector === undefined
      ? undefined
      : {
          histogram: histogram ?? METRICS.httpServerDuration,
          ...(selector === undefined ? {} : { selector: selector.trim() }),
        };
  return latencySli(thresholdValue, threshold, buckets, prometheus);
}

/** A duration in seconds: a number of seconds, or text such as `200ms` or `1.5s`. */
export function readSeconds(value: Value): number {
  const raw = value.numberOrString();
  if (typeof raw === 'number') return raw;
  const seconds = parseSeconds(raw);
  if (seconds === undefined) {
    throw value.error(`"${raw}" is not a duration (e.g. 200ms, 0.2s, or a number of seconds)`);
  }
  return seconds;
}

function readBudgeting(value: Value): Budgeting {
  if (!value.isMap) {
    if (value.scalar === 'occurrences') return OCCURRENCES;
    if (value.scalar === 'timeslices') {
      throw value.error(
        'timeslices needs a slice and a target: { timeslices: { slice: 1m, target: 95% } }',
      );
    }
    const hint = suggest(value.text, ['occurrences', 'timeslices']);
    throw value.error(
      `must be occurrences or { timeslices: { slice, target } }, got ${value.text}${hint ? `; did you mean ${hint}?` : ''}`,
    );
  }
  const body = value.fields(['timeslices']).required('timeslices');
  const f = body.fields(['slice', 'target']);
  const sliceValue = f.required('slice', 'e.g. 1m');
  const sliceSeconds = readSeconds(sliceValue);
  if (!(sliceSeconds >= 1) || !Number.isInteger(sliceSeconds)) {
    throw sliceValue.error(
      `a slice must be a whole number of seconds, at least 1s, got ${sliceValue.text}`,
    );
  }
  const targetValue = f.required('target', 'e.g. 95%');
  const raw = targetValue.numberOrString();
  const m = typeof raw === 'string' ? /^(\d+(?:\.\d+)?)\s*%$/.exec(raw) : null;
  const sliceTarget =
    typeof raw === 'number' ? raw : m ? percentToFraction(Number(m[1])) : Number.NaN;
  if (!(sliceTarget > 0 && sliceTarget <= 1)) {
    throw targetValue.error(
      `${targetValue.text} is not a valid slice target (a fraction in (0, 1] or a percentage up to 100%)`,
    );
  }
  return { type: 'timeslices', sliceSeconds, sliceTarget };
}

function readAlerting(value: Value): AlertingConfig {
  const f = value.fields(['page', 'ticket']);
  return {
    page: f.get('page')?.boolean() ?? true,
    ticket: f.get('ticket')?.boolean() ?? true,
  };
}
