import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BrokenCircuitError,
  circuitBreaker,
  constantBackoff,
  retry,
  wrap,
} from '@nines/resilience';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bridgeCircuitBreaker, bridgeRetry } from '../src/bridges.js';
import { setCorrelationId } from '../src/correlation.js';
import { createHttpClient } from '../src/http/client.js';
import { createRedMetrics } from '../src/metrics/red.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { w3cPropagator } from '../src/w3c/propagator.js';
import { parseTraceparent } from '../src/w3c/traceparent.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(w3cPropagator);
});
afterAll(async () => {
  context.disable();
  propagation.disable();
  await provider.shutdown();
});
afterEach(() => exporter.reset());

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A real upstream answering with the statuses given, in turn (the last one repeats). */
async function upstream(statuses: number[]) {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const status = statuses[Math.min(seen.length - 1, statuses.length - 1)] as number;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('createHttpClient', () => {
  it('injects the trace context of its CLIENT span and the correlation id', async () => {
    const up = await upstream([200]);
    const red = createRedMetrics({ service: 'orders' });
    const client = createHttpClient('store', { baseUrl: up.url, tracer, metrics: red });
    const parent = tracer.startSpan('handler');
    const ctx = setCorrelationId(trace.setSpan(context.active(), parent), 'corr-1');
    const res = await context.with(ctx, () =>
      client.fetch('/items/1?x=1', { headers: { accept: 'text/plain' } }),
    );
    parent.end();
    expect(await res.text()).toBe('200');
    const [span] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(span?.name).toBe('GET');
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    const sent = parseTraceparent(up.seen[0]?.traceparent);
    expect(sent?.traceId).toBe(parent.spanContext().traceId);
    expect(sent?.parentId).toBe(span?.spanContext().spanId);
    expect(up.seen[0]?.['x-correlation-id']).toBe('corr-1');
    expect(up.seen[0]?.accept).toBe('text/plain');
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(up.url).port),
      'url.full': `${up.url}/items/1?x=1`,
      'http.response.status_code': 200,
      'peer.service': 'store',
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    const text = red.registry.render();
    expect(text).toMatch(
      /http_client_request_duration_seconds_count\{[^}]*server_address="store"[^}]*http_response_status_code="200"[^}]*\} 1/,
    );
  });

  it('marks 4xx and 5xx client spans as errors and records refused connections', async () => {
    const up = await upstream([404]);
    const red = createRedMetrics({ service: 'orders' });
    const client = createHttpClient('store', { tracer, metrics: red });
    expect((await client.fetch(`${up.url}/x`)).status).toBe(404);
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(client.fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    const [notFound, refused] = exporter.getFinishedSpans();
    expect(notFound?.status.code).toBe(SpanStatusCode.ERROR);
    expect(notFound?.attributes['error.type']).toBe('404');
    expect(refused?.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused?.attributes['error.type']).toBe('ECONNREFUSED');
    expect(refused?.events.some((e) => e.name === 'exception')).toBe(true);
    expect(red.registry.render()).toMatch(/error_type="ECONNREFUSED"/);
  });

  it('runs each call under a resilience policy: one span per attempt, resend_count, breaker stops calls', async () => {
    const up = await upstream([503, 503, 200]);
    const registry = createMetricsRegistry();
    const policy = retry({
      maxRetries: 3,
      backoff: constantBackoff(0),
      retryOnResult: (r) => (r as Response).status >= 500,
    });
    const off = bridgeRetry(policy, { name: 'store', registry });
    const client = createHttpClient('store', { baseUrl: up.url, tracer, policy });
    const parent = tracer.startSpan('handler');
    const res = await context.with(trace.setSpan(context.active(), parent), () =>
      client.fetch('/'),
    );
    parent.end();
    off();
    expect(res.status).toBe(200);
    const attempts = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(attempts.map((s) => s.attributes['http.request.resend_count'])).toEqual([
      undefined,
      1,
      2,
    ]);
    expect(new Set(up.seen.map((h) => parseTraceparent(h.traceparent)?.parentId)).size).toBe(3);
    const handler = exporter.getFinishedSpans().find((s) => s.name === 'handler');
    expect(
      handler?.events.filter((e) => e.name === 'retry').map((e) => e.attributes?.attempt),
    ).toEqual([1, 2]);
    expect(registry.render()).toMatch(/nines_retries_total\{name="store"\} 2/);
  });

  it('reports breaker transitions as a gauge, counters, span events and one WARN line each', async () => {
    const up = await upstream([500]);
    const registry = createMetricsRegistry();
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const breaker = circuitBreaker({
      window: { type: 'consecutive', failures: 2 },
      isFailureResult: (r) => (r as Response).status >= 500,
    });
    const off = bridgeCircuitBreaker(breaker, { name: 'store', registry, logger });
    expect(registry.render()).toMatch(
      /nines_circuit_breaker_state\{name="store",state="closed"\} 1/,
    );
    const client = createHttpClient('store', { baseUrl: up.url, tracer, policy: wrap(breaker) });
    const parent = tracer.startSpan('handler');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await client.fetch('/');
      await client.fetch('/');
      await expect(client.fetch('/')).rejects.toBeInstanceOf(BrokenCircuitError);
    });
    parent.end();
    off();
    const text = registry.render();
    expect(text).toMatch(/nines_circuit_breaker_state\{name="store",state="open"\} 1/);
    expect(text).toMatch(/nines_circuit_breaker_state\{name="store",state="closed"\} 0/);
    expect(text).toMatch(
      /nines_circuit_breaker_transitions_total\{name="store",from="closed",to="open"\} 1/,
    );
    expect(text).toMatch(/nines_circuit_breaker_rejections_total\{name="store"\} 1/);
    expect(up.seen).toHaveLength(2);
    const handler = exporter.getFinishedSpans().find((s) => s.name === 'handler');
    expect(handler?.events.map((e) => e.name)).toEqual([
      'circuit_breaker.state_change',
      'circuit_breaker.rejected',
    ]);
    expect(handler?.attributes['nines.circuit_breaker.state']).toBe('open');
    const warn = lines.filter((l) => l.level === 40);
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ breaker: 'store', from: 'closed', to: 'open' });
  });

  it('cancels through the caller’s signal and redacts credentials in url.full', async () => {
    const up = await upstream([200]);
    const client = createHttpClient('store', { tracer });
    const withCreds = up.url.replace('http://', 'http://user:secret@');
    await client.fetch(`${withCreds}/`).catch(() => {});
    const ctl = new AbortController();
    ctl.abort(new Error('stop'));
    await expect(client.fetch(up.url, { signal: ctl.signal })).rejects.toThrow();
    const [first] = exporter.getFinishedSpans();
    expect(String(first?.attributes['url.full'])).not.toContain('secret');
  });

  it('rejects bad arguments with errors that name them', async () => {
    expect(() => createHttpClient('bad name')).toThrow(/name must be/);
    expect(() => createHttpClient('store', { baseUrl: 'not a url' })).toThrow(/"baseUrl"/);
    expect(() => createHttpClient('store', { baseUrl: 'ftp://x' })).toThrow(/http\(s\) URL/);
    expect(() => createHttpClient('store', { policy: {} as never })).toThrow(/"policy"/);
    expect(() => createHttpClient('store', { metrics: {} as never })).toThrow(/"metrics"/);
    expect(() => createHttpClient('store', { retries: 2 } as never)).toThrow(
      /unknown option "retries"/,
    );
    await expect(createHttpClient('store').fetch('/relative')).rejects.toThrow(/no baseUrl set/);
    expect(() => bridgeRetry({} as never, { name: 'x' })).toThrow(/retry policy/);
    expect(() => bridgeCircuitBreaker(circuitBreaker(), { name: '' })).toThrow(/"name"/);
    expect(() =>
      bridgeCircuitBreaker(circuitBreaker(), { name: 'x', registry: {} as never }),
    ).toThrow(/"registry"/);
  });
});
