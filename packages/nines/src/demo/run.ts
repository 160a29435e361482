/**
 * The demo: the orders system (orders -> store, orders -> pricing -> external API) as real
 * processes on loopback, the fault proxy in front of the store and the external API, steady
 * traffic, a scripted chaos experiment, and a report. Every process is stopped and every port
 * freed at the end, also after an error or SIGINT.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createProxyAdmin,
  createProxyRegistry,
  type Journal,
  loadExperimentFile,
  type ProxyJSON,
  type RunEvent,
  runExperiment,
} from '@nines/chaos';
import { createOtlpReceiver, renderWaterfall } from '@nines/telemetry';
import { type Collector, createCollector } from './collect.js';
import { createLoad, ordersMix } from './load.js';
import type { DemoPhase, DemoReport, DemoState } from './model.js';
import { type ServiceProcess, startService } from './processes.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The folder of the orders system (examples/orders). */
  readonly systemDir: string;
  /** How long the run lasts (the chaos schedule scales with it). Default 120 000. */
  readonly durationMs?: number;
  /** Keep running after the scenario until the signal aborts. */
  readonly follow?: boolean;
  /** Run the chaos experiment (default true). */
  readonly chaos?: boolean;
  /** Requests per second the load generator sends. Default 20. */
  readonly rate?: number;
  /** Where logs and the journal go. Default a new temporary folder. */
  readonly logsDir?: string;
  /** Stops the run early (SIGINT); the report still comes, and everything is still stopped. */
  readonly signal?: AbortSignal;
  /** The live state, about once a second. */
  readonly onState?: (state: DemoState) => void;
  /** Events worth a line of their own (a process started, a chaos step, an alert). */
  readonly onEvent?: (line: string) => void;
}

/** The shares of the run each part of the chaos scenario takes. */
interface Schedule {
  readonly warmupMs: number;
  readonly latencyMs: number;
  readonly gapMs: number;
  readonly blockMs: number;
  readonly recoveryMs: number;
}

function schedule(durationMs: number): Schedule {
  // Two minutes: 25 s of steady traffic (pricing can only fall back to prices it has fetched, so
  // the cache needs that long to hold most skus), 24 s of latency, 8 s gap, 18 s blocked, 30 s of
  // recovery, and the rest steady.
  const part = (share: number) => Math.max(1000, Math.round((durationMs * share) / 1000) * 1000);
  return {
    warmupMs: part(0.21),
    latencyMs: part(0.2),
    gapMs: part(0.07),
    blockMs: part(0.15),
    recoveryMs: part(0.25),
  };
}

const secs = (ms: number) => `${Math.round(ms / 1000)}s`;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitFor(url: string, deadline: number, signal?: AbortSignal): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // Not up yet.
    }
    if (signal?.aborted) throw new Error('interrupted while starting');
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the demo and resolves with its report. */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const durationMs = options.durationMs ?? 120_000;
  const rate = options.rate ?? 20;
  const withChaos = options.chaos ?? true;
  const say = options.onEvent ?? (() => {});
  const startedAt = Date.now();
  const logs = options.logsDir ?? (await mkdtemp(join(tmpdir(), 'nines-demo-')));
  await mkdir(logs, { recursive: true });
  const plan = schedule(durationMs);

  const processes: ServiceProcess[] = [];
  const ports: number[] = [];
  const receiver = createOtlpReceiver({ maxSpans: 200_000 });
  const registry = createProxyRegistry();
  const admin = createProxyAdmin(registry, { port: 0 });
  let collector: Collector | undefined;
  let load: ReturnType<typeof createLoad> | undefined;
  let journal: Journal | undefined;
  let phase: DemoPhase = 'starting';
  let chaosStep: string | null = null;
  const hypothesis = { checks: 0, misses: 0, last: null as string | null };
  const steps: Array<{ name: string; startMs: number; endMs: number }> = [];
  let ticker: NodeJS.Timeout | undefined;
  let ticking = true;
  let failure: unknown;

  const state = (): DemoState => ({
    elapsedMs: Date.now() - startedAt,
    durationMs: options.follow ? null : durationMs,
    phase,
    chaosStep,
    hypothesis: { ...hypothesis },
    services: collector?.services() ?? [],
    breakers: collector?.breakers() ?? [],
    slos: collector?.slos() ?? [],
    alerts: collector?.alerts() ?? [],
    traffic: load?.stats() ?? { sent: 0, ok: 0, failed: 0, rate: 0 },
  });
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (options.signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        options.signal?.removeEventListener('abort', done);
        resolve();
      }
      options.signal?.addEventListener('abort', done, { once: true });
    });

  try {
    const otlp = `${await receiver.listen()}/v1/traces`;
    ports.push(Number(new URL(otlp).port));
    const service = async (name: string, env: Record<string, string>) => {
      const p = await startService({
        name,
        script: join(options.systemDir, `${name}.js`),
        env: { PORT: '0', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp, ...env },
        logFile: join(logs, `${name}.log`),
      });
      processes.push(p);
      ports.push(p.port);
      say(`started ${name} (pid ${p.pid}) on 127.0.0.1:${p.port}`);
      return p;
    };
    const external = await service('external', {});
    const store = await service('store', { DATA_DIR: join(logs, 'store-data') });
    const proxy = async (name: string, upstream: number): Promise<ProxyJSON> => {
      const p = await registry.create({
        name,
        listen: '127.0.0.1:0',
        upstream: `127.0.0.1:${upstream}`,
      });
      ports.push(Number(p.listen.split(':').pop()));
      say(`fault proxy ${name}: ${p.listen} -> 127.0.0.1:${upstream}`);
      return p;
    };
    const storeProxy = await proxy('store', store.port);
    const externalProxy = await proxy('external', external.port);
    const proxyApi = await admin.listen();
    ports.push(Number(new URL(proxyApi).port));
    const pricing = await service('pricing', { EXTERNAL_URL: `http://${externalProxy.listen}` });
    const orders = await service('orders', {
      STORE_URL: `http://${storeProxy.listen}`,
      PRICING_URL: `http://127.0.0.1:${pricing.port}`,
    });
    const url = (p: ServiceProcess) => `http://127.0.0.1:${p.port}`;
    const deadline = Date.now() + 30_000;
    for (const p of [store, pricing, orders]) {
      await waitFor(`${url(p)}/startup`, deadline, options.signal);
      await waitFor(`${url(p)}/ready`, deadline, options.signal);
    }
    say('every service passed its startup and readiness probes');

    collector = createCollector({
      services: [orders, store, pricing].map((p) => ({ name: p.name, url: url(p) })),
      sloServices: ['orders'],
      startedAt,
    });
    for (const p of [orders, pricing, store]) p.onLine((line) => collector?.logLine(p.name, line));
    await collector.tick();
    const tickLoop = async () => {
      await collector?.tick().catch(() => {});
      // A tick still reading when the run stopped must not arm another one after its clearTimeout.
      if (!ticking) return;
      options.onState?.(state());
      ticker = setTimeout(tickLoop, 1000);
    };
    void tickLoop();

    phase = 'warmup';
    load = createLoad({
      baseUrl: url(orders),
      ratePerSec: rate,
      ramp: {
        fromPerSec: Math.max(1, Math.round(rate / 4)),
        overMs: Math.min(10_000, plan.warmupMs),
      },
      maxRequests: Math.ceil(rate * (options.follow ? 24 * 3600 : durationMs / 1000 + 5)),
      maxMs: options.follow ? 24 * 3600_000 : durationMs,
      next: ordersMix({ orderIds: 200, skus: 100 }),
    });
    load.start();
    collector.trafficStarted();
    say(`traffic: ${rate} requests per second to orders (open loop)`);
    await sleep(plan.warmupMs);
    phase = 'steady';

    if (withChaos && !options.signal?.aborted) {
      phase = 'chaos';
      const experiment = await loadExperimentFile(join(options.systemDir, 'experiment.yaml'), {
        env: {
          ...process.env,
          ORDERS_URL: url(orders),
          PROXY_API: proxyApi,
          LATENCY_FOR: secs(plan.latencyMs),
          LATENCY_PAUSE: secs(plan.latencyMs + plan.gapMs),
          BLOCK_FOR: secs(plan.blockMs),
          RECOVERY_FOR: secs(plan.recoveryMs),
        },
      });
      const chaosStop = new AbortController();
      const onAbort = () => chaosStop.abort('SIGINT');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      journal = await runExperiment(experiment, {
        signal: chaosStop.signal,
        onEvent: (e: RunEvent) => {
          if (e.type === 'step') {
            const open = steps.at(-1);
            if (open && open.endMs < 0) open.endMs = Date.now() - startedAt;
            chaosStep = e.step;
            if (e.step === 'recovery') phase = 'recovery';
            steps.push({ name: e.step, startMs: Date.now() - startedAt, endMs: -1 });
            say(`chaos: ${e.step}`);
          }
          if (e.type === 'check') {
            hypothesis.checks++;
            if (!e.run.met) hypothesis.misses++;
            const miss = e.run.probes.find((p) => !p.met);
            hypothesis.last = miss ? `NOT met: ${miss.name}` : 'met';
          }
        },
      });
      options.signal?.removeEventListener('abort', onAbort);
      const open = steps.at(-1);
      if (open && open.endMs < 0) open.endMs = Date.now() - startedAt;
      chaosStep = null;
      say(`chaos: ${journal.status}${journal.deviated ? ' (deviated)' : ''}: ${journal.reason}`);
      await writeFile(join(logs, 'journal.json'), `${JSON.stringify(journal, null, 2)}\n`);
      phase = 'recovery';
    }
    if (options.follow) {
      await sleep(24 * 3600_000);
    } else {
      await Promise.race([load.done, sleep(Math.max(0, startedAt + durationMs - Date.now()))]);
    }
  } catch (err) {
    failure = err;
  } finally {
    phase = 'stopping';
    await load?.stop();
    ticking = false;
    if (ticker) clearTimeout(ticker);
    await collector?.tick().catch(() => {});
    options.onState?.(state());
  }

  // Spans are exported in batches; give the last ones a moment before reading the slowest trace.
  await new Promise((r) => setTimeout(r, 500));
  const exits: Array<{ service: string; pid: number; exit: string }> = [];
  for (const p of [...processes].reverse()) {
    exits.unshift({ service: p.name, pid: p.pid, exit: await p.stop() });
  }
  const slowestTrace = slowestAcross(receiver, ['orders', 'store', 'pricing']);
  await admin.close();
  await registry.close();
  await receiver.close();
  const freed = await Promise.all(ports.map(portFree));
  phase = 'done';
  // Everything is stopped and freed; now an error in the run may surface.
  if (failure !== undefined) throw failure;

  const c = collector;
  const budgets = c?.budgets() ?? new Map();
  return {
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
    chaos: journal
      ? {
          title: journal.experiment.title,
          status: journal.status,
          deviated: journal.deviated,
          hypothesisHeld: journal.status === 'completed' && !journal.deviated,
          reason: journal.reason,
          steps,
          journal: join(logs, 'journal.json'),
        }
      : null,
    slos: (c?.slos() ?? []).map((s) => {
      const b = budgets.get(`${s.service}/${s.name}`);
      return {
        service: s.service,
        name: s.name,
        objective: s.objective,
        attainment: s.attainment,
        budgetAtStart: b?.start ?? s.budgetRemaining,
        budgetAtEnd: b?.end ?? s.budgetRemaining,
        budgetLowest: b?.lowest ?? s.budgetRemaining,
        policy: s.policy,
      };
    }),
    alerts: c?.alertRecords() ?? [],
    breakers: c?.breakerChanges() ?? [],
    prices: c?.prices() ?? {},
    traffic: load?.stats() ?? { sent: 0, ok: 0, failed: 0, rate: 0 },
    slowestTrace,
    processes: exits,
    portsFreed: freed.every(Boolean),
    logs,
  };
}

/** The slowest trace whose spans include every one of `services`, drawn as a waterfall. */
function slowestAcross(
  receiver: ReturnType<typeof createOtlpReceiver>,
  services: readonly string[],
): DemoReport['slowestTrace'] {
  const candidates = receiver
    .traces()
    .filter((t) => services.every((s) => t.services.includes(s)))
    .sort((a, b) => b.durationMs - a.durationMs);
  const best = candidates[0];
  if (!best) return null;
  return {
    traceId: best.traceId,
    durationMs: Math.round(best.durationMs * 10) / 10,
    services: best.services,
    waterfall: renderWaterfall(receiver.trace(best.traceId), { width: 100 }),
  };
}
