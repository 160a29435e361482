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
