import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  booleanOption,
  describe,
  enumOption,
  numberOption,
  optionsObject,
} from '@nines/resilience/options';
import {
  context,
  diag,
  ProxyTracerProvider,
  propagation,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Logger } from 'pino';
import { createHttpClient, type HttpClient, type HttpClientOptions } from './http/client.js';
import {
  type HttpHandler,
  type InstrumentHttpOptions,
  instrumentHttpWith,
  type RequestSink,
} from './http/server.js';
import { logAccess } from './logs/access.js';
import { isPlainLogger, writeRequestLine } from './logs/fast-line.js';
import { flushLogger } from './logs/flush.js';
import { type CreateLoggerOptions, createLogger } from './logs/logger.js';
import { registryMetricProducer } from './metrics/otlp.js';
import { createRedMetrics, type RedMetrics, type SloBinding } from './metrics/red.js';
import type { MetricsRegistry } from './metrics/registry.js';
import {
  type BatchProcessor,
  type BatchSpanProcessorOptions,
  batchSpanProcessor,
  type SpanExportStats,
} from './tracing/batch-processor.js';
import { LeanTracer } from './tracing/lean-tracer.js';
import { w3cPropagator } from './w3c/propagator.js';

/** Tracing options of {@link setupTelemetry}. */
export interface TracingOptions {
  /**
   * Where spans go: `'otlp'` (OTLP/HTTP JSON to `endpoint`, the default), `'none'` (spans are
   * created, for logs and propagation, but not exported), or any SDK `SpanExporter`.
   */
  readonly exporter?: 'otlp' | 'none' | SpanExporter;
  /**
   * OTLP traces URL. Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`.
   */
  readonly endpoint?: string;
  /** Extra headers on OTLP requests (an API key, say). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Share of new traces recorded, 0 to 1; continued traces follow the caller's decision. Default 1. */
  readonly sampleRatio?: number;
  /** A sampler of your own; wins over `sampleRatio`. */
  readonly sampler?: Sampler;
  /** Queue and batch sizes of the export (see {@link batchSpanProcessor}). */
  readonly batch?: Omit<BatchSpanProcessorOptions, 'clock'>;
  /**
   * Use this provider and register nothing globally. Without it, a provider already registered
   * globally is used as it is, and only when there is none does nines register the SDK.
   */
  readonly tracerProvider?: TracerProvider;
}

/** Metrics options of {@link setupTelemetry}. */
export interface TelemetryMetricsOptions {
  /** Registry to add the RED metrics to. Default a new one. */
  readonly registry?: MetricsRegistry;
  /** Base histogram buckets in seconds; latency SLO thresholds are always added. */
  readonly buckets?: readonly number[];
  /** Path served by {@link Telemetry.instrument} with the Prometheus text; `false` for none. Default `/metrics`. */
  readonly path?: string | false;
  /**
   * Also push the metrics over OTLP/HTTP every `intervalMs` (default 60 000) to `endpoint`
   * (default: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` +
   * `/v1/metrics`, else `http://localhost:4318/v1/metrics`). Off by default: Prometheus scrapes.
   */
  readonly otlp?: boolean | { readonly endpoint?: string; readonly intervalMs?: number };
}

/** Options of {@link setupTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` of spans, `service` of log lines, `service_name` of metrics. Required. */
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** `deployment.environment.name`, e.g. `'production'`. */
  readonly environment?: string;
  /** More resource attributes for spans and OTLP metrics. */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  readonly tracing?: TracingOptions;
  /** Logger options (the service name is added), or a logger of your own. */
  readonly logs?: Omit<CreateLoggerOptions, 'service'> | { readonly logger: Logger };
  /** One access-log line per request. Default true. */
  readonly accessLog?: boolean;
  readonly metrics?: TelemetryMetricsOptions;
  /** SLO trackers fed from the same measurement as the RED metrics, once per request. */
  readonly slos?: readonly SloBinding[];
  /**
   * Longest wait of {@link Telemetry.shutdown} for the last exports (ms); a collector that hangs
   * must not hold a pod past its grace period. Default 5000.
   */
  readonly shutdownTimeoutMs?: number;
}

/** Options of {@link Telemetry.instrument}: those of {@link instrumentHttp} minus what setup provides. */
export type TelemetryInstrumentOptions = Omit<InstrumentHttpOptions, 'tracer'>;

/** The wired-up telemetry of one service; see {@link setupTelemetry}. */
export interface Telemetry {
  readonly serviceName: string;
  readonly tracer: Tracer;
  readonly logger: Logger;
  readonly registry: MetricsRegistry;
  /** RED metrics, their in-process views and the SLO feed. */
  readonly red: RedMetrics;
  /** True when setup registered the SDK (and so shuts it down); false when it found a provider. */
  readonly ownsTracerProvider: boolean;
  /** Export counters of the span processor nines installed, or null when it installed none. */
  spanStats(): SpanExportStats | null;
  /**
   * Wraps a `node:http` handler: a server span per request, RED metrics and SLOs recorded once,
   * one access-log line, and `GET /metrics` answered with the Prometheus text.
   */
  instrument(handler: HttpHandler, options?: TelemetryInstrumentOptions): HttpHandler;
  /** A traced client for one dependency, reporting client RED metrics to {@link Telemetry.red}. */
  httpClient(name: string, options?: Omit<HttpClientOptions, 'tracer' | 'metrics'>): HttpClient;
  /** Serves the Prometheus text (for a separate metrics port). */
  readonly metricsHandler: HttpHandler;
  /** Exports what is queued (spans, metrics) and flushes the log, keeping everything running. */
  flush(): Promise<void>;
  /** Exports what is queued (spans, metrics) and flushes the log; then stops what setup started. */
  shutdown(): Promise<void>;
}

const OWNER = 'setupTelemetry';
const KEYS = [
  'serviceName',
  'serviceVersion',
  'environment',
  'resourceAttributes',
  'tracing',
  'logs',
  'accessLog',
  'metrics',
  'slos',
  'shutdownTimeoutMs',
];
const TRACING_KEYS = [
  'exporter',
  'endpoint',
  'headers',
  'sampleRatio',
  'sampler',
  'batch',
  'tracerProvider',
];
const METRICS_KEYS = ['registry', 'buckets', 'path', 'otlp'];
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * One call that wires a service's telemetry: the OpenTelemetry SDK (2.x) with a bounded batch
 * export over OTLP/HTTP when no tracer provider is registered yet (an existing one is used as is),
 * the W3C Trace Context propagator, async-context propagation, a correlated pino logger, RED
 * metrics with their Prometheus text and optional OTLP push, and the SLO feed.
 *
 * @example
 * const telemetry = setupTelemetry({ serviceName: 'orders' });
 * http.createServer(telemetry.instrument(handler, { routes: ['/orders/:id'] })).listen(8080);
 * process.on('SIGTERM', () => telemetry.shutdown());
 */
export function setupTelemetry(options: TelemetryOptions): Telemetry {
  const o = optionsObject<TelemetryOptions>(OWNER, options, KEYS);
  const serviceName = o.serviceName;
  if (typeof serviceName !== 'string' || !SERVICE_NAME.test(serviceName)) {
    throw new TypeError(
      `${OWNER}: option "serviceName" must be 1-100 letters, digits, ".", "_" or "-", got ${describe(serviceName)}`,
    );
  }
  for (const k of ['serviceVersion', 'environment'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') {
      throw new TypeError(`${OWNER}: option "${k}" must be a string, got ${describe(o[k])}`);
    }
  }
  const extra = optionsObject<Record<string, unknown>>(
    OWNER,
    o.resourceAttributes,
    Object.keys(o.resourceAttributes ?? {}),
    'resourceAttributes',
  );
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new TypeError(
        `${OWNER}: option "resourceAttributes.${k}" must be a string, number or boolean, got ${describe(v)}`,
      );
    }
  }
  const t = optionsObject<TracingOptions>(OWNER, o.tracing, TRACING_KEYS, 'tracing');
  const m = optionsObject<TelemetryMetricsOptions>(OWNER, o.metrics, METRICS_KEYS, 'metrics');
  const accessLog = booleanOption(OWNER, 'accessLog', o.accessLog, true);
  const shutdownTimeoutMs = numberOption(OWNER, 'shutdownTimeoutMs', o.shutdownTimeoutMs, 5000, {
    min: 0,
  });
  const metricsPath = m.path === undefined ? '/metrics' : m.path;
  if (metricsPath !== false && (typeof metricsPath !== 'string' || !metricsPath.startsWith('/'))) {
    throw new TypeError(
      `${OWNER}: option "metrics.path" must be a path starting with "/" or false, got ${describe(metricsPath)}`,
    );
  }

  const resource = resourceFromAttributes({
    'service.name': serviceName,
    ...(o.serviceVersion === undefined ? {} : { 'service.version': o.serviceVersion }),
    ...(o.environment === undefined ? {} : { 'deployment.environment.name': o.environment }),
    ...extra,
  });

  // Logs and metrics first: they validate their own options, and nothing global is touched yet.
  const logger = makeLogger(serviceName, o.logs);
  const red = createRedMetrics({
    service: serviceName,
    ...(m.registry === undefined ? {} : { registry: m.registry }),
    ...(m.buckets === undefined ? {} : { buckets: m.buckets }),
    ...(o.slos === undefined ? {} : { slos: o.slos }),
  });
  const registry = red.registry;
  const meterProvider = makeMetricsExport(m.otlp, registry, resource);

  // Tracing.
  let processor: BatchProcessor | null = null;
  let owned: NodeTracerProvider | null = null;
  let provider: TracerProvider;
  let serverTracer: Tracer | undefined;
  if (t.tracerProvider !== undefined) {
    if (typeof t.tracerProvider?.getTracer !== 'function') {
      throw new TypeError(`${OWNER}: option "tracing.tracerProvider" must be a TracerProvider`);
    }
    provider = t.tracerProvider;
  } else if (hasGlobalTracerProvider()) {
    provider = trace.getTracerProvider();
  } else {
    const exporter = makeSpanExporter(t);
    processor = exporter === null ? null : batchSpanProcessor(exporter, t.batch);
    const ratio = sampleRatioOf(t);
    owned = new NodeTracerProvider({
      resource,
      sampler: t.sampler ?? ratioSampler(ratio),
      spanProcessors: processor === null ? [] : [processor],
    });
    provider = owned;
    trace.setGlobalTracerProvider(owned);
    // Server spans on the hot path skip the SDK's span class when nines knows the whole pipeline.
    if (t.sampler === undefined) {
      serverTracer = new LeanTracer({
        processor: processor ?? NO_PROCESSOR,
        resource,
        sampleRatio: ratio,
        scope: { name: '@nines/telemetry' },
      });
    }
  }
  // Context and propagation are separate globals: fill in only what nobody registered.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const ownsContext = context.setGlobalContextManager(contextManager);
  if (!ownsContext) contextManager.disable();
  const ownsPropagator =
    propagation.fields().length === 0 && propagation.setGlobalPropagator(w3cPropagator);
  const tracer = provider.getTracer('@nines/telemetry');
  serverTracer ??= tracer;

  if (processor !== null) {
    const spans = registry.gauge({
      name: 'nines_telemetry_spans',
      help: 'Spans by export outcome since start (queued: waiting now).',
      labelNames: ['outcome'],
      collect: (g) => {
        const s = (processor as BatchProcessor).stats();
        g.labels('exported').set(s.exported);
        g.labels('dropped').set(s.dropped);
        g.labels('failed').set(s.failed);
        g.labels('queued').set(s.queued);
      },
    });
    spans.labels('dropped'); // present from the first scrape
  }

  const metricsHandler: HttpHandler = (req, res) => serveMetrics(registry, req, res);
  // RED metrics, SLOs and the access line read everything from the finished request, so they run
  // without switching to the request's context; a customised logger still logs through pino there.
  const redSink: RequestSink = (f) => red.record(f.route, f.method, f.status, f.durationSeconds);
  const accessSink: RequestSink = (f) =>
    writeRequestLine(
      logger,
      f.spanContext,
      f.correlationId,
      f.method,
      f.route,
      f.status,
      f.durationSeconds * 1000,
      f.path,
    );
  // A customised logger logs through pino, inside the request's context (its mixin reads it).
  const pinoAccessSink: RequestSink = (f) =>
    logAccess(logger, f.method, f.route, f.status, f.durationSeconds * 1000, { path: f.path });
  const plain = isPlainLogger(logger);
  const direct: RequestSink[] = accessLog && plain ? [redSink, accessSink] : [redSink];
  const contextSinks: RequestSink[] = accessLog && !plain ? [pinoAccessSink] : [];

  let closed: Promise<void> | null = null;
  return {
    serviceName,
    tracer,
    logger,
    registry,
    red,
    ownsTracerProvider: owned !== null,
    spanStats: () => (processor === null ? null : processor.stats()),
    instrument(handler, instrumentOptions) {
      const io = optionsObject<TelemetryInstrumentOptions>(
        'telemetry.instrument',
        instrumentOptions,
        ['routes', 'route', 'ignore', 'sinks', 'echoCorrelationId', 'trustCorrelationHeader'],
      );
      const traced = instrumentHttpWith(
        handler,
        { ...io, tracer: serverTracer, sinks: [...contextSinks, ...(io.sinks ?? [])] },
        direct,
      );
      if (metricsPath === false) return traced;
      return (req, res) => {
        if (req.url === metricsPath || req.url?.startsWith(`${metricsPath}?`)) {
          serveMetrics(registry, req, res);
        } else {
          traced(req, res);
        }
      };
    },
    httpClient(name, clientOptions) {
      const co = optionsObject<HttpClientOptions>('telemetry.httpClient', clientOptions, [
        'baseUrl',
        'policy',
        'fetch',
        'propagateCorrelationId',
        'headers',
      ]);
      return createHttpClient(name, { ...co, tracer, metrics: red });
    },
    metricsHandler,
    async flush() {
      await Promise.allSettled([owned?.forceFlush(), meterProvider?.forceFlush()]);
      await flushLogger(logger).catch(() => {});
    },
    shutdown() {
      closed ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
        });
        const exports = Promise.allSettled([owned?.shutdown(), meterProvider?.shutdown()]);
        const results = await Promise.race([exports, deadline]);
        clearTimeout(timer);
        if (results === 'timeout') {
          diag.warn(
            `@nines/telemetry shutdown: exports still pending after ${shutdownTimeoutMs} ms`,
          );
        }
        // Release the globals setup registered, so a later setup (a test, a restart) can.
        if (owned !== null) trace.disable();
        if (ownsContext) context.disable();
        if (ownsPropagator) propagation.disable();
        await flushLogger(logger).catch(() => {});
        if (Array.isArray(results)) {
          for (const r of results) {
            if (r.status === 'rejected')
              diag.warn(`@nines/telemetry shutdown: ${String(r.reason)}`);
          }
        }
      })();
      return closed;
    },
  };
}

/** True when someone registered a tracer provider (the API's global is a proxy to a no-op otherwise). */
function hasGlobalTracerProvider(): boolean {
  const global = trace.getTracerProvider();
  if (!(global instanceof ProxyTracerProvider)) return true;
  return global.getDelegate().constructor.name !== 'NoopTracerProvider';
}

function makeLogger(service: string, logs: TelemetryOptions['logs']): Logger {
  if (logs !== undefined && logs !== null && typeof logs === 'object' && 'logger' in logs) {
    const l = logs.logger as Partial<Logger> | null;
    if (
      l === null ||
      typeof l !== 'object' ||
      typeof l.info !== 'function' ||
      typeof l.child !== 'function'
    ) {
      throw new TypeError(`${OWNER}: option "logs.logger" must be a pino logger`);
    }
    return logs.logger;
  }
  return createLogger({ ...(logs ?? {}), service });
}

function endpointFor(signal: 'traces' | 'metrics', given: unknown, option: string): string {
  if (given !== undefined) {
    if (typeof given !== 'string') {
      throw new TypeError(
        `${OWNER}: option "${option}" must be a URL string, got ${describe(given)}`,
      );
    }
    try {
      new URL(given);
    } catch {
      throw new TypeError(
        `${OWNER}: option "${option}" must be an absolute URL, got ${JSON.stringify(given)}`,
      );
    }
    return given;
  }
  const specific = process.env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
  if (specific) return specific;
  const base = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base) return `${base.replace(/\/+$/, '')}/v1/${signal}`;
  return `http://localhost:4318/v1/${signal}`;
}

function makeSpanExporter(t: Partial<TracingOptions>): SpanExporter | null {
  const exporter = t.exporter ?? 'otlp';
  if (typeof exporter === 'object' && exporter !== null) {
    if (typeof (exporter as SpanExporter).export !== 'function') {
      throw new TypeError(
        `${OWNER}: option "tracing.exporter" must be 'otlp', 'none' or a SpanExporter`,
      );
    }
    return exporter as SpanExporter;
  }
  const kind = enumOption(OWNER, 'tracing.exporter', exporter, 'otlp', ['otlp', 'none']);
  if (kind === 'none') return null;
  const headers = optionsObject<Record<string, string>>(
    OWNER,
    t.headers,
    Object.keys(t.headers ?? {}),
    'tracing.headers',
  ) as Record<string, string>;
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string') {
      throw new TypeError(
        `${OWNER}: option "tracing.headers.${k}" must be a string, got ${describe(v)}`,
      );
    }
  }
  return new OTLPTraceExporter({
    url: endpointFor('traces', t.endpoint, 'tracing.endpoint'),
    headers,
    // The exporter retries inside this time; past it our processor counts the batch as failed.
    timeoutMillis: t.batch?.exportTimeoutMs ?? 10_000,
  });
}

function sampleRatioOf(t: Partial<TracingOptions>): number {
  if (t.sampler !== undefined && typeof (t.sampler as Sampler)?.shouldSample !== 'function') {
    throw new TypeError(`${OWNER}: option "tracing.sampler" must be an OpenTelemetry Sampler`);
  }
  return numberOption(OWNER, 'tracing.sampleRatio', t.sampleRatio, 1, { min: 0, max: 1 });
}

function ratioSampler(ratio: number): Sampler {
  return new ParentBasedSampler({
    root: ratio === 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio),
  });
}

const NO_PROCESSOR: SpanProcessor = {
  onStart() {},
  onEnd() {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

function makeMetricsExport(
  otlp: TelemetryMetricsOptions['otlp'],
  registry: MetricsRegistry,
  resource: ReturnType<typeof resourceFromAttributes>,
): MeterProvider | null {
  if (otlp === undefined || otlp === false) return null;
  const opts =
    otlp === true
      ? {}
      : optionsObject<{ endpoint?: string; intervalMs?: number }>(
          OWNER,
          otlp,
          ['endpoint', 'intervalMs'],
          'metrics.otlp',
        );
  const intervalMs = numberOption(OWNER, 'metrics.otlp.intervalMs', opts.intervalMs, 60_000, {
    min: 100,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({
      url: endpointFor('metrics', opts.endpoint, 'metrics.otlp.endpoint'),
    }),
    exportIntervalMillis: intervalMs,
    exportTimeoutMillis: Math.min(intervalMs, 30_000),
    metricProducers: [registryMetricProducer(registry)],
  });
  return new MeterProvider({ resource, readers: [reader] });
}

function serveMetrics(registry: MetricsRegistry, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res
      .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
      .end('method not allowed\n');
    return;
  }
  let body: string;
  try {
    body = registry.render();
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
