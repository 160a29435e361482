import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DURATION_BUCKETS, loadSloFiles, loadSlos } from '../src/index.js';
import { catchSpec, rejectsSpec } from './spec-helpers.js';

const RATIO = `ratioMetric:
        counter: true
        bad: { metricSource: { type: Prometheus, spec: { query: errors_total } } }
        total: { metricSource: { type: Prometheus, spec: { query: requests_total } } }`;

const THRESHOLD = (query: string) =>
  `thresholdMetric: { metricSource: { spec: { query: '${query}' } } }`;

/**
 * One OpenSLO SLO document. With the default inline ratio indicator, the time window item is on
 * line 14 and the first objective on line 17.
 */
function slo({
  window = '- { duration: 28d, isRolling: true }',
  method = 'Occurrences',
  objectives = '- { target: 0.999 }',
  indicator = `indicator:\n    spec:\n      ${RATIO}`,
  metadata = '',
} = {}): string {
  return `apiVersion: openslo/v1
kind: SLO
metadata:
  name: avail${metadata}
spec:
  service: orders
  ${indicator}
  timeWindow:
    ${window}
  budgetingMethod: ${method}
  objectives:
    ${objectives}
`;
}

const load = (text: string) => loadSlos(text, { file: 'slo.yaml' });
const fail = (text: string) => catchSpec(() => load(text));

describe('OpenSLO v1 import', () => {
  it('maps a ratio SLO with bad and total counters', () => {
    expect(load(slo())).toEqual([
      {
        name: 'avail',
        service: 'orders',
        objective: 0.999,
        window: { type: 'rolling', days: 28 },
        sli: { type: 'availability', prometheus: { total: 'requests_total', bad: 'errors_total' } },
        budgeting: { type: 'occurrences' },
        alerting: { page: true, ticket: true },
        labels: {},
        origin: { file: 'slo.yaml', line: 4 },
      },
    ]);
  });

  it('keeps no queries for a data source without a Prometheus query', () => {
    const indicator = `indicator:\n    spec:\n      ratioMetric:\n        good: { metricSource: { type: Datadog, spec: { metric: ok } } }\n        total: { metricSource: { type: Datadog, spec: { metric: all } } }`;
    expect(load(slo({ indicator }))[0]!.sli).toEqual({ type: 'availability' });
  });

  it('reads rolling windows in days, weeks and whole days of hours', () => {
    const window = (w: string) => load(slo({ window: w }))[0]!.window;
    expect(window('- { duration: 7d, isRolling: true }')).toEqual({ type: 'rolling', days: 7 });
    expect(window('- { duration: 4w }')).toEqual({ type: 'rolling', days: 28 });
    expect(window('- { duration: 720h, isRolling: true }')).toEqual({ type: 'rolling', days: 30 });
  });

  it('reads calendar months and quarters with their time zone', () => {
    const window = (w: string) => load(slo({ window: w }))[0]!.window;
    expect(
      window(
        '- { duration: 1M, calendar: { startTime: "2026-01-01 00:00:00", timeZone: Asia/Tokyo } }',
      ),
    ).toEqual({ type: 'calendar', unit: 'month', timeZone: 'Asia/Tokyo' });
    expect(window('- { duration: 1Q, isRolling: false, calendar: { timeZone: UTC } }')).toEqual({
      type: 'calendar',
      unit: 'quarter',
      timeZone: 'UTC',
    });
    expect(window('- { duration: 3M, calendar: {} }')).toEqual({
      type: 'calendar',
      unit: 'quarter',
      timeZone: 'UTC',
    });
  });

  it('reads Timeslices, a bare timeSliceWindow being minutes', () => {
    const objectives = '- { target: 0.99, timeSliceTarget: 0.9, timeSliceWindow: 2 }';
    expect(load(slo({ method: 'Timeslices', objectives }))[0]!.budgeting).toEqual({
      type: 'timeslices',
      sliceSeconds: 120,
      sliceTarget: 0.9,
    });
    const seconds = '- { target: 0.99, timeSliceTarget: 1, timeSliceWindow: 30s }';
    expect(load(slo({ method: 'Timeslices', objectives: seconds }))[0]!.budgeting).toEqual({
      type: 'timeslices',
      sliceSeconds: 30,
      sliceTarget: 1,
    });
  });

  it('names objectives by display name or index, and reads targetPercent', () => {
    const named = load(
      slo({
        objectives: '- { displayName: Most Requests, targetPercent: 99 }\n    - { target: 0.999 }',
      }),
    );
    expect(named.map((s) => [s.name, s.objective])).toEqual([
      ['avail-most-requests', 0.99],
      ['avail-1', 0.999],
    ]);
  });

  it('maps a lt/lte thresholdMetric on a seconds histogram to a latency SLI', () => {
    const indicator = `indicator:\n    spec:\n      ${THRESHOLD('rpc_duration_seconds_bucket{job="orders"}')}`;
    const [s] = load(slo({ indicator, objectives: '- { op: lt, value: 0.3, target: 0.99 }' }));
    expect(s!.sli).toEqual({
      type: 'latency',
      thresholdSeconds: 0.3,
      buckets: [...DEFAULT_DURATION_BUCKETS, 0.3].sort((a, b) => a - b),
      prometheus: { histogram: 'rpc_duration_seconds', selector: '{job="orders"}' },
    });
  });

  it('reports a thresholdMetric it cannot map as unsupported', () => {
    const quantile = `indicator:\n    spec:\n      ${THRESHOLD('histogram_quantile(0.99, rate(x_bucket[5m]))')}`;
    const err = fail(
      slo({ indicator: quantile, objectives: '- { op: lte, value: 0.2, target: 0.99 }' }),
    );
    expect(err.field).toBe('spec.indicator.spec.thresholdMetric');
    expect(err.reason).toMatch(
      /^this thresholdMetric cannot be mapped to a latency SLI: .* got "histogram_quantile/,
    );
    const seconds = `indicator:\n    spec:\n      ${THRESHOLD('x_seconds')}`;
    const gt = fail(
      slo({ indicator: seconds, objectives: '- { op: gt, value: 0.2, target: 0.99 }' }),
    );
    expect(gt.message).toMatch(
      /^slo\.yaml:14:13: spec\.objectives\[0\]\.op: op: gt is not supported/,
    );
    const two = fail(
      slo({
        indicator: seconds,
        objectives: '- { op: lt, value: 1, target: 0.9 }\n    - { op: lt, value: 2, target: 0.99 }',
      }),
    );
    expect(two.reason).toBe('a thresholdMetric SLO has exactly one objective');
    const noValue = fail(slo({ indicator: seconds, objectives: '- { op: lt, target: 0.99 }' }));
    expect(noValue.reason).toBe('is required (the latency threshold in seconds)');
  });

  it('resolves indicatorRef across documents and across files', async () => {
    const sliDoc = `apiVersion: openslo/v1\nkind: SLI\nmetadata: { name: good-reqs }\nspec:\n  ${RATIO.replace(/\n {8}/g, '\n    ')}\n`;
    const service =
      'apiVersion: openslo/v1\nkind: Service\nmetadata: { name: orders }\nspec: { description: Orders }\n';
    const withRef = slo({ indicator: 'indicatorRef: good-reqs' });
    expect(load(`${service}---\n${sliDoc}---\n${withRef}`)[0]!.sli).toEqual({
      type: 'availability',
      prometheus: { total: 'requests_total', bad: 'errors_total' },
    });
    const dir = await mkdtemp(join(tmpdir(), 'nines-openslo-'));
    await writeFile(join(dir, 'sli.yaml'), sliDoc);
    await writeFile(join(dir, 'slo.yaml'), withRef);
    expect((await loadSloFiles([dir]))[0]!.name).toBe('avail');
    // Alone, the SLO file cannot resolve its reference, and says where to look.
    const err = await rejectsSpec(loadSloFiles([join(dir, 'slo.yaml')]));
    expect(err.message).toBe(
      `${join(dir, 'slo.yaml')}:7:17: spec.indicatorRef: no SLI named "good-reqs" (load the file that defines it too)`,
    );
  });

  it('suggests the SLI meant by a mistyped indicatorRef', () => {
    const sliDoc = `apiVersion: openslo/v1\nkind: SLI\nmetadata: { name: good-reqs }\nspec:\n  ${RATIO.replace(/\n {8}/g, '\n    ')}\n`;
    const err = fail(`${slo({ indicator: 'indicatorRef: good-req' })}---\n${sliDoc}`);
    expect(err.reason).toBe('no SLI named "good-req"; did you mean "good-reqs"?');
  });

  it('turns labels into Prometheus labels: lists joined, names sanitised', () => {
    const metadata = '\n  labels: { "app.kubernetes.io/team": [a, b], tier: 1 }';
    expect(load(slo({ metadata }))[0]!.labels).toEqual({
      app_kubernetes_io_team: 'a,b',
      tier: '1',
    });
  });

  it('reads past the alerting kinds and alertPolicies', () => {
    const policy =
      'apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: { name: p }\nspec: { anything: [1, 2] }\n';
    const withPolicies = slo().replace(
      '  budgetingMethod',
      '  alertPolicies: [{ alertPolicyRef: p }]\n  budgetingMethod',
    );
    expect(load(`${policy}---\n${withPolicies}`)).toHaveLength(1);
  });
});

describe('OpenSLO errors', () => {
  it('a calendar window of 1m, a month written as a minute', () => {
    const err = fail(slo({ window: '- { duration: 1m, calendar: { timeZone: UTC } }' }));
    expect(err.message).toBe(
      'slo.yaml:14:19: spec.timeWindow[0].duration: 1m is one minute, shorter than a day; did you mean 1M (a month)?',
    );
  });

  it('any window shorter than a day', () => {
    expect(fail(slo({ window: '- { duration: 30m, isRolling: true }' })).reason).toBe(
      '30m is 30 minutes, shorter than a day; did you mean 30M (months)?',
    );
    expect(fail(slo({ window: '- { duration: 5h }' })).reason).toBe(
      '5h is 5 hours, shorter than a day; an SLO window is days, weeks, a month or a quarter (e.g. 28d, 1M)',
    );
  });

  it('windows the model cannot hold', () => {
    const reason = (w: string) => fail(slo({ window: w })).reason;
    expect(reason('- { duration: 1M, isRolling: true }')).toMatch(
      'a rolling window must be whole days or weeks',
    );
    expect(reason('- { duration: 1w, calendar: {} }')).toBe(
      'a calendar window must be 1M (a month) or 1Q (a quarter), got 1w',
    );
    expect(reason('- { duration: 1M, isRolling: false }')).toMatch('is required');
    expect(reason('- { duration: 28d, isRolling: true, calendar: {} }')).toMatch(
      'a rolling window has no calendar',
    );
    expect(reason('- { duration: 30 days }')).toMatch('is not an OpenSLO duration');
    expect(reason('- { duration: 28d }\n    - { duration: 7d }')).toBe(
      'must list exactly one time window, got 2',
    );
    expect(reason('- { duration: 1M, calendar: { timeZone: Mars/Olympus } }')).toBe(
      '"Mars/Olympus" is not an IANA time zone',
    );
    expect(reason('- { duration: 1M, calendar: { startTime: yesterday } }')).toMatch(
      'is not a start time',
    );
  });

  it('targets of 100 % or more, and missing or doubled targets', () => {
    expect(fail(slo({ objectives: '- { target: 1 }' })).message).toBe(
      'slo.yaml:17:17: spec.objectives[0].target: 1 is not a valid objective (1 is 100 %; must be below 100 %)',
    );
    expect(fail(slo({ objectives: '- { targetPercent: 100 }' })).reason).toBe(
      '100% is not a valid objective (must be below 100 %)',
    );
    expect(fail(slo({ objectives: '- { displayName: x }' })).reason).toMatch('target (a fraction');
    expect(fail(slo({ objectives: '- { target: 0.9, targetPercent: 90 }' })).reason).toMatch(
      'only one of',
    );
    expect(fail(slo({ objectives: '[]' })).reason).toBe('must list at least one objective');
  });

  it('budgeting methods: unsupported, mistyped, or missing their fields', () => {
    expect(fail(slo({ method: 'RatioTimeslices' })).reason).toBe(
      'RatioTimeslices is not supported (Occurrences or Timeslices)',
    );
    expect(fail(slo({ method: 'Ocurrences' })).reason).toBe(
      '"Ocurrences" is not a budgeting method; did you mean "Occurrences"?',
    );
    const noTarget = fail(
      slo({ method: 'Timeslices', objectives: '- { target: 0.99, timeSliceWindow: 1m }' }),
    );
    expect(noTarget.field).toBe('spec.objectives[0].timeSliceTarget');
    const onOcc = fail(slo({ objectives: '- { target: 0.99, timeSliceTarget: 0.9 }' }));
    expect(onOcc.reason).toBe('timeSliceTarget applies to budgetingMethod Timeslices only');
    const badWindow = fail(
      slo({
        method: 'Timeslices',
        objectives: '- { target: 0.99, timeSliceTarget: 0.9, timeSliceWindow: 1M }',
      }),
    );
    expect(badWindow.reason).toMatch('"1M" is not a valid timeSliceWindow');
  });

  it('unsupported indicators: raw ratios, gauges, composites', () => {
    const raw = `indicator:\n    spec:\n      ratioMetric: { rawType: success, raw: { metricSource: { spec: { query: x } } } }`;
    expect(fail(slo({ indicator: raw })).reason).toMatch(/^raw ratio metrics .* are not supported/);
    const gauge = `indicator:\n    spec:\n      ${RATIO.replace('counter: true', 'counter: false')}`;
    expect(fail(slo({ indicator: gauge })).reason).toMatch('only counters are supported');
    expect(fail(slo({ objectives: '- { target: 0.99, indicatorRef: x }' })).reason).toMatch(
      'composite SLOs are not supported',
    );
    expect(fail(slo({ objectives: '- { op: lt, value: 1, target: 0.99 }' })).reason).toBe(
      'op applies to a thresholdMetric only',
    );
  });

  it('envelope errors: version, kind, unknown fields, duplicates', () => {
    expect(fail(slo().replace('openslo/v1', 'openslo/v1alpha')).message).toBe(
      'slo.yaml:1:13: apiVersion: "openslo/v1alpha" is not supported; nines reads openslo/v1',
    );
    expect(fail(slo().replace('kind: SLO', 'kind: Slo')).reason).toBe(
      '"Slo" is not an OpenSLO kind; did you mean "SLO"?',
    );
    const unknown = fail(slo().replace('  service: orders', '  service: orders\n  servce: x'));
    expect(unknown.message).toBe(
      'slo.yaml:7:3: spec.servce: unknown field "servce"; did you mean "service"?',
    );
    expect(fail(slo().replace('kind: SLO', 'kind: SLO\nmetdata: {}')).reason).toMatch(
      'did you mean "metadata"?',
    );
    const dup = fail(
      slo({
        objectives: '- { target: 0.99, displayName: A }\n    - { target: 0.999, displayName: a }',
      }),
    );
    expect(dup.message).toBe(
      'slo.yaml:18:37: spec.objectives[1].displayName: duplicate SLO name "avail-a" in service "orders" (first defined at line 17)',
    );
  });
});
