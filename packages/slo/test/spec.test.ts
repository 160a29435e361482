import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DURATION_BUCKETS, loadSloFile, loadSloFiles, loadSlos } from '../src/index.js';
import { catchSpec, rejectsSpec } from './spec-helpers.js';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));

describe('example specs shipped in the package', () => {
  it('loads the nines example into the model', async () => {
    const slos = await loadSloFile(`${examples}orders.nines.yaml`);
    expect(slos.map((s) => s.name)).toEqual(['availability', 'latency', 'checkout-monthly']);
    const [availability, latency, monthly] = slos;
    expect(availability).toEqual({
      name: 'availability',
      service: 'orders',
      description: 'Requests that do not fail with a server error.',
      objective: 0.999,
      window: { type: 'rolling', days: 30 },
      sli: {
        type: 'availability',
        prometheus: {
          total: 'http_server_request_duration_seconds_count{service_name="orders"}',
          bad: 'http_server_request_duration_seconds_count{service_name="orders",http_response_status_code=~"5.."}',
        },
      },
      budgeting: { type: 'occurrences' },
      alerting: { page: true, ticket: true },
      labels: { team: 'shop' },
      origin: { file: `${examples}orders.nines.yaml`, line: 7 },
    });
    expect(latency!.window).toEqual({ type: 'rolling', days: 28 });
    expect(latency!.sli).toEqual({
      type: 'latency',
      thresholdSeconds: 0.2,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      prometheus: {
        histogram: 'http_server_request_duration_seconds',
        selector: '{service_name="orders"}',
      },
    });
    expect(monthly).toMatchObject({
      objective: 0.995,
      window: { type: 'calendar', unit: 'month', timeZone: 'Europe/Paris' },
      budgeting: { type: 'timeslices', sliceSeconds: 60, sliceTarget: 0.95 },
      alerting: { page: false, ticket: true },
      labels: { team: 'shop', tier: '1' },
      sli: { type: 'availability' },
    });
  });

  it('loads the OpenSLO example: one SLO per objective, SLI by reference and inline', async () => {
    const slos = await loadSloFile(`${examples}orders.openslo.yaml`);
    expect(slos.map((s) => [s.name, s.objective])).toEqual([
      ['availability-strict', 0.999],
      ['availability-relaxed', 0.99],
      ['latency', 0.99],
    ]);
    const [strict, , latency] = slos;
    expect(strict).toMatchObject({
      service: 'orders',
      window: { type: 'rolling', days: 28 },
      budgeting: { type: 'occurrences' },
      labels: { team: 'shop' },
      sli: {
        type: 'availability',
        prometheus: {
          total: 'http_server_request_duration_seconds_count{service_name="orders"}',
          good: 'http_server_request_duration_seconds_count{service_name="orders",http_response_status_code!~"5.."}',
        },
      },
    });
    expect(latency).toMatchObject({
      window: { type: 'calendar', unit: 'month', timeZone: 'Europe/Paris' },
      budgeting: { type: 'timeslices', sliceSeconds: 300, sliceTarget: 0.95 },
      sli: {
        type: 'latency',
        thresholdSeconds: 0.2,
        prometheus: {
          histogram: 'http_server_request_duration_seconds',
          selector: '{service_name="orders"}',
        },
      },
    });
  });

  it('loads the Sloth example with a 30-day window and the ticket alert disabled', async () => {
    const [slo, ...rest] = await loadSloFile(`${examples}orders.sloth.yaml`);
    expect(rest).toEqual([]);
    expect(slo).toMatchObject({
      name: 'requests-availability',
      service: 'orders',
      objective: 0.999,
      window: { type: 'rolling', days: 30 },
      budgeting: { type: 'occurrences' },
      alerting: { page: true, ticket: false },
      labels: { owner: 'shop', repo: 'example/orders', category: 'availability' },
      sli: {
        type: 'availability',
        prometheus: {
          windowed: true,
          total:
            'sum(rate(http_server_request_duration_seconds_count{service_name="orders"}[{{.window}}]))',
        },
      },
    });
  });

  it('loads several files together', async () => {
    const slos = await loadSloFiles([
      `${examples}orders.nines.yaml`,
      `${examples}orders.sloth.yaml`,
    ]);
    expect(slos.map((s) => s.name)).toEqual([
      'availability',
      'latency',
      'checkout-monthly',
      'requests-availability',
    ]);
  });

  it('loads a directory, and names both places of an SLO defined twice', async () => {
    // The three examples describe the same service, so "latency" is in two of them.
    const err = await rejectsSpec(loadSloFiles([examples]));
    expect(err.message).toBe(
      `${examples}orders.openslo.yaml:53:9: metadata.name: duplicate SLO name "latency" in service "orders" (first defined at ${examples}orders.nines.yaml:17)`,
    );
  });
});

describe('nines format', () => {
  const one = (slo: string, head = 'service: orders\n') =>
    loadSlos(`${head}slos:\n  - ${slo.replace(/\n/g, '\n    ')}\n`, { file: 'orders.yaml' })[0]!;

  it('applies the defaults: 30-day rolling, occurrences, page and ticket alerts', () => {
    expect(one('name: a\nobjective: 0.999\nsli: availability')).toEqual({
      name: 'a',
      service: 'orders',
      objective: 0.999,
      window: { type: 'rolling', days: 30 },
      sli: { type: 'availability' },
      budgeting: { type: 'occurrences' },
      alerting: { page: true, ticket: true },
      labels: {},
      origin: { file: 'orders.yaml', line: 3 },
    });
  });

  it('reads windows in days, weeks, calendar shorthand and calendar maps', () => {
    const window = (w: string) =>
      one(`name: a\nobjective: 99%\nsli: availability\nwindow: ${w}`).window;
    expect(window('7d')).toEqual({ type: 'rolling', days: 7 });
    expect(window('4w')).toEqual({ type: 'rolling', days: 28 });
    expect(window('90d')).toEqual({ type: 'rolling', days: 90 });
    expect(window('1M')).toEqual({ type: 'calendar', unit: 'month', timeZone: 'UTC' });
    expect(window('1Q')).toEqual({ type: 'calendar', unit: 'quarter', timeZone: 'UTC' });
    expect(window('{ calendar: quarter }')).toEqual({
      type: 'calendar',
      unit: 'quarter',
      timeZone: 'UTC',
    });
    expect(window('{ calendar: month, timeZone: America/New_York }')).toEqual({
      type: 'calendar',
      unit: 'month',
      timeZone: 'America/New_York',
    });
  });

  it('keeps a threshold that is a default bucket without adding it twice', () => {
    const sli = one('name: a\nobjective: 99%\nsli: { latency: { threshold: 250ms } }').sli;
    expect(sli).toEqual({
      type: 'latency',
      thresholdSeconds: 0.25,
      buckets: DEFAULT_DURATION_BUCKETS,
    });
  });

  it('adds any threshold to the default buckets exactly once, keeping them in order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), (ms) => {
        const sli = one(`name: a\nobjective: 99%\nsli: { latency: { threshold: ${ms}ms } }`).sli;
        if (sli.type !== 'latency') throw new Error('expected a latency SLI');
        expect(sli.thresholdSeconds).toBe(ms / 1000);
        expect(sli.buckets.filter((b) => b === ms / 1000)).toHaveLength(1);
        for (const b of DEFAULT_DURATION_BUCKETS) expect(sli.buckets).toContain(b);
        for (let i = 1; i < sli.buckets.length; i++) {
          expect(sli.buckets[i]!).toBeGreaterThan(sli.buckets[i - 1]!);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('accepts explicit buckets containing the threshold, in seconds or as durations', () => {
    const sli = one(
      'name: a\nobjective: 99%\nsli: { latency: { threshold: 0.3, buckets: [100ms, 0.3, 1s], histogram: rpc_seconds } }',
    ).sli;
    expect(sli).toEqual({
      type: 'latency',
      thresholdSeconds: 0.3,
      buckets: [0.1, 0.3, 1],
      prometheus: { histogram: 'rpc_seconds' },
    });
  });

  it('reads availability queries with good instead of bad, and merges labels', () => {
    const slo = one(
      'name: a\nobjective: 99%\nlabels: { tier: 2 }\nsli: { availability: { total: t_total, good: g_total } }',
      'service: orders\nlabels: { team: shop, tier: "1" }\n',
    );
    expect(slo.sli).toEqual({
      type: 'availability',
      prometheus: { total: 't_total', good: 'g_total' },
    });
    expect(slo.labels).toEqual({ team: 'shop', tier: '2' });
  });

  it('turns any percentage with up to three decimals into the fraction written in decimal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999 }), (thousandths) => {
        const percent = (thousandths / 1000).toString();
        const slo = one(`name: a\nobjective: ${percent}%\nsli: availability`);
        // 99.9% must give exactly 0.999, the number a reader compares with, not 0.9990000000000001.
        expect(slo.objective).toBe(Number((thousandths / 100_000).toPrecision(12)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an unknown field anywhere with its path and line', () => {
    const keys = fc
      .stringMatching(/^[a-z][a-zA-Z]{2,12}$/)
      .filter(
        (k) =>
          ![
            'name',
            'description',
            'objective',
            'window',
            'sli',
            'budgeting',
            'alerting',
            'labels',
          ].includes(k),
      );
    fc.assert(
      fc.property(keys, (key) => {
        const text = `service: orders\nslos:\n  - name: a\n    objective: 99%\n    sli: availability\n    ${key}: 1\n`;
        const err = catchSpec(() => loadSlos(text, { file: 'f.yaml' }));
        expect(err.line).toBe(6);
        expect(err.field).toBe(`slos[0].${key}`);
        expect(err.reason).toMatch(`unknown field "${key}"`);
      }),
      { numRuns: 100 },
    );
  });
});

describe('entry points refuse bad arguments', () => {
  it('loadSlos names the bad argument', () => {
    expect(() => loadSlos(42 as unknown as string)).toThrow(/loadSlos: text must be a string/);
    expect(() => loadSlos('', { format: 'json' as 'nines' })).toThrow(
      /option "format" must be one of/,
    );
    expect(() => loadSlos('', { file: '' })).toThrow(/option "file" must be a non-empty string/);
    expect(() => loadSlos('', { fil: 'x' } as unknown as { file: string })).toThrow(
      /unknown option "fil"/,
    );
    expect(() => loadSlos('', null as unknown as { file: string })).toThrow(TypeError);
  });

  it('loadSloFile and loadSloFiles name the bad argument', async () => {
    await expect(loadSloFile('')).rejects.toThrow(/loadSloFile: path must be a non-empty string/);
    await expect(loadSloFiles('x' as unknown as string[])).rejects.toThrow(
      /paths must be an array/,
    );
    await expect(loadSloFile('x.yaml', { format: 'xml' as 'nines' })).rejects.toThrow(
      /option "format"/,
    );
  });

  it('an explicit format overrides detection', () => {
    const text = 'version: prometheus/v1\nservice: orders\nslos: []\n';
    const err = catchSpec(() => loadSlos(text, { format: 'nines', file: 'f.yaml' }));
    expect(err.message).toBe(
      'f.yaml:1:1: version: unknown field "version" (known fields: service, description, labels, slos)',
    );
  });
});
