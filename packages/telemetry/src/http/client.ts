import type { Policy } from '@nines/resilience';
import { booleanOption, describe, optionsObject } from '@nines/resilience/options';
import {
  type Attributes,
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  type TextMapSetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { CORRELATION_HEADERS, getCorrelationId } from '../correlation.js';
import { normalizeMethod } from './methods.js';

/** Receives one measurement per attempt of an outgoing request (client RED metrics). */
export interface ClientRequestSink {
  recordClient(
    dependency: string,
    method: string,
    status: number | undefined,
    seconds: number,
    errorType?: string,
  ): void;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Relative URLs resolve against it, e.g. `'http://store:8080'`. */
  readonly baseUrl?: string | URL;
  /**
   * A @nines/resilience policy run around each call (retry, breaker, timeout...). Every attempt is
   * its own client span, as the semantic conventions ask; `http.request.resend_count` numbers them.
   */
  readonly policy?: Policy<Response>;
  /** Tracer for the client spans. Default: the global provider's `@nines/telemetry` tracer. */
  readonly tracer?: Tracer;
  /** Client RED metrics (`http_client_request_duration_seconds`). */
  readonly metrics?: ClientRequestSink;
  /** The fetch to call. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** Send the active correlation id as `x-correlation-id`. Default true. */
  readonly propagateCorrelationId?: boolean;
  /** Headers sent with every request (a call's own headers win). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A traced, optionally resilient `fetch` for one dependency. */
export interface HttpClient {
  /** The dependency's name: span attribute `peer.service`, metric label `peer_service`. */
  readonly name: string;
  /**
   * Like `fetch`. With a policy, `init.signal` cancels the whole execution (waits between retries
   * too), and the policy's own signal (a timeout's) aborts the attempt in flight.
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
}

const OWNER = 'createHttpClient';
const KEYS = [
  'baseUrl',
  'policy',
  'tracer',
  'metrics',
  'fetch',
  'propagateCorrelationId',
  'headers',
];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const headersSetter: TextMapSetter<Headers> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

/**
 * A `fetch` for one dependency that injects the trace context (`traceparent`, `tracestate`) and the
 * correlation id, records a CLIENT span per attempt and client RED metrics, and can run each call
 * under a @nines/resilience policy: the traced, resilient client every service needs.
 *
 * @example
 * const store = createHttpClient('store', {
 *   baseUrl: 'http://127.0.0.1:8081',
 *   policy: wrap(retry({ retryOnResult: (r) => r.status >= 500 }), circuitBreaker(), timeout(2000)),
 * });
 * const res = await store.fetch('/orders/42');
 */
export function createHttpClient(name: string, options?: HttpClientOptions): HttpClient {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(
      `${OWNER}: name must be 1-64 letters, digits, ".", "_" or "-" (it becomes a metric label), got ${describe(name)}`,
    );
  }
  const o = optionsObject<HttpClientOptions>(OWNER, options, KEYS);
  let base: URL | undefined;
  if (o.baseUrl !== undefined) {
    try {
      base = new URL(String(o.baseUrl));
    } catch {
      throw new TypeError(
        `${OWNER}: option "baseUrl" must be an absolute URL, got ${describe(o.baseUrl)}`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`${OWNER}: option "baseUrl" must be an http(s) URL, got ${base.href}`);
    }
  }
  const policy = o.policy;
  if (policy !== undefined && typeof (policy as { execute?: unknown })?.execute !== 'function') {
    throw new TypeError(
      `${OWNER}: option "policy" must be a @nines/resilience policy, got ${describe(policy)}`,
    );
  }
  const tracer = o.tracer ?? trace.getTracer('@nines/telemetry');
  const metrics = o.metrics;
  if (metrics !== undefined && typeof metrics?.recordClient !== 'function') {
    throw new TypeError(
      `${OWNER}: option "metrics" must have recordClient(), got ${describe(metrics)}`,
    );
  }
  const doFetch = o.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') {
    throw new TypeError(`${OWNER}: option "fetch" must be a function, got ${describe(o.fetch)}`);
  }
  const correlate = booleanOption(OWNER, 'propagateCorrelationId', o.propagateCorrelationId, true);
  const defaults = o.headers;
  if (defaults !== undefined && (defaults === null || typeof defaults !== 'object')) {
    throw new TypeError(`${OWNER}: option "headers" must be an object, got ${describe(defaults)}`);
  }

  const attempt = async (
    url: URL,
    init: RequestInit | undefined,
    signal: AbortSignal | undefined,
    n: number,
  ): Promise<Response> => {
    const { method, original } = normalizeMethod(init?.method ?? 'GET');
    const attributes: Attributes = {
      'http.request.method': method,
      'server.address': url.hostname,
      'server.port': url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
      'url.full': redactUrl(url),
      'peer.service': name,
    };
    if (original !== undefined) attributes['http.request.method_original'] = original;
    if (n > 0) attributes['http.request.resend_count'] = n;
    const parent = context.active();
    const span = tracer.startSpan(
      method === '_OTHER' ? 'HTTP' : method,
      { kind: SpanKind.CLIENT, attributes },
      parent,
    );
    const headers = new Headers(defaults);
    if (init?.headers !== undefined) {
      for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
    }
    propagation.inject(trace.setSpan(parent, span), headers, headersSetter);
    if (correlate) {
      const id = getCorrelationId(parent);
      if (id !== undefined && !headers.has(CORRELATION_HEADERS[0]))
        headers.set(CORRELATION_HEADERS[0], id);
    }
    const start = performance.now();
    try {
      const res = await doFetch(url, { ...init, headers, signal: signal ?? init?.signal ?? null });
      const seconds = (performance.now() - start) / 1000;
      span.setAttribute('http.response.status_code', res.status);
      let errorType: string | undefined;
      if (res.status >= 400) {
        // Clients mark 4xx as errors too (server spans do not): the call did not get what it asked.
        errorType = String(res.status);
        span.setAttribute('error.type', errorType);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      metrics?.recordClient(name, method, res.status, seconds, errorType);
      return res;
    } catch (error) {
      const seconds = (performance.now() - start) / 1000;
      const errorType = errorTypeOf(error);
      span.setAttribute('error.type', errorType);
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      metrics?.recordClient(name, method, undefined, seconds, errorType);
      throw error;
    } finally {
      span.end();
    }
  };

  const resolveUrl = (input: string | URL): URL => {
    try {
      return base === undefined ? new URL(String(input)) : new URL(String(input), base);
    } catch {
      throw new TypeError(
        `${name}.fetch: ${describe(input)} is not a valid URL${base === undefined ? ' (no baseUrl set)' : ''}`,
      );
    }
  };

  return {
    name,
    fetch(input, init) {
      let url: URL;
      try {
        url = resolveUrl(input);
      } catch (error) {
        return Promise.reject(error);
      }
      if (policy === undefined) return attempt(url, init, undefined, 0);
      const outer = init?.signal ?? undefined;
      return policy.execute(
        ({ signal, attempt: n }) => attempt(url, init, signal, n),
        outer,
      ) as Promise<Response>;
    },
  };
}

/** Credentials in a URL never reach a span (semantic conventions: replace them with REDACTED). */
function redactUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  if (copy.username !== '') copy.username = 'REDACTED';
  if (copy.password !== '') copy.password = 'REDACTED';
  return copy.href;
}

/** `error.type` of a failed call: a stable code when there is one, else the error's class name. */
function errorTypeOf(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const e = error as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
    if (typeof e.code === 'string') return e.code;
    if (typeof e.cause?.code === 'string') return e.cause.code; // undici wraps ECONNREFUSED etc.
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  }
  return '_OTHER';
}
