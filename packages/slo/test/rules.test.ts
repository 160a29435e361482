import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type AlertingRule,
  BUDGET_EXHAUSTED_ALERT,
  BURN_RATE_ALERT,
  burnRateFactor,
  DEFAULT_ALERT_WINDOWS,
  loadSlos,
  type PrometheusRules,
  type PrometheusRulesOptions,
  prometheusRules,
  type RecordingRule,
  RULES_HEADER,
  type RuleGroup,
  type Slo,
  toRulesYaml,
} from '../src/index.js';
import { availabilitySlo } from './engine-helpers.js';

const DAY = 86_400_000;

/** The engine tests' availability SLO, named as the rules tests expect. */
const slo = (over: Partial<Slo> = {}): Slo => availabilitySlo({ name: 'availability', ...over });

const latency = (over: Partial<Slo> = {}): Slo =>
  slo({
    name: 'latency',
    sli: { type: 'latency', thresholdSeconds: 0.2, buckets: [0.1, 0.2, 0.5] },
    ...over,
  });

function only(rules: PrometheusRules): RuleGroup {
  expect(rules.groups).toHaveLength(1);
  return rules.groups[0] as RuleGroup;
}
const records = (g: RuleGroup) =>
  g.rules.filter((r): r is RecordingRule => 'record' in r).map((r) => r);
const alerts = (g: RuleGroup) => g.rules.filter((r): r is AlertingRule => 'alert' in r);
function record(g: RuleGroup, name: string): RecordingRule {
  const r = records(g).find((x) => x.record === name);
  if (r === undefined) throw new Error(`no record ${name}`);
  return r;
}
const burn = (g: RuleGroup, severity: string) =>
  alerts(g).find((a) => a.alert === BURN_RATE_ALERT && a.labels.severity === severity);

describe('prometheusRules: structure', () => {
  it('records the error ratio and burn rate of every alert window and the 30-day period', () => {
    const g = only(prometheusRules([slo()]));
    expect(g.name).toBe('nines-slo/orders/availability');
    const windows = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'];
    expect(records(g).map((r) => r.record)).toEqual([
      ...windows.map((w) => `slo:sli_error:ratio_rate${w}`),
      ...windows.map((w) => `slo:burn_rate:ratio_rate${w}`),
      'slo:objective:ratio',
      'slo:error_budget:ratio',
      'slo:time_period:days',
      'slo:period_error_budget_remaining:ratio',
      'nines_slo_info',
    ]);
    expect(alerts(g).map((a) => [a.alert, a.labels.severity])).toEqual([
      [BURN_RATE_ALERT, 'page'],
      [BURN_RATE_ALERT, 'ticket'],
      [BUDGET_EXHAUSTED_ALERT, 'ticket'],
    ]);
    expect(record(g, 'slo:burn_rate:ratio_rate1h').expr).toBe(
      'slo:sli_error:ratio_rate1h{slo="availability", service="orders"} / 0.001',
    );
    expect(record(g, 'slo:objective:ratio').expr).toBe('vector(0.999)');
    expect(record(g, 'slo:error_budget:ratio').expr).toBe('vector(0.001)');
    expect(record(g, 'slo:time_period:days').expr).toBe('vector(30)');
    expect(record(g, 'slo:period_error_budget_remaining:ratio').expr).toBe(
      '1 - slo:burn_rate:ratio_rate30d{slo="availability", service="orders"}',
    );
    expect(record(g, 'nines_slo_info').labels).toEqual({
      service: 'orders',
      slo: 'availability',
      slo_objective: '0.999',
      slo_sli: 'availability',
      slo_window: '30d',
    });
  });

  it('pages on the Workbook pairs OR-ed, each pair long AND short over factor x budget', () => {
    const page = burn(only(prometheusRules([slo()])), 'page');
    expect(page?.expr).toBe(
      [
        '(',
        '  slo:sli_error:ratio_rate1h{slo="availability", service="orders"} > (14.4 * 0.001)',
        'and',
        '  slo:sli_error:ratio_rate5m{slo="availability", service="orders"} > (14.4 * 0.001)',
        ')',
        'or',
        '(',
        '  slo:sli_error:ratio_rate6h{slo="availability", service="orders"} > (6 * 0.001)',
        'and',
        '  slo:sli_error:ratio_rate30m{slo="availability", service="orders"} > (6 * 0.001)',
        ')',
      ].join('\n'),
    );
    expect(page?.labels).toEqual({ service: 'orders', severity: 'page', slo: 'availability' });
    expect(page?.for).toBeUndefined();
    expect(page?.annotations.summary).toBe(
      'SLO orders/availability burns its error budget too fast (page).',
    );
    const ticket = burn(only(prometheusRules([slo()])), 'ticket');
    expect(ticket?.expr).toContain(
      'ratio_rate1d{slo="availability", service="orders"} > (3 * 0.001)',
    );
    expect(ticket?.expr).toContain(
      'ratio_rate3d{slo="availability", service="orders"} > (1 * 0.001)',
    );
  });

  it('scales factors to 28- and 7-day periods with burnRateFactor and records the period', () => {
    for (const [days, factors] of [
      [28, ['13.44', '5.6', '2.8', '0.933333333333']],
      [7, ['3.36', '1.4', '0.7', '0.233333333333']],
    ] as const) {
      const g = only(prometheusRules([slo({ window: { type: 'rolling', days } })]));
      expect(record(g, `slo:sli_error:ratio_rate${days}d`)).toBeDefined();
      expect(records(g).some((r) => r.record === 'slo:sli_error:ratio_rate30d')).toBe(false);
      expect(record(g, 'slo:time_period:days').expr).toBe(`vector(${days})`);
      const exprs = `${burn(g, 'page')?.expr}\n${burn(g, 'ticket')?.expr}`;
      DEFAULT_ALERT_WINDOWS.forEach((p, i) => {
        expect(Number(factors[i])).toBeCloseTo(burnRateFactor(p, days * DAY), 10);
        expect(exprs).toContain(`> (${factors[i]} * 0.001)`);
      });
    }
  });

  it('reads a calendar month as its nominal 30 days', () => {
    const g = only(
      prometheusRules([
        slo({ window: { type: 'calendar', unit: 'month', timeZone: 'Europe/Paris' } }),
      ]),
    );
    expect(record(g, 'slo:sli_error:ratio_rate30d')).toBeDefined();
    expect(record(g, 'nines_slo_info').labels.slo_window).toBe('calendar month (Europe/Paris)');
  });

  it('shares a record when the period equals an alert window', () => {
    const g = only(prometheusRules([slo({ window: { type: 'rolling', days: 3 } })]));
    const names = records(g).map((r) => r.record);
    expect(names.filter((n) => n === 'slo:sli_error:ratio_rate3d')).toHaveLength(1);
    expect(new Set(names).size).toBe(names.length);
  });

  it('uses custom alert windows', () => {
    const options: PrometheusRulesOptions = {
      alertWindows: [
        { severity: 'page', budgetPercent: 2, longWindowMs: 7_200_000, shortWindowMs: 600_000 },
      ],
    };
    const g = only(prometheusRules([slo()], options));
    expect(
      records(g)
        .map((r) => r.record)
        .slice(0, 3),
    ).toEqual([
      'slo:sli_error:ratio_rate10m',
      'slo:sli_error:ratio_rate2h',
      'slo:sli_error:ratio_rate30d',
    ]);
    expect(burn(g, 'page')?.expr).toContain(
      'ratio_rate2h{slo="availability", service="orders"} > (7.2 * 0.001)',
    );
    expect(burn(g, 'ticket')).toBeUndefined();
  });
});

describe('prometheusRules: SLI expressions', () => {
  it('availability without queries: the telemetry histogram by service, 5xx as bad, NaN-safe', () => {
    const expr = record(only(prometheusRules([slo()])), 'slo:sli_error:ratio_rate5m').expr;
    expect(expr).toBe(
      [
        '(',
        '  (sum(rate(http_server_request_duration_seconds_count{service_name="orders",http_response_status_code=~"5.."}[5m])) or vector(0))',
        '/',
        '  (sum(rate(http_server_request_duration_seconds_count{service_name="orders"}[5m])) > 0)',
        ') or vector(0)',
      ].join('\n'),
    );
  });

  it('availability with explicit bad or good counters wraps them in rate()', () => {
    const bad = slo({
      sli: {
        type: 'availability',
        prometheus: { total: 'req_total', bad: 'req_total{code=~"5.."}' },
      },
    });
    expect(record(only(prometheusRules([bad])), 'slo:sli_error:ratio_rate1h').expr).toBe(
      '(\n  (sum(rate(req_total{code=~"5.."}[1h])) or vector(0))\n/\n  (sum(rate(req_total[1h])) > 0)\n) or vector(0)',
    );
    const good = slo({
      sli: { type: 'availability', prometheus: { total: 'req_total', good: 'req_ok_total' } },
    });
    expect(record(only(prometheusRules([good])), 'slo:sli_error:ratio_rate1h').expr).toBe(
      '(\n  (sum(rate(req_total[1h])) - (sum(rate(req_ok_total[1h])) or vector(0)))\n/\n  (sum(rate(req_total[1h])) > 0)\n) or vector(0)',
    );
  });

  it('windowed (Sloth) queries get the window substituted, not wrapped in rate()', async () => {
    const [s] = loadSlos(
      `version: "prometheus/v1"
service: orders
slos:
  - name: requests
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{ .window }}]))
    alerting: { name: OrdersHighErrorRate }
`,
      { file: 'sloth.yaml' },
    );
    const g = only(prometheusRules([s as Slo]));
    expect(record(g, 'slo:sli_error:ratio_rate30m').expr).toBe(
      '(\n  ((sum(rate(http_requests_total{code=~"5.."}[30m]))) or vector(0))\n/\n  ((sum(rate(http_requests_total[30m]))) > 0)\n) or vector(0)',
    );
    for (const r of g.rules) expect(r.expr).not.toContain('{{');
    const good = slo({
      sli: {
        type: 'availability',
        prometheus: {
          total: 'sum(rate(t[{{.window}}]))',
          good: 'sum(rate(g[{{.window}}]))',
          windowed: true,
        },
      },
    });
    expect(record(only(prometheusRules([good])), 'slo:sli_error:ratio_rate5m').expr).toContain(
      '((sum(rate(t[5m]))) - ((sum(rate(g[5m]))) or vector(0)))',
    );
  });

  it('latency: 1 - bucket{le} / count with le as the service exposes it', () => {
    const expr = record(only(prometheusRules([latency()])), 'slo:sli_error:ratio_rate5m').expr;
    expect(expr).toBe(
      [
        '(',
        '  (sum(rate(http_server_request_duration_seconds_count{service_name="orders"}[5m])) - (sum(rate(http_server_request_duration_seconds_bucket{service_name="orders",le="0.2"}[5m])) or vector(0)))',
        '/',
        '  (sum(rate(http_server_request_duration_seconds_count{service_name="orders"}[5m])) > 0)',
        ') or vector(0)',
      ].join('\n'),
    );
    for (const [t, le] of [
      [1, '1'],
      [2.5, '2.5'],
      [0.005, '0.005'],
      [10, '10'],
    ] as const) {
      const s = latency({ sli: { type: 'latency', thresholdSeconds: t, buckets: [t] } });
      expect(record(only(prometheusRules([s])), 'slo:sli_error:ratio_rate5m').expr).toContain(
        `le="${le}"`,
      );
    }
  });

  it('latency with an explicit histogram and selector', () => {
    const s = latency({
      sli: {
        type: 'latency',
        thresholdSeconds: 0.5,
        buckets: [0.5],
        prometheus: { histogram: 'rpc_seconds', selector: '{job="rpc"}' },
      },
    });
    const expr = record(only(prometheusRules([s])), 'slo:sli_error:ratio_rate6h').expr;
    expect(expr).toContain('sum(rate(rpc_seconds_count{job="rpc"}[6h]))');
    expect(expr).toContain('sum(rate(rpc_seconds_bucket{job="rpc",le="0.5"}[6h]))');
    const bare = latency({
      sli: {
        type: 'latency',
        thresholdSeconds: 0.5,
        buckets: [0.5],
        prometheus: { histogram: 'rpc_seconds' },
      },
    });
    expect(record(only(prometheusRules([bare])), 'slo:sli_error:ratio_rate6h').expr).toContain(
      'rpc_seconds_bucket{le="0.5"}[6h]',
    );
  });

  it('escapes the service name in default selectors', () => {
    const expr = record(
      only(prometheusRules([slo({ service: 'a"b' })])),
      'slo:sli_error:ratio_rate5m',
    ).expr;
    expect(expr).toContain('service_name="a\\"b"');
  });
});

describe('prometheusRules: alerting and labels', () => {
  it('respects slo.alerting', () => {
    const pageOff = only(prometheusRules([slo({ alerting: { page: false, ticket: true } })]));
    expect(alerts(pageOff).map((a) => a.labels.severity)).toEqual(['ticket', 'ticket']);
    expect(burn(pageOff, 'page')).toBeUndefined();
    const none = only(prometheusRules([slo({ alerting: { page: false, ticket: false } })]));
    expect(alerts(none)).toEqual([]);
    expect(records(none).length).toBeGreaterThan(0);
  });

  it('budget-exhausted alert: remaining <= 0 for 5m, configurable or off', () => {
    const g = only(prometheusRules([slo()]));
    const ex = alerts(g).find((a) => a.alert === BUDGET_EXHAUSTED_ALERT);
    expect(ex?.expr).toBe(
      'slo:period_error_budget_remaining:ratio{slo="availability", service="orders"} <= 0',
    );
    expect(ex?.for).toBe('5m');
    const g2 = only(prometheusRules([slo()], { budgetExhaustedFor: '1h' }));
    expect(alerts(g2).find((a) => a.alert === BUDGET_EXHAUSTED_ALERT)?.for).toBe('1h');
    const off = only(prometheusRules([slo()], { budgetExhaustedAlert: false }));
    expect(alerts(off).some((a) => a.alert === BUDGET_EXHAUSTED_ALERT)).toBe(false);
  });

  it('sanitizes, sorts and merges labels; option labels go on every series', () => {
    const g = only(
      prometheusRules(
        [slo({ labels: { 'app.kubernetes.io/team': 'core', '1tier': '2', __x: 'y' } })],
        {
          labels: { cluster: 'eu-1' },
        },
      ),
    );
    const labels = record(g, 'slo:sli_error:ratio_rate5m').labels;
    expect(Object.keys(labels)).toEqual([
      '_1tier',
      '_x',
      'app_kubernetes_io_team',
      'cluster',
      'service',
      'slo',
    ]);
    expect(labels.app_kubernetes_io_team).toBe('core');
  });

  it('rejects labels that clash after sanitizing or with the rules own labels', () => {
    expect(() => prometheusRules([slo({ labels: { 'a.b': '1', a_b: '2' } })])).toThrow(
      /slos\[0\]\.labels: labels "a\.b" and "a_b" both become "a_b"/,
    );
    expect(() => prometheusRules([slo({ labels: { severity: 'high' } })])).toThrow(
      /slos\[0\]\.labels\.severity: the label "severity" is set by the rules/,
    );
    expect(() => prometheusRules([slo()], { labels: { slo: 'x' } })).toThrow(
      /option "labels"\.slo/,
    );
  });

  it('group names are stable and unique; duplicate SLOs are rejected', () => {
    const slos = [slo(), latency(), slo({ service: 'billing' })];
    const a = prometheusRules(slos).groups.map((g) => g.name);
    expect(a).toEqual([
      'nines-slo/orders/availability',
      'nines-slo/orders/latency',
      'nines-slo/billing/availability',
    ]);
    expect(prometheusRules(slos)).toEqual(prometheusRules(slos));
    expect(() => prometheusRules([slo(), latency(), slo()])).toThrow(
      /slos\[2\]: SLO "availability" of service "orders" is also slos\[0\]/,
    );
  });

  it('keeps template braces in names from being expanded by Prometheus', () => {
    const a = burn(only(prometheusRules([slo({ service: 'x{{y}}' })])), 'page');
    expect(a?.annotations.summary).toBe(
      'SLO x{{ "{{" }}y{{ "}}" }}/availability burns its error budget too fast (page).',
    );
  });
});

describe('prometheusRules: bad input', () => {
  const bad = (slos: unknown, options?: unknown) => () =>
    prometheusRules(slos as Slo[], options as PrometheusRulesOptions);

  it('names the SLO field', () => {
    expect(bad('x')).toThrow(TypeError);
    expect(bad('x')).toThrow(/slos must be an array/);
    expect(bad([null])).toThrow(/slos\[0\] must be an SLO object/);
    expect(bad([slo({ name: '' })])).toThrow(/slos\[0\]\.name must be a non-empty string/);
    expect(bad([slo(), slo({ service: 3 as unknown as string })])).toThrow(/slos\[1\]\.service/);
    expect(bad([slo({ objective: 1 })])).toThrow(
      /slos\[0\]\.objective must be a number in \(0, 1\), got 1/,
    );
    expect(bad([slo({ window: { type: 'rolling', days: 0 } })])).toThrow(/slos\[0\]\.window/);
    expect(bad([slo({ sli: { type: 'x' } as unknown as Slo['sli'] })])).toThrow(
      /slos\[0\]\.sli\.type/,
    );
    expect(bad([latency({ sli: { type: 'latency', thresholdSeconds: -1, buckets: [] } })])).toThrow(
      /slos\[0\]\.sli\.thresholdSeconds/,
    );
    expect(bad([slo({ alerting: { page: true } as unknown as Slo['alerting'] })])).toThrow(
      /slos\[0\]\.alerting/,
    );
    expect(bad([slo({ sli: { type: 'availability', prometheus: { total: 't' } } })])).toThrow(
      /slos\[0\]\.sli\.prometheus must set exactly one of "good" and "bad"/,
    );
    expect(
      bad([
        slo({
          sli: {
            type: 'availability',
            prometheus: { total: 'sum(rate(t[5m]))', bad: 'b', windowed: true },
          },
        }),
      ]),
    ).toThrow(/slos\[0\]\.sli\.prometheus\.total must contain the \{\{\.window\}\} placeholder/);
    expect(
      bad([
        latency({
          sli: {
            type: 'latency',
            thresholdSeconds: 1,
            buckets: [1],
            prometheus: { histogram: 'h', selector: 'job="x"' },
          },
        }),
      ]),
    ).toThrow(/slos\[0\]\.sli\.prometheus\.selector must be a label selector/);
  });

  it('names the option', () => {
    expect(bad([slo()], 3)).toThrow(/options must be an object/);
    expect(bad([slo()], { windows: [] })).toThrow(/unknown option "windows"/);
    expect(bad([slo()], { alertWindows: [] })).toThrow(
      /option "alertWindows" must be a non-empty array/,
    );
    const pair = DEFAULT_ALERT_WINDOWS[0];
    expect(bad([slo()], { alertWindows: [{ ...pair, severity: 'sms' }] })).toThrow(
      /alertWindows\[0\]\.severity/,
    );
    expect(bad([slo()], { alertWindows: [{ ...pair, longWindowMs: 1.5 }] })).toThrow(
      /alertWindows\[0\]\.longWindowMs/,
    );
    expect(bad([slo()], { alertWindows: [{ ...pair, budgetPercent: 0 }] })).toThrow(
      /alertWindows\[0\]\.budgetPercent/,
    );
    expect(bad([slo()], { alertWindows: [{ ...pair, shortWindowMs: 2 * 3_600_000 }] })).toThrow(
      /alertWindows\[0\]\.shortWindowMs" must not exceed/,
    );
    expect(bad([slo()], { budgetExhaustedAlert: 'yes' })).toThrow(
      /option "budgetExhaustedAlert" must be a boolean/,
    );
    expect(bad([slo()], { budgetExhaustedFor: '5 minutes' })).toThrow(
      /option "budgetExhaustedFor"/,
    );
    expect(bad([slo()], { labels: { a: 1 } })).toThrow(/option "labels"\.a must be a string/);
  });
});

describe('toRulesYaml', () => {
  it('writes the header and YAML that reads back as the rules', () => {
    const rules = prometheusRules([slo(), latency({ window: { type: 'rolling', days: 28 } })]);
    const text = toRulesYaml(rules);
    expect(text.startsWith(`${RULES_HEADER}\ngroups:\n`)).toBe(true);
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(rules)));
    // Rule keys in Prometheus' documented order, multi-line PromQL as block scalars.
    expect(text).toMatch(/- record: slo:sli_error:ratio_rate5m\n\s+expr: \|-\n/);
    expect(text).toMatch(/- alert: SloErrorBudgetExhausted\n\s+expr: .*\n\s+for: 5m\n\s+labels:/);
  });

  it('rejects anything but generated rules', () => {
    expect(() => toRulesYaml({} as PrometheusRules)).toThrow(TypeError);
    expect(() => toRulesYaml(null as unknown as PrometheusRules)).toThrow(
      /toRulesYaml: rules must be/,
    );
  });
});

describe('prometheusRules: properties', () => {
  const arbSlo = fc.record({
    objective: fc.double({ min: 0.5, max: 0.99999, noNaN: true }),
    days: fc.integer({ min: 1, max: 400 }),
    latency: fc.boolean(),
    page: fc.boolean(),
    ticket: fc.boolean(),
  });

  it('every alert reads only series recorded earlier in its group, at the engine factors', () => {
    fc.assert(
      fc.property(arbSlo, ({ objective, days, latency: lat, page, ticket }) => {
        const s = (lat ? latency : slo)({
          objective,
          window: { type: 'rolling', days },
          alerting: { page, ticket },
        });
        const g = only(prometheusRules([s]));
        const seen = new Set<string>();
        for (const r of g.rules) {
          for (const m of r.expr.matchAll(/\b(slo:[a-z_:0-9]+)\{/g)) {
            expect(seen.has(m[1] as string)).toBe(true);
          }
          if ('record' in r) seen.add(r.record);
        }
        const budget = Number((1 - objective).toPrecision(12));
        for (const sev of ['page', 'ticket'] as const) {
          const a = burn(g, sev);
          expect(a !== undefined).toBe(s.alerting[sev]);
          if (a === undefined) continue;
          const factors = [...a.expr.matchAll(/> \(([^ ]+) \* ([^)]+)\)/g)];
          const pairs = DEFAULT_ALERT_WINDOWS.filter((p) => p.severity === sev);
          expect(factors).toHaveLength(pairs.length * 2);
          pairs.forEach((p, i) => {
            const f = Number(factors[i * 2]?.[1]);
            expect(f / burnRateFactor(p, days * DAY)).toBeCloseTo(1, 10);
            expect(Number(factors[i * 2]?.[2])).toBe(budget);
          });
        }
      }),
    );
  });
});
