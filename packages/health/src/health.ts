import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CircuitBreaker, type Clock, systemClock } from '@nines/resilience';
import {
  clockOption,
  describe,
  enumOption,
  numberOption,
  optionsObject,
} from '@nines/resilience/options';
import { type CheckConfig, type CheckResult, CheckRunner, parseChecks } from './checks.js';
import { EventLoopMonitor } from './event-loop.js';
import {
  DEFAULTS,
  type HealthOptions,
  type ProbeOptions,
  type ProbeTiming,
  type ShutdownOptions,
} from './options.js';
import {
  type DetailGate,
  detailGate,
  livenessStatus,
  type ProbeBody,
  type ProbeResult,
  probePath,
  publicBody,
  type ReadinessInput,
  readinessStatus,
  sendProbe,
  startupStatus,
  statusCodeOf,
} from './probes.js';
import { createShutdown, type Shutdown } from './shutdown.js';
import { HealthState } from './state.js';

/** A probe server started by {@link Health.listen}. */
export interface ProbeServer {
  /** The port it listens on (the actual one when 0 was asked for). */
  readonly port: number;
  /** Stops it and closes its connections, kept-alive ones included. Idempotent. */
  close(): Promise<void>;
}

/**
 * Probes for one service, made by {@link createHealth}.
 *
 * - Liveness (`/healthz`): 200 unless the event loop was blocked longer than
 *   `maxEventLoopDelayMs` in the last liveness period or two (then 503). It never runs checks, and
 *   it stays 200 before `started()` and during a shutdown: a restart cannot fix a dependency, and
 *   killing a draining process cuts its requests off.
 * - Readiness (`/ready`): 503 `'starting'` before `started()`, 503 `'shutting_down'` once a
 *   shutdown has begun (checks are not run in either case); otherwise the checks decide: 503
 *   `'fail'` when a critical check with `'fail'` handling fails, 200 `'degraded'` when any other
 *   check or an open breaker fails, 200 `'ok'` when everything passes.
 * - Startup (`/startup`): 503 `'starting'` until `started()`, 200 `'ok'` from then on.
 *
 * Bodies are JSON `{ status, checks? }` (liveness: `{ status, eventLoopDelayMs? }`); the detail
 * fields appear only for requests `probes.detail` allows (default: loopback only).
 */
export interface Health {
  /**
   * The lifecycle flags probes read: `started`, and `shuttingDown`, which a graceful shutdown
   * sets. Exposed for the shutdown sequence and for tests.
   */
  readonly state: HealthState;
  /** Marks startup as finished: startup passes and readiness runs its checks from now on. Idempotent. */
  started(): void;
  /**
   * Answers a GET or HEAD request for one of the three probe paths (exact match, the query string
   * ignored) and returns true; returns false, touching nothing, for any other request so the
   * application handles it. Never throws. Bound: pass it around freely.
   *
   * @example
   * http.createServer((req, res) => health.handler(req, res) || app(req, res));
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Serves the probes on a separate server: `port` defaults to `probes.port`, `host` to
   * `probes.host` (default `'0.0.0.0'`). Other paths get 404. Rejects with a TypeError for a bad
   * port or host, and with the listen error (EADDRINUSE...) otherwise.
   */
  listen(port?: number, host?: string): Promise<ProbeServer>;
  /** The liveness answer now, with every detail. */
  liveness(): ProbeResult;
  /** The readiness answer (runs due checks; never rejects), with every detail. */
  readiness(): Promise<ProbeResult>;
  /** The startup answer now. */
  startup(): ProbeResult;
  /**
   * Graceful shutdown on `shutdown.signals` (SIGTERM and SIGINT by default), built from
   * `options.shutdown` on the same {@link Health.state}: readiness fails as soon as it begins.
   * Attach the app's server(s) and register cleanup hooks on it (see `createShutdown`). Pass
   * `shutdown: { signals: [] }` to leave signals to someone else.
   */
  readonly shutdown: Shutdown;
  /**
   * Stops the event-loop monitor, closes the probe servers from `listen()` and removes the
   * shutdown's signal listeners (a shutdown under way goes on). Call it last in a shutdown: while
   * draining, the probe server must keep answering (readiness 503).
   */
  close(): Promise<void>;
}

const OWNER = 'createHealth';
const HEALTH_KEYS = [
  'probes',
  'checks',
  'onCriticalFailure',
  'maxEventLoopDelayMs',
  'shutdown',
  'breakers',
  'onBreakerOpen',
  'clock',
] as const;
const PROBE_KEYS = [
  'livenessPath',
  'readinessPath',
  'startupPath',
  'port',
  'host',
  'detail',
  'liveness',
  'readiness',
  'startup',
] as const;
const TIMING_KEYS = [
  'periodSeconds',
  'failureThreshold',
  'timeoutSeconds',
  'initialDelaySeconds',
] as const;
const MAX_PORT = 65_535;

function pathOption(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !value.startsWith('/') || /[?#\s]/.test(value)) {
    throw new TypeError(
      `${OWNER}: option "probes.${name}" must be a path starting with "/" without query, fragment or spaces, got ${describe(value)}`,
    );
  }
  return value;
}

function timingOption(
  name: 'liveness' | 'readiness' | 'startup',
  value: unknown,
): Required<ProbeTiming> {
  const t = optionsObject<ProbeTiming>(OWNER, value, TIMING_KEYS, `probes.${name}`);
  const d = DEFAULTS[name];
  const rule = { min: 1, integer: true };
  const at = (key: string) => `probes.${name}.${key}`;
  return {
    periodSeconds: numberOption(OWNER, at('periodSeconds'), t.periodSeconds, d.periodSeconds, rule),
    failureThreshold: numberOption(
      OWNER,
      at('failureThreshold'),
      t.failureThreshold,
      d.failureThreshold,
      rule,
    ),
    timeoutSeconds: numberOption(
      OWNER,
      at('timeoutSeconds'),
      t.timeoutSeconds,
      d.timeoutSeconds,
      rule,
    ),
    initialDelaySeconds: numberOption(
      OWNER,
      at('initialDelaySeconds'),
      t.initialDelaySeconds,
      d.initialDelaySeconds,
      { integer: true },
    ),
  };
}

function portOption(owner: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  return numberOption(owner, name, value, 0, { integer: true, max: MAX_PORT });
}

function hostOption(owner: string, name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(
      `${owner}: option "${name}" must be a non-empty string, got ${describe(value)}`,
    );
  }
  return value;
}

function detailOption(value: unknown): NonNullable<ProbeOptions['detail']> {
  if (value === undefined) return DEFAULTS.detail;
  if (typeof value === 'function') return value as (req: IncomingMessage) => boolean;
  return enumOption<'never' | 'always' | 'loopback'>(
    OWNER,
    'probes.detail',
    value,
    DEFAULTS.detail,
    ['never', 'always', 'loopback'],
  );
}

interface ProbeConfig {
  readonly livenessPath: string;
  readonly readinessPath: string;
  readonly startupPath: string;
  readonly port: number | undefined;
  readonly host: string;
  readonly gate: DetailGate;
  readonly liveness: Required<ProbeTiming>;
  readonly readiness: Required<ProbeTiming>;
}

function parseProbes(value: unknown): ProbeConfig {
  const p = optionsObject<ProbeOptions>(OWNER, value, PROBE_KEYS, 'probes');
  const livenessPath = pathOption('livenessPath', p.livenessPath, DEFAULTS.livenessPath);
  const readinessPath = pathOption('readinessPath', p.readinessPath, DEFAULTS.readinessPath);
  const startupPath = pathOption('startupPath', p.startupPath, DEFAULTS.startupPath);
  if (new Set([livenessPath, readinessPath, startupPath]).size !== 3) {
    throw new TypeError(
      `${OWNER}: options "probes.livenessPath", "probes.readinessPath" and "probes.startupPath" must differ, got ${livenessPath}, ${readinessPath}, ${startupPath}`,
    );
  }
  const config: ProbeConfig = {
    livenessPath,
    readinessPath,
    startupPath,
    port: portOption(OWNER, 'probes.port', p.port),
    host: hostOption(OWNER, 'probes.host', p.host, DEFAULTS.host),
    gate: detailGate(detailOption(p.detail)),
    liveness: timingOption('liveness', p.liveness),
    readiness: timingOption('readiness', p.readiness),
  };
  timingOption('startup', p.startup);
  return config;
}

function parseBreakers(value: unknown, checks: readonly CheckConfig[]): [string, CircuitBreaker][] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${OWNER}: option "breakers" must be an object, got ${describe(value)}`);
  }
  const names = new Set(checks.map((c) => c.name));
  const out: [string, CircuitBreaker][] = [];
  for (const [name, b] of Object.entries(value)) {
    const candidate = b as Partial<CircuitBreaker> | null;
    if (
      candidate === null ||
      typeof candidate !== 'object' ||
      typeof candidate.state !== 'string' ||
      typeof candidate.isolate !== 'function'
    ) {
      throw new TypeError(
        `${OWNER}: option "breakers.${name}" must be a circuit breaker from @nines/resilience, got ${describe(b)}`,
      );
    }
    if (names.has(name)) {
      throw new TypeError(
        `${OWNER}: option "breakers.${name}" has the name of a check; breakers and checks share the body's "checks" and need distinct names`,
      );
    }
    out.push([name, candidate as CircuitBreaker]);
  }
  return out;
}

/** A breaker's state as a readiness entry. */
function breakerResult(breaker: CircuitBreaker): CheckResult {
  let state: string;
  try {
    state = breaker.state;
  } catch {
    state = 'unknown';
  }
  return state === 'closed' || state === 'half-open'
    ? { status: 'ok', latencyMs: 0, detail: { state } }
    : { status: 'fail', latencyMs: 0, error: `circuit ${state}`, detail: { state } };
}

/** The shutdown options, with the health clock unless the shutdown has its own. */
function shutdownOptions(value: unknown, clock: Clock | undefined): ShutdownOptions | undefined {
  if (clock === undefined) return value as ShutdownOptions | undefined;
  if (value === undefined) return { clock };
  // Anything but a plain object goes through untouched, for createShutdown to reject by name.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return value as ShutdownOptions;
  }
  const given = value as ShutdownOptions;
  return given.clock === undefined ? { ...given, clock } : given;
}

const STARTUP_OK: ProbeResult = { statusCode: 200, body: { status: startupStatus(true) } };
const STARTUP_WAIT: ProbeResult = { statusCode: 503, body: { status: startupStatus(false) } };
const FAILED: ProbeBody = { status: 'fail' };

/**
 * Creates the probes of a service from its health configuration (the same object
 * `kubernetesProbes` turns into manifests). Validates every option at once: a bad one throws a
 * TypeError naming it. Until `started()` is called, startup and readiness answer 503.
 *
 * @example
 * const health = createHealth({
 *   checks: { db: tcpCheck('db.internal', 5432), search: { ...httpCheck(searchUrl), critical: false } },
 * });
 * const server = http.createServer((req, res) => health.handler(req, res) || app(req, res));
 * health.shutdown.attach(server);
 * server.listen(8080, () => health.started());
 */
export function createHealth(options?: HealthOptions): Health {
  const o = optionsObject<HealthOptions>(OWNER, options, HEALTH_KEYS);
  const clock = clockOption<Clock>(OWNER, o.clock, systemClock);
  const onCriticalFailure = enumOption(
    OWNER,
    'onCriticalFailure',
    o.onCriticalFailure,
    DEFAULTS.onCriticalFailure,
    ['fail', 'degrade'],
  );
  const onBreakerOpen = enumOption(
    OWNER,
    'onBreakerOpen',
    o.onBreakerOpen,
    DEFAULTS.onBreakerOpen,
    ['fail', 'degrade'],
  );
  const maxDelayMs = numberOption(
    OWNER,
    'maxEventLoopDelayMs',
    o.maxEventLoopDelayMs,
    DEFAULTS.maxEventLoopDelayMs,
    { min: 0, exclusiveMin: true, infinite: true },
  );
  const probes = parseProbes(o.probes);
  const checks = parseChecks(OWNER, o.checks, onCriticalFailure);
  const breakers = parseBreakers(o.breakers, checks);

  const state = new HealthState();
  // Created last among the validating steps (it validates `shutdown` itself) and before anything
  // that holds resources, so a bad option leaves no signal listener or histogram behind.
  const shutdown = createShutdown(state, shutdownOptions(o.shutdown, o.clock));
  const runner = new CheckRunner(checks, clock);
  // Infinity switches the liveness measurement off: no histogram at all.
  let monitor: EventLoopMonitor | undefined =
    maxDelayMs < Number.POSITIVE_INFINITY
      ? new EventLoopMonitor(clock, probes.liveness.periodSeconds * 1_000)
      : undefined;
  // Answer within the kubelet's probe timeout (with a margin for the response itself), whatever
  // the checks' own timeouts: a late answer counts as a failure even for non-critical checks.
  const budgetMs = probes.readiness.timeoutSeconds * 1_000 * 0.9;
  const servers = new Set<Server>();

  const liveness = (): ProbeResult => {
    const delay = monitor?.delayMs() ?? 0;
    const status = livenessStatus(delay, maxDelayMs);
    return {
      statusCode: statusCodeOf(status),
      body: { status, eventLoopDelayMs: Math.round(delay) },
    };
  };

  const startup = (): ProbeResult => (state.started ? STARTUP_OK : STARTUP_WAIT);

  const readiness = async (): Promise<ProbeResult> => {
    if (state.shuttingDown || !state.started) {
      const status = readinessStatus(state.started, state.shuttingDown, []);
      return { statusCode: statusCodeOf(status), body: { status } };
    }
    const outcomes = runner.size === 0 ? [] : await runner.run(budgetMs);
    const inputs: ReadinessInput[] = [];
    // No prototype: a check named "__proto__" must stay a key.
    const detail: Record<string, CheckResult> = Object.create(null);
    for (const { config, result } of outcomes) {
      detail[config.name] = result;
      inputs.push({
        ok: result.status === 'ok',
        critical: config.critical,
        onFailure: config.onFailure,
      });
    }
    for (const [name, breaker] of breakers) {
      const result = breakerResult(breaker);
      detail[name] = result;
      inputs.push({ ok: result.status === 'ok', critical: true, onFailure: onBreakerOpen });
    }
    // Read the state again: a shutdown that began while checks ran must win.
    const status = readinessStatus(state.started, state.shuttingDown, inputs);
    const body: ProbeBody =
      inputs.length === 0 || status === 'shutting_down' ? { status } : { status, checks: detail };
    return { statusCode: statusCodeOf(status), body };
  };

  const send = (req: IncomingMessage, res: ServerResponse, result: ProbeResult): void => {
    sendProbe(
      req,
      res,
      result.statusCode,
      probes.gate(req) ? result.body : publicBody(result.body),
    );
  };

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    let path: string | undefined;
    try {
      path = probePath(req);
    } catch {
      return false;
    }
    if (path === undefined) return false;
    try {
      if (path === probes.livenessPath) {
        send(req, res, liveness());
        return true;
      }
      if (path === probes.startupPath) {
        send(req, res, startup());
        return true;
      }
      if (path === probes.readinessPath) {
        readiness().then(
          (result) => send(req, res, result),
          () => sendProbe(req, res, 503, FAILED),
        );
        return true;
      }
    } catch {
      // Unreachable by design (every step above is guarded); answer rather than crash if not.
      sendProbe(req, res, 503, FAILED);
      return true;
    }
    return false;
  };

  const listen = async (port?: number, host?: string): Promise<ProbeServer> => {
    const owner = 'Health.listen';
    const p = portOption(owner, 'port', port) ?? probes.port;
    if (p === undefined) {
      throw new TypeError(
        `${owner}: option "port" is required when "probes.port" is not set, got undefined`,
      );
    }
    const h = hostOption(owner, 'host', host, probes.host);
    const server = createServer((req, res) => {
      if (!handler(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, h, () => {
        server.off('error', reject);
        resolve();
      });
    });
    servers.add(server);
    let closing: Promise<void> | undefined;
    return {
      port: (server.address() as AddressInfo).port,
      close: () => {
        closing ??= new Promise<void>((resolve) => {
          servers.delete(server);
          server.close(() => resolve());
          // Node 20's close() leaves kept-alive and never-used connections open.
          server.closeAllConnections();
        });
        return closing;
      },
    };
  };

  const close = async (): Promise<void> => {
    shutdown.dispose();
    monitor?.close();
    monitor = undefined;
    await Promise.all(
      [...servers].map(
        (server) =>
          new Promise<void>((resolve) => {
            servers.delete(server);
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  };

  return {
    state,
    started: () => {
      state.started = true;
    },
    handler,
    listen,
    liveness,
    readiness,
    startup,
    shutdown,
    close,
  };
}
