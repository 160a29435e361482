/**
 * Evaluates probes: SLO burn rates, latency quantiles and error ratios from the recorded metrics,
 * HTTP calls and commands.
 */
import { METRICS } from '@nines/slo';
import { fetchFailure } from './fetch-error.js';
import type { ProbeResult } from './journal.js';
import type { MetricsRecorder } from './metrics/recorder.js';
import {
  availabilityBurnRate,
  errorRatio,
  latencyBurnRate,
  quantileSeconds,
} from './metrics/sli.js';
import type { Measure, Probe, Threshold } from './model.js';
import { runCommand } from './process.js';

/** What probes need from the runner. */
export interface ProbeContext {
  /** Absent when no probe reads metrics. */
  readonly recorder?: MetricsRecorder;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Whether `value` passes the threshold (`below`: strictly less; `above`: strictly more). */
export function passes(value: number, t: Threshold): boolean {
  return t.op === 'below' ? value < t.value : value > t.value;
}

/** Words for a threshold. */
export function describeThreshold(t: Threshold, unit = ''): string {
  return `${t.op} ${round(t.value)}${unit}`;
}

function round(n: number): number {
  return Math.round(n * 1e4) / 1e4;
}

/**
 * Runs one probe (a hypothesis probe, or an abort condition: a guard that must keep holding).
 * A probe with `within` is retried until it passes or the time is up.
 */
export async function evaluateProbe(
  probe: Probe,
  ctx: ProbeContext,
  options: { readonly signal?: AbortSignal } = {},
): Promise<ProbeResult> {
  const started = ctx.now();
  const deadline = started + probe.withinMs;
  for (;;) {
    const result = await measureOnce(probe, ctx, options.signal);
    // No requests in the window: nothing to judge, so neither a miss nor an abort.
    const passed = result.noData ? true : result.pass;
    const done = passed || ctx.now() >= deadline || options.signal?.aborted;
    if (done) {
      return {
        name: probe.name,
        met: passed,
        value: result.value,
        expected: result.expected,
        detail: result.detail,
        ...(result.noData ? { noData: true } : {}),
        ...(result.error ? { error: result.error } : {}),
        durationMs: Math.round(ctx.now() - started),
      };
    }
    await ctx
      .sleep(Math.min(500, Math.max(50, probe.withinMs / 10)), options.signal)
      .catch(() => {});
  }
}

interface Measured {
  /** The measure's own comparison held (before turning it into an abort condition). */
  readonly pass: boolean;
  readonly value: number | null;
  readonly expected: string;
  readonly detail: string;
  readonly noData?: boolean;
  readonly error?: string;
}

async function measureOnce(
  probe: Probe,
  ctx: ProbeContext,
  signal: AbortSignal | undefined,
): Promise<Measured> {
  const m = probe.measure;
  try {
    switch (m.kind) {
      case 'burn-rate':
      case 'latency':
      case 'error-ratio':
        return fromMetrics(m, ctx);
      case 'http':
        return await httpProbe(m, ctx, signal);
      case 'command': {
        const res = await runCommand(m.run, {
          timeoutMs: m.timeoutMs,
          ...(signal ? { signal } : {}),
        });
        const expected = `exit ${m.exit}`;
        if (res.error)
          return { pass: false, value: res.code, expected, detail: res.error, error: res.error };
        return {
          pass: res.code === m.exit,
          value: res.code,
          expected,
          detail: `exited ${res.code}${res.stderr ? `: ${res.stderr.trim().split('\n').pop()}` : ''}`,
        };
      }
    }
  } catch (err) {
    const message = (err as Error).message;
    return { pass: false, value: null, expected: '', detail: message, error: message };
  }
}

/** A metric value judged against its threshold; no value means no requests in the window. */
function judged(
  value: number | undefined,
  threshold: Threshold,
  unit: string,
  window: string,
  detail: (value: number) => string,
): Measured {
  const expected = describeThreshold(threshold, unit);
  if (value === undefined) {
    return { pass: true, value: null, expected, detail: `no requests in ${window}`, noData: true };
  }
  return { pass: passes(value, threshold), value: round(value), expected, detail: detail(value) };
}

function fromMetrics(
  m: Extract<Measure, { kind: 'burn-rate' | 'latency' | 'error-ratio' }>,
  ctx: ProbeContext,
): Measured {
  const windowText = `${m.windowMs / 1000}s`;
  const recorder = ctx.recorder;
  if (!recorder) throw new Error(`no metrics recorded for "${m.metrics}"`);
  if (m.kind === 'burn-rate') {
    const stats = recorder.window(m.metrics, { service: m.slo.service }, m.windowMs);
    const sli = m.slo.sli;
    const value =
      sli.type === 'latency'
        ? latencyBurnRate(stats, sli.thresholdSeconds, m.slo.objective)
        : availabilityBurnRate(stats, m.slo.objective);
    const covered = stats.complete
      ? windowText
      : `${Math.round(stats.coveredMs / 1000)}s of ${windowText}`;
    return judged(
      value,
      m.threshold,
      '',
      covered,
      (v) =>
        `burn rate ${round(v)} over ${covered} (${stats.requests} requests, ${stats.errors} errors)`,
    );
  }
  const filter = {
    ...(m.route ? { route: m.route } : {}),
    ...(m.method ? { method: m.method } : {}),
  };
  const stats = recorder.window(m.metrics, filter, m.windowMs);
  if (m.kind === 'latency') {
    const label = `p${round(m.quantile * 100)}`;
    return judged(
      quantileSeconds(stats, m.quantile),
      m.threshold,
      's',
      windowText,
      (v) => `${label} ${Math.round(v * 1000)} ms over ${windowText} (${stats.requests} requests)`,
    );
  }
  return judged(
    errorRatio(stats),
    m.threshold,
    '',
    windowText,
    (v) =>
      `${round(v * 100)} % errors over ${windowText} (${stats.errors} of ${stats.requests}; ${METRICS.labels.status} 5xx)`,
  );
}

async function httpProbe(
  m: Extract<Measure, { kind: 'http' }>,
  ctx: ProbeContext,
  signal: AbortSignal | undefined,
): Promise<Measured> {
  const expected = `status ${m.status.join(' or ')}`;
  const timeout = AbortSignal.timeout(m.timeoutMs);
  try {
    const res = await ctx.fetch(m.url, {
      method: m.method,
      headers: m.headers,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    await res.arrayBuffer().catch(() => undefined);
    return {
      pass: m.status.includes(res.status),
      value: res.status,
      expected,
      detail: `${m.method} ${m.url} -> ${res.status}`,
    };
  } catch (err) {
    const why = fetchFailure(err, timeout, m.timeoutMs);
    return {
      pass: false,
      value: null,
      expected,
      detail: `${m.method} ${m.url}: ${why}`,
      error: why,
    };
  }
}
