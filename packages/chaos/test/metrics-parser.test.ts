import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetricsRegistry, createRedMetrics, instrumentHttp } from '@nines/telemetry';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MetricsParseError,
  parsePrometheusText,
  type Sample,
} from '../src/experiment/metrics/prometheus-text.js';

const H = 'http_server_request_duration_seconds';

function find(samples: Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

describe('parsePrometheusText on real @nines/telemetry output', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('parses the /metrics of an instrumented server on 127.0.0.1 and matches what was served', async () => {
    const red = createRedMetrics({ service: 'orders' });
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/metrics') {
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        res.end(red.registry.render());
        return;
      }
      res.statusCode = req.url?.endsWith('/fail') ? 503 : 200;
      res.end('ok');
    };
    const server = createServer(
      instrumentHttp(handler, {
        routes: ['/orders/:id', '/orders/:id/fail'],
        ignore: (req) => req.url === '/metrics',
        sinks: [(f) => red.record(f.route, f.method, f.status, f.durationSeconds)],
      }),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (let i = 0; i < 7; i++) await (await fetch(`${base}/orders/${i}`)).text();
    for (let i = 0; i < 3; i++) await (await fetch(`${base}/orders/${i}/fail`)).text();
    await (await fetch(`${base}/orders/1`, { method: 'POST' })).text();

    const samples = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    const count = (route: string, method: string, status: string) =>
      find(samples, `${H}_count`, {
        service_name: 'orders',
        http_route: route,
        http_request_method: method,
        http_response_status_code: status,
      }).map((s) => s.value);
    expect(count('/orders/:id', 'GET', '200')).toEqual([7]);
    expect(count('/orders/:id/fail', 'GET', '503')).toEqual([3]);
    expect(count('/orders/:id', 'POST', '200')).toEqual([1]);
    const buckets = find(samples, `${H}_bucket`, {
      http_route: '/orders/:id',
      http_request_method: 'GET',
    });
    expect(buckets.length).toBeGreaterThan(10);
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    expect(inf?.value).toBe(7);
    // Cumulative and ending at the count.
    const values = buckets.map((b) => b.value);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    const sum = find(samples, `${H}_sum`, {
      http_route: '/orders/:id',
      http_request_method: 'GET',
    });
    expect(sum).toHaveLength(1);
    expect(sum[0]?.value).toBeGreaterThan(0);
  });

  it('reads back label values and help text the registry had to escape', () => {
    const red = createRedMetrics({ service: 'svc' });
    const route = '/a"b\\c\nd';
    red.record(route, 'GET', 500, 0.3);
    const registry = createMetricsRegistry();
    const g = registry.gauge({
      name: 'odd_values',
      help: 'Help with \\ and \n and "quotes"',
      labelNames: ['k'],
    });
    g.labels('x\\"\n').set(-2.5e-7);
    // The registry drops non-finite values and counts them in its own counter.
    g.labels('nan').set(Number.NaN);
    const samples = parsePrometheusText(red.registry.render() + registry.render());
    const counts = find(samples, `${H}_count`, { http_route: route });
    expect(counts.map((s) => [s.value, s.labels.http_response_status_code])).toEqual([[1, '500']]);
    expect(find(samples, 'odd_values', { k: 'x\\"\n' }).map((s) => s.value)).toEqual([-2.5e-7]);
    expect(
      find(samples, 'nines_metrics_dropped_observations_total', { metric: 'odd_values' }).map(
        (s) => s.value,
      ),
    ).toEqual([1]);
  });
});

describe('parsePrometheusText edge cases', () => {
  it('parses comments, HELP/TYPE, blank lines, CRLF, timestamps and spacing', () => {
    const text = [
      '# a free comment',
      '# HELP x_total Requests with "quotes" and \\\\ backslash',
      '# TYPE x_total counter',
      '',
      '   ',
      'x_total{a="1",b="two"} 3 1700000000000',
      'x_total { a = "2" , } 4.5e2\r',
      '\tx_total\t7',
      'y:colon{le="+Inf"} +Inf',
      'z NaN -5',
      'neg -Inf',
      'dec .5',
      '# EOF',
    ].join('\n');
    expect(parsePrometheusText(text)).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'two' }, value: 3, timestampMs: 1700000000000 },
      { name: 'x_total', labels: { a: '2' }, value: 450 },
      { name: 'x_total', labels: {}, value: 7 },
      { name: 'y:colon', labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY },
      { name: 'z', labels: {}, value: Number.NaN, timestampMs: -5 },
      { name: 'neg', labels: {}, value: Number.NEGATIVE_INFINITY },
      { name: 'dec', labels: {}, value: 0.5 },
    ]);
  });

  it('resolves the three escapes and keeps other text (commas, braces, unicode) as is', () => {
    const [s] = parsePrometheusText('m{v="a\\\\b\\"c\\nd,}{é✓"} 1');
    expect(s?.labels.v).toBe('a\\b"c\nd,}{é✓');
  });

  it('keeps a label named __proto__ as a label', () => {
    const [s] = parsePrometheusText('m{__proto__="x"} 1');
    expect(Object.keys(s?.labels ?? {})).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(s?.labels, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(s?.labels)).toBe(Object.prototype);
  });

  it('accepts an empty text and a text of comments only', () => {
    expect(parsePrometheusText('')).toEqual([]);
    expect(parsePrometheusText('\n\n# HELP a b\n# TYPE a gauge\n')).toEqual([]);
  });

  const bad: Array<[string, number, RegExp]> = [
    ['ok 1\nbad{a="1"', 2, /unterminated label set/],
    ['ok 1\n\nm{a="x} 1', 3, /unterminated value of label "a"/],
    ['m{a="\\t"} 1', 1, /invalid escape "\\t"/],
    ['m{a="1",a="2"} 1', 1, /duplicate label "a"/],
    ['m{1a="1"} 1', 1, /expected a label name/],
    ['m{a=1} 1', 1, /expected a quoted value/],
    ['m{a "1"} 1', 1, /expected "=" after label "a"/],
    ['m{a="1" b="2"} 1', 1, /expected "," or "}"/],
    ['m', 1, /missing value of "m"/],
    ['m{a="1"}', 1, /missing value/],
    ['m one', 1, /invalid value "one"/],
    ['m 1 1.5', 1, /invalid timestamp "1.5"/],
    ['m 1 2 3', 1, /unexpected text after the timestamp/],
    ['1m 1', 1, /expected a metric name/],
    ['m-x 1', 1, /invalid character in metric name "m-"/],
    ['# TYPE m thing', 1, /TYPE of "m" must be one of/],
    ['# TYPE m counter extra', 1, /unexpected text after the TYPE/],
    ['# HELP', 1, /HELP without a valid metric name/],
    ['# TYPE 9m counter', 1, /TYPE without a valid metric name/],
    ['a 1\nb 2\r\nc 3\n\nd{', 5, /unterminated label set of "d"/],
  ];
  for (const [text, line, message] of bad) {
    it(`rejects ${JSON.stringify(text)} naming line ${line}`, () => {
      let err: unknown;
      try {
        parsePrometheusText(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MetricsParseError);
      const e = err as MetricsParseError;
      expect(e.code).toBe('EMETRICSPARSE');
      expect(e.line).toBe(line);
      expect(e.message).toMatch(new RegExp(`^metrics text line ${line}: `));
      expect(e.message).toMatch(message);
    });
  }

  it('rejects a non-string with a TypeError naming the argument', () => {
    for (const v of [undefined, null, 42, Buffer.from('m 1'), ['m 1']]) {
      expect(() => parsePrometheusText(v as unknown as string)).toThrow(
        /parsePrometheusText: argument "text" must be a string, got /,
      );
    }
  });
});

// --- property: format random samples, parse them back ------------------------------------------

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return Object.is(v, -0) ? '-0' : String(v);
}

const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
const blank = fc.stringMatching(/^[ \t]{0,3}$/);
const sampleArb = fc.record({
  name: metricName,
  labels: fc.dictionary(labelName, fc.string({ unit: 'grapheme', maxLength: 12 }), {
    maxKeys: 4,
  }),
  value: fc.double(),
  timestampMs: fc.option(fc.integer({ min: -1e13, max: 1e13 }), { nil: undefined }),
  // Layout freedom the format allows: spacing, a trailing comma, a comment line before.
  pad: fc.tuple(blank, blank, blank),
  trailingComma: fc.boolean(),
  comment: fc.constantFrom('', '# just a comment', '# HELP x some help', '# TYPE x gauge'),
});

describe('parsePrometheusText property', () => {
  it('parses back what a formatter wrote, for any names, label values and numbers', () => {
    fc.assert(
      fc.property(fc.array(sampleArb, { maxLength: 8 }), fc.boolean(), (samples, crlf) => {
        const lines: string[] = [];
        for (const s of samples) {
          if (s.comment !== '') lines.push(s.comment);
          const pairs = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
          const labels =
            pairs.length === 0 ? '' : `{${pairs.join(',')}${s.trailingComma ? ',' : ''}}`;
          const ts = s.timestampMs === undefined ? '' : ` ${s.pad[2]}${s.timestampMs}`;
          lines.push(`${s.pad[0]}${s.name}${labels} ${s.pad[1]}${formatValue(s.value)}${ts}`);
        }
        const parsed = parsePrometheusText(lines.join(crlf ? '\r\n' : '\n'));
        expect(parsed).toEqual(
          samples.map((s) =>
            s.timestampMs === undefined
              ? { name: s.name, labels: s.labels, value: s.value }
              : { name: s.name, labels: s.labels, value: s.value, timestampMs: s.timestampMs },
          ),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('either parses or throws MetricsParseError with a line in range, for any text', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 30 }),
            fc.constantFrom('m{a="1"} 1', '# TYPE m gauge', 'm{a="\\', 'm{', '} 1', 'm 1 x'),
          ),
          { maxLength: 6 },
        ),
        (parts) => {
          const text = parts.join('\n');
          try {
            parsePrometheusText(text);
          } catch (e) {
            expect(e).toBeInstanceOf(MetricsParseError);
            const line = (e as MetricsParseError).line;
            expect(line).toBeGreaterThanOrEqual(1);
            expect(line).toBeLessThanOrEqual(text.split('\n').length);
          }
        },
      ),
    );
  });
});
