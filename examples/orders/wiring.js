// What every nines service of the orders system shares: telemetry, health probes, the HTTP
// server, the ready line and the graceful shutdown. Each service file keeps only its own logic.
//
//   const service = createService('store');           // telemetry first: clients and SLOs need it
//   const app = async (req, res) => { ... };          // the service's own routes
//   await service.serve(app, { routes: ['/orders/:id'], health: { checks }, hooks: [...] });
//
// Why it is wired this way:
// - Probes (/healthz, /ready, /startup) are answered before the instrumentation, so a kubelet's
//   polling is neither traced nor counted in the RED metrics or the SLOs; /metrics is answered by
//   the instrumentation without a span either.
// - Liveness never checks a dependency (a restart cannot fix one); readiness checks what this
//   instance needs, and is 503 from the first shutdown signal so traffic moves away first.
// - On SIGTERM/SIGINT the health package drains: readiness fails, the server stops accepting,
//   in-flight requests finish, then the hooks run (the service's own, then the telemetry flush,
//   so the last spans and log lines are not lost), and the process exits 0.
import http from 'node:http';
import { createHealth } from '@nines/health';
import { handleFatalErrors, setupTelemetry } from '@nines/telemetry';

/** Ends the process with a clear message (bad configuration), before anything listens. */
export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** An integer from the environment, checked; `fallback` when unset or empty. */
export function envInt(name, fallback, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    fail(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** An http(s) base URL from the environment, without a trailing slash; required unless a fallback is given. */
export function envUrl(name, fallback) {
  const raw = process.env[name] ?? fallback;
  if (raw === undefined || raw === '') fail(`${name} is required (e.g. http://127.0.0.1:4001)`);
  let url;
  try {
    url = new URL(raw);
  } catch {
    fail(`${name} must be a URL such as http://127.0.0.1:4001, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail(`${name} must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  }
  return raw.replace(/\/+$/, '');
}

/** Writes a JSON response. */
export function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** A client error with its HTTP status, turned into a JSON answer by the wiring. */
export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/** Reads a JSON request body of at most `limit` bytes; a bad body is an HttpError 400 or 413. */
export async function readJson(req, limit = 64 * 1024) {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, `content-type must be application/json, got ${JSON.stringify(type)}`);
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${err.message}`);
  }
}

/**
 * The items of an order body `{"items":[...]}`: 1 to `max` objects (`fields` names what each must
 * hold), each checked and mapped by `check(item, at)`, where `at` (`items[2]`) names it in errors.
 */
export function orderItems(body, max, fields, check) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'body must be a JSON object with "items"');
  }
  const { items } = body;
  if (!Array.isArray(items) || items.length === 0 || items.length > max) {
    throw new HttpError(400, `items must be an array of 1 to ${max} items`);
  }
  return items.map((it, i) => {
    const at = `items[${i}]`;
    if (it === null || typeof it !== 'object' || Array.isArray(it)) {
      throw new HttpError(400, `${at} must be an object with ${fields}`);
    }
    return check(it, at);
  });
}

/**
 * Sets up the telemetry of one service: spans over OTLP when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * (or OTEL_EXPORTER_OTLP_ENDPOINT) is set, else created for the logs and the propagation only;
 * JSON logs on stdout with trace ids; RED metrics; the SLO trackers in `slos`, fed once per
 * request from the same measurement as the histogram.
 */
export function createService(name, { slos } = {}) {
  const exportSpans =
    Boolean(process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ||
    Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const telemetry = setupTelemetry({
    serviceName: name,
    // A short batch delay: a collector (the demo's receiver) sees a request's spans within ~200 ms.
    tracing: exportSpans ? { batch: { scheduledDelayMs: 200 } } : { exporter: 'none' },
    ...(slos === undefined ? {} : { slos }),
    shutdownTimeoutMs: 2000,
  });
  // An uncaught error is logged at fatal and flushed before the process exits 1.
  handleFatalErrors(telemetry.logger);
  const port = envInt('PORT', 0, { max: 65_535 });

  return {
    name,
    telemetry,
    logger: telemetry.logger,
    registry: telemetry.registry,

    /**
     * Starts serving `app` behind the probes and the instrumentation, prints the ready line and
     * arms the graceful shutdown. `health` takes the options of createHealth (checks, breakers...);
     * `hooks` are `[name, fn]` cleanups run at shutdown (in reverse order, before the telemetry
     * flush); `ignore(req)` keeps requests out of the metrics and SLOs (an admin endpoint).
     */
    async serve(app, { routes = [], health: healthOptions = {}, hooks = [], ignore } = {}) {
      const health = createHealth({
        ...healthOptions,
        // Loopback demo, no load balancer to wait for: a short drain, then in-flight requests
        // get 3 s; the whole shutdown stays within a few seconds.
        shutdown: { drainDelayMs: 100, requestTimeoutMs: 3000, hookTimeoutMs: 2500 },
      });
      const handle = async (req, res) => {
        try {
          await app(req, res);
        } catch (err) {
          if (res.headersSent) {
            res.destroy(err);
            return;
          }
          if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
          telemetry.logger.error({ err }, 'request failed');
          sendJson(res, 500, { error: 'internal error' });
        }
      };
      const instrumented = telemetry.instrument(handle, {
        routes,
        ...(ignore === undefined ? {} : { ignore }),
      });
      const server = http.createServer((req, res) => {
        if (!health.handler(req, res)) instrumented(req, res);
      });
      // Keep-alive from callers (the other services, the load generator) outlives their idle gaps.
      server.keepAliveTimeout = 10_000;

      // Hooks run in reverse order of registration: the telemetry flush is registered first so it
      // runs last, after the service's own cleanups logged what they did.
      health.shutdown.onShutdown('telemetry', () => telemetry.shutdown(), { timeoutMs: 2500 });
      for (const [hookName, hook] of hooks) health.shutdown.onShutdown(hookName, hook);
      health.shutdown.onPhase(({ phase, reason }) => {
        if (phase === 'draining') telemetry.logger.info({ reason }, 'shutting down');
      });
      health.shutdown.onHook((r) => {
        if (r.outcome !== 'ok') {
          telemetry.logger.warn(
            { hook: r.name, outcome: r.outcome, err: r.error },
            'shutdown hook failed',
          );
        }
      });
      health.shutdown.onCutOff((c) => telemetry.logger.warn(c, 'cut off at shutdown'));
      health.shutdown.attach(server);

      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const actual = server.address().port;
      // Warm up: the first fetch in a process loads its HTTP client (~75 ms), which would otherwise
      // land on the first real request, cold, and show as a latency SLO miss. The liveness probe is
      // neither traced nor counted.
      await fetch(`http://127.0.0.1:${actual}/healthz`)
        .then((r) => r.arrayBuffer())
        .catch(() => {});
      health.started();
      telemetry.logger.info({ port: actual, pid: process.pid }, `${name} listening`);
      process.stdout.write(
        `${JSON.stringify({ ready: true, service: name, port: actual, pid: process.pid })}\n`,
      );
      return { server, port: actual, health };
    },
  };
}
