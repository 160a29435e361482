import { DEFAULTS, type HealthOptions, type ProbeTiming } from './options.js';

/** One Kubernetes probe block (`livenessProbe`, `readinessProbe`, `startupProbe`). */
export interface KubernetesProbe {
  readonly httpGet: { readonly path: string; readonly port: number | string };
  readonly periodSeconds: number;
  readonly failureThreshold: number;
  readonly timeoutSeconds: number;
  readonly initialDelaySeconds?: number;
}

/** What {@link kubernetesProbes} produces: the container and pod fields that belong together. */
export interface KubernetesProbeConfig {
  readonly livenessProbe: KubernetesProbe;
  readonly readinessProbe: KubernetesProbe;
  readonly startupProbe: KubernetesProbe;
  readonly lifecycle: { readonly preStop: { readonly sleep: { readonly seconds: number } } };
  /** A pod-spec field: set it next to `containers`. */
  readonly terminationGracePeriodSeconds: number;
}

/** Options of {@link kubernetesProbes} beyond the service's health configuration. */
export interface KubernetesOptions {
  /**
   * The container port the probes are reached on: a number or a named port. Default: the probe
   * server's `probes.port` when set, else `'http'` (the app's named container port).
   */
  readonly port?: number | string;
  /**
   * Cleanup hooks the service registers (each may use up to `shutdown.hookTimeoutMs`), so the
   * grace period covers them. Default 2.
   */
  readonly hooks?: number;
  /** Seconds added to the grace period on top of the computed budget. Default 5. */
  readonly marginSeconds?: number;
}

const seconds = (ms: number): number => Math.ceil(ms / 1000);

function probe(
  path: string,
  port: number | string,
  timing: Required<ProbeTiming>,
): KubernetesProbe {
  return {
    httpGet: { path, port },
    periodSeconds: timing.periodSeconds,
    failureThreshold: timing.failureThreshold,
    timeoutSeconds: timing.timeoutSeconds,
    ...(timing.initialDelaySeconds > 0 ? { initialDelaySeconds: timing.initialDelaySeconds } : {}),
  };
}

function timingOf(
  name: 'liveness' | 'readiness' | 'startup',
  given: ProbeTiming | undefined,
): Required<ProbeTiming> {
  const t = { ...DEFAULTS[name], ...(given ?? {}) };
  for (const key of ['periodSeconds', 'failureThreshold', 'timeoutSeconds'] as const) {
    const v = t[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new TypeError(
        `kubernetesProbes: option "probes.${name}.${key}" must be an integer >= 1, got ${String(v)}`,
      );
    }
  }
  const d = t.initialDelaySeconds;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
    throw new TypeError(
      `kubernetesProbes: option "probes.${name}.initialDelaySeconds" must be an integer >= 0, got ${String(d)}`,
    );
  }
  return t;
}

function msOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `kubernetesProbes: option "${name}" must be a number >= 0, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * The Kubernetes probe settings that match a service's health configuration: the three probes
 * on the service's paths with the lesson's timing (liveness every 15 s, restart after 3 failures;
 * readiness every 5 s, out of rotation after 2; startup up to 30 x 10 s), a preStop sleep of the
 * drain delay, and a termination grace period that covers the whole shutdown.
 *
 * The grace period is the sum of what can happen after the kubelet starts stopping the pod:
 * the preStop sleep, then (after SIGTERM) the service's own drain delay, the time in-flight
 * requests may take, and the cleanup hooks, plus a margin. The preStop sleep lets endpoint
 * removal reach every load balancer before SIGTERM; the service's drain delay still covers
 * clients that were slower to notice.
 *
 * @example
 * const config = kubernetesProbes({ shutdown: { drainDelayMs: 5_000 } });
 * console.log(toYaml(config));
 */
export function kubernetesProbes(
  health: HealthOptions = {},
  options: KubernetesOptions = {},
): KubernetesProbeConfig {
  if (health === null || typeof health !== 'object') {
    throw new TypeError(
      `kubernetesProbes: the health configuration must be an object, got ${String(health)}`,
    );
  }
  const probes = health.probes ?? {};
  const port = options.port ?? probes.port ?? 'http';
  if (
    !(typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536) &&
    !(typeof port === 'string' && /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(port))
  ) {
    throw new TypeError(
      `kubernetesProbes: option "port" must be a port number or a Kubernetes port name, got ${String(port)}`,
    );
  }
  const shutdown = health.shutdown ?? {};
  const drain = msOption(
    'shutdown.drainDelayMs',
    shutdown.drainDelayMs,
    DEFAULTS.shutdown.drainDelayMs,
  );
  const requests = msOption(
    'shutdown.requestTimeoutMs',
    shutdown.requestTimeoutMs,
    DEFAULTS.shutdown.requestTimeoutMs,
  );
  const hook = msOption(
    'shutdown.hookTimeoutMs',
    shutdown.hookTimeoutMs,
    DEFAULTS.shutdown.hookTimeoutMs,
  );
  const hooks = options.hooks ?? 2;
  if (!Number.isInteger(hooks) || hooks < 0) {
    throw new TypeError(
      `kubernetesProbes: option "hooks" must be an integer >= 0, got ${String(hooks)}`,
    );
  }
  const margin = options.marginSeconds ?? 5;
  if (!Number.isInteger(margin) || margin < 0) {
    throw new TypeError(
      `kubernetesProbes: option "marginSeconds" must be an integer >= 0, got ${String(margin)}`,
    );
  }
  const preStop = seconds(drain);
  return {
    livenessProbe: probe(
      probes.livenessPath ?? DEFAULTS.livenessPath,
      port,
      timingOf('liveness', probes.liveness),
    ),
    readinessProbe: probe(
      probes.readinessPath ?? DEFAULTS.readinessPath,
      port,
      timingOf('readiness', probes.readiness),
    ),
    startupProbe: probe(
      probes.startupPath ?? DEFAULTS.startupPath,
      port,
      timingOf('startup', probes.startup),
    ),
    lifecycle: { preStop: { sleep: { seconds: preStop } } },
    terminationGracePeriodSeconds: preStop + seconds(drain + requests + hooks * hook) + margin,
  };
}

/**
 * Renders a probe configuration as the YAML to paste under a container (and, for
 * `terminationGracePeriodSeconds`, the pod spec), with a comment saying which is which.
 */
export function toYaml(config: KubernetesProbeConfig): string {
  const lines: string[] = ['# container fields'];
  const emit = (key: string, value: unknown, indent: string): void => {
    if (value !== null && typeof value === 'object') {
      lines.push(`${indent}${key}:`);
      for (const [k, v] of Object.entries(value)) emit(k, v, `${indent}  `);
    } else {
      lines.push(
        `${indent}${key}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
      );
    }
  };
  emit('livenessProbe', config.livenessProbe, '');
  emit('readinessProbe', config.readinessProbe, '');
  emit('startupProbe', config.startupProbe, '');
  emit('lifecycle', config.lifecycle, '');
  lines.push('# pod spec field (next to containers)');
  emit('terminationGracePeriodSeconds', config.terminationGracePeriodSeconds, '');
  return `${lines.join('\n')}\n`;
}
