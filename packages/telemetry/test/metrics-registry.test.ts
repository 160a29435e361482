import { describe, expect, it } from 'vitest';
import {
  createMetricsRegistry,
  DEFAULT_HISTOGRAM_BUCKETS,
  DROPPED_METRIC,
  escapeLabelValue,
  formatSampleValue,
  PROMETHEUS_CONTENT_TYPE,
} from '../src/metrics/registry.js';

describe('rendering the Prometheus text format 0.0.4', () => {
  it('renders HELP/TYPE, a counter with _total, a gauge and a cumulative histogram', () => {
    const r = createMetricsRegistry();
    const c = r.counter({ name: 'jobs', help: 'Jobs run.', labelNames: ['queue'] });
    c.labels('mail').inc();
    c.labels('mail').inc(2);
    c.labels('sms').inc(0.5);
    const g = r.gauge({ name: 'queue_depth', help: 'Waiting jobs.' });
    g.set(7);
    g.dec(2);
    const h = r.histogram({ name: 'wait_seconds', help: 'Wait.', buckets: [0.1, 1] });
    h.observe(0.1); // le is inclusive
    h.observe(0.5);
    h.observe(3);
    expect(r.render()).toBe(
      [
        '# HELP jobs_total Jobs run.',
        '# TYPE jobs_total counter',
        'jobs_total{queue="mail"} 3',
        'jobs_total{queue="sms"} 0.5',
        '# HELP queue_depth Waiting jobs.',
        '# TYPE queue_depth gauge',
        'queue_depth 5',
        '# HELP wait_seconds Wait.',
        '# TYPE wait_seconds histogram',
        'wait_seconds_bucket{le="0.1"} 1',
        'wait_seconds_bucket{le="1"} 2',
        'wait_seconds_bucket{le="+Inf"} 3',
        'wait_seconds_sum 3.6',
        'wait_seconds_count 3',
        '',
      ].join('\n'),
    );
    expect(r.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(r.contentType).toContain('version=0.0.4');
  });

  it('escapes label values and help text, formats le as String(bound)', () => {
    const r = createMetricsRegistry({ defaultLabels: { instance: 'a"b' } });
    const h = r.histogram({
      name: 'x_seconds',
      help: 'line one\nback\\slash',
      labelNames: ['path'],
      buckets: [1e-7, 0.2, 2.5, 100],
    });
    h.labels('C:\\tmp\n"quoted"').observe(0.2);
    const text = r.render();
    expect(text).toContain('# HELP x_seconds line one\\nback\\\\slash\n');
    expect(text).toContain(
      'x_seconds_bucket{instance="a\\"b",path="C:\\\\tmp\\n\\"quoted\\"",le="1e-7"} 0\n',
    );
    expect(text).toContain('le="0.2"} 1\n');
    expect(text).toContain('le="2.5"} 1\n');
    expect(text).toContain('le="100"} 1\n');
    expect(text).toContain('x_seconds_sum{instance="a\\"b",path="C:\\\\tmp\\n\\"quoted\\""} 0.2\n');
    expect(escapeLabelValue('plain')).toBe('plain');
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(formatSampleValue(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(formatSampleValue(Number.NEGATIVE_INFINITY)).toBe('-Inf');
    expect(formatSampleValue(Number.NaN)).toBe('NaN');
    expect(formatSampleValue(1e21)).toBe('1e+21');
  });

  it('adds default labels to every series, first', () => {
    const r = createMetricsRegistry({ defaultLabels: { region: 'eu', zone: 'b' } });
    r.counter({ name: 'a_total', help: 'A.' }).inc();
    r.gauge({ name: 'g', help: 'G.', labelNames: ['k'] })
      .labels('v')
      .set(1);
    const text = r.render();
    expect(text).toContain('a_total{region="eu",zone="b"} 1\n');
    expect(text).toContain('g{region="eu",zone="b",k="v"} 1\n');
    expect(r.defaultLabels).toEqual({ region: 'eu', zone: 'b' });
  });

  it('uses the semconv buckets by default', () => {
    const r = createMetricsRegistry();
    expect(r.histogram({ name: 'h', help: 'H.' }).buckets).toEqual(DEFAULT_HISTOGRAM_BUCKETS);
  });

  it('runs gauge collect() at each render; a throwing collect keeps the last value and warns', async () => {
    const r = createMetricsRegistry();
    let depth = 3;
    let fail = false;
    r.gauge({
      name: 'depth',
      help: 'D.',
      collect(g) {
        if (fail) throw new Error('source down');
        g.set(depth);
      },
    });
    expect(r.render()).toContain('depth 3\n');
    depth = 9;
    expect(r.render()).toContain('depth 9\n');
    fail = true;
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(r.render()).toContain('depth 9\n');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.join('\n')).toMatch(/gauge depth: collect\(\) threw.*source down/);
  });
});

describe('children', () => {
  it('labels() returns the same child for the same values; with() is equivalent', () => {
    const r = createMetricsRegistry();
    const c = r.counter({ name: 'req_total', help: 'R.', labelNames: ['method', 'code'] });
    const a = c.labels('GET', '200');
    expect(c.labels('GET', '200')).toBe(a);
    expect(c.with({ code: '200', method: 'GET' })).toBe(a);
    expect(c.labels('GET', '500')).not.toBe(a);
    a.inc();
    expect(a.value).toBe(1);
  });

  it('rejects a wrong label count, a non-string value and an unknown label', () => {
    const r = createMetricsRegistry();
    const c = r.counter({ name: 'req_total', help: 'R.', labelNames: ['method'] });
    expect(() => c.labels()).toThrow(/expected 1 value\(s\) for method, got 0/);
    expect(() => c.labels('a', 'b')).toThrow(TypeError);
    expect(() => c.labels(200 as unknown as string)).toThrow(/label "method" must be a string/);
    expect(() => c.with({ verb: 'GET' })).toThrow(/unknown label "verb"/);
    expect(() => c.with({})).toThrow(/label "method" must be a string/);
    // Nothing half-created: the series list is still empty.
    expect(r.render()).toBe('# HELP req_total R.\n# TYPE req_total counter\n');
  });

  it('an unlabelled metric is its own child; labels() with no values returns it', () => {
    const r = createMetricsRegistry();
    const h = r.histogram({ name: 'h', help: 'H.', buckets: [1] });
    h.observe(0.5);
    expect(h.labels()).toBeDefined();
    h.labels().observe(2);
    expect(h.count).toBe(2);
    expect(h.sum).toBe(2.5);
  });
});

describe('bad observations are dropped and counted, never thrown', () => {
  it('drops negative and non-finite values and calls on a labelled root', () => {
    const r = createMetricsRegistry();
    const c = r.counter({ name: 'c_total', help: 'C.' });
    const g = r.gauge({ name: 'g', help: 'G.' });
    const h = r.histogram({ name: 'h', help: 'H.', buckets: [1] });
    const l = r.histogram({ name: 'l', help: 'L.', labelNames: ['k'], buckets: [1] });
    expect(() => {
      c.inc(-1);
      c.inc(Number.NaN);
      c.inc(Number.POSITIVE_INFINITY);
      c.inc('1' as unknown as number);
      g.set(Number.NaN);
      g.inc(Number.NEGATIVE_INFINITY);
      h.observe(-0.001);
      h.observe(Number.NaN);
      h.observe(Number.POSITIVE_INFINITY);
      h.observe('0.3' as unknown as number);
      l.observe(1);
    }).not.toThrow();
    expect(c.value).toBe(0);
    expect(g.value).toBe(0);
    expect(h.count).toBe(0);
    expect(c.dropped).toBe(4);
    expect(g.dropped).toBe(2);
    expect(h.dropped).toBe(4);
    expect(l.dropped).toBe(1);
    expect(r.dropped).toBe(11);
    // Good values still count afterwards: nothing else is lost.
    h.observe(0.5);
    g.set(-4); // gauges may go negative
    expect(h.count).toBe(1);
    expect(g.value).toBe(-4);
    const text = r.render();
    expect(text).toContain(`# TYPE ${DROPPED_METRIC} counter\n`);
    expect(text).toContain(`${DROPPED_METRIC}{metric="c_total"} 4\n`);
    expect(text).toContain(`${DROPPED_METRIC}{metric="h"} 4\n`);
  });

  it('renders no dropped counter while nothing was dropped', () => {
    const r = createMetricsRegistry();
    r.counter({ name: 'c_total', help: 'C.' }).inc();
    expect(r.render()).not.toContain(DROPPED_METRIC);
  });
});

describe('names and options are checked at creation', () => {
  const r = createMetricsRegistry();
  it.each([
    ['1abc', /registry.counter: option "name" must be a metric name/],
    ['a-b', /option "name"/],
    ['', /option "name"/],
    [42, /option "name" .*got number 42/],
  ])('rejects metric name %j', (name, msg) => {
    expect(() => r.counter({ name: name as string, help: 'x' })).toThrow(TypeError);
    expect(() => r.counter({ name: name as string, help: 'x' })).toThrow(msg);
  });

  it.each([
    [['__reserved'], /option "labelNames\[0\]" must be a label name/],
    [['ok', 'bad-name'], /option "labelNames\[1\]"/],
    [['a:b'], /option "labelNames\[0\]"/],
    [['a', 'a'], /"labelNames\[1\]" "a" is repeated/],
  ])('rejects label names %j', (labelNames, msg) => {
    expect(() => r.gauge({ name: 'g_bad', help: 'x', labelNames })).toThrow(msg);
  });

  it('reserves le on histograms and rejects a default label reused as a label', () => {
    expect(() => r.histogram({ name: 'h_le', help: 'x', labelNames: ['le'] })).toThrow(
      /"labelNames\[0\]" "le" is reserved/,
    );
    const d = createMetricsRegistry({ defaultLabels: { region: 'eu' } });
    expect(() => d.counter({ name: 'c', help: 'x', labelNames: ['region'] })).toThrow(
      /"region" is a default label/,
    );
  });

  it('rejects bad buckets, help, unit, otel and unknown options', () => {
    expect(() => r.histogram({ name: 'h1', help: 'x', buckets: [1, 1] })).toThrow(
      /option "buckets" must be strictly ascending/,
    );
    expect(() => r.histogram({ name: 'h2', help: 'x', buckets: [2, 1] })).toThrow(
      /strictly ascending/,
    );
    expect(() => r.histogram({ name: 'h3', help: 'x', buckets: [Number.NaN] })).toThrow(
      /option "buckets\[0\]" must be a finite number/,
    );
    expect(() => r.histogram({ name: 'h4', help: 'x', buckets: [] })).toThrow(/at least one/);
    expect(() => r.histogram({ name: 'h5', help: 'x', buckets: '1' as never })).toThrow(
      /option "buckets" must be an array/,
    );
    expect(() => r.counter({ name: 'c1', help: '' })).toThrow(/option "help"/);
    expect(() => r.counter({ name: 'c2', help: 'x', unit: 5 as never })).toThrow(/option "unit"/);
    expect(() => r.counter({ name: 'c3', help: 'x', colour: 'red' } as never)).toThrow(
      /unknown option "colour"/,
    );
    expect(() => r.counter(undefined as never)).toThrow(/registry.counter: options/);
    expect(() =>
      r.counter({ name: 'c4', help: 'x', labelNames: ['k'], otel: { intAttributes: ['z'] } }),
    ).toThrow(/option "otel.intAttributes\[0\]"/);
    expect(() => r.counter({ name: 'c5', help: 'x', otel: { nom: 'y' } } as never)).toThrow(
      /unknown option "otel.nom"/,
    );
    expect(() => r.gauge({ name: 'g1', help: 'x', collect: 'no' as never })).toThrow(
      /option "collect" must be a function/,
    );
    // A trailing +Inf is accepted and dropped (it is implicit).
    expect(
      r.histogram({ name: 'h6', help: 'x', buckets: [1, Number.POSITIVE_INFINITY] }).buckets,
    ).toEqual([1]);
  });

  it('rejects bad registry options', () => {
    expect(() => createMetricsRegistry({ defaultLabels: { 'bad-name': 'x' } })).toThrow(
      /option "defaultLabels.bad-name" must be a label name/,
    );
    expect(() => createMetricsRegistry({ defaultLabels: { a: 1 as never } })).toThrow(
      /option "defaultLabels.a" must be a string/,
    );
    expect(() => createMetricsRegistry({ defaultLabels: { le: 'x' } })).toThrow(/reserved/);
    expect(() => createMetricsRegistry({ labels: {} } as never)).toThrow(/unknown option "labels"/);
    expect(() => createMetricsRegistry(null as never)).toThrow(/options must be an object/);
  });

  it('returns the existing metric for the same definition and rejects a conflicting one', () => {
    const reg = createMetricsRegistry();
    const a = reg.histogram({ name: 'd_seconds', help: 'D.', labelNames: ['k'], buckets: [1, 2] });
    expect(
      reg.histogram({ name: 'd_seconds', help: 'D.', labelNames: ['k'], buckets: [1, 2] }),
    ).toBe(a);
    expect(() =>
      reg.histogram({ name: 'd_seconds', help: 'D.', labelNames: ['k'], buckets: [1, 3] }),
    ).toThrow(/already registered as a histogram/);
    // A counter's exposed name ends in _total, so it does not clash.
    expect(reg.counter({ name: 'd_seconds', help: 'D.' }).name).toBe('d_seconds_total');
    expect(() => reg.gauge({ name: 'd_seconds', help: 'D.' })).toThrow(/already registered/);
    // A histogram's sample names are taken too.
    expect(() => reg.gauge({ name: 'd_seconds_count', help: 'D.' })).toThrow(
      /already a series of d_seconds/,
    );
    expect(reg.get('d_seconds')).toBe(a);
    expect(reg.metrics()).toEqual([a, reg.get('d_seconds_total')]);
  });
});

describe('collect() for exporters', () => {
  it('returns plain, per-bucket (not cumulative) data with default labels first', () => {
    const r = createMetricsRegistry({ defaultLabels: { region: 'eu' } });
    const h = r.histogram({
      name: 'h',
      help: 'H.',
      labelNames: ['k'],
      buckets: [1, 2],
      unit: 's',
      otel: { name: 'my.h' },
    });
    h.labels('v').observe(0.5);
    h.labels('v').observe(1.5);
    h.labels('v').observe(1.7);
    r.counter({ name: 'n', help: 'N.' }).inc(4);
    const data = r.collect();
    expect(data).toHaveLength(2);
    const [hd, cd] = data;
    expect(hd).toMatchObject({
      name: 'h',
      type: 'histogram',
      unit: 's',
      labelNames: ['region', 'k'],
      buckets: [1, 2],
      otel: { name: 'my.h' },
    });
    if (hd?.type !== 'histogram') throw new Error('expected a histogram');
    expect(hd.series[0]).toMatchObject({ labelValues: ['eu', 'v'], counts: [1, 2, 0], count: 3 });
    expect(hd.series[0]?.sum).toBeCloseTo(3.7, 12);
    expect(cd).toMatchObject({ name: 'n_total', type: 'counter', series: [{ value: 4 }] });
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
  });
});
