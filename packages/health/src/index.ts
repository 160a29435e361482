export {
  type CheckOptions,
  DEFAULTS,
  type HealthOptions,
  type ProbeOptions,
  type ProbeTiming,
  type ShutdownOptions,
} from './options.js';
