import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sloTracker } from '@nines/slo';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../src/setup.js';

const silent = { logger: pino({ level: 'silent' }) };
const opened: Telemetry[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(opened.splice(0).map((t) => t.shutdown()));
});

function setup(options: Parameters<typeof setupTelemetry>[0]): Telemetry {
  const t = setupTelemetry(options);
  opened.push(t);
  return t;
}

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('setupTelemetry', () => {
  it('registers the SDK when there is no provider, and releases the globals on shutdown', async () => {
    const exporter = new InMemorySpanExporter();
    const t = setup({ serviceName: 'orders', tracing: { exporter }, logs: silent });
    expect(t.ownsTracerProvider).toBe(true);
    expect(propagation.fields()).toEqual(['traceparent', 'tracestate']);
    const url = await serve(
      t.instrument((_req, res) => res.end('ok'), { routes: ['/orders/:id'] }),
    );
    await fetch(`${url}/orders/1`);
    await t.flush();
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('GET /orders/:id');
    expect(span?.resource.attributes['service.name']).toBe('orders');
    expect(t.spanStats()).toMatchObject({ exported: 1, dropped: 0 });
    await t.shutdown();
    expect(propagation.fields()).toEqual([]);
    // Released: a new setup may register again.
    const again = setup({ serviceName: 'orders', tracing: { exporter: 'none' }, logs: silent });
    expect(again.ownsTracerProvider).toBe(true);
  });

  it('uses a provider the application registered, as it is', async () => {
    const exporter = new InMemorySpanExporter();
    const mine = new NodeTracerProvider({
      spanProcessors: [
        new (await import('@opentelemetry/sdk-trace-base')).SimpleSpanProcessor(exporter),
      ],
    });
    mine.register();
    try {
      const t = setup({ serviceName: 'orders', logs: silent });
      expect(t.ownsTracerProvider).toBe(false);
      expect(t.spanStats()).toBeNull();
      const url = await serve(t.instrument((_req, res) => res.end('ok')));
      await fetch(url);
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET']);
    } finally {
      await mine.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });

  it('samples new traces by ratio and follows the caller’s decision for continued ones', async () => {
    const exporter = new InMemorySpanExporter();
    const t = setup({ serviceName: 'orders', tracing: { exporter, sampleRatio: 0 }, logs: silent });
    const url = await serve(t.instrument((_req, res) => res.end('ok')));
    await fetch(url);
    await fetch(url, {
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    await t.flush();
    expect(exporter.getFinishedSpans().map((s) => s.spanContext().traceId)).toEqual([
      '4bf92f3577b34da6a3ce929d0e0e4736',
    ]);
  });

  it('serves /metrics that promtool accepts, with RED and SLO-threshold buckets, and feeds SLOs once', async () => {
    const latency = sloTracker({
      name: 'latency',
      service: 'orders',
      objective: 0.99,
      window: { type: 'rolling', days: 30 },
      sli: { type: 'latency', thresholdSeconds: 0.2, buckets: [0.2] },
      budgeting: { type: 'occurrences' },
      alerting: { page: true, ticket: true },
      labels: {},
    });
    const t = setup({
      serviceName: 'orders',
      tracing: { exporter: 'none' },
      logs: silent,
      slos: [{ tracker: latency }],
    });
    const url = await serve(
      t.instrument(
        (req, res) => {
          res.statusCode = req.url === '/fail' ? 500 : 200;
          res.end();
        },
        { routes: ['/ok', '/fail'] },
      ),
    );
    await fetch(`${url}/ok`);
    await fetch(`${url}/fail`);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(
      /http_server_request_duration_seconds_count\{service_name="orders",http_route="\/fail",http_request_method="GET",http_response_status_code="500"\} 1/,
    );
    expect(text).toMatch(/http_server_request_duration_seconds_bucket\{[^}]*le="0\.2"\}/);
    expect(text).not.toMatch(/http_route="\/metrics"/); // the scrape is not a request of the service
    expect(latency.window(60_000).total).toBe(2);
    const promtool = execFileSync('promtool', ['check', 'metrics'], { input: text }).toString();
    expect(promtool).toBe('');
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('pushes the same metrics over OTLP/HTTP when asked', async () => {
    const bodies: { path?: string; json: unknown }[] = [];
    const collector = await serve((req, res) => {
      let raw = '';
      req.on('data', (d) => {
        raw += d;
      });
      req.on('end', () => {
        bodies.push({ path: req.url, json: JSON.parse(raw) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    const t = setup({
      serviceName: 'orders',
      tracing: { exporter: 'none' },
      logs: silent,
      metrics: { otlp: { endpoint: `${collector}/v1/metrics`, intervalMs: 100 } },
    });
    const url = await serve(t.instrument((_req, res) => res.end()));
    await fetch(url);
    await t.shutdown(); // exports once more
    const text = JSON.stringify(bodies.map((b) => b.json));
    expect(bodies[0]?.path).toBe('/v1/metrics');
    expect(text).toContain('http.server.request.duration');
    expect(text).toContain('"service.name"');
  });

  it('writes one access line per request, with the same fields through pino for a customised logger', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'nines-access-'));
    try {
      const lines = async (logs: Record<string, unknown>, file: string) => {
        const t = setupTelemetry({
          serviceName: 'orders',
          tracing: { exporter: 'none' },
          logs: { destination: file, ...logs },
        });
        const url = await serve(
          t.instrument((_req, res) => res.end(), { routes: ['/orders/:id'] }),
        );
        await fetch(`${url}/orders/7?x=1`, { headers: { 'x-correlation-id': 'c-1' } });
        await t.shutdown();
        return readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      };
      const [plain] = await lines({}, join(dir, 'plain.log'));
      // A mixin makes the logger customised: its lines go through pino inside the request context.
      const [custom] = await lines({ mixin: () => ({ region: 'eu' }) }, join(dir, 'custom.log'));
      expect(Object.keys(plain ?? {})).toEqual([
        'level',
        'time',
        'pid',
        'hostname',
        'service',
        'trace_id',
        'span_id',
        'trace_flags',
        'correlation_id',
        'method',
        'route',
        'status',
        'duration_ms',
        'path',
        'msg',
      ]);
      expect(plain).toMatchObject({
        level: 'info',
        service: 'orders',
        correlation_id: 'c-1',
        method: 'GET',
        route: '/orders/:id',
        status: 200,
        path: '/orders/7',
        msg: 'request completed',
      });
      expect(plain?.trace_id).toMatch(/^[0-9a-f]{32}$/);
      const { region, ...rest } = custom ?? {};
      expect(region).toBe('eu');
      expect(Object.keys(rest).sort()).toEqual(Object.keys(plain ?? {}).sort());
      expect(rest.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(rest.correlation_id).toBe('c-1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options with errors naming them, before touching any global', () => {
    const bad: [unknown, RegExp][] = [
      [undefined, /"serviceName"/],
      [{ serviceName: '' }, /"serviceName"/],
      [{ serviceName: 'a b' }, /"serviceName"/],
      [{ serviceName: 'x', tracing: { exporter: 'zipkin' } }, /"tracing.exporter"/],
      [{ serviceName: 'x', tracing: { sampleRatio: 2 } }, /"tracing.sampleRatio" must be <= 1/],
      [{ serviceName: 'x', tracing: { endpoint: 'nope' } }, /"tracing.endpoint"/],
      [{ serviceName: 'x', tracing: { batch: { maxQueueSize: -1 } } }, /"maxQueueSize"/],
      [{ serviceName: 'x', tracing: { headers: { a: 1 } } }, /"tracing.headers.a"/],
      [{ serviceName: 'x', metrics: { path: 'metrics' } }, /"metrics.path"/],
      [{ serviceName: 'x', metrics: { otlp: { intervalMs: 1 } } }, /"metrics.otlp.intervalMs"/],
      [{ serviceName: 'x', logs: { logger: {} } }, /"logs.logger"/],
      [{ serviceName: 'x', resourceAttributes: { a: {} } }, /"resourceAttributes.a"/],
      [{ serviceName: 'x', tracer: {} }, /unknown option "tracer"/],
      [{ serviceName: 'x', shutdownTimeoutMs: -5 }, /"shutdownTimeoutMs"/],
    ];
    for (const [options, message] of bad) {
      expect(() => setupTelemetry(options as never), JSON.stringify(options)).toThrow(message);
    }
    expect(propagation.fields()).toEqual([]);
  });
});
