/**
 * Import of Sloth's `prometheus/v1` spec. Sloth has no per-SLO window: its period is a CLI flag
 * defaulting to 30 days, so every imported SLO gets a 30-day rolling window.
 *
 * @internal
 */
import type { AlertingConfig, Slo } from '../model.js';
import { checkFraction, checkName, checkService, type Loaded } from './common.js';
import { percentToFraction } from './duration.js';
import type { Source, Value } from './reader.js';

const TOP = ['version', 'service', 'labels', 'slo_plugins', 'slos'] as const;
const SLO = ['name', 'objective', 'description', 'labels', 'plugins', 'sli', 'alerting'] as const;
const ALERTING = ['name', 'labels', 'annotations', 'page_alert', 'ticket_alert'] as const;
const ALERT = ['disable', 'labels', 'annotations'] as const;
const WINDOW_TEMPLATE = /\{\{ *\.window *\}\}/;

/** Loads the SLOs of one Sloth `prometheus/v1` document. */
export function loadSloth(src: Source): Loaded[] {
  const top = src.root().fields(TOP);
  const version = top.required('version');
  if (version.string() !== 'prometheus/v1') {
    throw version.error(`"${version.text}" is not a supported Sloth version (prometheus/v1)`);
  }
  const serviceValue = top.required('service');
  const service = checkService(serviceValue, serviceValue.string());
  const serviceLabels = top.get('labels')?.labels() ?? {};
  top.get('slo_plugins')?.fail(UNSUPPORTED_PLUGINS);
  const items = top.required('slos').list();
  if (items.length === 0) throw top.required('slos').error('must list at least one SLO');
  return items.map((item) => loadSlo(item, service, serviceLabels));
}

const UNSUPPORTED_PLUGINS =
  'Sloth plugins are not supported: nines generates its own rules from the SLO (remove the plugins)';

function loadSlo(item: Value, service: string, serviceLabels: Record<string, string>): Loaded {
  const f = item.fields(SLO);
  const nameValue = f.required('name');
  const name = checkName(nameValue, nameValue.string());
  const objectiveValue = f.required('objective', 'a percentage, e.g. 99.9');
  const percent = objectiveValue.number();
  // Sloth writes the objective as a percentage (99.9); Sloth itself accepts 100, nines does not.
  const objective = checkFraction(objectiveValue, percentToFraction(percent), `${percent}%`);
  const description = f.get('description')?.string();
  const labels = { ...serviceLabels, ...(f.get('labels')?.labels() ?? {}) };
  f.get('plugins')?.fail(UNSUPPORTED_PLUGINS);
  const sli = readSli(f.required('sli', 'events: { error_query, total_query }'));
  const alerting = f.has('alerting') ? readAlerting(f.get('alerting')!) : ALL_ALERTS;
  const line = item.src.lines.linePos(item.node?.range?.[0] ?? 0).line;
  const slo: Slo = {
    name,
    service,
    ...(description === undefined ? {} : { description }),
    objective,
    window: { type: 'rolling', days: 30 },
    sli,
    budgeting: { type: 'occurrences' },
    alerting,
    labels,
    origin: { file: item.src.file, line },
  };
  return { slo, at: nameValue };
}

const ALL_ALERTS: AlertingConfig = { page: true, ticket: true };

function readSli(value: Value): Slo['sli'] {
  const f = value.fields(['events', 'raw', 'plugin']);
  // A precomputed error ratio cannot be measured in process or budgeted in events, which the
  // rest of nines needs; refuse it here rather than produce an SLO that half works.
  f.get('raw')?.fail(
    'a precomputed error ratio is not supported: nines needs event counts; write sli.events with error_query and total_query',
  );
  f.get('plugin')?.fail(
    'SLI plugins are not supported; write sli.events with error_query and total_query',
  );
  const events = f
    .required('events', 'error_query and total_query')
    .fields(['error_query', 'total_query']);
  const bad = readQuery(events.required('error_query'));
  const total = readQuery(events.required('total_query'));
  if (bad === total)
    throw events.get('total_query')!.error('total_query must differ from error_query');
  return { type: 'availability', prometheus: { total, bad, windowed: true } };
}

function readQuery(value: Value): string {
  const query = value.string().trim();
  if (!WINDOW_TEMPLATE.test(query)) {
    throw value.error(
      'the query must use {{.window}} for its range, e.g. rate(http_requests_total[{{.window}}])',
    );
  }
  return query;
}

function readAlerting(value: Value): AlertingConfig {
  const f = value.fields(ALERTING);
  // name, labels and annotations name Sloth's generated alerts; nines names its own, so they are
  // accepted (the spec stays valid for Sloth) but not carried into the model.
  f.get('name')?.string();
  f.get('labels')?.labels();
  f.get('annotations')?.labels();
  const disabled = (key: 'page_alert' | 'ticket_alert') => {
    const alert = f.get(key)?.fields(ALERT);
    alert?.get('labels')?.labels();
    alert?.get('annotations')?.labels();
    return alert?.get('disable')?.boolean() ?? false;
  };
  return { page: !disabled('page_alert'), ticket: !disabled('ticket_alert') };
}
