import { once } from 'node:events';
import { mkdtemp, readdir, realpath, rm, symlink } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@nines/resilience';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf, type Journal } from '../src/experiment/journal.js';
import { loadExperiment } from '../src/experiment/load.js';
import { renderPlan, renderReport } from '../src/experiment/report.js';
import { type RunEvent, runExperiment } from '../src/experiment/runner.js';
import { createProxyAdmin } from '../src/proxy/admin.js';
import { createProxyRegistry } from '../src/proxy/registry.js';
import type { ProxyRegistry } from '../src/proxy/types.js';

/** Polls (bounded, real time) until `fn` is true. */
async function until(fn: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// A target whose health the test sets, and a recorder of calls for actions and rollbacks.
let status = 200;
const calls: string[] = [];
let target: http.Server;
let base = '';
let registry: ProxyRegistry;
let proxyApi = '';

beforeAll(async () => {
  target = http.createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    res.statusCode = req.url === '/health' ? status : req.url?.startsWith('/fail') ? 500 : 200;
    res.end('ok');
  });
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  registry = createProxyRegistry();
  await registry.create({ name: 'store', listen: '127.0.0.1:0', upstream: base.slice(7) });
  const admin = createProxyAdmin(registry, { port: 0 });
  proxyApi = await admin.listen();
  return async () => {
    await admin.close();
    await registry.close();
  };
});
afterAll(async () => {
  target.closeAllConnections();
  await new Promise((r) => target.close(r));
});
afterEach(() => {
  status = 200;
  calls.length = 0;
});

function experiment(body: string) {
  const text = `title: runner test\nproxy: ${proxyApi}\n${body.replaceAll('BASE', base)}`;
  return loadExperiment(text, { file: 'runner.yaml' });
}

const hypothesis = `hypothesis:
  every: 1s
  probes:
    - name: healthy
      http: { url: BASE/health }
`;

function start(exp: Awaited<ReturnType<typeof experiment>>, signal?: AbortSignal) {
  const clock = new ManualClock(Date.parse('2026-11-27T00:00:00Z'));
  const events: RunEvent[] = [];
  const done = runExperiment(exp, {
    clock,
    onEvent: (e) => events.push(e),
    ...(signal ? { signal } : {}),
  });
  const stepStarted = (name: string) =>
    until(() => events.some((e) => e.type === 'step' && e.step === name), `step ${name}`);
  return { clock, events, done, stepStarted };
}

describe('runExperiment', () => {
  it('passes when the hypothesis holds before, during and after, and undoes the method', async () => {
    const exp = await experiment(`${hypothesis}method:
  - name: slow
    add-latency: { proxy: store, latency: 200ms }
  - name: wait
    pause: 10s
rollbacks:
  - http: { url: BASE/rollback }
`);
    const run = start(exp);
    await run.stepStarted('wait');
    expect(registry.toxics('store').map((t) => t.type)).toEqual(['latency']);
    // The toxic carries the experiment's fault TTL: it goes away even if the runner dies.
    expect(registry.toxics('store')[0]!.ttl_ms).toBeGreaterThan(590_000);
    expect(registry.toxics('store')[0]!.ttl_ms).toBeLessThanOrEqual(600_000);
    // Three checks while the pause lasts, on the hypothesis' own period.
    for (let i = 0; i < 10; i++) {
      await run.clock.advance(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    const journal = await run.done;
    expect(journal.status).toBe('completed');
    expect(journal.deviated).toBe(false);
    expect(exitCodeOf(journal)).toBe(0);
    expect(journal.steady_states.before?.met).toBe(true);
    expect(journal.steady_states.during.length).toBeGreaterThanOrEqual(3);
    expect(journal.steady_states.after?.met).toBe(true);
    expect(journal.run.map((r) => [r.name, r.status])).toEqual([
      ['slow', 'succeeded'],
      ['wait', 'succeeded'],
    ]);
    expect(journal.rollbacks.map((r) => r.type)).toEqual(['undo add-latency', 'http']);
    expect(registry.toxics('store')).toEqual([]);
    expect(calls).toContain('GET /rollback');
    expect(renderReport(journal)).toContain('PASSED: the hypothesis held');
  });

  it('does not inject anything when the steady state does not hold before, and still rolls back', async () => {
    status = 503;
    const exp = await experiment(`${hypothesis}method:
  - add-latency: { proxy: store, latency: 200ms }
rollbacks:
  - http: { url: BASE/rollback }
`);
    const journal = await start(exp).done;
    expect(journal.status).toBe('failed');
    expect(exitCodeOf(journal)).toBe(1);
    expect(journal.run).toEqual([]);
    expect(journal.reason).toContain('nothing was injected: "healthy": GET');
    expect(journal.reason).toContain('-> 503');
    expect(journal.rollbacks.map((r) => r.type)).toEqual(['http']);
    expect(registry.toxics('store')).toEqual([]);
  });

  it('records a deviation during the method and, with fail-fast, stops there', async () => {
    const exp = await experiment(`hypothesis:
  every: 1s
  fail-fast: true
  probes:
    - name: healthy
      http: { url: BASE/health }
method:
  - name: slow
    add-latency: { proxy: store, latency: 100ms }
  - name: wait
    pause: 1h
  - name: never
    http: { url: BASE/never }
`);
    const run = start(exp);
    await run.stepStarted('wait');
    status = 500;
    await run.clock.advance(1000);
    const journal = await run.done;
    expect(journal.status).toBe('completed');
    expect(journal.deviated).toBe(true);
    expect(exitCodeOf(journal)).toBe(1);
    expect(journal.reason).toContain('"healthy" did not hold during the method');
    expect(journal.run.map((r) => [r.name, r.status])).toEqual([
      ['slow', 'succeeded'],
      ['wait', 'interrupted'],
    ]);
    expect(calls).not.toContain('GET /never');
    expect(registry.toxics('store')).toEqual([]);
    expect(journal.steady_states.after?.met).toBe(false);
  });

  it('aborts when an abort condition trips, and leaves no fault behind', async () => {
    const exp = await experiment(`abort:
  every: 1s
  unless:
    - name: store answers
      http: { url: BASE/health, status: [200] }
method:
  - name: down
    block: { proxy: store, mode: refuse }
  - name: slow
    add-latency: { proxy: store, latency: 100ms }
  - name: wait
    pause: 1h
`);
    const run = start(exp);
    await run.stepStarted('wait');
    expect(registry.get('store').enabled).toBe(false);
    expect(journalSoFar(run.events)).toBe(0);
    status = 500; // the guard "store answers 200" no longer holds
    await run.clock.advance(1000);
    const journal = await run.done;
    expect(journal.status).toBe('aborted');
    expect(exitCodeOf(journal)).toBe(3);
    expect(journal.aborted_by?.name).toBe('store answers');
    expect(journal.reason).toMatch(
      /^abort condition "store answers" no longer held: GET .* -> 500/,
    );
    // Newest first: the latency toxic, then the proxy back on.
    expect(journal.rollbacks.map((r) => r.type)).toEqual(['undo add-latency', 'undo block']);
    expect(registry.get('store').enabled).toBe(true);
    expect(registry.toxics('store')).toEqual([]);
  });

  it('stops at a failed action, reports it and rolls back what was done', async () => {
    const exp = await experiment(`method:
  - name: slow
    add-latency: { proxy: store, latency: 100ms }
  - name: call
    http: { url: BASE/fail, status: 200 }
  - name: never
    http: { url: BASE/never }
`);
    const journal = await start(exp).done;
    expect(journal.status).toBe('aborted');
    expect(journal.reason).toBe(`step "call" failed: GET ${base}/fail answered 500, expected 200`);
    expect(journal.run.map((r) => r.status)).toEqual(['succeeded', 'failed']);
    expect(calls).not.toContain('GET /never');
    expect(registry.toxics('store')).toEqual([]);
  });

  it('an interrupt stops the method, runs every rollback and reports interrupted', async () => {
    const exp = await experiment(`${hypothesis}method:
  - name: slow
    add-latency: { proxy: store, latency: 100ms }
  - name: wait
    pause: 1h
rollbacks:
  - name: broken
    http: { url: BASE/fail, status: 200 }
  - name: after-broken
    http: { url: BASE/rollback }
`);
    const controller = new AbortController();
    const run = start(exp, controller.signal);
    await run.stepStarted('wait');
    controller.abort('SIGINT');
    const journal = await run.done;
    expect(journal.status).toBe('interrupted');
    expect(exitCodeOf(journal)).toBe(130);
    expect(journal.reason).toBe('interrupted by SIGINT');
    // A failed rollback does not stop the next one.
    expect(journal.rollbacks.map((r) => [r.name, r.status])).toEqual([
      ['slow', 'succeeded'],
      ['broken', 'failed'],
      ['after-broken', 'succeeded'],
    ]);
    expect(journal.steady_states.after).toBeNull();
    expect(registry.toxics('store')).toEqual([]);
  });

  it('ends a change at its duration or at an undo step, and not twice', async () => {
    const exp = await experiment(`method:
  - name: short
    add-latency: { proxy: store, latency: 100ms, duration: 5s }
  - name: long
    block: { proxy: store, mode: hang }
  - name: wait
    pause: 10s
  - undo: long
`);
    const run = start(exp);
    await run.stepStarted('wait');
    expect(
      registry
        .toxics('store')
        .map((t) => t.type)
        .sort(),
    ).toEqual(['latency', 'timeout']);
    await run.clock.advance(5000);
    await until(() => registry.toxics('store').length === 1, 'the latency toxic to go');
    expect(registry.toxics('store')[0]!.type).toBe('timeout');
    await run.clock.advance(5000);
    const journal = await run.done;
    expect(journal.run.map((r) => `${r.name}:${r.type}`)).toEqual([
      'short:add-latency',
      'long:block',
      'short:undo add-latency',
      'wait:pause',
      'long:undo block',
      'step-4:undo',
    ]);
    expect(journal.rollbacks).toEqual([]);
    expect(registry.toxics('store')).toEqual([]);
  });

  it('runs the method once per blast-radius stage and stops at the first deviation', async () => {
    const exp = await experiment(`${hypothesis}blast-radius: { stages: [10%, 50%, 100%] }
method:
  - name: slow
    add-latency: { proxy: store, latency: 100ms }
  - name: wait
    pause: 1s
`);
    const run = start(exp);
    const seen: number[] = [];
    const journalPromise = run.done;
    // Stage 1 holds; the system "breaks" in stage 2.
    await until(() => waits(run.events) === 1, 'stage 1');
    seen.push(registry.toxics('store')[0]!.toxicity);
    await run.clock.advance(1000);
    await until(() => waits(run.events) === 2, 'stage 2');
    seen.push(registry.toxics('store')[0]!.toxicity);
    status = 500;
    await run.clock.advance(1000);
    const journal = await journalPromise;
    expect(seen).toEqual([0.1, 0.5]);
    expect(journal.stages.map((s) => [s.share, s.deviated])).toEqual([
      [0.1, false],
      [0.5, true],
    ]);
    expect(journal.deviated).toBe(true);
    expect(journal.run.filter((r) => r.type === 'add-latency').map((r) => r.stage)).toEqual([
      0.1, 0.5,
    ]);
    expect(registry.toxics('store')).toEqual([]);
  });

  it('fills a quota directory only inside the fill root, through symlinks too', async () => {
    const root = await realpath(await mkdtemp(join(tmpdir(), 'nines-fill-root-')));
    const outside = await realpath(await mkdtemp(join(tmpdir(), 'nines-fill-outside-')));
    try {
      await symlink(outside, join(root, 'sneaky'));
      const fill = (dir: string) =>
        experiment(`method:
  - name: fill
    fill-disk: { directory: "${dir}", capacity: 64KiB, percent: 50 }
`);
      const inside = await runExperiment(await fill(join(root, 'quota')), { fillRoot: root });
      expect(inside.status).toBe('completed');
      expect(inside.run[0]!.output).toMatchObject({ bytes: 32 * 1024 });
      expect(inside.rollbacks.map((r) => `${r.type}:${r.status}`)).toEqual([
        'undo fill-disk:succeeded',
      ]);
      expect(await readdir(root)).toEqual(['sneaky']);

      for (const dir of [join(outside, 'quota'), join(root, 'sneaky', 'quota'), root]) {
        const journal = await runExperiment(await fill(dir), { fillRoot: root });
        expect(journal.status).toBe('aborted');
        expect(journal.reason).toContain(`fill-disk: ${dir} is not inside ${root}`);
      }
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('rejects bad options with a TypeError naming them', async () => {
    const exp = await experiment('method: []\n');
    await expect(runExperiment(exp, { scrapeEveryMs: -1 })).rejects.toThrow(
      'runExperiment: option "scrapeEveryMs" must be >= 10, got -1',
    );
    await expect(runExperiment(exp, { colour: true } as never)).rejects.toThrow(
      /unknown option "colour"/,
    );
    await expect(runExperiment({} as never)).rejects.toThrow(
      'experiment must be a loaded experiment',
    );
    await expect(runExperiment(exp, { signal: 'stop' as never })).rejects.toThrow('"signal"');
    expect(() => renderReport(null as never)).toThrow(
      'renderReport: expected the journal of a run',
    );
    expect(() => renderPlan({} as never)).toThrow('renderPlan: expected a loaded experiment');
    expect(() => exitCodeOf({ status: 'done' } as never)).toThrow(
      'exitCodeOf: expected a journal with a status',
    );
    expect(exitCodeOf({ status: 'completed', deviated: false })).toBe(0);
    await expect(runExperiment(exp, { fillRoot: '' })).rejects.toThrow(
      'runExperiment: option "fillRoot" must be a non-empty path',
    );
  });
});

/** How many times the pause step "wait" has started (its timer is armed once it has). */
function waits(events: readonly RunEvent[]): number {
  return events.filter((e) => e.type === 'step' && e.step === 'wait').length;
}

function journalSoFar(events: readonly RunEvent[]): number {
  return events.filter((e) => e.type === 'end').length;
}

export type { Journal };
