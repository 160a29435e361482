/**
 * @nines/chaos: in-process faults with a time to live, a Toxiproxy-compatible TCP fault proxy, and
 * experiments whose steady state is an SLO, with abort conditions and rollbacks that always run.
 */

export {
  DEFAULT_DISK_FILL_MAX_BYTES,
  type DiskFill,
  DiskFillError,
  type DiskFillOptions,
  fillDisk,
  parseByteSize,
} from './experiment/disk-fill.js';
export {
  type ActivityRecord,
  type CheckRun,
  exitCodeOf,
  type Journal,
  type ProbeResult,
  type RunStatus,
  type StageRecord,
} from './experiment/journal.js';
export {
  type LoadExperimentOptions,
  loadExperiment,
  loadExperimentFile,
} from './experiment/load.js';
export {
  MetricsParseError,
  parsePrometheusText,
  type Sample,
} from './experiment/metrics/prometheus-text.js';
export {
  createMetricsRecorder,
  type MetricsRecorder,
  type MetricsRecorderOptions,
  type MetricsTarget,
  type RequestFilter,
  type ScrapeResult,
  type WindowBucket,
  type WindowStats,
} from './experiment/metrics/recorder.js';
export {
  availabilityBurnRate,
  errorRatio,
  latencyBurnRate,
  quantileSeconds,
  requestRate,
  slowShare,
} from './experiment/metrics/sli.js';
export type {
  Action,
  Experiment,
  FaultsEndpoint,
  FaultsVia,
  Hypothesis,
  InstanceGroup,
  Measure,
  Origin,
  Probe,
  Step,
  Threshold,
  Via,
} from './experiment/model.js';
export { describeAction, renderPlan, renderReport } from './experiment/report.js';
export {
  type RunEvent,
  type RunOptions,
  type RunPhase,
  runExperiment,
} from './experiment/runner.js';
export { createFaultAdmin, type FaultAdmin, type FaultAdminOptions } from './faults/admin.js';
export { InjectedFaultError } from './faults/errors.js';
export type { RequestHandler } from './faults/middleware.js';
export { createFaults, type Faults, type FaultsOptions } from './faults/registry.js';
export type {
  ActorOptions,
  AuditEntry,
  BlockFault,
  BlockFaultInput,
  ClearAuditEntry,
  ErrorFault,
  ErrorFaultInput,
  Fault,
  FaultAuditEntry,
  FaultBase,
  FaultInput,
  FaultInputBase,
  FaultKind,
  LatencyDistribution,
  LatencyFault,
  LatencyFaultInput,
  SkewFault,
  SkewFaultInput,
} from './faults/types.js';
export { createProxyAdmin, type ProxyAdmin, type ProxyAdminOptions } from './proxy/admin.js';
export { renderProxyMetrics } from './proxy/metrics.js';
export {
  createProxyRegistry,
  PopulateError,
  type ProxyRegistryOptions,
} from './proxy/registry.js';
export { isToxicType, TOXIC_ATTRIBUTES } from './proxy/toxics.js';
export {
  ProxyApiError,
  type ProxyInput,
  type ProxyJSON,
  type ProxyRegistry,
  type ProxyStats,
  type Stream,
  type ToxicInput,
  type ToxicJSON,
  type ToxicType,
  type ToxicUpdate,
} from './proxy/types.js';
