export {
  type DiskCheckOptions,
  diskCheck,
  type EventLoopCheckOptions,
  eventLoopCheck,
  type HttpCheckOptions,
  httpCheck,
  type MemoryCheckOptions,
  memoryCheck,
  type TcpCheckOptions,
  tcpCheck,
} from './builtin-checks.js';
export type { CheckResult } from './checks.js';
export { createHealth, type Health, type ProbeServer } from './health.js';
export {
  type KubernetesOptions,
  type KubernetesProbe,
  type KubernetesProbeConfig,
  kubernetesProbes,
  toYaml,
} from './kubernetes.js';
export {
  type CheckOptions,
  DEFAULTS,
  type HealthOptions,
  type ProbeOptions,
  type ProbeTiming,
  type ShutdownOptions,
} from './options.js';
export type { ProbeBody, ProbeResult, ProbeStatus } from './probes.js';
export {
  createShutdown,
  type Shutdown,
  type ShutdownCutOff,
  ShutdownForcedError,
  type ShutdownHook,
  type ShutdownHookInfo,
  type ShutdownHookOptions,
  type ShutdownHookResult,
  type ShutdownPhase,
  type ShutdownPhaseEvent,
  type ShutdownReport,
} from './shutdown.js';
export type { HealthState } from './state.js';
