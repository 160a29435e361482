// A short `nines demo` run in CI, checked from its JSON report and from the services' own logs.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoReport } from '../src/demo/model.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface LogLine {
  readonly msg?: string;
  readonly trace_id?: string;
  readonly time?: number;
  readonly route?: string;
  readonly method?: string;
  readonly [key: string]: unknown;
}

async function logLines(dir: string, service: string): Promise<LogLine[]> {
  const text = await readFile(join(dir, `${service}.log`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{') && !l.startsWith('{"ready"'))
    .map((l) => JSON.parse(l) as LogLine);
}

let logs = '';
let report: DemoReport;
let code = -1;
let stderr = '';

beforeAll(async () => {
  logs = await mkdtemp(join(tmpdir(), 'nines-demo-e2e-'));
  await new Promise<void>((resolve) => {
    execFile(
      process.execPath,
      [cli, 'demo', '--duration', '40s', '--json', '--logs', logs],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, out, err) => {
        code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        stderr = err;
        try {
          report = JSON.parse(out) as DemoReport;
        } catch {
          // Checked below, with the output in the message.
          stderr += `\nstdout: ${out.slice(0, 2000)}`;
        }
        resolve();
      },
    );
  });
}, 130_000);

afterAll(async () => {
  await rm(logs, { recursive: true, force: true });
});

/** Milliseconds since the demo started when the named chaos step began and ended. */
function step(name: string): { startMs: number; endMs: number } {
  const s = report.chaos?.steps.find((x) => x.name === name);
  if (!s) throw new Error(`no chaos step "${name}" in ${JSON.stringify(report.chaos?.steps)}`);
  return s;
}

describe('nines demo (short run)', () => {
  it('runs to its end, stops every process and frees every port', () => {
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report.portsFreed).toBe(true);
    expect(report.processes.map((p) => p.service).sort()).toEqual([
      'external',
      'orders',
      'pricing',
      'store',
    ]);
    for (const p of report.processes) {
      expect(() => process.kill(p.pid, 0)).toThrow();
    }
    expect(report.traffic.sent).toBeGreaterThan(300);
  });

  it('one trace id appears in the logs of orders, store and pricing for a request', async () => {
    const [orders, store, pricing] = await Promise.all(
      ['orders', 'store', 'pricing'].map((s) => logLines(logs, s)),
    );
    const storeIds = new Set(store!.map((l) => l.trace_id).filter(Boolean));
    const pricingIds = new Set(pricing!.map((l) => l.trace_id).filter(Boolean));
    const shared = orders!
      .map((l) => l.trace_id)
      .filter(
        (id): id is string => typeof id === 'string' && storeIds.has(id) && pricingIds.has(id),
      );
    expect(shared.length).toBeGreaterThan(0);
    expect(shared[0]).toMatch(/^[0-9a-f]{32}$/);
    // The slowest trace of the report crosses the three services too.
    expect(report.slowestTrace?.services).toEqual(
      expect.arrayContaining(['orders', 'store', 'pricing']),
    );
    expect(report.slowestTrace?.waterfall).toContain(report.slowestTrace?.traceId);
  });

  it("the store's breaker in orders opens while the store is blocked and closes after recovery", () => {
    const blocked = step('store blocked');
    const store = report.breakers.filter((b) => b.service === 'orders' && b.name === 'store');
    const opened = store.find((b) => b.to === 'open');
    expect(opened, JSON.stringify(report.breakers)).toBeDefined();
    expect(opened!.atMs).toBeGreaterThanOrEqual(blocked.startMs - 1000);
    const closed = store.find((b) => b.to === 'closed' && b.atMs > opened!.atMs);
    expect(closed, JSON.stringify(store)).toBeDefined();
    expect(closed!.atMs).toBeGreaterThan(blocked.startMs);
  });

  it('pricing served stale prices (its fallback) while the external API was slow', async () => {
    const latency = step('500 ms on the external API');
    expect(report.prices.stale ?? 0).toBeGreaterThan(0);
    const pricing = await logLines(logs, 'pricing');
    const stale = pricing.filter(
      (l) => typeof l.msg === 'string' && l.msg.includes('stale price served'),
    );
    expect(stale.length).toBeGreaterThan(0);
    // The fallbacks happened while the latency was on (pricing's clock and ours are the same).
    const start = Date.parse(report.startedAt);
    const during = stale.filter(
      (l) =>
        (l.time ?? 0) - start >= latency.startMs && (l.time ?? 0) - start <= latency.endMs + 2000,
    );
    expect(during.length).toBeGreaterThan(0);
  });

  it('the SLO budget fell during the injected latency, and a burn-rate alert fired and resolved', () => {
    const latency = step('500 ms on the external API');
    const slo = report.slos.find((s) => s.service === 'orders' && s.name === 'latency');
    expect(slo, JSON.stringify(report.slos)).toBeDefined();
    expect(slo!.budgetLowest).toBeLessThan(slo!.budgetAtStart);
    const alert = report.alerts.find((a) => a.slo === 'latency');
    expect(alert, JSON.stringify(report.alerts)).toBeDefined();
    expect(alert!.firedAtMs).toBeGreaterThanOrEqual(latency.startMs);
    expect(alert!.resolvedAtMs).not.toBeNull();
    expect(alert!.resolvedAtMs!).toBeGreaterThan(alert!.firedAtMs);
  });

  it('reports the chaos experiment and writes its journal', async () => {
    expect(report.chaos?.status).toMatch(/^(completed|aborted)$/);
    expect(typeof report.chaos?.hypothesisHeld).toBe('boolean');
    const journal = JSON.parse(await readFile(report.chaos!.journal, 'utf8')) as {
      rollbacks: unknown[];
      run: Array<{ name: string }>;
    };
    expect(journal.run.map((r) => r.name)).toContain('store blocked');
  });
});
