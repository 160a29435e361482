import { describe, expect, it } from 'vitest';
import { loadSlos } from '../src/index.js';
import { catchSpec } from './spec-helpers.js';

const EVENTS = `events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{ .window }}]))`;

/** A Sloth document with one SLO; the objective is on line 7. */
function sloth({ objective = '99.9', sli = EVENTS, extra = '', head = '' } = {}): string {
  return `version: "prometheus/v1"
service: "orders"
labels: { owner: shop, tier: 2 }${head}
slos:
  - name: "requests-availability"
    description: Requests without a server error.
    objective: ${objective}
    labels: { tier: 1 }
    sli:
      ${sli}
${extra}`;
}

const load = (text: string) => loadSlos(text, { file: 'sloth.yaml' });
const fail = (text: string) => catchSpec(() => load(text));

describe('Sloth prometheus/v1 import', () => {
  it('maps an events SLI with its window template, a 30-day window and both alerts', () => {
    expect(load(sloth())).toEqual([
      {
        name: 'requests-availability',
        service: 'orders',
        description: 'Requests without a server error.',
        objective: 0.999,
        window: { type: 'rolling', days: 30 },
        sli: {
          type: 'availability',
          prometheus: {
            bad: 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
            total: 'sum(rate(http_requests_total[{{ .window }}]))',
            windowed: true,
          },
        },
        budgeting: { type: 'occurrences' },
        alerting: { page: true, ticket: true },
        labels: { owner: 'shop', tier: '1' },
        origin: { file: 'sloth.yaml', line: 5 },
      },
    ]);
  });

  it('reads the page and ticket disable flags, accepting Sloth alert names and labels', () => {
    const alerting = (page: string, ticket: string) =>
      load(
        sloth({
          extra: `    alerting:\n      name: OrdersHighErrorRate\n      labels: { category: availability }\n      annotations: { summary: high error rate }\n      page_alert: { disable: ${page}, labels: { severity: page } }\n      ticket_alert: { disable: ${ticket} }\n`,
        }),
      )[0]!.alerting;
    expect(alerting('true', 'false')).toEqual({ page: false, ticket: true });
    expect(alerting('false', 'true')).toEqual({ page: true, ticket: false });
    expect(alerting('false', 'false')).toEqual({ page: true, ticket: true });
  });

  it('detects the format from the version line whatever the quoting', () => {
    const text = sloth().replace('version: "prometheus/v1"', "version: 'prometheus/v1'");
    expect(load(text)[0]!.name).toBe('requests-availability');
    expect(loadSlos(sloth(), { format: 'sloth' })).toHaveLength(1);
  });
});

describe('Sloth errors', () => {
  it('an objective of 100 %, which Sloth itself accepts', () => {
    expect(fail(sloth({ objective: '100' })).message).toBe(
      'sloth.yaml:7:16: slos[0].objective: 100% is not a valid objective (must be below 100 %)',
    );
    expect(fail(sloth({ objective: '0' })).reason).toBe(
      '0% is not a valid objective (must be above 0 %)',
    );
    expect(fail(sloth({ objective: '"99.9%"' })).reason).toBe(
      'must be a number, got the string "99.9%"',
    );
  });

  it('a raw error ratio SLI, which has no events to count', () => {
    const err = fail(sloth({ sli: 'raw:\n        error_ratio_query: x[{{.window}}]' }));
    expect(err.field).toBe('slos[0].sli.raw');
    expect(err.reason).toBe(
      'a precomputed error ratio is not supported: nines needs event counts; write sli.events with error_query and total_query',
    );
    expect(fail(sloth({ sli: 'plugin: { id: x }' })).reason).toMatch(
      'SLI plugins are not supported',
    );
  });

  it('queries without {{.window}}, or the same query twice', () => {
    const fixed = EVENTS.replace('[{{.window}}]', '[5m]');
    expect(fail(sloth({ sli: fixed })).message).toBe(
      'sloth.yaml:11:22: slos[0].sli.events.error_query: the query must use {{.window}} for its range, e.g. rate(http_requests_total[{{.window}}])',
    );
    const same =
      'events:\n        error_query: x[{{.window}}]\n        total_query: x[{{.window}}]';
    expect(fail(sloth({ sli: same })).reason).toBe('total_query must differ from error_query');
  });

  it('unknown fields with suggestions, in camelCase from the Kubernetes CRD too', () => {
    const camel = EVENTS.replace('error_query', 'errorQuery');
    expect(fail(sloth({ sli: camel })).reason).toBe(
      'unknown field "errorQuery"; did you mean "error_query"?',
    );
    const alert = fail(sloth({ extra: '    alerting:\n      page_alerts: { disable: true }\n' }));
    expect(alert.message).toBe(
      'sloth.yaml:14:7: slos[0].alerting.page_alerts: unknown field "page_alerts"; did you mean "page_alert"?',
    );
  });

  it('plugins, another version, missing fields', () => {
    expect(fail(sloth({ extra: '    plugins: { chain: [] }\n' })).reason).toMatch(
      'Sloth plugins are not supported',
    );
    expect(fail(sloth({ head: '\nslo_plugins: { chain: [] }' })).field).toBe('slo_plugins');
    expect(fail(sloth().replace('prometheus/v1', 'prometheus/v2')).message).toBe(
      'sloth.yaml:1:10: version: "prometheus/v2" is not a supported Sloth version (prometheus/v1)',
    );
    expect(fail(sloth().replace('service: "orders"\n', '')).reason).toBe('is required');
    expect(fail(sloth({ sli: 'events: { error_query: "x[{{.window}}]" }' })).field).toBe(
      'slos[0].sli.events.total_query',
    );
    expect(
      fail(sloth({ extra: '    alerting: { page_alert: { disable: "yes" } }\n' })).reason,
    ).toBe('must be true or false, got the string "yes"');
  });
});
