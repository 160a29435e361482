/**
 * Text for people: the plan of an experiment (the dry run) and the report of a run.
 */
import type { ActivityRecord, CheckRun, Journal, ProbeResult } from './journal.js';
import { exitCodeOf } from './journal.js';
import type { Action, Experiment, Measure, Probe, Step } from './model.js';
import { describeThreshold } from './probes.js';

const pct = (share: number) => `${Math.round(share * 1000) / 10} %`;

function ms(n: number): string {
  if (n < 1000) return `${n}ms`;
  const s = n / 1000;
  if (s < 120 || s % 60 !== 0) return `${Math.round(s * 10) / 10}s`;
  return `${s / 60}m`;
}

function describeMeasure(m: Measure): string {
  switch (m.kind) {
    case 'burn-rate':
      return `burn rate of ${m.slo.service}/${m.slo.name} (${pct(m.slo.objective)}) over ${ms(m.windowMs)} ${describeThreshold(m.threshold)}, from ${m.metrics}`;
    case 'latency':
      return `p${Math.round(m.quantile * 1000) / 10} of ${m.metrics}${m.route ? ` ${m.route}` : ''} over ${ms(m.windowMs)} ${m.threshold.op} ${ms(Math.round(m.threshold.value * 1000))}`;
    case 'error-ratio':
      return `error ratio of ${m.metrics}${m.route ? ` ${m.route}` : ''} over ${ms(m.windowMs)} ${m.threshold.op} ${pct(m.threshold.value)}`;
    case 'http':
      return `${m.method} ${m.url} answers ${m.status.join(' or ')} within ${ms(m.timeoutMs)}`;
    case 'command':
      return `\`${m.run.join(' ')}\` exits ${m.exit} within ${ms(m.timeoutMs)}`;
  }
}

function describeProbe(p: Probe): string {
  return `${p.name}: ${describeMeasure(p.measure)}${p.withinMs ? ` (retried for up to ${ms(p.withinMs)})` : ''}`;
}

/** One line for an action, as the plan shows it. */
export function describeAction(
  a: Action,
  exp: Experiment,
  share?: number,
  instances?: number,
): string {
  const lasting = (d?: number) => (d !== undefined ? ` for ${ms(d)}` : ' until the rollbacks');
  const via = (v: { proxy: string } | { faults: string; target: string }) =>
    'proxy' in v
      ? `proxy "${v.proxy}" (${exp.proxy})`
      : `"${v.target}" in ${v.faults} (${exp.faults[v.faults]?.url})`;
  const shareText = (s?: number) => {
    const x = s ?? share;
    return x !== undefined && x < 1 ? `, ${pct(x)} of ${'requests/connections'}` : '';
  };
  switch (a.kind) {
    case 'add-latency':
      return `add ${ms(a.latencyMs)}${a.jitterMs ? ` ± ${ms(a.jitterMs)}` : ''} latency on ${via(a.via)}${shareText(a.share)}${lasting(a.durationMs)}`;
    case 'block':
      return `block ${via(a.via)} (${a.mode === 'hang' ? 'calls hang' : 'connections refused'})${a.mode === 'hang' ? shareText(a.share) : ''}${lasting(a.durationMs)}`;
    case 'inject-error':
      return `fail calls to ${via(a.via)} with ${a.status ? `status ${a.status}` : 'an error'}${shareText(a.share)}${lasting(a.durationMs)}`;
    case 'skew-clock':
      return `skew the clock of ${via(a.via)} by ${a.offsetMs < 0 ? '-' : '+'}${ms(Math.abs(a.offsetMs))}${lasting(a.durationMs)}`;
    case 'kill': {
      const s = a.share ?? instances;
      return `kill ${s === undefined ? 'one instance' : `${pct(s)} of the instances`} of ${a.instances} with ${a.signal}`;
    }
    case 'fill-disk':
      return `fill ${a.directory} to ${a.percent} % of ${a.capacityBytes} bytes${lasting(a.durationMs)}`;
    case 'http':
      return `${a.method} ${a.url}${a.status ? ` (expects ${a.status.join(' or ')})` : ''}`;
    case 'command':
      return `run \`${a.run.join(' ')}\`${a.exit !== undefined ? ` (expects exit ${a.exit})` : ''}`;
    case 'undo':
      return `undo step "${a.step}"`;
  }
}

function describeStep(s: Step, exp: Experiment, share?: number, instances?: number): string {
  return s.type === 'pause'
    ? `${s.name}: pause ${ms(s.ms)}`
    : `${s.name}: ${describeAction(s.action, exp, share, instances)}`;
}

/**
 * The plan of an experiment, for `--dry-run`: what would be checked and done, in order, without
 * contacting anything.
 */
export function renderPlan(exp: Experiment): string {
  if (exp === null || typeof exp !== 'object' || !Array.isArray(exp.method)) {
    throw new TypeError('renderPlan: expected a loaded experiment (see loadExperiment)');
  }
  const lines: string[] = [`Experiment: ${exp.title}`, `File: ${exp.file}`];
  if (exp.description) lines.push(`  ${exp.description}`);
  const br = exp.blastRadius;
  if (br.stages.length) lines.push(`Blast radius: stages ${br.stages.map(pct).join(' -> ')}`);
  else if (br.requests !== undefined || br.instances !== undefined) {
    lines.push(
      `Blast radius: ${[br.requests !== undefined ? `${pct(br.requests)} of requests` : '', br.instances !== undefined ? `${pct(br.instances)} of instances` : ''].filter(Boolean).join(', ')}`,
    );
  }
  if (exp.warmupMs) lines.push(`Warm-up: ${ms(exp.warmupMs)} of scraping before the first check`);
  const h = exp.hypothesis;
  if (h) {
    lines.push(
      `Steady-state hypothesis: ${h.title} (checked before, every ${ms(h.everyMs)} during${h.failFast ? ' with fail-fast' : ''}, and after)`,
    );
    for (const p of h.probes) lines.push(`  - ${describeProbe(p)}`);
  } else {
    lines.push('Steady-state hypothesis: none (the run only checks that the method completes)');
  }
  if (exp.abort.conditions.length) {
    lines.push(`Abort unless these hold (checked every ${ms(exp.abort.everyMs)}):`);
    for (const p of exp.abort.conditions) lines.push(`  - ${describeProbe(p)}`);
  }
  const runs = br.stages.length ? br.stages : [undefined];
  for (const stage of runs) {
    lines.push(stage === undefined ? 'Method:' : `Method at ${pct(stage)}:`);
    if (exp.method.length === 0) lines.push('  (empty: only the hypothesis is checked)');
    exp.method.forEach((s, i) => {
      lines.push(
        `  ${i + 1}. ${describeStep(s, exp, stage ?? br.requests, stage ?? br.instances)}`,
      );
    });
  }
  lines.push('Rollbacks (always run, also after an abort, an error or SIGINT):');
  lines.push('  - undo every change the method made that is still in place (newest first)');
  for (const s of exp.rollbacks) lines.push(`  - ${describeStep(s, exp)}`);
  lines.push(
    `Faults and toxics without a duration die by themselves after ${ms(exp.faultTtlMs)} if the runner is gone.`,
  );
  return `${lines.join('\n')}\n`;
}

function checkLine(label: string, c: CheckRun | null): string[] {
  if (!c) return [`  ${label}: not checked`];
  const out = [`  ${label} (+${ms(c.elapsedMs)}): ${c.met ? 'met' : 'NOT met'}`];
  for (const p of c.probes) out.push(`    ${p.met ? 'ok  ' : 'FAIL'} ${p.name}: ${p.detail}`);
  return out;
}

function activityLine(a: ActivityRecord): string {
  const mark = a.status === 'succeeded' ? 'ok  ' : a.status === 'failed' ? 'FAIL' : 'STOP';
  const stage = a.stage !== undefined ? ` [${pct(a.stage)}]` : '';
  return `  ${mark} ${a.name} (${a.type}, ${ms(a.durationMs)})${stage}${a.error ? `: ${a.error}` : ''}`;
}

function worst(runs: readonly CheckRun[]): ProbeResult[] {
  const misses: ProbeResult[] = [];
  for (const r of runs) for (const p of r.probes) if (!p.met) misses.push(p);
  return misses;
}

/** The report of a run, for people: verdict, checks, what was done and undone. */
export function renderReport(journal: Journal): string {
  if (journal === null || typeof journal !== 'object' || !Array.isArray(journal.run)) {
    throw new TypeError('renderReport: expected the journal of a run (see runExperiment)');
  }
  const verdict =
    journal.status === 'completed'
      ? journal.deviated
        ? 'DEVIATED: the hypothesis did not hold'
        : 'PASSED: the hypothesis held'
      : journal.status.toUpperCase();
  const lines = [
    `Experiment: ${journal.experiment.title}`,
    `Result: ${verdict} (status ${journal.status}, exit code ${exitCodeOf(journal)})`,
    `Why: ${journal.reason}`,
    `Ran ${journal.start} -> ${journal.end} (${journal.duration}s)`,
    '',
    'Steady state:',
    ...checkLine('before', journal.steady_states.before),
  ];
  const during = journal.steady_states.during;
  if (during.length) {
    const misses = worst(during);
    lines.push(`  during: ${during.length} checks, ${during.filter((c) => !c.met).length} not met`);
    const seen = new Set<string>();
    for (const p of misses) {
      if (seen.has(p.name)) continue;
      seen.add(p.name);
      lines.push(`    FAIL ${p.name}: first miss ${p.detail}`);
    }
  } else {
    lines.push('  during: not checked');
  }
  lines.push(...checkLine('after', journal.steady_states.after));
  if (journal.stages.length) {
    lines.push('', 'Stages:');
    for (const s of journal.stages)
      lines.push(`  ${pct(s.share)}: ${s.deviated ? 'deviated' : 'held'}`);
  }
  if (journal.abort_checks || journal.aborted_by) {
    lines.push(
      '',
      `Abort conditions: checked ${journal.abort_checks} times${journal.aborted_by ? `; no longer held: ${journal.aborted_by.name}: ${journal.aborted_by.detail}` : ', always held'}`,
    );
  }
  const down = Object.entries(journal.scrapes).filter(([, h]) => h.failed > 0);
  if (down.length) {
    lines.push('', 'Metrics scrapes that failed:');
    for (const [url, h] of down) {
      lines.push(
        `  ${url}: ${h.failed} of ${h.ok + h.failed} failed${h.lastError ? ` (last: ${h.lastError})` : ''}`,
      );
    }
  }
  lines.push('', 'Method:');
  if (journal.run.length === 0) lines.push('  (nothing ran)');
  for (const a of journal.run) lines.push(activityLine(a));
  lines.push('', 'Rollbacks:');
  if (journal.rollbacks.length === 0) lines.push('  (nothing to undo)');
  for (const a of journal.rollbacks) lines.push(activityLine(a));
  return `${lines.join('\n')}\n`;
}
