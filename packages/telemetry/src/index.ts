/**
 * @nines/telemetry: OpenTelemetry tracing with W3C Trace Context, correlated pino logs, RED
 * metrics on /metrics and OTLP, HTTP server and client instrumentation without monkey-patching,
 * symptom alerts, a trace waterfall, and bridges from @nines/resilience events.
 */
export {
  type BridgeOptions,
  bridgeCircuitBreaker,
  bridgeRetry,
} from './bridges.js';
export { CORRELATION_HEADERS, getCorrelationId } from './correlation.js';
export {
  type ClientRequestSink,
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
} from './http/client.js';
export { type FastifyAdapter, fastifyAdapter } from './http/fastify.js';
export { setRoute } from './http/routes.js';
export {
  type FinishedRequest,
  type HttpHandler,
  type InstrumentHttpOptions,
  instrumentHttp,
  type RequestSink,
} from './http/server.js';
export {
  type AccessLine,
  type AccessLogLevel,
  accessLogLevel,
  type CreateLoggerOptions,
  createLogger,
  DEFAULT_REDACT_PATHS,
  type DestinationStream,
  type FatalErrorOptions,
  type FlushOptions,
  flushLogger,
  handleFatalErrors,
  type Logger,
  type LoggerStats,
  type LogLevel,
  logAccess,
  loggerStats,
  type RedactOptions,
  SECRET_FIELDS,
} from './logs/index.js';
export {
  type ActiveSymptomAlert,
  DEFAULT_BASELINE_MS,
  DEFAULT_MIN_REQUESTS,
  DEFAULT_SYMPTOM_WINDOW_MS,
  type ErrorRatioOptions,
  type LatencyOptions,
  type RateDropOptions,
  type SymptomAlertFired,
  type SymptomAlertResolved,
  type SymptomAlerts,
  type SymptomAlertsOptions,
  type SymptomEvaluation,
  type SymptomRule,
  type SymptomScope,
  type SymptomStatus,
  symptomAlerts,
} from './metrics/alerts.js';
export { type RegistryMetricProducerOptions, registryMetricProducer } from './metrics/otlp.js';
export {
  createRedMetrics,
  type RedMetrics,
  type RedMetricsOptions,
  type RedStats,
  type RedTotals,
  type RedViewStats,
  type RedWindowOptions,
  type RedWindowStats,
  type SloBinding,
  type StatusClassCounts,
} from './metrics/red.js';
export {
  type Counter,
  type CounterChild,
  createMetricsRegistry,
  type Gauge,
  type GaugeChild,
  type GaugeOptions,
  type Histogram,
  type HistogramChild,
  type HistogramOptions,
  type Metric,
  type MetricData,
  type MetricOptions,
  type MetricsRegistry,
  type MetricsRegistryOptions,
  type OtelNaming,
} from './metrics/registry.js';
export {
  setupTelemetry,
  type Telemetry,
  type TelemetryInstrumentOptions,
  type TelemetryMetricsOptions,
  type TelemetryOptions,
  type TracingOptions,
} from './setup.js';
export {
  createOtlpReceiver,
  type OtlpReceiver,
  type OtlpReceiverOptions,
  renderWaterfall,
  type SpanEventRecord,
  type SpanKindName,
  type SpanRecord,
  type SpanStatusName,
  spanRecordFromReadable,
  type TraceSummary,
  TraceViewError,
  type WaterfallOptions,
} from './trace-view/index.js';
export {
  type BatchProcessor,
  type BatchSpanProcessorOptions,
  batchSpanProcessor,
  type SpanExportStats,
} from './tracing/batch-processor.js';
export {
  W3CTraceContextPropagator,
  type W3CTraceContextPropagatorOptions,
  w3cPropagator,
} from './w3c/propagator.js';
export {
  formatTraceparent,
  parseTraceparent,
  type Traceparent,
} from './w3c/traceparent.js';
export { createTraceState, parseTracestate } from './w3c/tracestate.js';
