/**
 * A small metrics registry for the per-request hot path: counters, gauges and explicit-bucket
 * histograms rendered in the Prometheus text format 0.0.4, and read back as plain data for the
 * OTLP producer. Unlike prom-client, an observation on a labelled child does no label validation,
 * no string building and no allocation: children are looked up once and kept by the caller, and
 * every line of the exposition except the values is built when the series is created.
 */
import { describe, optionsObject } from '@nines/resilience/options';

/** The Prometheus text exposition format this registry renders. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Bucket boundaries (seconds) used when a histogram names none: the OpenTelemetry semantic
 * convention advice for `http.server.request.duration`.
 */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Name of the counter that appears once an observation has been dropped. */
export const DROPPED_METRIC = 'nines_metrics_dropped_observations_total';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The three kinds of metric the registry holds. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * How a metric is named when exported over OTLP (see `registryMetricProducer`). Without it the
 * Prometheus name is used (counters without their `_total` suffix) and labels keep their names.
 */
export interface OtelNaming {
  /** OpenTelemetry instrument name, e.g. `http.server.request.duration`. */
  readonly name?: string;
  /** Attribute name per label name, e.g. `{ http_route: 'http.route' }`. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Labels exported as integer attributes (e.g. `http_response_status_code`). */
  readonly intAttributes?: readonly string[];
}

/** Options shared by every metric kind. */
export interface MetricOptions {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`. A counter's name gets `_total` appended unless it ends with it. */
  readonly name: string;
  /** The `# HELP` text (non-empty). */
  readonly help: string;
  /** Label names, `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`. Default none. */
  readonly labelNames?: readonly string[];
  /** UCUM unit for OTLP (`s`, `By`, `1`); Prometheus carries it in the name. */
  readonly unit?: string;
  readonly otel?: OtelNaming;
}

/** Options of {@link MetricsRegistry.histogram}. */
export interface HistogramOptions extends MetricOptions {
  /**
   * Finite upper bounds in strictly ascending order (`le` is inclusive; `+Inf` is implicit and
   * dropped if given). Default {@link DEFAULT_HISTOGRAM_BUCKETS}.
   */
  readonly buckets?: readonly number[];
}

/** Options of {@link MetricsRegistry.gauge}. */
export interface GaugeOptions extends MetricOptions {
  /**
   * Run at every scrape and OTLP collection before the values are read, to set them from the
   * source (queue length, pool size). Must be synchronous; if it throws, a process warning is
   * emitted and the previous values are reported.
   */
  readonly collect?: (gauge: Gauge) => void;
}

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Labels added to every series of every metric (e.g. `{ instance: 'a' }`). */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

/** One counter series. */
export interface CounterChild {
  /**
   * Adds `value` (default 1). A negative or non-finite value is dropped and counted in
   * {@link MetricsRegistry.dropped}; it never throws.
   */
  inc(value?: number): void;
  readonly value: number;
}

/** One gauge series. Non-finite values are dropped and counted, never thrown. */
export interface GaugeChild {
  set(value: number): void;
  inc(value?: number): void;
  dec(value?: number): void;
  readonly value: number;
}

/** One histogram series. */
export interface HistogramChild {
  /**
   * Counts `value` in its bucket (binary search over the bounds). A negative or non-finite value
   * is dropped and counted in {@link MetricsRegistry.dropped}; it never throws.
   */
  observe(value: number): void;
  readonly count: number;
  readonly sum: number;
}

/** What every metric has, whatever its kind. */
export interface MetricBase<C> {
  readonly type: MetricType;
  /** The exposed name (a counter's with `_total`). */
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly unit: string;
  /**
   * The child for these label values (one per label name, in order), created on first use. Look
   * it up once and keep it: the lookup walks a map per label, the child's methods do nothing but
   * arithmetic. Throws a TypeError on a wrong count or a non-string value.
   */
  labels(...values: string[]): C;
  /** The same as {@link MetricBase.labels} from a `{ name: value }` object. */
  with(labels: Readonly<Record<string, string>>): C;
  /** Values dropped by this metric (bad observations, calls on a labelled metric's root). */
  readonly dropped: number;
}

/**
 * A counter. Without label names it is its own only child (`inc()` on it); with label names,
 * `inc()` on the root is dropped and counted, since it names no series.
 */
export interface Counter extends MetricBase<CounterChild>, CounterChild {
  readonly type: 'counter';
}

/** A gauge; see {@link Counter} for the root/child rule. */
export interface Gauge extends MetricBase<GaugeChild>, GaugeChild {
  readonly type: 'gauge';
}

/** A histogram; see {@link Counter} for the root/child rule. */
export interface Histogram extends MetricBase<HistogramChild>, HistogramChild {
  readonly type: 'histogram';
  /** Finite upper bounds, ascending. */
  readonly buckets: readonly number[];
}

/** Any metric of a registry. */
export type Metric = Counter | Gauge | Histogram;

/** One series of a counter or gauge, as plain data. */
export interface ScalarSeriesData {
  /** Values of {@link MetricData.labelNames}, in order (default labels first). */
  readonly labelValues: readonly string[];
  /** When the series was created (ms since the epoch): the start of its cumulative values. */
  readonly createdAt: number;
  readonly value: number;
}

/** One series of a histogram, as plain data. */
export interface HistogramSeriesData {
  readonly labelValues: readonly string[];
  readonly createdAt: number;
  /** Per bucket, not cumulative; one more than the bounds (the last is `+Inf`). */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

interface MetricDataBase {
  readonly name: string;
  readonly help: string;
  readonly unit: string;
  /** Default labels, then the metric's own. */
  readonly labelNames: readonly string[];
  readonly otel: OtelNaming | undefined;
}

/** A metric and its series at one instant, as plain data (see {@link MetricsRegistry.collect}). */
export type MetricData =
  | (MetricDataBase & {
      readonly type: 'counter' | 'gauge';
      readonly series: readonly ScalarSeriesData[];
    })
  | (MetricDataBase & {
      readonly type: 'histogram';
      readonly buckets: readonly number[];
      readonly series: readonly HistogramSeriesData[];
    });

/** A set of metrics rendered together; see {@link createMetricsRegistry}. */
export interface MetricsRegistry {
  /** `text/plain; version=0.0.4; charset=utf-8`, for the `Content-Type` of `/metrics`. */
  readonly contentType: string;
  readonly defaultLabels: Readonly<Record<string, string>>;
  /**
   * A counter. Asking again for the same name with the same kind, labels and unit returns the
   * existing metric; a different definition under a taken name throws a TypeError.
   */
  counter(options: MetricOptions): Counter;
  gauge(options: GaugeOptions): Gauge;
  histogram(options: HistogramOptions): Histogram;
  /** The metric exposed under `name`, if any. */
  get(name: string): Metric | undefined;
  /** Every metric, in registration order. */
  metrics(): readonly Metric[];
  /** Runs gauge callbacks and renders every metric in the Prometheus text format 0.0.4. */
  render(): string;
  /** Runs gauge callbacks and returns every metric's series as plain data (for exporters). */
  collect(): MetricData[];
  /** Observations dropped so far by all metrics. */
  readonly dropped: number;
}

/** Escapes a label value for the text format: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : value;
}

/** Escapes `# HELP` text: backslash and line feed. */
export function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value or bucket bound as Go's ParseFloat reads it. */
export function formatSampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

/** @internal Throws a TypeError unless `name` is a valid Prometheus metric name. */
export function checkMetricName(owner: string, name: unknown, option = 'name'): string {
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw new TypeError(
      `${owner}: option "${option}" must be a metric name matching [a-zA-Z_:][a-zA-Z0-9_:]*, got ${describe(name)}`,
    );
  }
  return name;
}

/** @internal Throws a TypeError unless `name` is a valid, non-reserved Prometheus label name. */
export function checkLabelName(owner: string, name: unknown, option: string): string {
  if (typeof name !== 'string' || !LABEL_NAME.test(name) || name.startsWith('__')) {
    throw new TypeError(
      `${owner}: option "${option}" must be a label name matching [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", got ${describe(name)}`,
    );
  }
  return name;
}

/** @internal Validates histogram bounds: finite numbers, strictly ascending; a trailing +Inf is dropped. */
export function checkBuckets(owner: string, value: unknown, option = 'buckets'): number[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${owner}: option "${option}" must be an array, got ${describe(value)}`);
  }
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const b: unknown = value[i];
    if (b === Number.POSITIVE_INFINITY && i === value.length - 1) break;
    if (typeof b !== 'number' || !Number.isFinite(b)) {
      throw new TypeError(
        `${owner}: option "${option}[${i}]" must be a finite number, got ${describe(b)}`,
      );
    }
    if (i > 0 && !(b > (value[i - 1] as number))) {
      throw new TypeError(
        `${owner}: option "${option}" must be strictly ascending, got ${value[i - 1]} then ${b}`,
      );
    }
    out.push(b);
  }
  if (out.length === 0) {
    throw new TypeError(`${owner}: option "${option}" must hold at least one finite bound`);
  }
  return out;
}

/** Builds the `{a="x",b="y"` part of a series (no closing brace), or '' without labels. */
function labelFragment(names: readonly string[], values: readonly string[]): string {
  let s = '';
  for (let i = 0; i < names.length; i++) {
    s += `${i === 0 ? '{' : ','}${names[i]}="${escapeLabelValue(values[i]!)}"`;
  }
  return s;
}

function closeFragment(fragment: string): string {
  return fragment === '' ? '' : `${fragment}}`;
}

type Trie<S> = Map<string, Trie<S> | S>;

type Defaults = { readonly names: readonly string[]; readonly values: string[] };

/** State and behaviour common to the three kinds. */
abstract class Family<S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly unit: string;
  readonly otel: OtelNaming | undefined;
  dropped = 0;
  /** Series in creation order, for rendering. */
  readonly series: S[] = [];
  readonly #trie: Trie<S> = new Map();
  /** Default label names and values, prepended to every series. */
  protected readonly defaults: Defaults;
  /** The root's own series when the metric has no labels (set by {@link Family.init}). */
  protected root: S | undefined;

  constructor(o: MetricOptions, name: string, defaults: Defaults) {
    this.name = name;
    this.help = o.help;
    this.labelNames = Object.freeze([...(o.labelNames ?? [])]);
    this.unit = o.unit ?? '';
    this.otel = o.otel;
    this.defaults = defaults;
  }

  /** Creates the root series of an unlabelled metric; subclasses call it once their fields are set. */
  protected init(): void {
    this.root = this.labelNames.length === 0 ? this.getOrCreate([]) : undefined;
  }

  protected abstract create(values: readonly string[], fragment: string): S;

  labels(...values: string[]): S {
    const names = this.labelNames;
    if (values.length !== names.length) {
      throw new TypeError(
        `${this.name}.labels(): expected ${names.length} value(s) for ${names.join(', ') || 'no labels'}, got ${values.length}`,
      );
    }
    if (names.length === 0) return this.root!;
    // Fast walk for existing children; validation happens only on the creating path.
    let node: Trie<S> | S | undefined = this.#trie;
    for (let i = 0; i < values.length && node !== undefined; i++) {
      node = (node as Trie<S>).get(values[i]!);
    }
    return node === undefined ? this.getOrCreate(values) : (node as S);
  }

  with(labels: Readonly<Record<string, string>>): S {
    if (labels === null || typeof labels !== 'object') {
      throw new TypeError(`${this.name}.with(): labels must be an object, got ${describe(labels)}`);
    }
    for (const key of Object.keys(labels)) {
      if (!this.labelNames.includes(key)) {
        throw new TypeError(
          `${this.name}.with(): unknown label "${key}" (labels: ${this.labelNames.join(', ')})`,
        );
      }
    }
    return this.labels(...this.labelNames.map((n) => labels[n] as string));
  }

  protected getOrCreate(values: readonly string[]): S {
    for (let i = 0; i < values.length; i++) {
      if (typeof values[i] !== 'string') {
        throw new TypeError(
          `${this.name}.labels(): label "${this.labelNames[i]}" must be a string, got ${describe(values[i])}`,
        );
      }
    }
    let node = this.#trie;
    for (let i = 0; i < values.length - 1; i++) {
      let next = node.get(values[i]!) as Trie<S> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i]!, next);
      }
      node = next;
    }
    const last = values.length - 1;
    const existing = last >= 0 ? (node.get(values[last]!) as S | undefined) : undefined;
    if (existing !== undefined) return existing;
    const all = [...this.defaults.values, ...values];
    const names = [...this.defaults.names, ...this.labelNames];
    const child = this.create(all, labelFragment(names, all));
    if (last >= 0) node.set(values[last]!, child);
    this.series.push(child);
    return child;
  }

  /** Drops a call on the root of a labelled metric. */
  protected rootDrop(): void {
    this.dropped++;
  }

  get allLabelNames(): readonly string[] {
    return [...this.defaults.names, ...this.labelNames];
  }

  header(type: MetricType): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${type}\n`;
  }
}

class CounterSeries implements CounterChild {
  value = 0;
  readonly #family: { dropped: number };
  readonly line: string;
  readonly labelValues: readonly string[];
  readonly createdAt = Date.now();

  constructor(family: { dropped: number }, name: string, values: readonly string[], frag: string) {
    this.#family = family;
    this.labelValues = values;
    this.line = `${name}${closeFragment(frag)} `;
  }

  inc(value = 1): void {
    // NaN fails the second test; Infinity the third; a string would concatenate.
    if (typeof value !== 'number' || !(value >= 0) || value === Number.POSITIVE_INFINITY) {
      this.#family.dropped++;
      return;
    }
    this.value += value;
  }
}

class GaugeSeries implements GaugeChild {
  value = 0;
  readonly #family: { dropped: number };
  readonly line: string;
  readonly labelValues: readonly string[];
  readonly createdAt = Date.now();

  constructor(family: { dropped: number }, name: string, values: readonly string[], frag: string) {
    this.#family = family;
    this.labelValues = values;
    this.line = `${name}${closeFragment(frag)} `;
  }

  set(value: number): void {
    if (!Number.isFinite(value)) {
      this.#family.dropped++;
      return;
    }
    this.value = value;
  }

  inc(value = 1): void {
    if (!Number.isFinite(value)) {
      this.#family.dropped++;
      return;
    }
    this.value += value;
  }

  dec(value = 1): void {
    this.inc(-value);
  }
}

class HistogramSeries implements HistogramChild {
  count = 0;
  sum = 0;
  /** Per-bucket counts, not cumulative (made cumulative when rendered). */
  readonly counts: Float64Array;
  readonly #bounds: Float64Array;
  readonly #family: { dropped: number };
  /** `name_bucket{labels,le="b"} ` per bucket, then the `_sum` and `_count` prefixes. */
  readonly bucketLines: readonly string[];
  readonly sumLine: string;
  readonly countLine: string;
  readonly labelValues: readonly string[];
  readonly createdAt = Date.now();

  constructor(
    family: { dropped: number },
    name: string,
    bounds: Float64Array,
    values: readonly string[],
    frag: string,
  ) {
    this.#family = family;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
    this.labelValues = values;
    const sep = frag === '' ? '{' : `${frag},`;
    const lines: string[] = [];
    for (const b of bounds) lines.push(`${name}_bucket${sep}le="${formatSampleValue(b)}"} `);
    lines.push(`${name}_bucket${sep}le="+Inf"} `);
    this.bucketLines = lines;
    this.sumLine = `${name}_sum${closeFragment(frag)} `;
    this.countLine = `${name}_count${closeFragment(frag)} `;
  }

  observe(value: number): void {
    if (typeof value !== 'number' || !(value >= 0) || value === Number.POSITIVE_INFINITY) {
      this.#family.dropped++;
      return;
    }
    // First bound >= value (`le` is inclusive); past the last finite bound: the +Inf bucket.
    const b = this.#bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    this.counts[lo]!++;
    this.count++;
    this.sum += value;
  }
}

class CounterImpl extends Family<CounterSeries> implements Counter {
  readonly type = 'counter' as const;

  constructor(o: MetricOptions, name: string, defaults: Defaults) {
    super(o, name, defaults);
    this.init();
  }

  protected create(values: readonly string[], frag: string): CounterSeries {
    return new CounterSeries(this, this.name, values, frag);
  }

  inc(value?: number): void {
    if (this.root === undefined) this.rootDrop();
    else this.root.inc(value);
  }

  get value(): number {
    return this.root?.value ?? 0;
  }

  render(): string {
    let s = this.header('counter');
    for (const c of this.series) s += `${c.line}${formatSampleValue(c.value)}\n`;
    return s;
  }
}

class GaugeImpl extends Family<GaugeSeries> implements Gauge {
  readonly type = 'gauge' as const;
  readonly collector: ((gauge: Gauge) => void) | undefined;

  constructor(o: GaugeOptions, name: string, defaults: Defaults) {
    super(o, name, defaults);
    this.collector = o.collect;
    this.init();
  }

  protected create(values: readonly string[], frag: string): GaugeSeries {
    return new GaugeSeries(this, this.name, values, frag);
  }

  set(value: number): void {
    if (this.root === undefined) this.rootDrop();
    else this.root.set(value);
  }

  inc(value?: number): void {
    if (this.root === undefined) this.rootDrop();
    else this.root.inc(value);
  }

  dec(value?: number): void {
    if (this.root === undefined) this.rootDrop();
    else this.root.dec(value);
  }

  get value(): number {
    return this.root?.value ?? 0;
  }

  runCollect(): void {
    if (this.collector === undefined) return;
    try {
      this.collector(this);
    } catch (err) {
      process.emitWarning(
        `gauge ${this.name}: collect() threw, reporting the previous values: ${err instanceof Error ? err.message : String(err)}`,
        'NinesMetricsWarning',
      );
    }
  }

  render(): string {
    let s = this.header('gauge');
    for (const c of this.series) s += `${c.line}${formatSampleValue(c.value)}\n`;
    return s;
  }
}

class HistogramImpl extends Family<HistogramSeries> implements Histogram {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];
  readonly #bounds: Float64Array;

  constructor(o: MetricOptions, name: string, defaults: Defaults, buckets: readonly number[]) {
    super(o, name, defaults);
    this.#bounds = Float64Array.from(buckets);
    this.buckets = Object.freeze([...buckets]);
    this.init();
  }

  protected create(values: readonly string[], frag: string): HistogramSeries {
    return new HistogramSeries(this, this.name, this.#bounds, values, frag);
  }

  observe(value: number): void {
    if (this.root === undefined) this.rootDrop();
    else this.root.observe(value);
  }

  get count(): number {
    return this.root?.count ?? 0;
  }

  get sum(): number {
    return this.root?.sum ?? 0;
  }

  render(): string {
    let s = this.header('histogram');
    for (const h of this.series) {
      const lines = h.bucketLines;
      const counts = h.counts;
      let cum = 0;
      for (let i = 0; i < counts.length; i++) {
        cum += counts[i]!;
        s += `${lines[i]}${cum}\n`;
      }
      s += `${h.sumLine}${formatSampleValue(h.sum)}\n${h.countLine}${h.count}\n`;
    }
    return s;
  }
}

type AnyFamily = CounterImpl | GaugeImpl | HistogramImpl;

const METRIC_KEYS = ['name', 'help', 'labelNames', 'unit', 'otel'] as const;

class Registry implements MetricsRegistry {
  readonly contentType = PROMETHEUS_CONTENT_TYPE;
  readonly defaultLabels: Readonly<Record<string, string>>;
  readonly #defaults: Defaults;
  readonly #families: AnyFamily[] = [];
  readonly #byName = new Map<string, AnyFamily>();
  /** Every sample name in use (a histogram takes three), so two metrics never share one. */
  readonly #samples = new Map<string, string>();

  constructor(defaultLabels: Readonly<Record<string, string>>) {
    this.defaultLabels = Object.freeze({ ...defaultLabels });
    const names = Object.keys(this.defaultLabels);
    this.#defaults = { names, values: names.map((n) => this.defaultLabels[n]!) };
  }

  #check(
    owner: string,
    options: unknown,
    keys: readonly string[],
    type: MetricType,
  ): { o: MetricOptions; name: string } {
    const o = optionsObject<MetricOptions>(owner, options, keys);
    if (options === undefined) {
      throw new TypeError(`${owner}: options must be an object with "name" and "help"`);
    }
    let name = checkMetricName(owner, o.name);
    if (type === 'counter' && !name.endsWith('_total')) name = `${name}_total`;
    if (typeof o.help !== 'string' || o.help === '') {
      throw new TypeError(
        `${owner}: option "help" must be a non-empty string, got ${describe(o.help)}`,
      );
    }
    if (o.labelNames !== undefined && !Array.isArray(o.labelNames)) {
      throw new TypeError(
        `${owner}: option "labelNames" must be an array, got ${describe(o.labelNames)}`,
      );
    }
    const labels = o.labelNames ?? [];
    const seen = new Set<string>(this.#defaults.names);
    labels.forEach((l, i) => {
      checkLabelName(owner, l, `labelNames[${i}]`);
      if (type === 'histogram' && l === 'le') {
        throw new TypeError(`${owner}: option "labelNames[${i}]" "le" is reserved for buckets`);
      }
      if (seen.has(l)) {
        throw new TypeError(
          `${owner}: option "labelNames[${i}]" "${l}" is ${this.#defaults.names.includes(l) ? 'a default label' : 'repeated'}`,
        );
      }
      seen.add(l);
    });
    if (o.unit !== undefined && typeof o.unit !== 'string') {
      throw new TypeError(`${owner}: option "unit" must be a string, got ${describe(o.unit)}`);
    }
    if (o.otel !== undefined) checkOtel(owner, o.otel, labels);
    return { o: o as MetricOptions, name };
  }

  /** Returns the existing metric for an identical definition; throws on a conflicting one. */
  #existing(
    owner: string,
    name: string,
    type: MetricType,
    o: MetricOptions,
    buckets?: readonly number[],
  ): AnyFamily | undefined {
    const f = this.#byName.get(name);
    const taken = this.#samples.get(name);
    if (f === undefined) {
      if (taken !== undefined) {
        throw new TypeError(`${owner}: option "name" "${name}" is already a series of ${taken}`);
      }
      return undefined;
    }
    const same =
      f.type === type &&
      f.unit === (o.unit ?? '') &&
      sameList(f.labelNames, o.labelNames ?? []) &&
      (buckets === undefined || sameList((f as HistogramImpl).buckets, buckets));
    if (!same) {
      throw new TypeError(
        `${owner}: option "name" "${name}" is already registered as a ${f.type} with other labels, unit or buckets`,
      );
    }
    return f;
  }

  #add<F extends AnyFamily>(f: F, sampleNames: readonly string[]): F {
    for (const s of sampleNames) {
      const other = this.#samples.get(s);
      if (other !== undefined) {
        throw new TypeError(
          `metrics registry: option "name" "${f.name}" would expose ${s}, already a series of ${other}`,
        );
      }
    }
    for (const s of sampleNames) this.#samples.set(s, f.name);
    this.#byName.set(f.name, f);
    this.#families.push(f);
    return f;
  }

  counter(options: MetricOptions): Counter {
    const owner = 'registry.counter';
    const { o, name } = this.#check(owner, options, METRIC_KEYS, 'counter');
    const f = this.#existing(owner, name, 'counter', o);
    if (f !== undefined) return f as CounterImpl;
    return this.#add(new CounterImpl(o, name, this.#defaults), [name]);
  }

  gauge(options: GaugeOptions): Gauge {
    const owner = 'registry.gauge';
    const { o, name } = this.#check(owner, options, [...METRIC_KEYS, 'collect'], 'gauge');
    const collect = (o as GaugeOptions).collect;
    if (collect !== undefined && typeof collect !== 'function') {
      throw new TypeError(
        `${owner}: option "collect" must be a function, got ${describe(collect)}`,
      );
    }
    const f = this.#existing(owner, name, 'gauge', o);
    if (f !== undefined) return f as GaugeImpl;
    return this.#add(new GaugeImpl(o as GaugeOptions, name, this.#defaults), [name]);
  }

  histogram(options: HistogramOptions): Histogram {
    const owner = 'registry.histogram';
    const { o, name } = this.#check(owner, options, [...METRIC_KEYS, 'buckets'], 'histogram');
    const raw = (o as HistogramOptions).buckets;
    const buckets = raw === undefined ? DEFAULT_HISTOGRAM_BUCKETS : checkBuckets(owner, raw);
    const f = this.#existing(owner, name, 'histogram', o, buckets);
    if (f !== undefined) return f as HistogramImpl;
    return this.#add(new HistogramImpl(o, name, this.#defaults, buckets), [
      name,
      `${name}_bucket`,
      `${name}_sum`,
      `${name}_count`,
    ]);
  }

  get(name: string): Metric | undefined {
    return this.#byName.get(name);
  }

  metrics(): readonly Metric[] {
    return [...this.#families];
  }

  get dropped(): number {
    let n = 0;
    for (const f of this.#families) n += f.dropped;
    return n;
  }

  render(): string {
    let s = '';
    for (const f of this.#families) {
      if (f instanceof GaugeImpl) f.runCollect();
      s += f.render();
    }
    if (this.dropped > 0) s += this.#renderDropped();
    return s;
  }

  /** The dropped-observation counter, per metric, once anything was dropped. */
  #renderDropped(): string {
    const d = this.#defaults;
    let s = `# HELP ${DROPPED_METRIC} Observations dropped because their value was negative, not finite or named no series.\n# TYPE ${DROPPED_METRIC} counter\n`;
    for (const f of this.#families) {
      if (f.dropped === 0) continue;
      const frag = labelFragment([...d.names, 'metric'], [...d.values, f.name]);
      s += `${DROPPED_METRIC}${frag}} ${f.dropped}\n`;
    }
    return s;
  }

  collect(): MetricData[] {
    const out: MetricData[] = [];
    for (const f of this.#families) {
      const base = {
        name: f.name,
        help: f.help,
        unit: f.unit,
        labelNames: f.allLabelNames,
        otel: f.otel,
      };
      if (f instanceof HistogramImpl) {
        out.push({
          ...base,
          type: 'histogram',
          buckets: f.buckets,
          series: f.series.map((h) => ({
            labelValues: h.labelValues,
            createdAt: h.createdAt,
            counts: Array.from(h.counts),
            sum: h.sum,
            count: h.count,
          })),
        });
      } else {
        if (f instanceof GaugeImpl) f.runCollect();
        out.push({
          ...base,
          type: f.type,
          series: (f.series as (CounterSeries | GaugeSeries)[]).map((c) => ({
            labelValues: c.labelValues,
            createdAt: c.createdAt,
            value: c.value,
          })),
        });
      }
    }
    return out;
  }
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function checkOtel(owner: string, value: unknown, labels: readonly string[]): void {
  const o = optionsObject<OtelNaming>(
    owner,
    value,
    ['name', 'attributes', 'intAttributes'],
    'otel',
  );
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) {
    throw new TypeError(
      `${owner}: option "otel.name" must be a non-empty string, got ${describe(o.name)}`,
    );
  }
  if (o.attributes !== undefined) {
    if (o.attributes === null || typeof o.attributes !== 'object') {
      throw new TypeError(
        `${owner}: option "otel.attributes" must be an object, got ${describe(o.attributes)}`,
      );
    }
    for (const [k, v] of Object.entries(o.attributes)) {
      if (typeof v !== 'string' || v === '') {
        throw new TypeError(
          `${owner}: option "otel.attributes.${k}" must be a non-empty string, got ${describe(v)}`,
        );
      }
    }
  }
  if (o.intAttributes !== undefined) {
    if (!Array.isArray(o.intAttributes)) {
      throw new TypeError(
        `${owner}: option "otel.intAttributes" must be an array, got ${describe(o.intAttributes)}`,
      );
    }
    o.intAttributes.forEach((l, i) => {
      if (!labels.includes(l)) {
        throw new TypeError(
          `${owner}: option "otel.intAttributes[${i}]" must be one of the label names, got ${describe(l)}`,
        );
      }
    });
  }
}

/**
 * A registry of counters, gauges and histograms, rendered in the Prometheus text format.
 *
 * Names and labels are checked when a metric is created (a TypeError names the bad option); an
 * observation never throws: a negative or non-finite value is dropped and counted, visible as
 * `nines_metrics_dropped_observations_total{metric="…"}` and {@link MetricsRegistry.dropped}.
 *
 * @example
 * const registry = createMetricsRegistry({ defaultLabels: { instance: 'a' } });
 * const jobs = registry.counter({ name: 'jobs', help: 'Jobs run.', labelNames: ['queue'] });
 * const mail = jobs.labels('mail'); // once, at start-up
 * mail.inc();                      // per job: one addition
 * res.setHeader('content-type', registry.contentType).end(registry.render());
 */
export function createMetricsRegistry(options?: MetricsRegistryOptions): MetricsRegistry {
  const owner = 'createMetricsRegistry';
  const o = optionsObject<MetricsRegistryOptions>(owner, options, ['defaultLabels']);
  const d = o.defaultLabels;
  if (d !== undefined) {
    if (d === null || typeof d !== 'object' || Array.isArray(d)) {
      throw new TypeError(`${owner}: option "defaultLabels" must be an object, got ${describe(d)}`);
    }
    for (const [k, v] of Object.entries(d)) {
      checkLabelName(owner, k, `defaultLabels.${k}`);
      if (k === 'le') {
        throw new TypeError(`${owner}: option "defaultLabels.le" "le" is reserved for buckets`);
      }
      if (typeof v !== 'string') {
        throw new TypeError(
          `${owner}: option "defaultLabels.${k}" must be a string, got ${describe(v)}`,
        );
      }
    }
  }
  return new Registry(d ?? {});
}
