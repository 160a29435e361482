import type { IncomingMessage } from 'node:http';
import type { CircuitBreaker, Clock } from '@nines/resilience';

/**
 * The health configuration of a service. One object drives the probe endpoints, the dependency
 * checks, graceful shutdown and the Kubernetes probe settings (`kubernetesProbes`), so the
 * manifests can never disagree with what the service does.
 */
export interface HealthOptions {
  /** Probe endpoints. */
  readonly probes?: ProbeOptions;
  /** Dependency and resource checks that decide readiness (never liveness). */
  readonly checks?: Record<string, CheckOptions>;
  /**
   * What readiness does when a critical check fails:
   * - `'fail'` (default): out of rotation, the classic behaviour;
   * - `'degrade'`: stay ready and report the failure in the body. Choose it for a dependency that
   *   every instance shares: when it is down for all of them, failing every readiness probe takes
   *   the whole service out of rotation and turns a partial outage into a total one.
   * A check's own `onFailure` overrides this.
   */
  readonly onCriticalFailure?: 'fail' | 'degrade';
  /** Liveness: the event loop must not be blocked longer than this (ms). Default 1_000. */
  readonly maxEventLoopDelayMs?: number;
  /** Graceful shutdown. */
  readonly shutdown?: ShutdownOptions;
  /**
   * Circuit breakers from `@nines/resilience` whose state readiness reports, by name (shown in
   * the body's `checks` next to the checks; a name may not repeat a check's). An `'open'` or
   * `'isolated'` breaker counts as a failed critical check handled by `onBreakerOpen`;
   * `'half-open'` counts as passing.
   */
  readonly breakers?: Record<string, CircuitBreaker>;
  /**
   * What readiness does while a breaker in `breakers` is open or isolated. Default `'degrade'`:
   * stay ready and report it. A breaker protects one dependency, usually shared by every instance,
   * so it tends to open on all of them at once; `'fail'` would then take the whole service out of
   * rotation. Use `'fail'` only for a dependency without which no request can succeed and that
   * other instances may still reach.
   */
  readonly onBreakerOpen?: 'fail' | 'degrade';
  /** Time source for check timeouts, result caching, latencies and the event-loop window. */
  readonly clock?: Clock;
}

/** Where the probes are served, how often Kubernetes calls them, and who sees details. */
export interface ProbeOptions {
  /** Default `'/healthz'`. */
  readonly livenessPath?: string;
  /** Default `'/ready'`. */
  readonly readinessPath?: string;
  /** Default `'/startup'`. */
  readonly startupPath?: string;
  /**
   * Serve the probes on a separate server on this port (bound to `host`), or `undefined` to serve
   * them from the app's own server through the request handler. Default `undefined`.
   */
  readonly port?: number;
  /** Host of the separate probe server. Default `'0.0.0.0'` (the kubelet connects from outside). */
  readonly host?: string;
  /**
   * Who gets per-check detail (which check failed, its latency) in probe bodies:
   * `'never'`, `'always'`, `'loopback'` (default: requests from 127.0.0.1/::1 only, so internals do
   * not leak to the public), or a predicate on the request.
   */
  readonly detail?: 'never' | 'always' | 'loopback' | ((req: IncomingMessage) => boolean);
  /** Kubernetes probe timing (the lesson's values by default). */
  readonly liveness?: ProbeTiming;
  readonly readiness?: ProbeTiming;
  readonly startup?: ProbeTiming;
}

/** Kubernetes probe timing, in the units Kubernetes uses. */
export interface ProbeTiming {
  readonly periodSeconds?: number;
  readonly failureThreshold?: number;
  readonly timeoutSeconds?: number;
  readonly initialDelaySeconds?: number;
}

/** One dependency or resource check. */
export interface CheckOptions {
  /**
   * The check: resolves (any value, shown as detail) when healthy, throws or rejects when not.
   * It receives a signal that aborts at its timeout.
   */
  readonly check: (signal: AbortSignal) => unknown | Promise<unknown>;
  /** Default 1_000 ms. A check still running at its timeout is reported as failed. */
  readonly timeoutMs?: number;
  /** Results are reused for this long so probes never hammer a dependency. Default 5_000 ms. */
  readonly cacheMs?: number;
  /** Critical checks decide readiness; others only report "degraded". Default true. */
  readonly critical?: boolean;
  /** Overrides `HealthOptions.onCriticalFailure` for this check. */
  readonly onFailure?: 'fail' | 'degrade';
}

/** Graceful shutdown on a signal. */
export interface ShutdownOptions {
  /** Signals that start a graceful shutdown. Default `['SIGTERM', 'SIGINT']`. */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * After the signal, readiness fails at once but the server keeps serving new and kept-alive
   * requests for this long, so load balancers notice. Default 10_000 ms (readiness period 5 s x
   * failure threshold 2).
   */
  readonly drainDelayMs?: number;
  /** Then in-flight requests (and registered work) get this long to finish. Default 10_000 ms. */
  readonly requestTimeoutMs?: number;
  /** Each cleanup hook gets this long unless it says otherwise. Default 5_000 ms. */
  readonly hookTimeoutMs?: number;
  /** Call `process.exit` at the end (default true); false leaves the exit to the caller. */
  readonly exit?: boolean;
  /**
   * Time source for the drain delay, the request deadline and hook timeouts. Default
   * `systemClock` from '@nines/resilience'; tests pass a `ManualClock` so no test waits for real
   * time.
   */
  readonly clock?: Clock;
}

/** The lesson's defaults, in one place. */
export const DEFAULTS = {
  livenessPath: '/healthz',
  readinessPath: '/ready',
  startupPath: '/startup',
  host: '0.0.0.0',
  detail: 'loopback',
  maxEventLoopDelayMs: 1_000,
  onCriticalFailure: 'fail',
  onBreakerOpen: 'degrade',
  liveness: { periodSeconds: 15, failureThreshold: 3, timeoutSeconds: 1, initialDelaySeconds: 0 },
  readiness: { periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 1, initialDelaySeconds: 0 },
  startup: { periodSeconds: 10, failureThreshold: 30, timeoutSeconds: 1, initialDelaySeconds: 0 },
  check: { timeoutMs: 1_000, cacheMs: 5_000, critical: true },
  shutdown: {
    signals: ['SIGTERM', 'SIGINT'] as readonly NodeJS.Signals[],
    drainDelayMs: 10_000,
    requestTimeoutMs: 10_000,
    hookTimeoutMs: 5_000,
    exit: true,
  },
} as const;
