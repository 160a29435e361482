/**
 * Import of OpenSLO v1: the Service, SLI and SLO kinds, from one multi-document stream or from
 * several files (an SLO may name an SLI defined in another file). The alerting kinds and
 * DataSource are read past: OpenSLO's alert conditions are single-window, and nines derives its
 * multi-window alerts from the objective instead.
 *
 * @internal
 */
import type { Budgeting, Sli, Slo, SloWindow } from '../model.js';
import { checkFraction, checkName, checkService, type Loaded, latencySli } from './common.js';
import {
  calendarUnit,
  isTimeZone,
  parseSeconds,
  parseShorthand,
  percentToFraction,
  shortWindowHint,
  wholeDays,
} from './duration.js';
import { type Fields, type Source, suggest, type Value } from './reader.js';

const DOC = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
const METADATA = ['name', 'displayName', 'labels', 'annotations'] as const;
const KINDS = [
  'Service',
  'SLI',
  'SLO',
  'DataSource',
  'AlertPolicy',
  'AlertCondition',
  'AlertNotificationTarget',
] as const;
const SLO_SPEC = [
  'description',
  'service',
  'indicator',
  'indicatorRef',
  'timeWindow',
  'budgetingMethod',
  'objectives',
  'alertPolicies',
] as const;
const SLI_SPEC = ['description', 'thresholdMetric', 'ratioMetric'] as const;
const RATIO = ['counter', 'good', 'bad', 'total', 'rawType', 'raw'] as const;
const OBJECTIVE = [
  'displayName',
  'op',
  'value',
  'target',
  'targetPercent',
  'timeSliceTarget',
  'timeSliceWindow',
  'indicator',
  'indicatorRef',
  'compositeWeight',
] as const;
const BUDGETING = ['Occurrences', 'Timeslices', 'RatioTimeslices'] as const;

/** One OpenSLO document after its envelope was checked. */
interface Doc {
  readonly kind: (typeof KINDS)[number];
  readonly name: string;
  readonly nameValue: Value;
  readonly metadata: Value;
  readonly spec: Value | undefined;
}

function readDoc(src: Source): Doc {
  const f = src.root().fields(DOC);
  const apiVersion = f.required('apiVersion');
  if (apiVersion.string() !== 'openslo/v1') {
    throw apiVersion.error(`"${apiVersion.text}" is not supported; nines reads openslo/v1`);
  }
  const kindValue = f.required('kind');
  const kind = kindValue.string();
  if (!(KINDS as readonly string[]).includes(kind)) {
    const hint = suggest(kind, KINDS);
    throw kindValue.error(
      `"${kind}" is not an OpenSLO kind${hint ? `; did you mean "${hint}"?` : ` (${KINDS.join(', ')})`}`,
    );
  }
  const metadata = f.required('metadata');
  const nameValue = metadata.fields(METADATA).required('name');
  return {
    kind: kind as Doc['kind'],
    name: nameValue.string(),
    nameValue,
    metadata,
    spec: f.get('spec'),
  };
}

/** Loads the SLOs of a set of OpenSLO documents, resolving `indicatorRef` across all of them. */
export function loadOpenSlo(sources: readonly Source[]): Loaded[] {
  const docs = sources.map(readDoc);
  const slis = new Map<string, Doc>();
  for (const doc of docs) {
    if (doc.kind === 'SLI') {
      if (slis.has(doc.name)) throw doc.nameValue.error(`duplicate SLI name "${doc.name}"`);
      slis.set(doc.name, doc);
    } else if (doc.kind === 'Service') {
      doc.spec?.fields(['description']).get('description')?.string();
    }
  }
  const out: Loaded[] = [];
  for (const doc of docs) if (doc.kind === 'SLO') out.push(...loadSlo(doc, slis));
  return out;
}

function loadSlo(doc: Doc, slis: ReadonlyMap<string, Doc>): Loaded[] {
  if (!doc.spec) doc.metadata.parent!.fields(DOC).required('spec');
  const f = doc.spec!.fields(SLO_SPEC);
  const serviceValue = f.required('service');
  const service = checkService(serviceValue, serviceValue.string());
  const description = f.get('description')?.string();
  const labels = readLabels(doc.metadata.fields(METADATA).get('labels'));

  const [how, indicator] = f.oneOf(['indicator', 'indicatorRef']);
  let sliSpec: Value;
  if (how === 'indicatorRef') {
    const ref = indicator.string();
    const sli = slis.get(ref);
    if (!sli) {
      const hint = suggest(ref, [...slis.keys()]);
      throw indicator.error(
        `no SLI named "${ref}"${hint ? `; did you mean "${hint}"?` : slis.size ? ` (SLIs: ${[...slis.keys()].join(', ')})` : ' (load the file that defines it too)'}`,
      );
    }
    if (!sli.spec) sli.metadata.parent!.fields(DOC).required('spec');
    sliSpec = sli.spec!;
  } else {
    const inline = indicator.fields(['metadata', 'spec']);
    inline.get('metadata')?.fields(METADATA);
    sliSpec = inline.required('spec');
  }
  const metric = readSliSpec(sliSpec);

  const window = readWindow(f.required('timeWindow', 'e.g. [{ duration: 28d, isRolling: true }]'));
  const methodValue = f.required('budgetingMethod', 'Occurrences or Timeslices');
  const method = methodValue.string();
  if (method === 'RatioTimeslices') {
    throw methodValue.error('RatioTimeslices is not supported (Occurrences or Timeslices)');
  }
  if (!(BUDGETING as readonly string[]).includes(method)) {
    const hint = suggest(method, BUDGETING);
    throw methodValue.error(
      `"${method}" is not a budgeting method${hint ? `; did you mean "${hint}"?` : ' (Occurrences or Timeslices)'}`,
    );
  }
  // Read past alert policies: nines alerts on the Workbook's burn-rate pairs for every SLO.
  f.get('alertPolicies')?.list();

  const objectivesValue = f.required('objectives');
  const objectives = objectivesValue.list();
  if (objectives.length === 0) throw objectivesValue.error('must list at least one objective');
  if (metric.kind === 'threshold' && objectives.length > 1) {
    throw objectives[1]!.error('a thresholdMetric SLO has exactly one objective');
  }
  const origin = doc.nameValue.src.lines.linePos(doc.nameValue.node?.range?.[0] ?? 0);
  return objectives.map((item, index) => {
    const o = item.fields(OBJECTIVE);
    for (const key of ['indicator', 'indicatorRef', 'compositeWeight'] as const) {
      o.get(key)?.fail('composite SLOs are not supported; define one SLO per indicator');
    }
    const displayValue = o.get('displayName');
    const display = displayValue?.string();
    // One objective keeps the SLO's own name; several need a suffix to stay unique.
    const suffix = display ? slug(display) : objectives.length > 1 ? String(index) : '';
    const name = suffix ? `${doc.name}-${suffix}` : doc.name;
    checkName(displayValue ?? doc.nameValue, name);
    const objective = readTarget(o, item);
    const sli = buildSli(metric, o);
    const budgeting = readBudgeting(method, o);
    const slo: Slo = {
      name,
      service,
      ...(description === undefined ? {} : { description }),
      objective,
      window,
      sli,
      budgeting,
      alerting: { page: true, ticket: true },
      labels,
      origin: { file: doc.nameValue.src.file, line: origin.line },
    };
    return { slo, at: displayValue ?? doc.nameValue };
  });
}

/** A display name as a name suffix: `Under 200 ms` gives `under-200-ms`. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * OpenSLO label values may be lists; Prometheus labels are single strings, so a list is joined
 * with commas, and characters a label name cannot hold become `_` (as OpenTelemetry does).
 */
function readLabels(value: Value | undefined): Record<string, string> {
  if (!value) return {};
  const out: Record<string, string> = {};
  const keys = value.keys();
  const fields = value.fields(keys);
  for (const key of keys) {
    const v = fields.get(key)!;
    const name = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(?=\d)/, '_');
    out[name] = v.isMap
      ? v.fail('a label value must be a string or a list of strings')
      : v.scalar === undefined
        ? v.list().map(labelText).join(',')
        : labelText(v);
  }
  return out;
}

function labelText(value: Value): string {
  const v = value.scalar;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : value.string();
}

/** What an SLI spec measures, before the objective says how it is judged. */
type Metric =
  | { kind: 'ratio'; sli: Sli }
  | { kind: 'threshold'; query: string | undefined; value: Value };

function readSliSpec(value: Value): Metric {
  const f = value.fields(SLI_SPEC);
  f.get('description')?.string();
  const [kind, body] = f.oneOf(['ratioMetric', 'thresholdMetric']);
  if (kind === 'thresholdMetric') {
    return { kind: 'threshold', query: readMetric(body), value: body };
  }
  const r = body.fields(RATIO);
  for (const key of ['raw', 'rawType'] as const) {
    r.get(key)?.fail(
      'raw ratio metrics (a precomputed ratio) are not supported: nines needs event counts; use good or bad, and total',
    );
  }
  const counter = r.get('counter');
  if (counter && !counter.boolean()) {
    throw counter.error(
      'only counters are supported (counter: true): budgets are counted in events',
    );
  }
  const total = readMetric(r.required('total'));
  const [which, metric] = r.oneOf(['good', 'bad']);
  const query = readMetric(metric);
  // Queries are kept only when both sides have one; a data source other than Prometheus has none.
  if (total === undefined || query === undefined)
    return { kind: 'ratio', sli: { type: 'availability' } };
  return {
    kind: 'ratio',
    sli: {
      type: 'availability',
      prometheus: which === 'good' ? { total, good: query } : { total, bad: query },
    },
  };
}

/** The PromQL of a `{ metricSource: { spec: { query } } }`, if the source has one. */
function readMetric(value: Value): string | undefined {
  const source = value.fields(['metricSource']).required('metricSource');
  const s = source.fields(['metricSourceRef', 'type', 'spec']);
  s.get('metricSourceRef')?.string();
  s.get('type')?.string();
  const spec = s.required('spec');
  // The spec is the data source's own schema; only a Prometheus-style `query` is read.
  return spec.fields(spec.keys()).get('query')?.string().trim();
}

const HISTOGRAM = /^([a-zA-Z_:][a-zA-Z0-9_:]*?_seconds)(?:_bucket|_count|_sum)?\s*(\{[^}]*\})?$/;

function buildSli(metric: Metric, o: Fields): Sli {
  if (metric.kind === 'ratio') {
    for (const key of ['op', 'value'] as const) {
      o.get(key)?.fail(`${key} applies to a thresholdMetric only`);
    }
    return metric.sli;
  }
  const opValue = o.required('op', 'lt or lte for a latency threshold');
  const op = opValue.string();
  const valueValue = o.required('value', 'the latency threshold in seconds');
  const threshold = valueValue.number();
  if (op === 'gt' || op === 'gte') {
    throw opValue.error(
      `op: ${op} is not supported: a thresholdMetric maps to a latency SLI (the share of requests under the value), which needs lt or lte`,
    );
  }
  if (op !== 'lt' && op !== 'lte')
    throw opValue.error(`"${op}" is not an operator (lt, lte, gt, gte)`);
  const m = metric.query === undefined ? null : HISTOGRAM.exec(metric.query);
  if (!m) {
    throw metric.value.error(
      `this thresholdMetric cannot be mapped to a latency SLI: nines counts requests under the threshold in a histogram, so metricSource.spec.query must be a histogram selector in seconds (e.g. http_server_request_duration_seconds_bucket{service_name="orders"}), got ${metric.query === undefined ? 'no query' : JSON.stringify(metric.query)}`,
    );
  }
  // The histogram counts `le` (<=); lt and lte differ only at the boundary itself.
  return latencySli(valueValue, threshold, undefined, {
    histogram: m[1]!,
    ...(m[2] ? { selector: m[2] } : {}),
  });
}

function readTarget(o: Fields, item: Value): number {
  if (!o.has('target') && !o.has('targetPercent')) {
    throw item.error('target (a fraction, e.g. 0.999) or targetPercent (e.g. 99.9) is required');
  }
  const [key, value] = o.oneOf(['target', 'targetPercent']);
  const n = value.number();
  return key === 'target'
    ? checkFraction(value, n, value.text)
    : checkFraction(value, percentToFraction(n), `${n}%`);
}

function readBudgeting(method: string, o: Fields): Budgeting {
  if (method === 'Occurrences') {
    for (const key of ['timeSliceTarget', 'timeSliceWindow'] as const) {
      o.get(key)?.fail(`${key} applies to budgetingMethod Timeslices only`);
    }
    return { type: 'occurrences' };
  }
  const targetValue = o.required('timeSliceTarget', 'required for Timeslices, e.g. 0.95');
  const sliceTarget = targetValue.number();
  if (!(sliceTarget > 0 && sliceTarget <= 1)) {
    throw targetValue.error(`${sliceTarget} is not a valid timeSliceTarget (must be in (0, 1])`);
  }
  const windowValue = o.required('timeSliceWindow', 'required for Timeslices, e.g. 1m');
  const raw = windowValue.numberOrString();
  // OpenSLO: a bare number is minutes.
  const sliceSeconds = typeof raw === 'number' ? raw * 60 : parseSeconds(raw);
  if (sliceSeconds === undefined || !(sliceSeconds >= 1) || !Number.isInteger(sliceSeconds)) {
    throw windowValue.error(
      `"${raw}" is not a valid timeSliceWindow (e.g. 1m, 5m, 30s; a bare number is minutes)`,
    );
  }
  return { type: 'timeslices', sliceSeconds, sliceTarget };
}

function readWindow(value: Value): SloWindow {
  const items = value.list();
  if (items.length !== 1)
    throw value.error(`must list exactly one time window, got ${items.length}`);
  const f = items[0]!.fields(['duration', 'isRolling', 'calendar']);
  const durationValue = f.required('duration', 'e.g. 28d or 1M');
  const text = durationValue.string();
  const d = parseShorthand(text);
  if (!d || d.count <= 0) {
    throw durationValue.error(
      `"${text}" is not an OpenSLO duration (an integer and one of m h d w M Q Y, e.g. 28d, 1M)`,
    );
  }
  const rollingValue = f.get('isRolling');
  const calendarValue = f.get('calendar');
  const rolling = rollingValue?.boolean() ?? calendarValue === undefined;
  const shorter = d.unit === 'm' || (d.unit === 'h' && d.count < 24);
  if (shorter) {
    throw durationValue.error(
      `${text} is ${d.count === 1 ? 'one' : d.count} ${d.unit === 'm' ? 'minute' : 'hour'}${d.count === 1 ? '' : 's'}, shorter than a day${shortWindowHint(d) || '; an SLO window is days, weeks, a month or a quarter (e.g. 28d, 1M)'}`,
    );
  }
  if (!rolling) {
    if (rollingValue && rollingValue.scalar === false && !calendarValue) {
      f.required('calendar', 'a calendar window needs { startTime, timeZone }');
    }
    const c = calendarValue?.fields(['startTime', 'timeZone']);
    const start = c?.get('startTime');
    if (start && !/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$/.test(start.string())) {
      throw start.error(`"${start.text}" is not a start time (YYYY-MM-DD HH:mm:ss)`);
    }
    const zoneValue = c?.get('timeZone');
    const zone = zoneValue?.string() ?? 'UTC';
    if (zoneValue && !isTimeZone(zone)) throw zoneValue.error(`"${zone}" is not an IANA time zone`);
    const unit = calendarUnit(d);
    if (!unit) {
      throw durationValue.error(
        `a calendar window must be 1M (a month) or 1Q (a quarter), got ${text}`,
      );
    }
    return { type: 'calendar', unit, timeZone: zone };
  }
  if (calendarValue)
    throw calendarValue.error('a rolling window has no calendar (set isRolling: false)');
  const days = wholeDays(d);
  if (days === undefined) {
    throw durationValue.error(
      `a rolling window must be whole days or weeks (e.g. 28d, 4w), got ${text}; for a calendar month set isRolling: false with a calendar`,
    );
  }
  return { type: 'rolling', days };
}
