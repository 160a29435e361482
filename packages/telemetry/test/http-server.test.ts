import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getCorrelationId } from '../src/correlation.js';
import { fastifyAdapter } from '../src/http/fastify.js';
import { setRoute } from '../src/http/routes.js';
import {
  type FinishedRequest,
  type HttpHandler,
  type InstrumentHttpOptions,
  instrumentHttp,
} from '../src/http/server.js';
import { w3cPropagator } from '../src/w3c/propagator.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
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

async function serve(handler: HttpHandler, options: InstrumentHttpOptions = {}): Promise<string> {
  const server = http.createServer(instrumentHttp(handler, { tracer, ...options }));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Waits (bounded) until the server spans of `n` requests were exported. */
async function spans(n: number) {
  const deadline = Date.now() + 5000;
  while (exporter.getFinishedSpans().length < n) {
    if (Date.now() > deadline)
      throw new Error(`only ${exporter.getFinishedSpans().length} of ${n} spans`);
    await new Promise((r) => setImmediate(r));
  }
  return exporter.getFinishedSpans();
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

const byStatus: HttpHandler = (req, res) => {
  const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
  res.statusCode = status;
  res.end('ok');
};

describe('instrumentHttp', () => {
  it('makes one SERVER span per request named after the route, with the semantic attributes', async () => {
    const url = await serve(byStatus, { routes: ['/orders/:id', '/orders'] });
    const res = await fetch(`${url}/orders/42?status=200&x=1`, {
      headers: { 'user-agent': 'nines-test' },
    });
    expect(res.status).toBe(200);
    const [span] = await spans(1);
    expect(span?.name).toBe('GET /orders/:id');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    const port = Number(new URL(url).port);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/orders/42',
      'url.query': 'status=200&x=1',
      'url.scheme': 'http',
      'http.route': '/orders/:id',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': port,
      'user_agent.original': 'nines-test',
      'network.protocol.version': '1.1',
      'client.address': '127.0.0.1',
    });
    expect(span?.attributes['error.type']).toBeUndefined();
  });

  it('leaves 4xx unset and marks 5xx as errors with error.type', async () => {
    const url = await serve(byStatus);
    await fetch(`${url}/?status=404`);
    await fetch(`${url}/?status=503`);
    const [notFound, unavailable] = await spans(2);
    expect(notFound?.name).toBe('GET'); // no route known: never the raw path
    expect(notFound?.status.code).toBe(SpanStatusCode.UNSET);
    expect(notFound?.attributes['error.type']).toBeUndefined();
    expect(unavailable?.status.code).toBe(SpanStatusCode.ERROR);
    expect(unavailable?.attributes['error.type']).toBe('503');
  });

  it('continues the caller’s trace from traceparent and starts a new one when it is invalid', async () => {
    const url = await serve(byStatus);
    await fetch(url, { headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'a=1' } });
    await fetch(url, { headers: { traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01` } });
    const [continued, restarted] = await spans(2);
    expect(continued?.spanContext().traceId).toBe(TRACE);
    expect(continued?.parentSpanContext?.spanId).toBe(PARENT);
    expect(continued?.spanContext().traceState?.get('a')).toBe('1');
    expect(restarted?.spanContext().traceId).not.toBe(TRACE);
    expect(restarted?.parentSpanContext).toBeUndefined();
  });

  it('runs the handler with the span and correlation id active, across awaits', async () => {
    const seen: { traceId?: string; correlationId?: string }[] = [];
    const url = await serve(async (_req, res) => {
      await new Promise((r) => setImmediate(r));
      seen.push({
        traceId: trace.getActiveSpan()?.spanContext().traceId,
        correlationId: getCorrelationId(),
      });
      res.end();
    });
    const res = await fetch(url, {
      headers: { traceparent: `00-${TRACE}-${PARENT}-01`, 'x-correlation-id': 'order-7' },
    });
    expect(res.headers.get('x-correlation-id')).toBe('order-7');
    expect(seen).toEqual([{ traceId: TRACE, correlationId: 'order-7' }]);
  });

  it('takes x-request-id, uses the trace id when absent and refuses unsafe ones', async () => {
    const ids: (string | undefined)[] = [];
    const url = await serve((_req, res) => {
      ids.push(getCorrelationId());
      res.end();
    });
    const fromRequestId = await fetch(url, { headers: { 'x-request-id': 'req-1' } });
    const generated = await fetch(url);
    const tooLong = await fetch(url, { headers: { 'x-correlation-id': 'x'.repeat(200) } });
    expect(fromRequestId.headers.get('x-correlation-id')).toBe('req-1');
    const all = await spans(3);
    // Generated ids are the request's trace id: unique, and a search by either finds both.
    expect(generated.headers.get('x-correlation-id')).toBe(all[1]?.spanContext().traceId);
    expect(tooLong.headers.get('x-correlation-id')).toBe(all[2]?.spanContext().traceId);
    expect(ids[0]).toBe('req-1');
    expect(ids[1]).toBe(generated.headers.get('x-correlation-id'));
  });

  it('reports each finished request to the sinks once, inside the request context', async () => {
    const finished: (FinishedRequest & { active?: string })[] = [];
    const url = await serve(byStatus, {
      routes: ['/items/:id'],
      sinks: [
        (f) => finished.push({ ...f, active: trace.getActiveSpan()?.spanContext().spanId }),
        () => {
          throw new Error('a broken sink');
        },
      ],
    });
    await fetch(`${url}/items/1?status=201`);
    await fetch(`${url}/other?status=500`);
    const done = await spans(2);
    expect(finished).toHaveLength(2);
    expect(finished[0]).toMatchObject({
      method: 'GET',
      route: '/items/:id',
      path: '/items/1',
      status: 201,
      completed: true,
      active: done[0]?.spanContext().spanId,
    });
    expect(finished[0]?.durationSeconds).toBeGreaterThan(0);
    expect(finished[1]).toMatchObject({ route: undefined, path: '/other', status: 500 });
  });

  it('renames the span when a router sets the route later', async () => {
    const url = await serve((req, res) => {
      setRoute(req, '/users/:name');
      res.end();
    });
    await fetch(`${url}/users/ada`);
    const [span] = await spans(1);
    expect(span?.name).toBe('GET /users/:name');
    expect(span?.attributes['http.route']).toBe('/users/:name');
  });

  it('reports unknown methods as _OTHER, named HTTP, with the original method', async () => {
    const url = await serve(byStatus);
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${url}/`, { method: 'PURGE' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const [span] = await spans(1);
    expect(span?.name).toBe('HTTP');
    expect(span?.attributes['http.request.method']).toBe('_OTHER');
    expect(span?.attributes['http.request.method_original']).toBe('PURGE');
  });

  it('records a client that went away as 499, not as a server error', async () => {
    const finished: FinishedRequest[] = [];
    let arrived!: () => void;
    const arrivedP = new Promise<void>((r) => {
      arrived = r;
    });
    const url = await serve(
      (_req: IncomingMessage, _res: ServerResponse) => {
        arrived(); // never answers
      },
      { sinks: [(f) => finished.push(f)] },
    );
    const req = http.get(url);
    req.on('error', () => {});
    await arrivedP;
    req.destroy();
    const [span] = await spans(1);
    expect(finished[0]).toMatchObject({ status: 499, completed: false });
    expect(span?.attributes['error.type']).toBe('aborted');
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('passes ignored requests through untouched and survives a throwing route resolver', async () => {
    const url = await serve(byStatus, {
      ignore: (req) => req.url === '/healthz',
      route: (req) => {
        if (req.url === '/boom') throw new Error('resolver bug');
        return '/fine';
      },
    });
    expect((await fetch(`${url}/healthz`)).headers.get('x-correlation-id')).toBeNull();
    expect((await fetch(`${url}/boom`)).status).toBe(200);
    const all = await spans(1);
    expect(all).toHaveLength(1);
    expect(all[0]?.name).toBe('GET');
  });

  it('keeps serving under a burst of malformed trace and correlation headers', async () => {
    const url = await serve(byStatus);
    const bad = [
      'garbage',
      `00-${TRACE}-${PARENT}-01-extra`,
      `ff-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}`,
      '',
      'x'.repeat(4000),
    ];
    const results = await Promise.all(
      Array.from({ length: 70 }, (_, i) =>
        fetch(url, {
          headers: {
            traceparent: bad[i % bad.length] as string,
            tracestate: 'k=v,,=,x'.repeat(i % 5),
            'x-correlation-id': i % 2 ? 'has space' : 'ok',
          },
        }).then((r) => [r.status, r.headers.get('x-correlation-id')] as const),
      ),
    );
    expect(results.every(([s]) => s === 200)).toBe(true);
    expect(results.filter(([, id]) => id === 'ok')).toHaveLength(35);
    expect(results.some(([, id]) => id === 'has space')).toBe(false);
    const all = await spans(70);
    expect(all.every((s) => s.spanContext().traceId !== TRACE && !s.parentSpanContext)).toBe(true);
  });

  it('rejects bad options with errors naming them', () => {
    expect(() => instrumentHttp(null as never)).toThrow(/handler must be a function/);
    expect(() => instrumentHttp(byStatus, { routes: ['orders'] })).toThrow(/"routes\[0\]"/);
    expect(() => instrumentHttp(byStatus, { routes: '/x' as never })).toThrow(
      /"routes" must be an array/,
    );
    expect(() => instrumentHttp(byStatus, { route: 'x' as never })).toThrow(
      /"route" must be a function/,
    );
    expect(() => instrumentHttp(byStatus, { sinks: [1] as never })).toThrow(/"sinks"/);
    expect(() => instrumentHttp(byStatus, { echoCorrelationId: 'no' as never })).toThrow(
      /"echoCorrelationId" must be a boolean/,
    );
    expect(() => instrumentHttp(byStatus, { tracers: tracer } as never)).toThrow(
      /unknown option "tracers"/,
    );
  });
});

describe('route templates', () => {
  it('prefers static segments, then parameters, then rest templates', async () => {
    const routes: (string | undefined)[] = [];
    const url = await serve((_req, res) => res.end(), {
      routes: ['/files/*', '/orders/:id', '/orders/new', '/orders/:id/items/:item'],
      sinks: [(f) => routes.push(f.route)],
    });
    for (const p of [
      '/orders/new',
      '/orders/7',
      '/orders/7/items/2',
      '/files/a/b',
      '/orders',
      '/orders/',
    ]) {
      await fetch(url + p);
    }
    await spans(6);
    expect(routes).toEqual([
      '/orders/new',
      '/orders/:id',
      '/orders/:id/items/:item',
      '/files/*',
      undefined,
      undefined,
    ]);
  });
});

describe('fastifyAdapter', () => {
  it('traces Fastify requests with the matched route template', async () => {
    const nines = fastifyAdapter((h) => instrumentHttp(h, { tracer }));
    const app = Fastify({ ...nines.serverOptions });
    await app.register(nines.plugin);
    app.get('/orders/:id', async (req) => ({
      id: (req.params as { id: string }).id,
      traced: trace.getActiveSpan() !== undefined,
    }));
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${address}/orders/9`, {
        headers: { traceparent: `00-${TRACE}-${PARENT}-01` },
      });
      expect(await res.json()).toEqual({ id: '9', traced: true });
      const [span] = await spans(1);
      expect(span?.name).toBe('GET /orders/:id');
      expect(span?.spanContext().traceId).toBe(TRACE);
      expect(span?.attributes['http.route']).toBe('/orders/:id');
    } finally {
      await app.close();
    }
  });

  it('rejects a non-function', () => {
    expect(() => fastifyAdapter('x' as never)).toThrow(/instrument must be a function/);
  });
});
