import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { booleanOption, describe, optionsObject } from '@nines/resilience/options';
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { CORRELATION_HEADERS, setCorrelationId } from '../correlation.js';
import { normalizeMethod } from './methods.js';
import { compileRoutes, type RouteMatcher, routeOf } from './routes.js';

/** A `node:http` request handler (also what Express, Koa's `callback()` and Fastify's factory take). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Where the instrumentation reports each finished request, once: when its response finished or its
 * connection closed. Runs inside the request's context (its span and correlation id are active), so
 * log lines written here carry them.
 */
export type RequestSink = (request: FinishedRequest) => void;

/** One served request, as the instrumentation measured it. */
export interface FinishedRequest {
  /** Normalised method (`_OTHER` for unknown ones). */
  readonly method: string;
  /** Route template, or undefined when none is known. */
  readonly route: string | undefined;
  /** Path without the query. */
  readonly path: string;
  /** Response status; 499 when the client closed the connection before the response finished. */
  readonly status: number;
  readonly durationSeconds: number;
  /** False when the client went away before the response finished. */
  readonly completed: boolean;
  readonly correlationId: string;
  /** The request's server span context (trace and span ids for a log line, say). */
  readonly spanContext: SpanContext;
}

/** Options of {@link instrumentHttp}. */
export interface InstrumentHttpOptions {
  /** Tracer for the server spans. Default: `trace.getTracer('@nines/telemetry')` (the global provider). */
  readonly tracer?: Tracer;
  /** Route templates (`'/orders/:id'`) for servers without a router; see also {@link setRoute}. */
  readonly routes?: readonly string[];
  /** Resolves the route template of a request; wins over `routes`. */
  readonly route?: (req: IncomingMessage) => string | undefined;
  /** Requests passed to the handler untouched: no span, no metrics, no access log (e.g. probes). */
  readonly ignore?: (req: IncomingMessage) => boolean;
  /** Receivers of each finished request (RED metrics, SLOs, access log). */
  readonly sinks?: readonly RequestSink[];
  /** Echo the correlation id in an `x-correlation-id` response header. Default true. */
  readonly echoCorrelationId?: boolean;
  /** Trust `x-correlation-id` / `x-request-id` from the client. Default true. */
  readonly trustCorrelationHeader?: boolean;
}

const OWNER = 'instrumentHttp';
const KEYS = [
  'tracer',
  'routes',
  'route',
  'ignore',
  'sinks',
  'echoCorrelationId',
  'trustCorrelationHeader',
];

/** Per-request state, kept on the response under a symbol so the close listener is shared. */
interface RequestState {
  readonly span: Span;
  readonly ctx: Context;
  readonly start: number;
  readonly method: string;
  readonly path: string;
  readonly correlationId: string;
  readonly req: IncomingMessage;
  route: string | undefined;
}

const STATE = Symbol('nines.request');
type Tracked = ServerResponse & { [STATE]?: RequestState };

/** Longest correlation id taken from a client; longer (or odd) values are replaced. */
const MAX_CORRELATION_ID = 128;

/**
 * Wraps a `node:http` handler so that every request gets one SERVER span named `{method} {route}`
 * (stable HTTP semantic conventions: attributes, 4xx unset, 5xx error), continues the caller's
 * trace from `traceparent` / `tracestate` (through the global propagator), runs the handler with
 * the span and a correlation id active, and reports the finished request to the sinks. Nothing is
 * monkey-patched.
 *
 * @example
 * http.createServer(instrumentHttp(handler, { routes: ['/orders/:id'], sinks: [red.sink] }));
 */
export function instrumentHttp(handler: HttpHandler, options?: InstrumentHttpOptions): HttpHandler {
  return instrumentHttpWith(handler, options, []);
}

/**
 * {@link instrumentHttp} with sinks of nines' own that need no active context (they read the span
 * context and correlation id from the finished request), so no context switch is paid for them.
 *
 * @internal
 */
export function instrumentHttpWith(
  handler: HttpHandler,
  options: InstrumentHttpOptions | undefined,
  direct: readonly RequestSink[],
): HttpHandler {
  if (typeof handler !== 'function') {
    throw new TypeError(
      `${OWNER}: handler must be a function (req, res), got ${describe(handler)}`,
    );
  }
  const o = optionsObject<InstrumentHttpOptions>(OWNER, options, KEYS);
  const tracer = o.tracer ?? trace.getTracer('@nines/telemetry');
  if (typeof tracer.startSpan !== 'function') {
    throw new TypeError(`${OWNER}: option "tracer" must be an OpenTelemetry Tracer`);
  }
  for (const k of ['route', 'ignore'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'function') {
      throw new TypeError(`${OWNER}: option "${k}" must be a function, got ${describe(o[k])}`);
    }
  }
  let resolve: ((req: IncomingMessage) => string | undefined) | undefined = o.route;
  if (resolve === undefined && o.routes !== undefined) {
    const match: RouteMatcher = compileRoutes(o.routes);
    resolve = (req) => match(pathOf(req.url));
  }
  const sinks = o.sinks ?? [];
  if (!Array.isArray(sinks) || sinks.some((s) => typeof s !== 'function')) {
    throw new TypeError(`${OWNER}: option "sinks" must be an array of functions`);
  }
  const ignore = o.ignore;
  const echo = booleanOption(OWNER, 'echoCorrelationId', o.echoCorrelationId, true);
  const trust = booleanOption(OWNER, 'trustCorrelationHeader', o.trustCorrelationHeader, true);

  const finish = function (this: Tracked): void {
    const state = this[STATE];
    if (state === undefined) return;
    this[STATE] = undefined;
    const seconds = (performance.now() - state.start) / 1000;
    const completed = this.writableFinished;
    // 499 (nginx's "client closed request") when the client left first: not a server error, but
    // the time it waited still counts against a latency objective.
    const status = completed ? this.statusCode : 499;
    const span = state.span;
    const route = routeOf(state.req) ?? state.route;
    if (route !== state.route) {
      span.updateName(spanName(state.method, route));
      span.setAttribute('http.route', route as string);
    }
    if (completed || this.headersSent)
      span.setAttribute('http.response.status_code', this.statusCode);
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (!completed) {
      // The client went away: not a server error, but the response was never delivered.
      span.setAttribute('error.type', 'aborted');
    }
    if (sinks.length > 0 || direct.length > 0) {
      const finished: FinishedRequest = {
        method: state.method,
        route,
        path: state.path,
        status,
        durationSeconds: seconds,
        completed,
        correlationId: state.correlationId,
        spanContext: span.spanContext(),
      };
      if (direct.length > 0) runSinks(direct, finished);
      if (sinks.length > 0) context.with(state.ctx, runSinks, undefined, sinks, finished);
    }
    span.end();
  };

  return function instrumented(req: IncomingMessage, res: ServerResponse): void {
    if (ignore?.(req)) {
      handler(req, res);
      return;
    }
    const start = performance.now();
    const { method, original } = normalizeMethod(req.method);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let route: string | undefined;
    try {
      route = resolve?.(req);
    } catch {
      route = undefined; // a throwing resolver must not fail the request
    }
    const headers = req.headers;
    const attributes: Attributes = {
      'http.request.method': method,
      'url.path': path,
      'url.scheme': (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      'network.protocol.version': req.httpVersion,
    };
    if (original !== undefined) attributes['http.request.method_original'] = original;
    if (route !== undefined) attributes['http.route'] = route;
    if (q !== -1) attributes['url.query'] = url.slice(q + 1);
    const host = headers.host;
    if (host !== undefined) addServerAddress(attributes, host);
    const ua = headers['user-agent'];
    if (ua !== undefined) attributes['user_agent.original'] = ua;
    const peer = req.socket.remoteAddress;
    if (peer !== undefined) attributes['client.address'] = peer;

    const parent = propagation.extract(ROOT_CONTEXT, headers);
    const span = tracer.startSpan(
      spanName(method, route),
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    // Without one from the caller, the trace id serves: unique, already drawn, and it lets a log
    // search by correlation id find the trace too.
    const correlationId = (trust && correlationFrom(headers)) || generatedId(span);
    if (echo) res.setHeader(CORRELATION_HEADERS[0], correlationId);
    const ctx = setCorrelationId(trace.setSpan(parent, span), correlationId);
    (res as Tracked)[STATE] = { span, ctx, start, method, path, correlationId, req, route };
    res.on('close', finish); // emitted once; `on` spares the wrapper `once` builds per call
    context.with(ctx, handler, undefined, req, res);
  };
}

function generatedId(span: Span): string {
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? sc.traceId : randomUUID();
}

function runSinks(sinks: readonly RequestSink[], finished: FinishedRequest): void {
  for (const sink of sinks) {
    try {
      sink(finished);
    } catch {
      // A failing sink (a full log buffer, say) must not take the request or the others down.
    }
  }
}

function spanName(method: string, route: string | undefined): string {
  const m = method === '_OTHER' ? 'HTTP' : method;
  return route === undefined ? m : `${m} ${route}`;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function addServerAddress(attributes: Attributes, host: string): void {
  // host[:port], or [v6]:port
  const close = host.lastIndexOf(']');
  const colon = host.lastIndexOf(':');
  if (colon > close) {
    attributes['server.address'] = host.slice(0, colon);
    const port = Number(host.slice(colon + 1));
    if (Number.isInteger(port) && port > 0 && port < 65536) attributes['server.port'] = port;
  } else {
    attributes['server.address'] = host;
  }
}

function correlationFrom(headers: IncomingMessage['headers']): string | undefined {
  for (const name of CORRELATION_HEADERS) {
    const v = headers[name];
    if (typeof v === 'string' && v.length > 0 && v.length <= MAX_CORRELATION_ID && safe(v)) {
      return v;
    }
  }
  return undefined;
}

/** Visible ASCII only: the id is echoed in a header and written to logs. */
function safe(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
