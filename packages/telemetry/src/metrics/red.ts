/**
 * The RED recorder of one service: rate, errors and duration per route, as the Prometheus
 * histogram the @nines/slo rules query, as in-process sliding-window views, and as events for the
 * service's SLO trackers, all from one `record()` call per request.
 */

import { describe, numberOption, optionsObject } from '@nines/resilience/options';
import {
  coarseClock,
  DEFAULT_DURATION_BUCKETS,
  METRICS,
  type SloEvent,
  type SloTracker,
} from '@nines/slo';
import {
  checkBuckets,
  createMetricsRegistry,
  type Histogram,
  type HistogramChild,
  type MetricsRegistry,
} from './registry.js';
import { latencyBucket, SliceWindow, type WindowSummary } from './window.js';

/** Name of the client-side duration histogram (`http.client.request.duration` in seconds). */
export const HTTP_CLIENT_DURATION = 'http_client_request_duration_seconds';

/** Label names of {@link HTTP_CLIENT_DURATION}: the semconv attributes in Prometheus form. */
export const CLIENT_LABELS = {
  service: 'service_name',
  dependency: 'server_address',
  method: 'http_request_method',
  status: 'http_response_status_code',
  errorType: 'error_type',
} as const;

/**
 * The route label of requests recorded without a route, and the route of requests past
 * `maxRoutes`. Prometheus treats an empty label value as an absent label, so
 * `http_route=""` selects exactly the requests without a route template.
 */
export const NO_ROUTE = '';
/** The route that stands for every route past `maxRoutes` (as semconv's `_OTHER` method). */
export const OTHER_ROUTE = '_OTHER';

/** Methods kept as they are (RFC 9110, PATCH, QUERY); any other becomes `_OTHER`, as semconv asks. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/**
 * An SLO tracker fed by the recorder. Availability SLOs get `{ good: status < 500 }`, latency
 * SLOs `good` when `seconds x 1000 <= thresholdSeconds x 1000` (the tracker's own test) for every
 * status, exactly what the generated Prometheus rules count. `route` and `method`, when set,
 * restrict the requests fed to those with that route template and method.
 */
export interface SloBinding {
  readonly tracker: SloTracker;
  readonly route?: string;
  readonly method?: string;
}

/** The sliding window of the in-process views: `slices` slices of `sliceMs`. */
export interface RedWindowOptions {
  readonly sliceMs: number;
  readonly slices: number;
}

/** Options of {@link createRedMetrics}. */
export interface RedMetricsOptions {
  /** The `service_name` label of every series, and the service the bound SLOs must belong to. */
  readonly service: string;
  /**
   * Where the histograms are registered; default a new registry. Recorders that share one must
   * use the same buckets (same `buckets` and latency thresholds).
   */
  readonly registry?: MetricsRegistry;
  /** Base bucket bounds in seconds; default `DEFAULT_DURATION_BUCKETS` from @nines/slo. */
  readonly buckets?: readonly number[];
  readonly slos?: readonly SloBinding[];
  /** Time source (ms) for the windows. Default the coarse clock of @nines/slo. */
  readonly clock?: { now(): number };
  /** Default 6 slices of 10 s: a 60 s window that moves every 10 s. */
  readonly window?: RedWindowOptions;
  /**
   * Distinct routes tracked before further ones are recorded as {@link OTHER_ROUTE}, so a
   * raw URL passed as a route cannot grow the series without bound. Default 1000.
   */
  readonly maxRoutes?: number;
}

/** Requests per status class. */
export interface StatusClassCounts {
  readonly '1xx': number;
  readonly '2xx': number;
  readonly '3xx': number;
  readonly '4xx': number;
  readonly '5xx': number;
}

/** RED numbers over the sliding window. */
export interface RedWindowStats {
  /** Time the numbers cover: the window, or less just after start. */
  readonly windowMs: number;
  readonly requests: number;
  /** Requests per second over `windowMs`. */
  readonly rate: number;
  /** 5xx responses. */
  readonly errors: number;
  /** `errors / requests`; 0 without requests. */
  readonly errorRatio: number;
  readonly statusClasses: StatusClassCounts;
  /**
   * Duration quantiles in seconds (nearest rank), null without requests. Relative error at most
   * 3.125 % between 7.6 µs and 256 s (see `LATENCY_RELATIVE_ERROR`).
   */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly maxSeconds: number | null;
}

/** RED numbers since the recorder was created. */
export interface RedTotals {
  readonly requests: number;
  readonly errors: number;
  readonly errorRatio: number;
  readonly statusClasses: StatusClassCounts;
  readonly durationSecondsSum: number;
  /** Mean duration in seconds, null without requests. */
  readonly meanSeconds: number | null;
}

/** One view: a route and method, or the whole service (both null). */
export interface RedViewStats {
  /** The route template; `null` for the whole service, `""` for requests without a route. */
  readonly route: string | null;
  readonly method: string | null;
  readonly window: RedWindowStats;
  readonly total: RedTotals;
}

/** Everything {@link RedMetrics.stats} returns; plain, JSON-safe data. */
export interface RedStats {
  readonly service: string;
  /** Clock time of the reading (ms). */
  readonly at: number;
  readonly overall: RedViewStats;
  /** Per route and method, in order of first request. */
  readonly routes: readonly RedViewStats[];
  /** Calls dropped for a bad argument (see {@link RedMetrics.dropped}). */
  readonly dropped: number;
}

/** The RED recorder of one service; see {@link createRedMetrics}. */
export interface RedMetrics {
  readonly service: string;
  readonly registry: MetricsRegistry;
  /** The histogram bounds in seconds: the base buckets merged with the latency SLO thresholds. */
  readonly buckets: readonly number[];
  /** `http_server_request_duration_seconds`. */
  readonly serverDuration: Histogram;
  /** `http_client_request_duration_seconds`. */
  readonly clientDuration: Histogram;
  /**
   * Records one served request: call it once per response with the route template (undefined
   * when the framework has none: recorded as `http_route=""`, never the raw path), the method,
   * the status code and the duration in seconds. Never throws: a bad argument (negative or
   * non-finite duration, status outside 100..599, non-string route or method) drops the call
   * and counts it in {@link RedMetrics.dropped}. Once a route/method/status has been seen it
   * allocates nothing of its own: three map lookups, then additions into typed arrays.
   */
  record(route: string | undefined, method: string, status: number, seconds: number): void;
  /**
   * Records one outgoing request to `dependency` (the `server_address` label). `status` is
   * undefined when no response arrived; `errorType` (the `error_type` label) names what went
   * wrong (`'timeout'`, `'ECONNREFUSED'`, `'500'`), and is left empty for a success. Never throws;
   * bad arguments are dropped and counted.
   */
  recordClient(
    dependency: string,
    method: string,
    status: number | undefined,
    seconds: number,
    errorType?: string,
  ): void;
  /** The in-process views over the sliding window and since start. */
  stats(): RedStats;
  /** Calls of record()/recordClient() dropped for a bad argument. */
  readonly dropped: number;
}

const GOOD: SloEvent = Object.freeze({ good: true });
const BAD: SloEvent = Object.freeze({ good: false });
const QUANTILES = [0.5, 0.95, 0.99] as const;

/** One tracker with what the hot path needs to classify a request for it. */
interface Binding {
  readonly tracker: SloTracker;
  readonly route: string | undefined;
  readonly method: string | undefined;
  /** Latency threshold in ms, or -1 for an availability SLO. */
  readonly thresholdMs: number;
  /** The latency SLO's threshold as given, for the histogram bounds. */
  readonly thresholdSeconds: number | undefined;
  warned: boolean;
}

/** @internal Windows added to views by an observer such as the symptom alerts. */
export interface Attachment {
  readonly perRoute: boolean;
  readonly make: (now: number) => SliceWindow[];
  /** The windows made for each view, the whole-service view first. */
  readonly windows: Map<RedView, SliceWindow[]>;
}

/** @internal One route+method, or the whole service (route and method null). */
export class RedView {
  readonly route: string | null;
  readonly method: string | null;
  readonly window: SliceWindow;
  /** requests, 1xx..5xx, duration sum. */
  readonly totals = new Float64Array(7);
  /** Windows of observers, recorded into with the view's own. */
  extra: SliceWindow[] = [];
  readonly bindings: readonly Binding[];
  /** Histogram children per status code. */
  readonly children = new Map<number, HistogramChild>();

  constructor(
    route: string | null,
    method: string | null,
    window: SliceWindow,
    bindings: readonly Binding[],
  ) {
    this.route = route;
    this.method = method;
    this.window = window;
    this.bindings = bindings;
  }

  count(cls: number, seconds: number): void {
    const t = this.totals;
    t[0]!++;
    t[1 + cls]!++;
    t[6]! += seconds;
  }
}

interface ClientSlot {
  plain: HistogramChild | undefined;
  byError: Map<string, HistogramChild> | undefined;
}

function classes(c: ArrayLike<number>, offset: number): StatusClassCounts {
  return {
    '1xx': c[offset]!,
    '2xx': c[offset + 1]!,
    '3xx': c[offset + 2]!,
    '4xx': c[offset + 3]!,
    '5xx': c[offset + 4]!,
  };
}

function windowStats(s: WindowSummary): RedWindowStats {
  const errors = s.classes[4];
  return {
    windowMs: s.coveredMs,
    requests: s.requests,
    rate: s.coveredMs > 0 ? s.requests / (s.coveredMs / 1000) : 0,
    errors,
    errorRatio: s.requests > 0 ? errors / s.requests : 0,
    statusClasses: classes(s.classes, 0),
    p50: s.quantiles[0] ?? null,
    p95: s.quantiles[1] ?? null,
    p99: s.quantiles[2] ?? null,
    maxSeconds: s.requests > 0 ? s.max : null,
  };
}

function totals(t: Float64Array): RedTotals {
  const requests = t[0]!;
  return {
    requests,
    errors: t[5]!,
    errorRatio: requests > 0 ? t[5]! / requests : 0,
    statusClasses: classes(t, 1),
    durationSecondsSum: t[6]!,
    meanSeconds: requests > 0 ? t[6]! / requests : null,
  };
}

/** Merges SLO thresholds into the base bounds: sorted, without duplicates. */
function mergeBuckets(base: readonly number[], extra: readonly number[]): number[] {
  return [...new Set([...base, ...extra])].sort((a, b) => a - b);
}

function checkBindings(owner: string, value: unknown, service: string): Binding[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${owner}: option "slos" must be an array, got ${describe(value)}`);
  }
  return value.map((b: unknown, i): Binding => {
    const name = `slos[${i}]`;
    const o = optionsObject<SloBinding>(owner, b, ['tracker', 'route', 'method'], name);
    if (b === undefined) throw new TypeError(`${owner}: option "${name}" must be an object`);
    const t = o.tracker as SloTracker | undefined;
    if (
      t === null ||
      typeof t !== 'object' ||
      typeof t.record !== 'function' ||
      t.slo === null ||
      typeof t.slo !== 'object' ||
      t.slo.sli === null ||
      typeof t.slo.sli !== 'object'
    ) {
      throw new TypeError(
        `${owner}: option "${name}.tracker" must be an SloTracker (sloTracker() of @nines/slo), got ${describe(t)}`,
      );
    }
    if (t.slo.service !== service) {
      throw new TypeError(
        `${owner}: option "${name}.tracker" tracks SLO "${t.slo.name}" of service "${t.slo.service}", not "${service}"`,
      );
    }
    for (const k of ['route', 'method'] as const) {
      const v = o[k];
      if (v !== undefined && (typeof v !== 'string' || (k === 'method' && v === ''))) {
        throw new TypeError(
          `${owner}: option "${name}.${k}" must be a ${k === 'method' ? 'non-empty ' : ''}string, got ${describe(v)}`,
        );
      }
    }
    const sli = t.slo.sli;
    let thresholdMs = -1;
    let thresholdSeconds: number | undefined;
    if (sli.type === 'latency') {
      if (typeof sli.thresholdSeconds !== 'number' || !(sli.thresholdSeconds > 0)) {
        throw new TypeError(
          `${owner}: option "${name}.tracker" has a latency SLO without a positive thresholdSeconds`,
        );
      }
      thresholdSeconds = sli.thresholdSeconds;
      thresholdMs = sli.thresholdSeconds * 1000;
    }
    return {
      tracker: t,
      route: o.route,
      method: o.method,
      thresholdMs,
      thresholdSeconds,
      warned: false,
    };
  });
}

function checkWindow(owner: string, value: unknown): RedWindowOptions {
  if (value === undefined) return { sliceMs: 10_000, slices: 6 };
  const o = optionsObject<RedWindowOptions>(owner, value, ['sliceMs', 'slices'], 'window');
  if (o.sliceMs === undefined || o.slices === undefined) {
    throw new TypeError(`${owner}: option "window" needs both "sliceMs" and "slices"`);
  }
  return {
    sliceMs: numberOption(owner, 'window.sliceMs', o.sliceMs, 0, { min: 100, integer: true }),
    slices: numberOption(owner, 'window.slices', o.slices, 0, {
      min: 1,
      max: 3600,
      integer: true,
    }),
  };
}

/** @internal The implementation; symptom alerts reach its views through {@link RedRecorder.attach}. */
export class RedRecorder implements RedMetrics {
  readonly service: string;
  readonly registry: MetricsRegistry;
  readonly buckets: readonly number[];
  readonly serverDuration: Histogram;
  readonly clientDuration: Histogram;
  dropped = 0;
  readonly #clock: { now(): number };
  readonly #window: RedWindowOptions;
  readonly #bindings: readonly Binding[];
  readonly #maxRoutes: number;
  /** The whole service. */
  readonly overall: RedView;
  /** Route -> method -> view; requests without a route under {@link NO_ROUTE}. */
  readonly #routes = new Map<string, Map<string, RedView>>();
  readonly #unrouted: Map<string, RedView>;
  readonly views: RedView[] = [];
  readonly #clients = new Map<string, Map<string, Map<number, ClientSlot>>>();
  readonly #attachments: Attachment[] = [];

  constructor(
    service: string,
    registry: MetricsRegistry,
    buckets: readonly number[],
    bindings: readonly Binding[],
    clock: { now(): number },
    window: RedWindowOptions,
    maxRoutes: number,
  ) {
    this.service = service;
    this.registry = registry;
    this.buckets = Object.freeze([...buckets]);
    this.#bindings = bindings;
    this.#clock = clock;
    this.#window = window;
    this.#maxRoutes = maxRoutes;
    const L = METRICS.labels;
    this.serverDuration = registry.histogram({
      name: METRICS.httpServerDuration,
      help: 'Duration of HTTP server requests.',
      unit: 's',
      labelNames: [L.service, L.route, L.method, L.status],
      buckets,
      otel: {
        name: 'http.server.request.duration',
        attributes: {
          [L.service]: 'service.name',
          [L.route]: 'http.route',
          [L.method]: 'http.request.method',
          [L.status]: 'http.response.status_code',
        },
        intAttributes: [L.status],
      },
    });
    const C = CLIENT_LABELS;
    this.clientDuration = registry.histogram({
      name: HTTP_CLIENT_DURATION,
      help: 'Duration of HTTP client requests.',
      unit: 's',
      labelNames: [C.service, C.dependency, C.method, C.status, C.errorType],
      buckets,
      otel: {
        name: 'http.client.request.duration',
        attributes: {
          [C.service]: 'service.name',
          [C.dependency]: 'server.address',
          [C.method]: 'http.request.method',
          [C.status]: 'http.response.status_code',
          [C.errorType]: 'error.type',
        },
        intAttributes: [C.status],
      },
    });
    this.overall = new RedView(null, null, this.#newWindow(), []);
    const unrouted = new Map<string, RedView>();
    this.#routes.set(NO_ROUTE, unrouted);
    this.#unrouted = unrouted;
  }

  #newWindow(): SliceWindow {
    const w = this.#window;
    return new SliceWindow(w.sliceMs, w.slices, true, this.#clock.now());
  }

  record(route: string | undefined, method: string, status: number, seconds: number): void {
    // NaN fails every comparison below, so one test per argument covers it.
    if (
      typeof seconds !== 'number' ||
      !(seconds >= 0) ||
      seconds === Number.POSITIVE_INFINITY ||
      !(status >= 100 && status < 600) ||
      (status | 0) !== status
    ) {
      this.dropped++;
      return;
    }
    const methods = route === undefined ? this.#unrouted : this.#routes.get(route);
    const view = methods?.get(method) ?? this.#slowView(route, method);
    if (view === undefined) {
      this.dropped++;
      return;
    }
    const now = this.#clock.now();
    const cls = ((status / 100) | 0) - 1;
    const bucket = latencyBucket(seconds);
    (view.children.get(status) ?? this.#child(view, status)).observe(seconds);
    view.count(cls, seconds);
    view.window.add(now, cls, seconds, bucket);
    const all = this.overall;
    all.count(cls, seconds);
    all.window.add(now, cls, seconds, bucket);
    const ve = view.extra;
    for (let i = 0; i < ve.length; i++) ve[i]!.add(now, cls, seconds, bucket);
    const ae = all.extra;
    for (let i = 0; i < ae.length; i++) ae[i]!.add(now, cls, seconds, bucket);
    const bs = view.bindings;
    if (bs.length > 0) this.#feed(bs, status, seconds * 1000);
  }

  #feed(bindings: readonly Binding[], status: number, ms: number): void {
    for (let i = 0; i < bindings.length; i++) {
      const b = bindings[i]!;
      const good = b.thresholdMs < 0 ? status < 500 : ms <= b.thresholdMs;
      try {
        b.tracker.record(good ? GOOD : BAD);
      } catch (err) {
        // A tracker must not break the request path; say so once per binding.
        if (!b.warned) {
          b.warned = true;
          process.emitWarning(
            `RED recorder of "${this.service}": SLO tracker "${b.tracker.slo.name}" threw: ${err instanceof Error ? err.message : String(err)}`,
            'NinesMetricsWarning',
          );
        }
      }
    }
  }

  /** Finds or creates the view of a route/method not seen yet; undefined for bad arguments. */
  #slowView(route: unknown, method: unknown): RedView | undefined {
    if ((route !== undefined && typeof route !== 'string') || typeof method !== 'string') {
      return undefined;
    }
    const m = KNOWN_METHODS.has(method) ? method : '_OTHER';
    let r = route === undefined ? NO_ROUTE : route;
    let methods = this.#routes.get(r);
    if (methods === undefined) {
      // The no-route entry is always there, hence the +1.
      if (this.#routes.size >= this.#maxRoutes + 1) {
        r = OTHER_ROUTE;
        methods = this.#routes.get(r);
      }
      if (methods === undefined) {
        methods = new Map();
        this.#routes.set(r, methods);
      }
    }
    // Cached under the normalised method only, so junk methods add no entries.
    let view = methods.get(m);
    if (view === undefined) {
      const bindings = this.#bindings.filter(
        (b) =>
          (b.route === undefined || b.route === r) && (b.method === undefined || b.method === m),
      );
      view = new RedView(r, m, this.#newWindow(), bindings);
      methods.set(m, view);
      this.views.push(view);
      const now = this.#clock.now();
      for (const a of this.#attachments) {
        if (a.perRoute) this.#attachTo(a, view, now);
      }
    }
    return view;
  }

  #child(view: RedView, status: number): HistogramChild {
    const child = this.serverDuration.labels(
      this.service,
      view.route ?? NO_ROUTE,
      view.method ?? '',
      String(status),
    );
    view.children.set(status, child);
    return child;
  }

  recordClient(
    dependency: string,
    method: string,
    status: number | undefined,
    seconds: number,
    errorType?: string,
  ): void {
    if (
      typeof seconds !== 'number' ||
      !(seconds >= 0) ||
      seconds === Number.POSITIVE_INFINITY ||
      (status !== undefined && (!(status >= 100 && status < 600) || (status | 0) !== status))
    ) {
      this.dropped++;
      return;
    }
    const code = status ?? 0;
    const slot = this.#clients.get(dependency)?.get(method)?.get(code);
    let child: HistogramChild | undefined;
    if (slot !== undefined) {
      child = errorType === undefined ? slot.plain : slot.byError?.get(errorType);
    }
    if (child === undefined) {
      child = this.#clientChild(dependency, method, code, errorType);
      if (child === undefined) {
        this.dropped++;
        return;
      }
    }
    child.observe(seconds);
  }

  #clientChild(
    dependency: unknown,
    method: unknown,
    code: number,
    errorType: unknown,
  ): HistogramChild | undefined {
    if (
      typeof dependency !== 'string' ||
      dependency === '' ||
      typeof method !== 'string' ||
      (errorType !== undefined && typeof errorType !== 'string')
    ) {
      return undefined;
    }
    const m = KNOWN_METHODS.has(method) ? method : '_OTHER';
    let methods = this.#clients.get(dependency);
    if (methods === undefined) {
      methods = new Map();
      this.#clients.set(dependency, methods);
    }
    let codes = methods.get(m);
    if (codes === undefined) {
      codes = new Map();
      methods.set(m, codes);
    }
    let slot = codes.get(code);
    if (slot === undefined) {
      slot = { plain: undefined, byError: undefined };
      codes.set(code, slot);
    }
    const child = this.clientDuration.labels(
      this.service,
      dependency,
      m,
      code === 0 ? '' : String(code),
      errorType ?? '',
    );
    if (errorType === undefined) slot.plain = child;
    else {
      slot.byError ??= new Map();
      slot.byError.set(errorType, child);
    }
    return child;
  }

  stats(): RedStats {
    const now = this.#clock.now();
    const view = (v: RedView): RedViewStats => ({
      route: v.route,
      method: v.method,
      window: windowStats(v.window.summarize(now, v.window.slices, 0, QUANTILES)),
      total: totals(v.totals),
    });
    return {
      service: this.service,
      at: now,
      overall: view(this.overall),
      routes: this.views.map(view),
      dropped: this.dropped,
    };
  }

  /** Current clock time. */
  now(): number {
    return this.#clock.now();
  }

  /**
   * Adds the windows `make` builds to the whole-service view and, when `perRoute`, to every
   * route view, present and future. They are recorded into by record() until {@link detach}.
   */
  attach(perRoute: boolean, make: (now: number) => SliceWindow[]): Attachment {
    const a: Attachment = { perRoute, make, windows: new Map() };
    const now = this.#clock.now();
    this.#attachTo(a, this.overall, now);
    if (perRoute) for (const v of this.views) this.#attachTo(a, v, now);
    this.#attachments.push(a);
    return a;
  }

  #attachTo(a: Attachment, view: RedView, now: number): void {
    const ws = a.make(now);
    a.windows.set(view, ws);
    view.extra = [...view.extra, ...ws];
  }

  detach(a: Attachment): void {
    const i = this.#attachments.indexOf(a);
    if (i < 0) return;
    this.#attachments.splice(i, 1);
    for (const [view, ws] of a.windows) view.extra = view.extra.filter((w) => !ws.includes(w));
  }
}

/**
 * The RED recorder of one service. Each `record()` observes
 * `http_server_request_duration_seconds{service_name, http_route, http_request_method,
 * http_response_status_code}` (the histogram @nines/slo's Prometheus rules query, with every
 * latency SLO threshold among its `le` bounds), feeds the bound SLO trackers once, and counts the
 * request in the sliding-window views per route+method and for the whole service.
 *
 * Methods outside RFC 9110 + PATCH + QUERY are recorded as `_OTHER`; a request without a route
 * template gets `http_route=""` (never the raw path, which would make one series per URL).
 *
 * @example
 * const tracker = sloTracker(latencySlo); // 99.9 % under 0.2 s, service "orders"
 * const red = createRedMetrics({ service: 'orders', slos: [{ tracker }] });
 * red.record('/orders/:id', 'GET', 200, 0.042); // per response
 * red.stats().overall.window.p99;                // seconds, over the last minute
 * red.registry.render();                         // for GET /metrics
 */
export function createRedMetrics(options: RedMetricsOptions): RedMetrics {
  const owner = 'createRedMetrics';
  const o = optionsObject<RedMetricsOptions>(owner, options, [
    'service',
    'registry',
    'buckets',
    'slos',
    'clock',
    'window',
    'maxRoutes',
  ]);
  if (options === undefined) throw new TypeError(`${owner}: options with "service" are required`);
  if (typeof o.service !== 'string' || o.service === '') {
    throw new TypeError(
      `${owner}: option "service" must be a non-empty string, got ${describe(o.service)}`,
    );
  }
  const registry = o.registry ?? createMetricsRegistry();
  if (
    registry === null ||
    typeof registry !== 'object' ||
    typeof registry.histogram !== 'function' ||
    typeof registry.render !== 'function'
  ) {
    throw new TypeError(
      `${owner}: option "registry" must be a MetricsRegistry, got ${describe(registry)}`,
    );
  }
  const base =
    o.buckets === undefined ? DEFAULT_DURATION_BUCKETS : checkBuckets(owner, o.buckets, 'buckets');
  const bindings = o.slos === undefined ? [] : checkBindings(owner, o.slos, o.service);
  const thresholds: number[] = [];
  for (const b of bindings)
    if (b.thresholdSeconds !== undefined) thresholds.push(b.thresholdSeconds);
  const buckets = mergeBuckets(base, thresholds);
  const clock = o.clock ?? coarseClock;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
    throw new TypeError(
      `${owner}: option "clock" must have a now() method, got ${describe(clock)}`,
    );
  }
  const window = checkWindow(owner, o.window);
  const maxRoutes = numberOption(owner, 'maxRoutes', o.maxRoutes, 1000, {
    min: 1,
    integer: true,
  });
  return new RedRecorder(o.service, registry, buckets, bindings, clock, window, maxRoutes);
}
