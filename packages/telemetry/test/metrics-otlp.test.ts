import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ManualClock } from '@nines/resilience';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { registryMetricProducer } from '../src/metrics/otlp.js';
import { createRedMetrics } from '../src/metrics/red.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';

interface Received {
  path: string;
  contentType: string | undefined;
  body: OtlpRequest;
}

/** The parts of an OTLP/JSON ExportMetricsServiceRequest the tests read. */
interface OtlpRequest {
  resourceMetrics: {
    resource?: { attributes?: KeyValue[] };
    scopeMetrics: {
      scope: { name: string; version?: string };
      metrics: OtlpMetric[];
    }[];
  }[];
}
interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number };
}
interface OtlpPoint {
  attributes?: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count?: string | number;
  sum?: number;
  bucketCounts?: (string | number)[];
  explicitBounds?: number[];
  asDouble?: number;
}
interface OtlpMetric {
  name: string;
  unit?: string;
  description?: string;
  histogram?: { dataPoints: OtlpPoint[]; aggregationTemporality: number };
  sum?: { dataPoints: OtlpPoint[]; aggregationTemporality: number; isMonotonic: boolean };
  gauge?: { dataPoints: OtlpPoint[] };
}

let server: Server | undefined;
let provider: MeterProvider | undefined;

afterEach(async () => {
  await provider?.shutdown().catch(() => undefined);
  provider = undefined;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/** A collector stand-in on 127.0.0.1: records every request and answers 200 `{}`. */
async function collector(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        received.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          body: JSON.parse(body.toString('utf8')) as OtlpRequest,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      () => res.writeHead(400).end(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/metrics`, received };
}

/** Polls until `check` returns a value, with a bounded deadline. */
async function until<T>(check: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function attrs(kvs: KeyValue[] | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value;
    out[kv.key] =
      v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue as number));
  }
  return out;
}

function exportWith(url: string, producers: ReturnType<typeof registryMetricProducer>[]) {
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url }),
    metricProducers: producers,
    exportIntervalMillis: 3_600_000,
  });
  provider = new MeterProvider({ readers: [reader] });
  return provider;
}

describe('OTLP/HTTP export through the SDK', () => {
  it('sends the RED histograms with semconv names, attributes and bucket counts', async () => {
    const { url, received } = await collector();
    const red = createRedMetrics({
      service: 'orders',
      clock: new ManualClock(Date.UTC(2026, 0, 1)),
    });
    red.record('/orders/:id', 'GET', 200, 0.003);
    red.record('/orders/:id', 'GET', 200, 0.02);
    red.record('/orders/:id', 'GET', 200, 0.02);
    red.record('/orders/:id', 'GET', 200, 30);
    red.record(undefined, 'POST', 503, 0.3);
    red.recordClient('payments', 'POST', undefined, 2, 'timeout');
    const p = exportWith(url, [
      registryMetricProducer(red.registry, { scope: { name: 'orders-red', version: '1.2.3' } }),
    ]);
    // The SDK's own instruments go out in the same request.
    p.getMeter('app').createCounter('app.jobs').add(2);
    await p.forceFlush();
    const req = await until(() => received[0], 'the OTLP request');
    expect(req.path).toBe('/v1/metrics');
    expect(req.contentType).toMatch(/application\/json/);
    const scopes = req.body.resourceMetrics[0]!.scopeMetrics;
    const ours = scopes.find((s) => s.scope.name === 'orders-red')!;
    expect(ours.scope.version).toBe('1.2.3');
    expect(scopes.some((s) => s.scope.name === 'app')).toBe(true);

    const server = ours.metrics.find((m) => m.name === 'http.server.request.duration')!;
    expect(server.unit).toBe('s');
    expect(server.histogram!.aggregationTemporality).toBe(2); // CUMULATIVE
    const points = server.histogram!.dataPoints;
    expect(points).toHaveLength(2);
    const get = points.find((d) => attrs(d.attributes)['http.route'] === '/orders/:id')!;
    expect(attrs(get.attributes)).toEqual({
      'service.name': 'orders',
      'http.route': '/orders/:id',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
    expect(get.explicitBounds).toEqual(red.buckets);
    const counts = get.bucketCounts!.map(Number);
    expect(counts).toHaveLength(red.buckets.length + 1);
    expect(counts[red.buckets.indexOf(0.005)]).toBe(1);
    expect(counts[red.buckets.indexOf(0.025)]).toBe(2);
    expect(counts.at(-1)).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(Number(get.count)).toBe(4);
    expect(get.sum).toBeCloseTo(30.043, 9);
    expect(BigInt(get.startTimeUnixNano)).toBeLessThanOrEqual(BigInt(get.timeUnixNano));
    // No route: no http.route attribute at all (the Prometheus label is empty).
    const post = points.find((d) => attrs(d.attributes)['http.request.method'] === 'POST')!;
    expect(attrs(post.attributes)).toEqual({
      'service.name': 'orders',
      'http.request.method': 'POST',
      'http.response.status_code': 503,
    });

    const client = ours.metrics.find((m) => m.name === 'http.client.request.duration')!;
    expect(attrs(client.histogram!.dataPoints[0]!.attributes)).toEqual({
      'service.name': 'orders',
      'server.address': 'payments',
      'http.request.method': 'POST',
      'error.type': 'timeout',
    });
  });

  it('exports counters as monotonic cumulative sums and gauges as gauges', async () => {
    const { url, received } = await collector();
    const registry = createMetricsRegistry({ defaultLabels: { instance: 'a' } });
    registry
      .counter({ name: 'jobs', help: 'Jobs run.', labelNames: ['queue'] })
      .labels('mail')
      .inc(3);
    let depth = 4;
    registry.gauge({
      name: 'queue_depth',
      help: 'Waiting.',
      unit: '{job}',
      collect: (g) => g.set(depth),
    });
    const p = exportWith(url, [registryMetricProducer(registry)]);
    await p.forceFlush();
    depth = 6;
    await p.forceFlush();
    await until(() => received[1], 'two OTLP requests');
    const metrics = received[1]!.body.resourceMetrics[0]!.scopeMetrics.find(
      (s) => s.scope.name === '@nines/telemetry',
    )!.metrics;
    const jobs = metrics.find((m) => m.name === 'jobs')!;
    expect(jobs.description).toBe('Jobs run.');
    expect(jobs.sum).toMatchObject({ isMonotonic: true, aggregationTemporality: 2 });
    expect(jobs.sum!.dataPoints[0]!.asDouble).toBe(3);
    expect(attrs(jobs.sum!.dataPoints[0]!.attributes)).toEqual({ instance: 'a', queue: 'mail' });
    const gauge = metrics.find((m) => m.name === 'queue_depth')!;
    expect(gauge.unit).toBe('{job}');
    expect(gauge.gauge!.dataPoints[0]!.asDouble).toBe(6);
  });

  it('reports a failing collection as an error and keeps exporting', async () => {
    const broken = {
      collect: () => {
        throw new Error('boom');
      },
    };
    const producer = registryMetricProducer(broken as never);
    const result = await producer.collect();
    expect(result.errors).toHaveLength(1);
    expect(result.resourceMetrics.scopeMetrics[0]!.metrics).toEqual([]);
  });

  it('rejects bad arguments with a TypeError naming them', () => {
    const registry = createMetricsRegistry();
    expect(() => registryMetricProducer({} as never)).toThrow(
      /registryMetricProducer: registry must be a MetricsRegistry/,
    );
    expect(() => registryMetricProducer(registry, { scope: { name: '' } })).toThrow(
      /option "scope"/,
    );
    expect(() =>
      registryMetricProducer(registry, { scope: { name: 'x', version: 1 as never } }),
    ).toThrow(/option "scope.version"/);
    expect(() => registryMetricProducer(registry, { scoop: 1 } as never)).toThrow(
      /unknown option "scoop"/,
    );
  });
});
