import { describe, expect, it } from 'vitest';
import type { DemoReport, DemoState } from '../src/demo/model.js';
import { breakerTimeline, renderDemoReport } from '../src/demo/report.js';
import { percentText, renderSummaryLine, renderView } from '../src/demo/view.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escape sequences
const ANSI = /\x1b\[/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing ANSI escape sequences
const strip = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

const busy: DemoState = {
  elapsedMs: 83_400,
  durationMs: 120_000,
  phase: 'chaos',
  chaosStep: '500 ms on the external API',
  hypothesis: { checks: 12, misses: 1, last: 'latency SLO attainment 98.2 % < 99 %' },
  services: [
    {
      name: 'orders',
      up: true,
      rate: 20.04,
      errorRatio: 0.005,
      p50Ms: 12.3,
      p95Ms: 230,
      p99Ms: 262.4,
    },
    { name: 'store', up: false, rate: 0, errorRatio: null, p50Ms: null, p95Ms: null, p99Ms: null },
    { name: 'pricing', up: true, rate: 24.5, errorRatio: 0, p50Ms: 3.25, p95Ms: 251, p99Ms: 1520 },
  ],
  breakers: [
    { service: 'orders', name: 'store', state: 'open' },
    { service: 'orders', name: 'pricing', state: 'closed' },
    { service: 'pricing', name: 'external', state: 'half-open' },
  ],
  slos: [
    {
      service: 'orders',
      name: 'availability',
      objective: 0.999,
      attainment: 0.99953,
      budgetRemaining: 0.62,
      burnRate: 0.4,
      alerts: { page: false, ticket: false },
      policy: 'healthy',
    },
    {
      service: 'orders',
      name: 'latency',
      objective: 0.99,
      attainment: 0.982,
      budgetRemaining: -0.35,
      burnRate: 12.5,
      alerts: { page: true, ticket: true },
      policy: 'exhausted',
    },
  ],
  alerts: [
    { service: 'orders', slo: 'latency', severity: 'page', sinceMs: 70_000 },
    { service: 'orders', slo: 'latency', severity: 'ticket', sinceMs: 75_000 },
  ],
  traffic: { sent: 1234, ok: 1200, failed: 34, rate: 19.96 },
};

const empty: DemoState = {
  elapsedMs: 1500,
  durationMs: null,
  phase: 'starting',
  chaosStep: null,
  hypothesis: { checks: 0, misses: 0, last: null },
  services: [],
  breakers: [],
  slos: [],
  alerts: [],
  traffic: { sent: 0, ok: 0, failed: 0, rate: 0 },
};

describe('renderView', () => {
  it('draws every part of a busy moment in 12-20 lines of at most 100 columns', () => {
    const lines = renderView(busy);
    const text = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(12);
    expect(lines.length).toBeLessThanOrEqual(20);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(text).not.toMatch(ANSI);
    expect(lines[0]).toBe('nines demo  01:23 / 02:00  chaos: 500 ms on the external API');
    expect(lines[1]).toBe('traffic   sent 1234   ok 1200   failed 34   20.0 req/s');
    const orders = lines.find((l) => l.trimStart().startsWith('orders '));
    expect(orders).toMatch(/orders\s+20\.0\s+0\.5 %\s+12 ms\s+262 ms\s+up$/);
    expect(lines.find((l) => l.trimStart().startsWith('store '))).toMatch(
      /store\s+0\.0\s+-\s+-\s+-\s+DOWN$/,
    );
    expect(lines.find((l) => l.trimStart().startsWith('pricing '))).toMatch(
      /3\.3 ms\s+1\.52 s\s+up$/,
    );
    const availability = lines.find((l) => l.includes('orders/availability'));
    expect(availability).toMatch(/99\.9 %\s+99\.95 %/);
    expect(availability).toContain(`${'█'.repeat(6)}${'░'.repeat(4)}     62 %`);
    expect(availability).toMatch(/0\.4x$/);
    const latency = lines.find((l) => l.includes('orders/latency') && l.includes('%'));
    expect(latency).toContain(`${'░'.repeat(10)}    -35 %`);
    expect(latency).toMatch(/12\.5x\s+PAGE TICKET FROZEN$/);
    expect(text).toContain(
      'breakers  orders/store: open   orders/pricing: closed   pricing/external: half-open',
    );
    expect(text).toContain(
      'alerts    PAGE orders/latency since 01:10   TICKET orders/latency since 01:15',
    );
    expect(lines.at(-1)).toBe(
      'hypothesis  12 checks   1 miss   last: latency SLO attainment 98.2 % < 99 %',
    );
  });

  it('colors only when asked: open breakers, down services and pages in red', () => {
    const lines = renderView(busy, { color: true });
    const text = lines.join('\n');
    expect(text).toMatch(ANSI);
    expect(text).toContain('\x1b[31mopen\x1b[39m');
    expect(text).toContain('\x1b[31mDOWN\x1b[39m');
    expect(text).toContain('\x1b[31mPAGE\x1b[39m orders/latency since 01:10');
    expect(text).toContain('\x1b[32mclosed\x1b[39m');
    // The same content underneath.
    expect(lines.map(strip)).toEqual(renderView(busy));
    expect(renderView(busy, { color: false }).join('\n')).not.toMatch(ANSI);
  });

  it('says what is not there yet: no services, no SLOs, no alerts, no checks, no end', () => {
    const lines = renderView(empty);
    const text = lines.join('\n');
    expect(lines[0]).toBe('nines demo  00:01 (until stopped)  starting');
    expect(text).toContain('(no service yet)');
    expect(text).toContain('(no SLO reported yet)');
    expect(text).toContain('breakers  none');
    expect(text).toContain('alerts    none');
    expect(lines.at(-1)).toBe('hypothesis  no checks yet');
  });

  it('fits a narrow terminal and caps a long breaker list at two lines', () => {
    const many: DemoState = {
      ...busy,
      breakers: Array.from({ length: 12 }, (_, i) => ({
        service: 'orders',
        name: `dependency-${i}`,
        state: i % 2 === 0 ? ('open' as const) : ('closed' as const),
      })),
    };
    for (const color of [false, true]) {
      const lines = renderView(many, { width: 60, color });
      for (const line of lines) expect(strip(line).length).toBeLessThanOrEqual(60);
      const breakerLines = lines.filter((l) => strip(l).includes('dependency-'));
      expect(breakerLines).toHaveLength(2);
      expect(strip(breakerLines[1] ?? '')).toMatch(/… \d+ more|…$/);
      expect(lines.length).toBeLessThanOrEqual(20);
    }
    // A cut line with colors ends with a reset, so nothing bleeds into the next line.
    const cut = renderView(busy, { width: 40, color: true });
    for (const line of cut) {
      if (strip(line).endsWith('…') && ANSI.test(line)) expect(line.endsWith('\x1b[0m')).toBe(true);
    }
  });

  it('rejects a bad width', () => {
    expect(() => renderView(busy, { width: 5 })).toThrow(/width must be an integer >= 20, got 5/);
  });
});

describe('renderSummaryLine', () => {
  it('is one plain line with the essentials', () => {
    const line = renderSummaryLine(busy);
    expect(line).not.toContain('\n');
    expect(line).not.toMatch(ANSI);
    expect(line).toContain('01:23 / 02:00  chaos: 500 ms on the external API');
    expect(line).toContain('sent 1234 ok 1200 failed 34 20.0 req/s');
    expect(line).toContain('orders 20.0/s err 0.5 % p99 262 ms');
    expect(line).toContain('store DOWN');
    expect(line).toContain('orders/latency 98.2 % budget -35 % burn 12.5x');
    expect(line).toContain('breakers orders/store open, pricing/external half-open');
    expect(line).toContain('alerts page orders/latency, ticket orders/latency');
    expect(line).toContain('checks 12 misses 1');
  });

  it('stays short when nothing has happened', () => {
    expect(renderSummaryLine(empty)).toBe(
      '00:01 (until stopped)  starting | sent 0 ok 0 failed 0 0.0 req/s | breakers closed | alerts none | checks 0 misses 0',
    );
  });
});

const waterfall = [
  'GET /orders/:id           orders   812 ms |██████████████████████████|',
  '  GET /orders/:id         store      4 ms |█                         |',
  '  GET /prices/:sku        pricing  760 ms | ████████████████████████ |',
].join('\n');

const full: DemoReport = {
  startedAt: '2026-11-27T02:40:00.000Z',
  durationMs: 120_000,
  chaos: {
    title: 'The orders API rides out a slow price API and a blocked store',
    status: 'completed',
    deviated: true,
    hypothesisHeld: false,
    reason: 'orders/latency attainment 98.2 % < 99 % during "500 ms on the external API"',
    steps: [
      { name: '500 ms on the external API', startMs: 30_000, endMs: 50_000 },
      { name: 'store blocked', startMs: 50_000, endMs: 70_000 },
    ],
    journal: '/tmp/nines-demo-x/journal.json',
  },
  slos: [
    {
      service: 'orders',
      name: 'availability',
      objective: 0.999,
      attainment: 0.9991,
      budgetAtStart: 1,
      budgetAtEnd: 0.62,
      budgetLowest: 0.6,
      policy: 'healthy',
    },
    {
      service: 'orders',
      name: 'latency',
      objective: 0.99,
      attainment: 0.982,
      budgetAtStart: 0.98,
      budgetAtEnd: -0.35,
      budgetLowest: -0.4,
      policy: 'exhausted',
    },
  ],
  alerts: [
    {
      service: 'orders',
      slo: 'latency',
      severity: 'page',
      firedAtMs: 45_000,
      resolvedAtMs: 62_000,
    },
    {
      service: 'orders',
      slo: 'latency',
      severity: 'ticket',
      firedAtMs: 50_000,
      resolvedAtMs: null,
    },
  ],
  breakers: [
    { service: 'orders', name: 'store', from: 'closed', to: 'open', atMs: 51_200 },
    { service: 'orders', name: 'store', from: 'open', to: 'half-open', atMs: 53_200 },
    { service: 'orders', name: 'store', from: 'half-open', to: 'closed', atMs: 72_000 },
  ],
  prices: { stale: 150, live: 1200, cache: 300 },
  traffic: { sent: 2400, ok: 2300, failed: 100, rate: 0 },
  slowestTrace: {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    durationMs: 812,
    services: ['orders', 'store', 'pricing'],
    waterfall: `${waterfall}\n`,
  },
  processes: [
    { service: 'orders', pid: 4101, exit: 'SIGTERM, exit 0' },
    { service: 'store', pid: 4102, exit: 'SIGTERM, exit 0' },
  ],
  portsFreed: true,
  logs: '/tmp/nines-demo-x',
};

describe('renderDemoReport', () => {
  it('reports a deviated experiment with every section', () => {
    const text = renderDemoReport(full);
    expect(text).not.toMatch(ANSI);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toContain('nines demo report (2 m, started 2026-11-27T02:40:00.000Z)');
    expect(text).toContain(
      'Chaos experiment: The orders API rides out a slow price API and a blocked store',
    );
    expect(text).toContain('  verdict  deviated: the steady state did not hold (status completed)');
    expect(text).toContain(
      '  why      orders/latency attainment 98.2 % < 99 % during "500 ms on the external API"',
    );
    expect(text).toContain('    00:30-00:50  500 ms on the external API');
    expect(text).toContain('    00:50-01:10  store blocked');
    expect(text).toContain('  orders/availability  objective 99.9 %  attained 99.91 %');
    expect(text).toContain('    budget 100 % -> 62 %  lowest 60 %  spent 38 %');
    expect(text).toContain('    error budget policy  healthy');
    expect(text).toContain('    error budget policy  exhausted: changes frozen');
    expect(text).toContain('    budget 98 % -> -35 %  lowest -40 %  spent 133 %');
    expect(text).toContain('  00:45  page    orders/latency  fired, resolved 01:02, lasted 17 s');
    expect(text).toContain(
      '  00:50  ticket  orders/latency  fired, still firing at the end (for 1 m 10 s so far)',
    );
    expect(text).toContain('  00:51  orders/store  closed -> open');
    expect(text).toContain('  00:53  orders/store  open -> half-open');
    expect(text).toContain('  01:12  orders/store  half-open -> closed');
    expect(text).toContain('  live 1200   cache 300   stale 150 (the fallback served)');
    expect(text).toContain('  sent 2400   ok 2300   failed 100 (4.17 %)');
    expect(text).toContain(
      'Slowest trace 4bf92f3577b34da6a3ce929d0e0e4736 (812 ms, orders -> store -> pricing)',
    );
    expect(text).toContain(`${waterfall}\n`);
    expect(text).toContain('  orders     pid 4101     SIGTERM, exit 0');
    expect(text).toContain('  ports freed: yes');
    expect(text).toContain('  logs      /tmp/nines-demo-x');
    expect(text).toContain('  journal   /tmp/nines-demo-x/journal.json');
    // Sections come in order.
    const order = [
      'Chaos experiment',
      'SLO error budgets',
      'Burn-rate alerts',
      'Circuit breakers',
      'Prices by source',
      'Traffic',
      'Slowest trace',
      'Processes',
      'Files',
    ].map((h) => text.indexOf(`\n${h}`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('says the hypothesis held when it did', () => {
    const held: DemoReport = {
      ...full,
      chaos: full.chaos && {
        ...full.chaos,
        deviated: false,
        hypothesisHeld: true,
        reason: 'every probe within tolerance',
      },
    };
    const text = renderDemoReport(held);
    expect(text).toContain(
      '  verdict  held: the steady state held before, during and after the faults (status completed)',
    );
    expect(text).toContain('  why      every probe within tolerance');
  });

  it('calls an experiment that ended early without deviating inconclusive', () => {
    const aborted: DemoReport = {
      ...full,
      chaos: full.chaos && {
        ...full.chaos,
        status: 'aborted',
        deviated: false,
        hypothesisHeld: false,
        reason: 'interrupted (SIGINT)',
      },
    };
    const text = renderDemoReport(aborted);
    expect(text).toContain(
      '  verdict  inconclusive: the experiment ended before the steady state was checked throughout (status aborted)',
    );
    expect(text).not.toContain('held: the steady state held');
  });

  it('without chaos, alerts, breaker changes, prices, a slowest trace or freed ports', () => {
    const bare: DemoReport = {
      ...full,
      durationMs: 45_500,
      chaos: null,
      alerts: [],
      breakers: [],
      prices: {},
      traffic: { sent: 0, ok: 0, failed: 0, rate: 0 },
      slowestTrace: null,
      processes: [],
      portsFreed: false,
    };
    const text = renderDemoReport(bare);
    expect(text).not.toMatch(ANSI);
    expect(text).toContain('nines demo report (46 s, started 2026-11-27T02:40:00.000Z)');
    expect(text).toContain('  not run (--no-chaos): traffic only, nothing was broken on purpose');
    expect(text).not.toContain('verdict');
    expect(text).toContain('Burn-rate alerts\n  none fired');
    expect(text).toContain('Circuit breakers\n  no breaker changed state');
    expect(text).toContain('Prices by source\n  none served');
    expect(text).toContain('  sent 0   ok 0   failed 0\n');
    expect(text).toContain('Slowest trace\n  none recorded across orders, store and pricing');
    expect(text).toContain('Processes\n  none started');
    expect(text).toContain('  ports freed: no (a port is still taken)');
    expect(text).toContain('  journal   none (no chaos experiment)');
  });

  it('colors the verdict, open breakers, a still-firing alert and unfreed ports only with color', () => {
    const text = renderDemoReport({ ...full, portsFreed: false }, { color: true });
    expect(text).toContain('\x1b[31mdeviated: the steady state did not hold\x1b[39m');
    expect(text).toContain('closed -> \x1b[31mopen\x1b[39m');
    expect(text).toContain('\x1b[31mstill firing at the end');
    expect(text).toContain('\x1b[31mno (a port is still taken)\x1b[39m');
    expect(strip(text)).toBe(renderDemoReport({ ...full, portsFreed: false }));
  });
});

describe('percentText', () => {
  it('drops trailing zeros after the decimal point only', () => {
    expect(percentText(1, 0)).toBe('100 %');
    expect(percentText(0.995)).toBe('99.5 %');
    expect(percentText(0.5, 0)).toBe('50 %');
    expect(percentText(-3.2, 0)).toBe('-320 %');
    expect(percentText(0)).toBe('0 %');
    expect(percentText(Number.NaN)).toBe('-');
  });
});

describe('breakerTimeline', () => {
  const at = (atMs: number, from: string, to: string, name = 'store') => ({
    service: 'orders',
    name,
    from,
    to,
    atMs,
  });

  it('folds each run of failed half-open trials into one line, per breaker', () => {
    const lines = breakerTimeline([
      at(1000, 'closed', 'open'),
      at(3000, 'open', 'half-open'),
      at(3001, 'half-open', 'open'),
      at(4000, 'closed', 'open', 'pricing'),
      at(5000, 'open', 'half-open'),
      at(5001, 'half-open', 'open'),
      at(7000, 'open', 'half-open'),
      at(7002, 'half-open', 'closed'),
    ]);
    expect(lines.map((l) => [l.name, l.from, l.to, l.atMs, l.trials, l.untilMs])).toEqual([
      ['store', 'closed', 'open', 1000, undefined, undefined],
      ['store', 'open', 'half-open', 3000, 2, 5001],
      ['pricing', 'closed', 'open', 4000, undefined, undefined],
      ['store', 'open', 'half-open', 7000, undefined, undefined],
      ['store', 'half-open', 'closed', 7002, undefined, undefined],
    ]);
  });

  it('keeps a timeline without failed trials as it is', () => {
    const changes = [
      at(1, 'closed', 'open'),
      at(2, 'open', 'half-open'),
      at(3, 'half-open', 'closed'),
    ];
    expect(breakerTimeline(changes)).toEqual(changes);
  });
});
