/**
 * What the demo reads from its services once a second: RED from each `/metrics` (the same
 * histogram the SLOs are measured from), breaker states, the prices pricing served by source, and
 * the SLOs, budgets and burn-rate alerts orders reports on `/slo`. Breaker transitions come from
 * the services' own WARN log lines, so the timeline has their exact times.
 */
import {
  createMetricsRecorder,
  errorRatio,
  parsePrometheusText,
  quantileSeconds,
  requestRate,
} from '@nines/chaos';
import type {
  AlertRecord,
  AlertView,
  BreakerChange,
  BreakerView,
  ServiceView,
  SloView,
} from './model.js';

/** A service to watch. */
export interface Watched {
  readonly name: string;
  readonly url: string;
}

/** The `GET /slo` answer of a service. */
interface SloAnswer {
  readonly slos: ReadonlyArray<Omit<SloView, 'service' | 'policy'> & { readonly policy?: string }>;
  readonly events: ReadonlyArray<{
    readonly type: 'fired' | 'resolved';
    readonly slo: string;
    readonly severity: 'page' | 'ticket';
    readonly at: number;
  }>;
}

const RED_WINDOW_MS = 5000;
const BREAKER_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;

/** Watches the services; `tick()` once a second, read the views any time. */
export function createCollector(options: {
  readonly services: readonly Watched[];
  /** Services that answer `GET /slo`. */
  readonly sloServices: readonly string[];
  /** Epoch ms the demo started (times in the report are relative to it). */
  readonly startedAt: number;
  readonly fetch?: typeof fetch;
}) {
  const doFetch = options.fetch ?? globalThis.fetch;
  const recorder = createMetricsRecorder({
    targets: options.services.map((s) => ({ name: s.name, urls: [`${s.url}/metrics`] })),
    retainMs: 10 * 60_000,
  });
  const up = new Map<string, boolean>();
  const breakers = new Map<string, BreakerView>();
  const prices: Record<string, number> = {};
  const slos = new Map<string, SloView>();
  const budgets = new Map<string, { start: number | null; lowest: number; end: number }>();
  const alertRecords: AlertRecord[] = [];
  const seenEvents = new Set<string>();
  const changes: BreakerChange[] = [];
  let trafficStarted = false;

  const get = async (url: string): Promise<string | null> => {
    try {
      const res = await doFetch(url, { signal: AbortSignal.timeout(1500) });
      const text = await res.text();
      return res.ok ? text : null;
    } catch {
      return null;
    }
  };

  const scrape = async (s: Watched, now: number) => {
    const url = `${s.url}/metrics`;
    const text = await get(url);
    up.set(s.name, text !== null);
    if (text === null) return;
    const samples = parsePrometheusText(text);
    recorder.record(s.name, url, samples, now);
    for (const sample of samples) {
      if (sample.name === 'nines_circuit_breaker_state' && sample.value === 1) {
        const name = sample.labels.name ?? '?';
        const state = sample.labels.state as BreakerView['state'];
        if (BREAKER_STATES.includes(state)) {
          breakers.set(`${s.name}/${name}`, { service: s.name, name, state });
        }
      }
      if (sample.name === 'pricing_prices_served_total') {
        prices[sample.labels.source ?? '?'] = sample.value;
      }
    }
  };

  const readSlos = async (service: string, url: string) => {
    const text = await get(`${url}/slo`);
    if (text === null) return;
    let answer: SloAnswer;
    try {
      answer = JSON.parse(text) as SloAnswer;
    } catch {
      return;
    }
    for (const s of answer.slos) {
      const key = `${service}/${s.name}`;
      slos.set(key, { service, ...s, policy: s.policy ?? 'unknown' });
      const b = budgets.get(key) ?? {
        start: null,
        lowest: s.budgetRemaining,
        end: s.budgetRemaining,
      };
      if (trafficStarted && b.start === null) b.start = s.budgetRemaining;
      if (b.start !== null) b.lowest = Math.min(b.lowest, s.budgetRemaining);
      b.end = s.budgetRemaining;
      budgets.set(key, b);
    }
    for (const e of answer.events) {
      const id = `${e.type}|${e.slo}|${e.severity}|${e.at}`;
      if (seenEvents.has(id)) continue;
      seenEvents.add(id);
      const atMs = Math.max(0, e.at - options.startedAt);
      if (e.type === 'fired') {
        alertRecords.push({
          service,
          slo: e.slo,
          severity: e.severity,
          firedAtMs: atMs,
          resolvedAtMs: null,
        });
      } else {
        const open = alertRecords.find(
          (r) =>
            r.service === service &&
            r.slo === e.slo &&
            r.severity === e.severity &&
            r.resolvedAtMs === null,
        );
        if (open) (open as { resolvedAtMs: number | null }).resolvedAtMs = atMs;
      }
    }
  };

  return {
    /** Reads everything once. */
    async tick(): Promise<void> {
      const now = Date.now();
      await Promise.all([
        ...options.services.map((s) => scrape(s, now)),
        ...options.services
          .filter((s) => options.sloServices.includes(s.name))
          .map((s) => readSlos(s.name, s.url)),
      ]);
    },
    /** Budgets at start are taken from the first reading after this. */
    trafficStarted(): void {
      trafficStarted = true;
    },
    /** A log line of a service: breaker transitions are taken from it. */
    logLine(service: string, line: string): void {
      if (!line.includes('"breaker"')) return;
      try {
        const rec = JSON.parse(line) as {
          breaker?: string;
          from?: string;
          to?: string;
          time?: number;
        };
        if (!rec.breaker || !rec.from || !rec.to) return;
        changes.push({
          service,
          name: rec.breaker,
          from: rec.from,
          to: rec.to,
          atMs: Math.max(0, (rec.time ?? Date.now()) - options.startedAt),
        });
      } catch {
        // Not a JSON log line: ignore.
      }
    },
    services(): ServiceView[] {
      return options.services.map((s) => {
        const w = recorder.window(s.name, {}, RED_WINDOW_MS);
        const q = (p: number) => {
          const v = quantileSeconds(w, p);
          return v === undefined ? null : Math.round(v * 10_000) / 10;
        };
        return {
          name: s.name,
          up: up.get(s.name) ?? false,
          rate: Math.round((requestRate(w) ?? 0) * 10) / 10,
          errorRatio: errorRatio(w) ?? null,
          p50Ms: q(0.5),
          p95Ms: q(0.95),
          p99Ms: q(0.99),
        };
      });
    },
    breakers: (): BreakerView[] => [...breakers.values()],
    slos: (): SloView[] => [...slos.values()],
    alerts(): AlertView[] {
      return alertRecords
        .filter((r) => r.resolvedAtMs === null)
        .map((r) => ({
          service: r.service,
          slo: r.slo,
          severity: r.severity,
          sinceMs: r.firedAtMs,
        }));
    },
    alertRecords: (): AlertRecord[] => alertRecords.map((r) => ({ ...r })),
    breakerChanges: (): BreakerChange[] => [...changes],
    prices: (): Record<string, number> => ({ ...prices }),
    budgets(): Map<string, { start: number | null; lowest: number; end: number }> {
      return budgets;
    },
  };
}

/** The collector's type. */
export type Collector = ReturnType<typeof createCollector>;
