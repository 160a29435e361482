/**
 * The demo's final report as text: what the chaos experiment showed, what it cost in error
 * budget, which alerts and breakers moved, the slowest trace, and proof that everything stopped.
 */
import { clockText } from '../progress.js';
import type { DemoReport } from './model.js';
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
  for (const b of report.breakers) {
    const to = b.to === 'open' ? p.red(b.to) : b.to === 'closed' ? p.green(b.to) : p.yellow(b.to);
    out.push(`  ${clockText(b.atMs)}  ${b.service}/${b.name}  ${b.from} -> ${to}`);
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
