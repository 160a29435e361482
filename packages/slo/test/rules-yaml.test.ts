import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type PrometheusRules,
  prometheusRules,
  RULES_HEADER,
  type Slo,
  toRulesYaml,
} from '../src/index.js';
import { availabilitySlo } from './engine-helpers.js';

/** The engine tests' availability SLO, named as the rules tests expect. */
const slo = (over: Partial<Slo> = {}): Slo => availabilitySlo({ name: 'availability', ...over });

/** What the file must read back as: the rules as JSON sees them (undefined fields absent). */
const asData = (rules: unknown): unknown => JSON.parse(JSON.stringify(rules));
const roundTrip = (rules: PrometheusRules): unknown =>
  parse(toRulesYaml(rules), { uniqueKeys: true, strict: true });

/** Strings that trip naive YAML writers: indicators, YAML 1.1 booleans, numbers, escapes. */
const TRICKY = [
  '',
  ' ',
  'yes',
  'No',
  'on',
  'OFF',
  'null',
  '~',
  'true',
  '1',
  '0x1F',
  '1e5',
  '1_000',
  '12:30',
  '.inf',
  '-',
  '- item',
  '? key',
  ': value',
  'key: value',
  'a #comment',
  '#hash',
  '&anchor',
  '*alias',
  '!tag',
  '%directive',
  '@at',
  '`tick',
  '|',
  '>',
  '{a: 1}',
  '[1, 2]',
  "it's",
  'say "hi"',
  'back\\slash',
  '\\n literally',
  'trailing space ',
  ' leading space',
  'tab\there',
  'line\nbreak',
  'ends with newline\n',
  '\nstarts with newline',
  'two\n\nblank\n  indented',
  'crlf\r\nline',
  'nul\u0000byte',
  'bell\u0007',
  'del\u007f',
  'nel\u0085line',
  'ls\u2028ps\u2029',
  '\ufeffbom',
  'café ☕ 日本語 🚀',
  'e\u0301 combining',
  '---',
  '...',
  'slo:',
  'a:b',
  'x'.repeat(1100),
];

describe('toRulesYaml: the file reads back as the rules', () => {
  it('a varied set of SLOs: availability, latency, windowed Sloth queries, explicit counters, odd labels', () => {
    const odd = {
      team: 'it\'s "core"',
      'app.kubernetes.io/part-of': 'shop\\front',
      note: 'multi\nline\nlabel',
      yes: 'no',
      region: 'café ☕ 🚀',
      empty: '',
      hash: 'a #not-a-comment',
    };
    const slos: Slo[] = [
      slo({ labels: odd }),
      slo({
        name: 'latency',
        window: { type: 'rolling', days: 28 },
        sli: { type: 'latency', thresholdSeconds: 0.2, buckets: [0.1, 0.2, 0.5] },
        labels: odd,
      }),
      slo({
        name: 'runs',
        service: 'jobs',
        objective: 0.99,
        window: { type: 'rolling', days: 7 },
        sli: {
          type: 'availability',
          prometheus: {
            total: 'sum(rate(job_runs_total[{{.window}}]))',
            bad: 'sum(rate(job_runs_total{outcome="failed",msg=~"a\\\\b.*"}[{{.window}}]))',
            windowed: true,
          },
        },
        alerting: { page: true, ticket: false },
      }),
      slo({
        name: 'delivery',
        service: 'mail',
        sli: {
          type: 'availability',
          prometheus: { total: 'mails_total', good: 'mails_total{result="delivered"}' },
        },
        alerting: { page: false, ticket: false },
      }),
      slo({
        name: 'quarter "q" \\ ü',
        service: 'rpc 日本',
        window: { type: 'calendar', unit: 'quarter', timeZone: 'Europe/Paris' },
        sli: {
          type: 'latency',
          thresholdSeconds: 1,
          buckets: [1],
          prometheus: { histogram: 'rpc_duration_seconds', selector: '{job="rpc"}' },
        },
      }),
    ];
    const rules = prometheusRules(slos, { labels: { cluster: "eu-1's" } });
    expect(roundTrip(rules)).toEqual(asData(rules));

    // The same rules with hand-written annotations: quotes, backslashes, newlines, unicode.
    const edited: PrometheusRules = {
      groups: rules.groups.map((g) => ({
        ...g,
        rules: g.rules.map((r) =>
          'alert' in r
            ? {
                ...r,
                annotations: {
                  ...r.annotations,
                  runbook: 'https://wiki/run?book="a"&b=\\c',
                  details: 'Line one.\nLine "two" \\ 🚀\n\tindented by a tab',
                  unicode: 'Dépassement du budget — 予算超過',
                },
              }
            : r,
        ),
      })),
    };
    const text = toRulesYaml(edited);
    expect(parse(text)).toEqual(asData(edited));
    expect(text).toContain('runbook: \'https://wiki/run?book="a"&b=\\c\'');
  });

  it('each tricky string, as a label value, annotation, expression and key', () => {
    for (const s of TRICKY) {
      const rules: PrometheusRules = {
        groups: [
          {
            name: s,
            rules: [
              { record: s, expr: s, labels: { [s]: s, b: s } },
              { alert: s, expr: s, for: s, labels: { a: s }, annotations: { [s]: s, z: s } },
            ],
          },
        ],
      };
      expect(roundTrip(rules), JSON.stringify(s)).toEqual(asData(rules));
    }
  });

  it('any strings read back as written (property)', () => {
    const str = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom(...TRICKY),
      fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\t', "'", '"', '\\', ':', '#', '-') }),
    );
    const labels = fc.dictionary(str, str, { maxKeys: 4 });
    const rule = fc.oneof(
      fc.record({ record: str, expr: str, labels }),
      fc.record(
        { alert: str, expr: str, for: str, labels, annotations: labels },
        { requiredKeys: ['alert', 'expr', 'labels', 'annotations'] },
      ),
    );
    const rules = fc.record({
      groups: fc.array(fc.record({ name: str, rules: fc.array(rule, { maxLength: 4 }) }), {
        maxLength: 3,
      }),
    });
    fc.assert(
      fc.property(rules, (r) => {
        expect(roundTrip(r)).toEqual(asData(r));
      }),
      { numRuns: 500 },
    );
  });

  it('also lone surrogates, which only a double-quoted escape can carry', () => {
    const rules: PrometheusRules = {
      groups: [{ name: 'g', rules: [{ record: 'r', expr: 'x\ud800y', labels: { a: '\udc00' } }] }],
    };
    expect(toRulesYaml(rules)).toContain('expr: "x\\ud800y"');
    expect(roundTrip(rules)).toEqual(rules);
  });

  it('other JSON values and optional fields: numbers, booleans, null, empty collections, undefined', () => {
    const rules = {
      groups: [
        { name: 'g', interval: '1m', limit: 10, rules: [] },
        {
          name: 'h',
          rules: [
            { alert: 'A', expr: 'up == 0', for: undefined, labels: {}, annotations: {} },
            {
              record: 'r',
              expr: 'vector(1)',
              labels: { a: 'b' },
              extra: [
                [1, -0.5],
                [true, null],
              ],
            },
          ],
        },
      ],
    } as unknown as PrometheusRules;
    const text = toRulesYaml(rules);
    expect(text).not.toContain('for:');
    expect(text).toContain('limit: 10\n');
    expect(text).toContain('rules: []\n');
    expect(text).toContain('labels: {}\n');
    expect(roundTrip(rules)).toEqual(asData(rules));
  });
});

describe('toRulesYaml: shared objects', () => {
  it('writes a labels object shared by many rules at every use, and anew on the next call', () => {
    const labels: Record<string, string> = { team: 'a' };
    const rules: PrometheusRules = {
      groups: [
        {
          name: 'g',
          rules: [
            { record: 'r1', expr: 'x', labels },
            { record: 'r2', expr: 'y', labels },
          ],
        },
        { name: 'h', rules: [{ record: 'r3', expr: 'z', labels: { nested: 'n' } }] },
      ],
    };
    const first = toRulesYaml(rules);
    expect(first.match(/team: a\n/g)).toHaveLength(2);
    labels.team = 'b';
    labels.extra = 'c';
    const second = toRulesYaml(rules);
    expect(second.match(/team: b\n {10}extra: c\n/g)).toHaveLength(2);
    expect(parse(second)).toEqual(asData(rules));
  });

  it('a shared map at two indentations reads back the same at both', () => {
    const shared = { k: 'v', w: 'x y' };
    const rules = {
      groups: [{ name: 'g', rules: [{ record: 'r', expr: 'x', labels: shared }], meta: shared }],
      top: shared,
    } as unknown as PrometheusRules;
    expect(roundTrip(rules)).toEqual(asData(rules));
  });
});

describe('toRulesYaml: layout', () => {
  it('bare names, single-quoted one-liners, literal blocks for multi-line PromQL', () => {
    const text = toRulesYaml(prometheusRules([slo({ labels: { team: "o'neil" } })]));
    expect(
      text.startsWith(
        `${RULES_HEADER}\ngroups:\n  - name: nines-slo/orders/availability\n    rules:\n      - record: slo:sli_error:ratio_rate5m\n        expr: |-\n          (\n`,
      ),
    ).toBe(true);
    expect(text).toContain("          team: 'o''neil'\n");
    expect(text).toContain(
      `      - record: slo:burn_rate:ratio_rate5m\n        expr: 'slo:sli_error:ratio_rate5m{slo="availability", service="orders"} / 0.001'\n`,
    );
    expect(text).toContain('        expr: vector(0.999)\n');
    expect(text).toMatch(/- alert: SloErrorBudgetExhausted\n\s+expr: .*\n\s+for: 5m\n\s+labels:/);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('escapes what YAML must not see raw, and never writes a bare boolean or number', () => {
    const labels = { a: 'yes', b: '1e5', c: 'del\u007f', d: 'nel\u0085', e: 'cr\r', f: 'ok_1' };
    const text = toRulesYaml({
      groups: [{ name: 'g', rules: [{ record: 'r', expr: 'x', labels }] }],
    });
    expect(text).toContain("a: 'yes'\n");
    expect(text).toContain("b: '1e5'\n");
    expect(text).toContain('c: "del\\u007f"\n');
    expect(text).toContain('d: "nel\\u0085"\n');
    expect(text).toContain('e: "cr\\r"\n');
    expect(text).toContain('f: ok_1\n');
  });
});

describe('toRulesYaml: bad input', () => {
  const wrap = (labels: unknown) =>
    ({ groups: [{ name: 'g', rules: [{ record: 'r', expr: 'x', labels }] }] }) as PrometheusRules;

  it('names the field holding a value YAML rules cannot carry', () => {
    expect(() => toRulesYaml(wrap({ a: () => 1 }))).toThrow(
      new TypeError(
        'toRulesYaml: rules.groups[0].rules[0].labels.a must be a string, number, boolean, null, array or plain object, got function',
      ),
    );
    expect(() => toRulesYaml(wrap({ 'a.b': Number.NaN }))).toThrow(
      /rules\.groups\[0\]\.rules\[0\]\.labels\["a\.b"\] must be a finite number, got NaN/,
    );
    expect(() => toRulesYaml(wrap(new Date(0)))).toThrow(/labels must be .* got Date/);
    expect(() => toRulesYaml(wrap(new Map()))).toThrow(/labels must be .* got Map/);
    expect(() => toRulesYaml(wrap({ n: 1n }))).toThrow(/labels\.n must be .* got bigint/);
  });

  it('rejects a cycle instead of overflowing the stack', () => {
    const labels: Record<string, unknown> = {};
    labels.self = labels;
    expect(() => toRulesYaml(wrap(labels))).toThrow(/nested too deeply/);
  });

  it('rejects anything but { groups: [...] }', () => {
    for (const bad of [undefined, null, 'groups', [], {}, { groups: {} }]) {
      expect(() => toRulesYaml(bad as unknown as PrometheusRules)).toThrow(
        /toRulesYaml: rules must be the result of prometheusRules\(\)/,
      );
    }
  });
});
