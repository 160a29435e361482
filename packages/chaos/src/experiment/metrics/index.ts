/** SLIs measured from services' `/metrics` over time, for experiments' steady-state hypotheses. */

export { MetricsParseError, parsePrometheusText, type Sample } from './prometheus-text.js';
export {
  createMetricsRecorder,
  type MetricsRecorder,
  type MetricsRecorderOptions,
  type MetricsTarget,
  type RequestFilter,
  type ScrapeResult,
  type WindowBucket,
  type WindowStats,
} from './recorder.js';
export {
  availabilityBurnRate,
  errorRatio,
  latencyBurnRate,
  quantileSeconds,
  requestRate,
  slowShare,
} from './sli.js';
