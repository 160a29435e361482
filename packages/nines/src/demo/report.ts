/**
 * The demo's final report as text: what the chaos experiment showed, what it cost in error
 * budget, which alerts and breakers moved, the slowest trace, and proof that everything stopped.
 */
import { clockText } from '../progress.js';
import type { BreakerChange, DemoReport } from './model.js';
import { msText, palette, percentText } from './view.js';

/** `17 s`, `1 m 10 s`, `450 ms`. */
function spanText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const rest = s % 60;
  return `${Math.floor(s / 60)} m${rest === 0 ? '' : ` ${rest} s`}`;
}

/** A fraction of the error budget as a signed percent of it. */
function budgetText(fraction: number): string {
  return percentText(fraction, 1);
}

const SOURCE_ORDER = ['live', 'cache', 'stale'];

/** The final report, as text ending with a newline. Colors only with `color`. */
export function renderDemoReport(report: DemoReport, options: { color?: boolean } = {}): string {
  const p = palette(options.color === true);
  const out: string[] = [];
  const heading = (text: string) => {
    if (out.length > 0) out.push('');
    out.push(p.bold(text));
  };

  // Written defensively: a report read back from JSON may come from a build without `startedAt`.
  const started = typeof report.startedAt === 'string' ? `, started ${report.startedAt}` : '';
  out.push(p.bold(`nines demo report (${spanText(report.durationMs)}${started})`));

  // The chaos experiment.
  const chaos = report.chaos;
  if (chaos === null) {
    heading('Chaos experiment');
    out.push('  not run (--no-chaos): traffic only, nothing was broken on purpose');
  } else {
    heading(`Chaos experiment: ${chaos.title}`);
    const verdict = chaos.deviated
      ? p.red('deviated: the steady state did not hold')
      : chaos.hypothesisHeld
        ? p.green('held: the steady state held before, during and after the faults')
        : p.yellow(
            'inconclusive: the experiment ended before the steady state was checked throughout',
          );
    out.push(`  verdict  ${verdict} (status ${chaos.status})`);
    if (chaos.reason !== '') out.push(`  why      ${chaos.reason}`);
    if (chaos.steps.length > 0) {
      out.push('  steps');
      for (const step of chaos.steps) {
        out.push(`    ${clockText(step.startMs)}-${clockText(step.endMs)}  ${step.name}`);
      }
    }
  }

  // Error budgets.
  heading('SLO error budgets');
  if (report.slos.length === 0) out.push('  no SLO reported');
  for (const s of report.slos) {
    const spent = s.budgetAtStart - s.budgetAtEnd;
    const end = s.budgetAtEnd <= 0 ? p.red(budgetText(s.budgetAtEnd)) : budgetText(s.budgetAtEnd);
    out.push(
      `  ${s.service}/${s.name}  objective ${percentText(s.objective, 3)}  attained ${percentText(s.attainment, 3)}`,
    );
    out.push(
      `    budget ${budgetText(s.budgetAtStart)} -> ${end}  lowest ${budgetText(s.budgetLowest)}  spent ${budgetText(spent)}`,
    );
    const policy =
      s.policy === 'exhausted'
        ? p.red('exhausted: changes frozen')
        : s.policy === 'at-risk'
          ? p.yellow('at risk')
          : s.policy;
    out.push(`    error budget policy  ${policy}`);
  }

  // Alerts.
  heading('Burn-rate alerts');
  if (report.alerts.length === 0) out.push('  none fired');
  for (const a of report.alerts) {
    const severity = a.severity === 'page' ? p.red('page  ') : p.yellow('ticket');
    const life =
      a.resolvedAtMs === null
        ? p.red(`still firing at the end (for ${spanText(report.durationMs - a.firedAtMs)} so far)`)
        : `resolved ${clockText(a.resolvedAtMs)}, lasted ${spanText(a.resolvedAtMs - a.firedAtMs)}`;
    out.push(`  ${clockText(a.firedAtMs)}  ${severity}  ${a.service}/${a.slo}  fired, ${life}`);
  }

  // Breakers.
  heading('Circuit breakers');
  if (report.breakers.length === 0) out.push('  no breaker changed state');
  for (const line of breakerTimeline(report.breakers)) {
    if (line.trials) {
      out.push(
        `  ${clockText(line.atMs)}-${clockText(line.untilMs ?? line.atMs)}  ${line.service}/${line.name}  ${line.trials} trial calls failed (half-open -> ${p.red('open')})`,
      );
      continue;
    }
    const to =
      line.to === 'open'
        ? p.red(line.to)
        : line.to === 'closed'
          ? p.green(line.to)
          : p.yellow(line.to);
    out.push(`  ${clockText(line.atMs)}  ${line.service}/${line.name}  ${line.from} -> ${to}`);
  }

  // Prices.
  heading('Prices by source');
  const sources = Object.keys(report.prices).sort((a, b) => {
    const ia = SOURCE_ORDER.indexOf(a);
    const ib = SOURCE_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  if (sources.length === 0) out.push('  none served');
  else {
    out.push(
      `  ${sources
        .map((s) => `${s} ${report.prices[s] ?? 0}${s === 'stale' ? ' (the fallback served)' : ''}`)
        .join('   ')}`,
    );
  }

  // Traffic.
  heading('Traffic');
  const t = report.traffic;
  const failedShare = t.sent === 0 ? '' : ` (${percentText(t.failed / t.sent, 2)})`;
  out.push(`  sent ${t.sent}   ok ${t.ok}   failed ${t.failed}${failedShare}`);

  // The slowest trace.
  const trace = report.slowestTrace;
  if (trace === null) {
    heading('Slowest trace');
    out.push('  none recorded across orders, store and pricing');
  } else {
    heading(
      `Slowest trace ${trace.traceId} (${msText(trace.durationMs)}, ${trace.services.join(' -> ')})`,
    );
    out.push(trace.waterfall.replace(/\n+$/, ''));
  }

  // Shutdown.
  heading('Processes');
  if (report.processes.length === 0) out.push('  none started');
  for (const proc of report.processes) {
    out.push(`  ${proc.service.padEnd(10)} pid ${String(proc.pid).padEnd(8)} ${proc.exit}`);
  }
  out.push(
    `  ports freed: ${report.portsFreed ? p.green('yes') : p.red('no (a port is still taken)')}`,
  );

  heading('Files');
  out.push(`  logs      ${report.logs}`);
  out.push(`  journal   ${chaos === null ? 'none (no chaos experiment)' : chaos.journal}`);

  return `${out.join('\n')}\n`;
}

/** A line of the breaker timeline: one change, or a run of failed half-open trials folded up. */
interface TimelineLine {
  readonly service: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly atMs: number;
  /** Set for a folded run: how many open -> half-open -> open cycles, and when the last ended. */
  readonly trials?: number;
  readonly untilMs?: number;
}

/**
 * The breaker changes in order, with each run of failed trials (open -> half-open -> open, every
 * open period while the dependency stays down) folded into one line, so a long outage reads as
 * one fact instead of a page of flapping.
 */
export function breakerTimeline(changes: readonly BreakerChange[]): TimelineLine[] {
  const out: TimelineLine[] = [];
  const runs = new Map<string, number>();
  const folded = new Set<number>();
  for (let i = 0; i < changes.length; i++) {
    if (folded.has(i)) continue;
    const c = changes[i]!;
    const key = `${c.service}/${c.name}`;
    let j = i + 1;
    while (j < changes.length && `${changes[j]!.service}/${changes[j]!.name}` !== key) j++;
    const next = changes[j];
    if (
      c.from === 'open' &&
      c.to === 'half-open' &&
      next?.from === 'half-open' &&
      next.to === 'open'
    ) {
      // The half-open -> open that ends this trial is folded in too.
      folded.add(j);
      const at = runs.get(key);
      if (at === undefined) {
        out.push({ ...c, trials: 1, untilMs: next.atMs });
        runs.set(key, out.length - 1);
      } else {
        const run = out[at]!;
        out[at] = { ...run, trials: (run.trials ?? 0) + 1, untilMs: next.atMs };
      }
      continue;
    }
    runs.delete(key);
    out.push({ ...c });
  }
  return out;
}
