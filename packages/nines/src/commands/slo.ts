import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  type AlertEvaluation,
  type BudgetForecast,
  type BudgetStatus,
  formatDuration,
  formatPercent,
  loadSloFiles,
  parseSnapshot,
  prometheusRules,
  type Slo,
  type SloTracker,
  SpecError,
  type SpecFormat,
  sloTracker,
  type TrackerSnapshot,
  toRulesYaml,
} from '@nines/slo';
import { type Command, EXIT, type Io, parseOptions, UsageError, userPath } from '../command.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The windows `nines slo report` gives burn rates for: the alert windows people read first. */
const BURN_WINDOWS: readonly (readonly [string, number])[] = [
  ['5m', 5 * MINUTE],
  ['1h', HOUR],
  ['6h', 6 * HOUR],
  ['1d', DAY],
  ['3d', 3 * DAY],
];

const FORMATS: readonly SpecFormat[] = ['nines', 'openslo', 'sloth'];

/** `service/name`: how every command names an SLO, and the key of a snapshot map. */
export function sloId(slo: Slo): string {
  return `${slo.service}/${slo.name}`;
}

function errnoCode(err: unknown): string {
  return String((err as NodeJS.ErrnoException).code ?? (err as Error).message);
}

/**
 * Loads SLO specs from files or directories. A bad spec throws the {@link SpecError} as is, so the
 * caller prints its `file:line:column: field: problem` unchanged (see {@link reportSpecError}).
 */
export async function loadSpecs(paths: readonly string[], io: Io, format?: string): Promise<Slo[]> {
  if (format !== undefined && !FORMATS.includes(format as SpecFormat)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  }
  for (const path of paths) {
    try {
      await stat(userPath(path, io));
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${errnoCode(err)}`);
    }
  }
  let slos: Slo[];
  try {
    slos = await loadSloFiles(
      paths.map((p) => userPath(p, io)),
      format ? { format: format as SpecFormat } : undefined,
    );
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const path = (err as NodeJS.ErrnoException).path;
    if (path) throw new UsageError(`cannot read ${path}: ${errnoCode(err)}`);
    throw err;
  }
  if (slos.length === 0) {
    throw new UsageError(
      `no SLOs found in ${paths.join(', ')} (directories are searched for .yaml and .yml files)`,
    );
  }
  return slos;
}

/**
 * Prints a spec error exactly as the loader words it (so editors and CI logs can jump to
 * `file:line:column`) and gives exit code 2; rethrows anything else.
 */
export function reportSpecError(err: unknown, io: Io): number {
  if (err instanceof SpecError) {
    io.err(`${err.message}\n`);
    return EXIT.usage;
  }
  throw err;
}

/** A snapshot read from a file, and where from for messages. */
interface LoadedSnapshot {
  readonly snapshot: TrackerSnapshot;
  readonly source: string;
}

/**
 * Reads snapshot files. A file holds either one snapshot as `fileStore()` writes it (matched to
 * the SLO of its `slo` name) or a JSON object mapping `"<service>/<name>"` to snapshots; a
 * directory stands for its `.json` files. Returns the snapshots by SLO id (map entries) and by
 * bare name (single files, whose service is not recorded in the snapshot).
 */
async function loadSnapshots(paths: readonly string[], io: Io) {
  const byId = new Map<string, LoadedSnapshot>();
  const byName: LoadedSnapshot[] = [];
  const files: string[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(userPath(path, io))).isDirectory();
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${errnoCode(err)}`);
    }
    if (isDir) {
      const names = (await readdir(userPath(path, io))).filter((n) => extname(n) === '.json');
      files.push(...names.sort().map((n) => join(path, n)));
    } else {
      files.push(path);
    }
  }
  for (const file of files) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(userPath(file, io), 'utf8'));
    } catch (err) {
      if (err instanceof SyntaxError) {
        throw new UsageError(`${file} is not valid JSON: ${err.message}`);
      }
      throw new UsageError(`cannot read ${file}: ${errnoCode(err)}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new UsageError(
        `${file}: must be a snapshot or an object of snapshots by "<service>/<name>"`,
      );
    }
    if ('version' in value) {
      byName.push({ snapshot: checkSnapshot(file, value), source: file });
      continue;
    }
    for (const [key, entry] of Object.entries(value)) {
      const match = /^([^/]+)\/([^/]+)$/.exec(key);
      if (!match) {
        throw new UsageError(`${file}: key "${key}" must be "<service>/<name>"`);
      }
      const source = `${file} ["${key}"]`;
      const snapshot = checkSnapshot(source, entry);
      if (snapshot.slo !== match[2]) {
        throw new UsageError(
          `${source}: is a snapshot of SLO "${snapshot.slo}", not "${match[2]}"`,
        );
      }
      if (byId.has(key)) {
        throw new UsageError(
          `${source}: a second snapshot of ${key} (first in ${byId.get(key)!.source})`,
        );
      }
      byId.set(key, { snapshot, source });
    }
  }
  return { byId, byName };
}

function checkSnapshot(source: string, value: unknown): TrackerSnapshot {
  try {
    return parseSnapshot(value);
  } catch (err) {
    throw new UsageError(`${source}: ${(err as Error).message}`);
  }
}

/** An SLO with its tracker restored from a snapshot, as of the time it is evaluated at. */
export interface RestoredSlo {
  readonly slo: Slo;
  readonly tracker: SloTracker;
  readonly source: string;
  /** The time the tracker answers for (ms since the epoch). */
  readonly at: number;
}

/** Parses `--at`: `now`, or a date and time `Date.parse` reads. */
export function parseAt(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === 'now') return Date.now();
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `--at must be "now" or a date and time such as 2026-11-01T00:00:00Z, got "${value}"`,
    );
  }
  return ms;
}

/**
 * Restores a tracker for each SLO that has a snapshot. The tracker's clock stands still at `at`
 * (default: the snapshot's own time), so the report reads the state as it was saved rather than
 * aging it by however long ago the file was written.
 */
export async function restoreSlos(
  slos: readonly Slo[],
  snapshotPaths: readonly string[],
  io: Io,
  at?: number,
): Promise<{ restored: RestoredSlo[]; missing: string[] }> {
  const { byId, byName } = await loadSnapshots(snapshotPaths, io);
  const found = new Map<Slo, LoadedSnapshot>();
  for (const slo of slos) {
    const entry = byId.get(sloId(slo));
    if (entry) found.set(slo, entry);
  }
  for (const entry of byName) {
    const named = slos.filter((s) => s.name === entry.snapshot.slo);
    if (named.length === 0) {
      throw new UsageError(
        `${entry.source}: snapshot of SLO "${entry.snapshot.slo}", which the spec does not define`,
      );
    }
    if (named.length > 1) {
      throw new UsageError(
        `${entry.source}: snapshot of SLO "${entry.snapshot.slo}", which ${named.map(sloId).join(' and ')} both name; use a file of snapshots by "<service>/<name>"`,
      );
    }
    const slo = named[0]!;
    const first = found.get(slo);
    if (first) {
      throw new UsageError(
        `${entry.source}: a second snapshot of ${sloId(slo)} (first in ${first.source})`,
      );
    }
    found.set(slo, entry);
  }
  if (found.size === 0) {
    throw new UsageError(
      `no snapshot matches an SLO of the spec (SLOs: ${slos.map(sloId).join(', ')})`,
    );
  }
  const restored: RestoredSlo[] = [];
  const missing: string[] = [];
  for (const slo of slos) {
    const entry = found.get(slo);
    if (!entry) {
      missing.push(sloId(slo));
      continue;
    }
    const now = at ?? entry.snapshot.at;
    let tracker: SloTracker;
    try {
      tracker = sloTracker(slo, {
        clock: { now: () => now },
        resolutionMs: entry.snapshot.resolutionMs,
        snapshot: entry.snapshot,
      });
    } catch (err) {
      throw new UsageError(`${entry.source}: ${sloId(slo)}: ${(err as Error).message}`);
    }
    restored.push({ slo, tracker, source: entry.source, at: now });
  }
  return { restored, missing };
}

/** The window as people write it in a spec: `30d`, or `calendar month (Europe/Paris)`. */
export function describeWindow(slo: Slo): string {
  const w = slo.window;
  return w.type === 'rolling' ? `${w.days}d` : `calendar ${w.unit} (${w.timeZone})`;
}

/** The SLI in a few words: `availability`, or `latency <= 200 ms`. */
export function describeSli(slo: Slo): string {
  const sli = slo.sli;
  const what =
    sli.type === 'availability'
      ? 'availability'
      : `latency <= ${formatDuration(sli.thresholdSeconds * 1000)}`;
  const b = slo.budgeting;
  return b.type === 'timeslices'
    ? `${what}, timeslices of ${formatDuration(b.sliceSeconds * 1000)} at ${formatPercent(b.sliceTarget)}`
    : what;
}

/** A number for people: at most three significant digits, no exponent for usual values. */
export function num(x: number): string {
  return x === 0 ? '0' : String(Number(x.toPrecision(3)));
}

/** A share of the budget as a percent that may be negative or above 100 %. */
export function share(fraction: number): string {
  return `${num(fraction * 100)}%`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '),
    )
    .join('\n');
}

const validateHelp = `Usage: nines slo validate <file or directory>... [options]

Loads every SLO spec (nines, OpenSLO v1 or Sloth prometheus/v1, detected per document; a
directory stands for its .yaml and .yml files) and prints one line per SLO: service/name,
objective, window and SLI. Files are loaded together, so an OpenSLO SLO may reference an SLI
defined in another file, and SLO names must be unique per service across them.

Options:
  --format <f>   read every document as nines, openslo or sloth instead of detecting it
  --json         print the loaded SLOs (the model) as JSON
  -h, --help     show this help

Exit codes: 0 every spec is valid; 2 a spec is invalid (the first problem is printed as
file:line:column: field: problem) or a file cannot be read.

Example:
  nines slo validate slos/ orders.openslo.yaml
`;

const validate: Command = {
  name: 'validate',
  summary: 'check SLO spec files and list their SLOs',
  help: validateHelp,
  async run(args, io) {
    const { values, positionals } = parseOptions({
      args: [...args],
      options: {
        format: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      io.out(validateHelp);
      return EXIT.ok;
    }
    if (positionals.length === 0) throw new UsageError('give at least one spec file or directory');
    let slos: Slo[];
    try {
      slos = await loadSpecs(positionals, io, values.format);
    } catch (err) {
      return reportSpecError(err, io);
    }
    if (values.json) {
      io.out(`${JSON.stringify(slos, null, 2)}\n`);
      return EXIT.ok;
    }
    const rows = slos.map((s) => [
      sloId(s),
      formatPercent(s.objective),
      describeWindow(s),
      describeSli(s),
    ]);
    io.out(`${table([['SLO', 'objective', 'window', 'SLI'], ...rows])}\n`);
    io.out(`${slos.length} SLO${slos.length === 1 ? '' : 's'} valid\n`);
    return EXIT.ok;
  },
};

/** What `nines slo report --json` prints for one SLO. */
interface SloReport {
  readonly slo: string;
  readonly objective: number;
  readonly window: string;
  readonly sli: string;
  readonly snapshot: string;
  readonly at: number;
  readonly attainment: number;
  readonly budget: BudgetStatus;
  readonly burnRates: Readonly<Record<string, number>>;
  readonly forecast: BudgetForecast;
  readonly alerts: Readonly<
    Record<'page' | 'ticket', { enabled: boolean; firing: boolean; since: number | null }>
  >;
}

function report({ slo, tracker, source, at }: RestoredSlo): SloReport {
  const alerts: AlertEvaluation = tracker.evaluateAlerts();
  const severity = (s: 'page' | 'ticket') => ({
    enabled: alerts[s].enabled,
    firing: alerts[s].firing,
    since: alerts[s].since,
  });
  return {
    slo: sloId(slo),
    objective: slo.objective,
    window: describeWindow(slo),
    sli: describeSli(slo),
    snapshot: source,
    at,
    attainment: tracker.attainment(),
    budget: tracker.budget(),
    burnRates: Object.fromEntries(BURN_WINDOWS.map(([name, ms]) => [name, tracker.burnRate(ms)])),
    forecast: tracker.forecast(HOUR),
    alerts: { page: severity('page'), ticket: severity('ticket') },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function minutes(m: number): string {
  return formatDuration(Math.abs(m) * MINUTE);
}

function events(n: number): string {
  return String(Number(n.toFixed(1)));
}

function printReport(r: SloReport): string {
  const b = r.budget;
  // A timeslices SLO spends its budget in bad slices, an occurrences SLO in bad events.
  const [left, allowed, unit] =
    b.slices !== null
      ? [b.slices.remainingBad, b.slices.allowedBad, 'bad slices']
      : [b.remainingEvents, b.allowedBadEvents, 'bad events'];
  const remaining =
    b.remaining >= 0
      ? `${share(b.remaining)} remaining: ${minutes(b.remainingMinutes)} of ${minutes(b.budgetMinutes)}, ${events(left)} of ${events(allowed)} ${unit}`
      : `overspent: ${share(b.remaining)} remaining, ${minutes(b.remainingMinutes)} and ${events(-left)} ${unit} beyond a budget of ${minutes(b.budgetMinutes)}, ${events(allowed)} ${unit}`;
  const f = r.forecast;
  let forecast: string;
  if (b.remaining <= 0) forecast = 'the budget is spent';
  else if (f.burnRate === 0) forecast = 'nothing burned over the last hour';
  else if (f.exhaustedAt === null || f.msLeft === null)
    forecast = `lasts the period at the last hour's burn rate (${num(f.burnRate)})`;
  else
    forecast = `spent in ${formatDuration(f.msLeft)} (${iso(f.exhaustedAt)}) at the last hour's burn rate (${num(f.burnRate)})`;
  const alert = (s: 'page' | 'ticket') => {
    const a = r.alerts[s];
    if (!a.enabled) return `${s} off`;
    return a.firing ? `${s} FIRING since ${iso(a.since ?? r.at)}` : `${s} ok`;
  };
  const lines = [
    `${r.slo}: ${formatPercent(r.objective)} over ${r.window}, ${r.sli}`,
    `  snapshot    ${r.snapshot}, evaluated at ${iso(r.at)}`,
    `  attainment  ${formatPercent(r.attainment, 3)} (${b.total} events, ${b.bad} bad)`,
    `  budget      ${remaining}`,
    `  burn rate   ${Object.entries(r.burnRates)
      .map(([w, v]) => `${w} ${num(v)}`)
      .join('  ')}`,
    `  forecast    ${forecast}`,
    `  alerts      ${alert('page')}, ${alert('ticket')}`,
  ];
  return `${lines.join('\n')}\n`;
}

const reportHelp = `Usage: nines slo report --spec <file> --snapshot <file> [options]

Restores each SLO of the spec from its snapshot and prints its attainment, the error budget
remaining (as a share, in minutes of full outage and in bad events), burn rates over 5m, 1h, 6h,
1d and 3d, when the budget runs out at the last hour's burn rate, and the page and ticket alerts.

Snapshots: a file written by fileStore() (one SLO, matched by its name), or a JSON object of
snapshots keyed by "<service>/<name>" (entries for SLOs the spec does not define are ignored);
a directory stands for its .json files; --snapshot may be repeated. SLOs without a snapshot are
listed as such.

Options:
  --spec <path>       SLO spec file or directory (repeatable)
  --snapshot <path>   snapshot file, map of snapshots, or directory (repeatable)
  --at <time>         evaluate at this time ("now" or e.g. 2026-11-01T00:00:00Z) instead of
                      the time each snapshot was taken; older events age out of the window
  --json              print JSON (times in ms since the epoch)
  -h, --help          show this help

Exit codes: 0 printed; 2 bad option, spec or snapshot.

Example:
  nines slo report --spec slos/orders.yaml --snapshot /var/lib/orders/slo-availability.json
`;

const reportCommand: Command = {
  name: 'report',
  summary: 'attainment, budget, burn rates and alerts of SLOs from saved snapshots',
  help: reportHelp,
  async run(args, io) {
    const { values } = parseOptions({
      args: [...args],
      options: {
        spec: { type: 'string', multiple: true },
        snapshot: { type: 'string', multiple: true },
        at: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.out(reportHelp);
      return EXIT.ok;
    }
    if (!values.spec) throw new UsageError('--spec <file> is required');
    if (!values.snapshot) throw new UsageError('--snapshot <file> is required');
    const at = parseAt(values.at);
    let slos: Slo[];
    try {
      slos = await loadSpecs(values.spec, io);
    } catch (err) {
      return reportSpecError(err, io);
    }
    const { restored, missing } = await restoreSlos(slos, values.snapshot, io, at);
    const reports = restored.map(report);
    if (values.json) {
      io.out(`${JSON.stringify({ slos: reports, withoutSnapshot: missing }, null, 2)}\n`);
      return EXIT.ok;
    }
    io.out(reports.map(printReport).join('\n'));
    for (const id of missing) io.out(`\n${id}: no snapshot\n`);
    return EXIT.ok;
  },
};

const rulesHelp = `Usage: nines slo rules <file or directory>... [options]

Writes the Prometheus recording and alerting rules of the SLOs in the specs (any format): error
ratios and burn rates per window, the budget remaining, the Workbook's multi-window
multi-burn-rate page and ticket alerts, and a budget-exhausted alert; one rule group per SLO.
Check the file with "promtool check rules" and load it through Prometheus' rule_files.

Options:
  --out <file>           write the rules to this file instead of standard output
  --label <name=value>   add a label to every rule, e.g. --label cluster=eu-1 (repeatable)
  --format <f>           read every document as nines, openslo or sloth
  -h, --help             show this help

Exit codes: 0 written; 2 bad option, spec, or an SLO the rules cannot be generated for.

Example:
  nines slo rules slos/ --out /etc/prometheus/rules/slos.yaml
`;

const rules: Command = {
  name: 'rules',
  summary: 'write Prometheus recording and alerting rules for SLO specs',
  help: rulesHelp,
  async run(args, io) {
    const { values, positionals } = parseOptions({
      args: [...args],
      options: {
        out: { type: 'string' },
        label: { type: 'string', multiple: true },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      io.out(rulesHelp);
      return EXIT.ok;
    }
    if (positionals.length === 0) throw new UsageError('give at least one spec file or directory');
    const labels: Record<string, string> = {};
    for (const pair of values.label ?? []) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new UsageError(`--label must be name=value, got "${pair}"`);
      labels[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    let slos: Slo[];
    try {
      slos = await loadSpecs(positionals, io, values.format);
    } catch (err) {
      return reportSpecError(err, io);
    }
    let text: string;
    try {
      text = toRulesYaml(prometheusRules(slos, values.label ? { labels } : undefined));
    } catch (err) {
      // Name the SLO by its id and definition, not by its index in the list loaded.
      const message = (err as Error).message.replace(
        /^prometheusRules: slos\[(\d+)\]/,
        (_, i: string) => {
          const slo = slos[Number(i)]!;
          const at = slo.origin ? ` (${slo.origin.file}:${slo.origin.line})` : '';
          return `${sloId(slo)}${at}`;
        },
      );
      throw new UsageError(
        message.replace(/^prometheusRules: option "labels"(?:\.[^:]+)?/, '--label'),
      );
    }
    if (values.out === undefined) {
      io.out(text);
      return EXIT.ok;
    }
    try {
      await writeFile(userPath(values.out, io), text);
    } catch (err) {
      throw new UsageError(`cannot write ${values.out}: ${errnoCode(err)}`);
    }
    io.out(
      `wrote the rules of ${slos.length} SLO${slos.length === 1 ? '' : 's'} to ${values.out}\n`,
    );
    return EXIT.ok;
  },
};

/** `nines slo`: SLO specs, reports from snapshots, and rules. */
export const slo: Command = {
  name: 'slo',
  summary: 'validate SLO specs, report on SLOs from snapshots, write Prometheus rules',
  help: `Usage: nines slo <command> [options]

Commands:
  validate  ${validate.summary}
  report    ${reportCommand.summary}
  rules     ${rules.summary}

Run "nines slo <command> --help" for a command's options.
`,
  commands: [validate, reportCommand, rules],
};
