import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import {
  connect,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createOtlpReceiver, type OtlpReceiver } from '../src/trace-view/otlp-receiver.js';
import { renderWaterfall } from '../src/trace-view/waterfall.js';

const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TRACE = '5b8efff798038103d269b633813fc60c';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function started(options?: Parameters<typeof createOtlpReceiver>[0]) {
  const receiver = createOtlpReceiver(options);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  return { receiver, url };
}

type Compression = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression'];

/** A real SDK pipeline of one service exporting OTLP/JSON over HTTP to `url`. */
function service(name: string, url: string, compression?: 'gzip') {
  const exporter = new OTLPTraceExporter({
    url: `${url}/v1/traces`,
    ...(compression === undefined ? {} : { compression: compression as Compression }),
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': name }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  cleanups.push(() => provider.shutdown());
  return { tracer: provider.getTracer(name), provider };
}

interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request on a fresh connection; an early answer (413 mid-body) counts as the response. */
function send(
  url: string,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    body?: Buffer | string;
    chunks?: Buffer[];
  } = {},
): Promise<Response> {
  return new Promise((resolvePromise, reject) => {
    let answered = false;
    const req = httpRequest(
      `${url}${options.path ?? '/v1/traces'}`,
      { method: options.method ?? 'POST', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          answered = true;
          resolvePromise({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      // Writing the rest of a refused body can fail once the server has answered and closed.
      if (!answered) setTimeout(() => (answered ? undefined : reject(err)), 200);
    });
    if (options.chunks !== undefined) {
      for (const c of options.chunks) req.write(c);
      req.end();
    } else req.end(options.body);
  });
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return send(url, {
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function otlpSpan(spanId: string, extra: Record<string, unknown> = {}) {
  return {
    traceId: TRACE,
    spanId,
    name: `span ${spanId}`,
    kind: 2,
    startTimeUnixNano: '1544712660000000000',
    endTimeUnixNano: '1544712661000000000',
    ...extra,
  };
}

function exportRequest(spans: unknown[], serviceName = 'raw') {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [{ scope: { name: 'test' }, spans }],
      },
    ],
  };
}

function spanId(n: number): string {
  return n.toString(16).padStart(16, '0');
}

describe('createOtlpReceiver with the real OTLP exporter', () => {
  it('receives spans of several services with ids, parents, kinds, attributes and durations', async () => {
    const { receiver, url } = await started();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(receiver.url).toBe(url);
    const a = service('service-a', url);
    const b = service('service-b', url);

    const t0 = Date.now();
    const root = a.tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, startTime: t0 });
    const call = a.tracer.startSpan(
      'GET service-b',
      { kind: SpanKind.CLIENT, startTime: t0 + 5, attributes: { 'http.request.method': 'GET' } },
      trace.setSpan(ROOT_CONTEXT, root),
    );
    // Service B continues the trace from the propagated context, as after a traceparent header.
    const remote = trace.setSpanContext(ROOT_CONTEXT, { ...call.spanContext(), isRemote: true });
    const handled = b.tracer.startSpan(
      'GET /stock',
      {
        kind: SpanKind.SERVER,
        startTime: t0 + 7,
        attributes: {
          'http.response.status_code': 503,
          retried: true,
          tags: ['x', 'y'],
          load: 0.75,
        },
      },
      remote,
    );
    handled.addEvent('cache miss', { key: 'sku-1' }, t0 + 8);
    handled.setStatus({ code: SpanStatusCode.ERROR, message: 'stock unavailable' });
    handled.end(t0 + 47);
    call.end(t0 + 50);
    root.end(t0 + 60.5);
    await Promise.all([a.provider.forceFlush(), b.provider.forceFlush()]);
    await until(() => receiver.spans().length === 3, 'three spans');

    const spans = receiver.trace(root.spanContext().traceId);
    expect(spans.map((s) => s.name)).toEqual(['GET /orders', 'GET service-b', 'GET /stock']);
    const [r, c, h] = spans as [(typeof spans)[0], (typeof spans)[0], (typeof spans)[0]];
    expect(r.parentSpanId).toBeUndefined();
    expect(r.spanId).toBe(root.spanContext().spanId);
    expect(c.parentSpanId).toBe(r.spanId);
    expect(h.parentSpanId).toBe(c.spanId);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([root.spanContext().traceId]));
    expect([r.service, c.service, h.service]).toEqual(['service-a', 'service-a', 'service-b']);
    expect([r.kind, c.kind, h.kind]).toEqual(['server', 'client', 'server']);
    expect(r.durationMs).toBeCloseTo(60.5, 3);
    expect(c.durationMs).toBeCloseTo(45, 3);
    expect(h.durationMs).toBeCloseTo(40, 3);
    expect(h.startMs - r.startMs).toBeCloseTo(7, 3);
    expect(h.status).toBe('error');
    expect(h.statusMessage).toBe('stock unavailable');
    expect(h.attributes).toEqual({
      'http.response.status_code': 503,
      retried: true,
      tags: ['x', 'y'],
      load: 0.75,
    });
    expect(h.events).toEqual([
      { name: 'cache miss', timeMs: expect.closeTo(t0 + 8, 3), attributes: { key: 'sku-1' } },
    ]);
    expect(c.attributes).toEqual({ 'http.request.method': 'GET' });

    const [summary] = receiver.traces();
    expect(summary).toEqual({
      traceId: root.spanContext().traceId,
      rootName: 'GET /orders',
      services: ['service-a', 'service-b'],
      durationMs: expect.closeTo(60.5, 3),
      startMs: expect.closeTo(t0, 3),
      spanCount: 3,
      error: true,
    });
    expect(receiver.slowest()).toBe(root.spanContext().traceId);
    const drawn = renderWaterfall(spans, { width: 100 });
    expect(drawn).toContain('service-b   └ GET /stock');
    expect(drawn).toContain('✗ 503');
  });

  it('takes the exporter’s gzip-compressed requests', async () => {
    const { receiver, url } = await started();
    // A TCP relay in front of the receiver sees the request head the exporter really sends.
    const heads: string[] = [];
    const open = new Set<Socket>();
    const relay: TcpServer = createTcpServer((client) => {
      open.add(client);
      client.on('close', () => open.delete(client));
      const upstream = connect(Number(new URL(url).port), '127.0.0.1');
      client.on('data', (d: Buffer) => {
        heads.push(d.toString('latin1'));
        upstream.write(d);
      });
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise((r) => {
          relay.close(r);
          for (const s of open) s.destroy();
        }),
    );
    const relayUrl = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;

    const { tracer, provider } = service('zipped', relayUrl, 'gzip');
    for (let i = 0; i < 20; i++) {
      tracer.startSpan(`work ${i}`, { attributes: { payload: 'x'.repeat(200) } }).end();
    }
    await provider.forceFlush();
    await until(() => receiver.spans().length === 20, 'twenty spans');
    expect(heads.join('')).toMatch(/content-encoding: gzip/i);
    expect(receiver.spans().every((s) => s.service === 'zipped')).toBe(true);
    expect(receiver.spans()[0]!.attributes.payload).toBe('x'.repeat(200));
  });

  it('gathers one trace from several real processes', async () => {
    const { receiver, url } = await started();
    const a = service('gateway', url);
    const root = a.tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    const calls = ['inventory', 'payments'].map((name) =>
      a.tracer.startSpan(`call ${name}`, { kind: SpanKind.CLIENT }, ctx),
    );
    const script = `
      import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
      import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
      import { resourceFromAttributes } from '@opentelemetry/resources';
      import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
      const env = process.env;
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': env.SERVICE }),
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: env.OTLP_URL }))],
      });
      const tracer = provider.getTracer('child');
      const parent = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: env.TRACE_ID, spanId: env.PARENT_ID, traceFlags: 1, isRemote: true,
      });
      const server = tracer.startSpan('handle ' + env.SERVICE, {
        kind: SpanKind.SERVER, attributes: { 'process.pid': process.pid },
      }, parent);
      const query = tracer.startSpan('query', { kind: SpanKind.CLIENT }, trace.setSpan(parent, server));
      await new Promise((r) => setTimeout(r, 5));
      query.end();
      server.end();
      await provider.shutdown();
    `;
    const children = calls.map((call, i) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: PACKAGE_DIR,
        env: {
          ...process.env,
          SERVICE: ['inventory', 'payments'][i],
          OTLP_URL: `${url}/v1/traces`,
          TRACE_ID: call.spanContext().traceId,
          PARENT_ID: call.spanContext().spanId,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      cleanups.push(() => child.kill());
      return new Promise<{ code: number | null; pid: number; stderr: string }>((r) =>
        child.on('exit', (code) => r({ code, pid: child.pid!, stderr })),
      );
    });
    const exits = await Promise.all(children);
    for (const e of exits) expect(e, e.stderr).toMatchObject({ code: 0 });
    for (const c of calls) c.end();
    root.end();
    await a.provider.forceFlush();
    const traceId = root.spanContext().traceId;
    await until(() => receiver.trace(traceId).length === 7, 'seven spans of the trace');

    const spans = receiver.trace(traceId);
    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set(['gateway', 'inventory', 'payments']),
    );
    for (const [i, name] of ['inventory', 'payments'].entries()) {
      const handler = spans.find((s) => s.name === `handle ${name}`)!;
      expect(handler.parentSpanId).toBe(calls[i]!.spanContext().spanId);
      expect(handler.kind).toBe('server');
      expect(handler.attributes['process.pid']).toBe(exits[i]!.pid);
      expect(handler.attributes['process.pid']).not.toBe(process.pid);
      const query = spans.find((s) => s.name === 'query' && s.parentSpanId === handler.spanId);
      expect(query?.service).toBe(name);
    }
    expect(receiver.slowest()).toBe(traceId);
    expect(receiver.traces()[0]!.services[0]).toBe('gateway');
    const drawn = renderWaterfall(spans, { width: 100 });
    expect(drawn.split('\n')[0]).toMatch(/7 spans {2}services: gateway, (inventory|payments)/);
  });
});

describe('createOtlpReceiver protocol', () => {
  it('answers 200 {} with the request’s Content-Type, ids in any case, int64 either way', async () => {
    const { receiver, url } = await started();
    const res = await postJson(
      url,
      exportRequest([
        otlpSpan('EEE19B7EC3C1B174', { traceId: TRACE.toUpperCase() }),
        otlpSpan('eee19b7ec3c1b175', {
          parentSpanId: 'EEE19B7EC3C1B174',
          startTimeUnixNano: 1544712660100000000,
          endTimeUnixNano: '1544712660350000000',
          kind: 3,
        }),
      ]),
      { 'content-type': 'application/json; charset=utf-8' },
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body.toString())).toEqual({});
    const spans = receiver.trace(TRACE.toUpperCase());
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.kind])).toEqual([
      ['eee19b7ec3c1b174', undefined, 'server'],
      ['eee19b7ec3c1b175', 'eee19b7ec3c1b174', 'client'],
    ]);
    expect(spans[1]!.durationMs).toBeCloseTo(250, 3);
  });

  it('accepts an empty request', async () => {
    const { receiver, url } = await started();
    for (const body of ['{}', '', '{"resourceSpans":[]}']) {
      const res = await postJson(url, body);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('{}');
    }
    expect(receiver.spans()).toEqual([]);
  });

  it('accepts a raw gzip POST', async () => {
    const { receiver, url } = await started();
    const res = await send(url, {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(exportRequest([otlpSpan('1111111111111111')]))),
    });
    expect(res.status).toBe(200);
    expect(receiver.spans().map((s) => s.spanId)).toEqual(['1111111111111111']);
  });

  it('answers partialSuccess naming the rejected spans, keeping the valid ones', async () => {
    const { receiver, url } = await started();
    const res = await postJson(
      url,
      exportRequest([
        otlpSpan('1111111111111111'),
        otlpSpan('not-an-id'),
        otlpSpan('2222222222222222', { traceId: '0'.repeat(32) }),
      ]),
    );
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString());
    expect(body.partialSuccess.rejectedSpans).toBe('2');
    expect(body.partialSuccess.errorMessage).toMatch(/invalid spanId "not-an-id"/);
    expect(body.partialSuccess.errorMessage).toMatch(/invalid traceId/);
    expect(receiver.spans().map((s) => s.spanId)).toEqual(['1111111111111111']);
    expect(receiver.rejected).toBe(2);
  });

  it('answers 400 with a google.rpc.Status for malformed JSON and wrong shapes', async () => {
    const { url } = await started();
    const cases: [string | Buffer, RegExp][] = [
      ['{"resourceSpans": [', /^malformed JSON/],
      ['[]', /must be a JSON object, got an array/],
      ['{"resourceSpans": 5}', /resourceSpans must be an array/],
      ['{"resource_spans": []}', /lowerCamelCase/],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /^malformed JSON/],
    ];
    for (const [body, message] of cases) {
      const res = await send(url, { headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      const status = JSON.parse(res.body.toString());
      expect(status.code).toBe(3);
      expect(status.message).toMatch(message);
    }
    const badZip = await send(url, {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: '{"not":"gzip"}',
    });
    expect(badZip.status).toBe(400);
    expect(JSON.parse(badZip.body.toString()).message).toMatch(/invalid gzip body/);
  });

  it('answers 415 for protobuf, in protobuf, saying why', async () => {
    const { url } = await started();
    const res = await send(url, {
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0x0a, 0x00]),
    });
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    // google.rpc.Status: field 1 varint code, field 2 length-delimited message.
    const b = res.body;
    expect(b[0]).toBe(0x08);
    expect(b[1]).toBe(12);
    expect(b[2]).toBe(0x12);
    let length = 0;
    let shift = 0;
    let at = 3;
    for (;;) {
      const byte = b[at++]!;
      length |= (byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
    }
    const message = b.subarray(at, at + length).toString('utf8');
    expect(at + length).toBe(b.length);
    expect(message).toMatch(/JSON only/);
    expect(message).toMatch(/http\/json/);
  });

  it('answers 415 for other content types and encodings', async () => {
    const { url } = await started();
    const text = await send(url, { headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(text.status).toBe(415);
    expect(text.headers['content-type']).toBe('application/json');
    expect(JSON.parse(text.body.toString()).message).toMatch(/must be application\/json/);
    const none = await send(url, { body: '{}' });
    expect(none.status).toBe(415);
    const br = await send(url, {
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      body: '{}',
    });
    expect(br.status).toBe(415);
    expect(JSON.parse(br.body.toString()).message).toMatch(/Content-Encoding "br"/);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { url } = await started();
    const other = await postJson(url, {}, {});
    expect(other.status).toBe(200);
    const metrics = await send(url, {
      path: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(metrics.status).toBe(404);
    expect(JSON.parse(metrics.body.toString())).toEqual({
      code: 5,
      message: 'no OTLP endpoint at /v1/metrics: traces go to POST /v1/traces',
    });
    const get = await send(url, { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const put = await send(url, { method: 'PUT', headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(405);
    expect(put.headers['content-type']).toBe('application/json');
    const query = await send(url, {
      path: '/v1/traces?tenant=a',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(query.status).toBe(200);
  });

  it('answers 413 past maxBodyBytes: declared, streamed, and after decompression', async () => {
    const { receiver, url } = await started({ maxBodyBytes: 1024 });
    const big = JSON.stringify(
      exportRequest([otlpSpan('1111111111111111', { name: 'x'.repeat(2000) })]),
    );
    const declared = await send(url, {
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body.toString())).toMatchObject({ code: 8 });
    expect(JSON.parse(declared.body.toString()).message).toMatch(/limit is 1024 bytes/);

    const streamed = await send(url, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: Array.from({ length: 8 }, () => Buffer.from(' '.repeat(400))),
    });
    expect(streamed.status).toBe(413);

    // 512 KiB of spaces gzips to about 500 bytes: under the limit sent, far over it unpacked.
    const bomb = gzipSync(Buffer.alloc(512 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(1024);
    const bombed = await send(url, {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(bombed.status).toBe(413);
    expect(JSON.parse(bombed.body.toString()).message).toMatch(/once decompressed/);

    // Still serving.
    const ok = await postJson(url, exportRequest([otlpSpan('2222222222222222')]));
    expect(ok.status).toBe(200);
    expect(receiver.spans()).toHaveLength(1);
  });

  it('survives a burst of garbage and keeps accepting', async () => {
    const { receiver, url } = await started({ maxBodyBytes: 64 * 1024 });
    const port = Number(new URL(url).port);
    const junkJson = fc.sample(fc.jsonValue(), 60).map((v) => JSON.stringify(v) ?? 'null');
    const requests: Promise<Response>[] = [];
    for (let i = 0; i < 150; i++) {
      const kind = i % 5;
      const body =
        kind === 0
          ? randomBytes(1 + (i % 700))
          : kind === 1
            ? Buffer.from(junkJson[i % junkJson.length]!)
            : kind === 2
              ? Buffer.from('['.repeat(5000))
              : kind === 3
                ? Buffer.from(
                    JSON.stringify(exportRequest([{ traceId: i, spanId: [i], kind: 'x' }])),
                  )
                : randomBytes(64);
      requests.push(
        send(url, {
          method: i % 7 === 0 ? 'PATCH' : 'POST',
          path: i % 11 === 0 ? '/%%%/../x' : '/v1/traces',
          headers: {
            'content-type': i % 3 === 0 ? 'application/x-protobuf' : 'application/json',
            ...(kind === 4 ? { 'content-encoding': 'gzip' } : {}),
          },
          body,
        }),
      );
    }
    // Raw sockets speaking no HTTP at all.
    const sockets = Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<void>((done) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(i % 2 === 0 ? randomBytes(300) : 'GARBAGE / HTTP/9.9\r\nx: \x00\r\n\r\n');
            socket.end();
          });
          socket.on('error', () => done());
          socket.on('close', () => done());
          socket.resume();
        }),
    );
    const answers = await Promise.all(requests);
    await Promise.all(sockets);
    for (const a of answers) {
      expect([200, 400, 404, 405, 413, 415]).toContain(a.status);
    }
    expect(answers.some((a) => a.status === 400)).toBe(true);

    // The real exporter still gets through.
    const { tracer, provider } = service('after-the-storm', url);
    tracer.startSpan('still here').end();
    await provider.forceFlush();
    await until(
      () => receiver.spans().some((s) => s.name === 'still here'),
      'the span after the garbage',
    );
  });

  it('keeps at most maxSpans, dropping the oldest, and ignores resent spans', async () => {
    const { receiver, url } = await started({ maxSpans: 5 });
    const first = exportRequest([1, 2, 3, 4].map((n) => otlpSpan(spanId(n))));
    expect((await postJson(url, first)).status).toBe(200);
    // An exporter retry sends the same spans again: they are not stored twice.
    expect((await postJson(url, first)).status).toBe(200);
    expect(receiver.spans()).toHaveLength(4);
    const second = exportRequest(
      [5, 6, 7, 8].map((n) => otlpSpan(spanId(n), { traceId: n % 2 ? TRACE : 'a'.repeat(32) })),
    );
    await postJson(url, second);
    expect(receiver.spans().map((s) => s.spanId)).toEqual([4, 5, 6, 7, 8].map(spanId));
    expect(receiver.dropped).toBe(3);
    expect(receiver.trace(TRACE).map((s) => s.spanId)).toEqual([4, 5, 7].map(spanId));
    expect(receiver.trace('a'.repeat(32))).toHaveLength(2);
    expect(receiver.traces().reduce((n, t) => n + t.spanCount, 0)).toBe(5);
    // A dropped span may come back: it is new again.
    await postJson(url, exportRequest([otlpSpan(spanId(1))]));
    expect(receiver.spans().at(-1)!.spanId).toBe(spanId(1));
    expect(receiver.spans()).toHaveLength(5);
    receiver.clear();
    expect(receiver.spans()).toEqual([]);
    expect(receiver.traces()).toEqual([]);
    expect(receiver.dropped).toBe(0);
    expect(receiver.slowest()).toBeUndefined();
  });

  it('stays bounded through many requests', async () => {
    const { receiver, url } = await started({ maxSpans: 100, maxBodyBytes: 16 * 1024 * 1024 });
    for (let batch = 0; batch < 30; batch++) {
      const spans = Array.from({ length: 50 }, (_, i) => otlpSpan(spanId(batch * 50 + i + 1)));
      await postJson(url, exportRequest(spans));
    }
    expect(receiver.spans()).toHaveLength(100);
    expect(receiver.dropped).toBe(1400);
    expect(receiver.spans()[0]!.spanId).toBe(spanId(1401));
    expect(receiver.trace(TRACE)).toHaveLength(100);
    // One request far over the bound: the newest survive, in order, without quadratic work.
    const flood = Array.from({ length: 30_000 }, (_, i) => otlpSpan(spanId(100_000 + i)));
    const began = performance.now();
    expect((await postJson(url, exportRequest(flood))).status).toBe(200);
    expect(performance.now() - began).toBeLessThan(5_000);
    expect(receiver.spans().map((s) => s.spanId)).toEqual(
      Array.from({ length: 100 }, (_, i) => spanId(100_000 + 29_900 + i)),
    );
    expect(receiver.trace(TRACE)).toHaveLength(100);
    expect(receiver.dropped).toBe(1400 + 30_000);
  });
});

describe('createOtlpReceiver queries and listeners', () => {
  it('summarises traces and finds the slowest', async () => {
    const { receiver, url } = await started();
    const fast = 'f'.repeat(32);
    const slow = 'e'.repeat(32);
    await postJson(url, {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'front' } }] },
          scopeSpans: [
            {
              spans: [
                otlpSpan(spanId(1), { traceId: slow, name: 'slow root' }),
                otlpSpan(spanId(2), {
                  traceId: fast,
                  name: 'fast root',
                  startTimeUnixNano: '1544712650000000000',
                  endTimeUnixNano: '1544712650010000000',
                }),
              ],
            },
          ],
        },
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'back' } }] },
          scopeSpans: [
            {
              spans: [
                otlpSpan(spanId(3), {
                  traceId: slow,
                  parentSpanId: spanId(1),
                  name: 'slow child',
                  startTimeUnixNano: '1544712660500000000',
                  endTimeUnixNano: '1544712662000000000',
                  status: { code: 2 },
                }),
              ],
            },
          ],
        },
      ],
    });
    expect(receiver.traces()).toEqual([
      {
        traceId: fast,
        rootName: 'fast root',
        services: ['front'],
        durationMs: 10,
        startMs: 1544712650000,
        spanCount: 1,
        error: false,
      },
      {
        traceId: slow,
        rootName: 'slow root',
        services: ['front', 'back'],
        durationMs: 2000,
        startMs: 1544712660000,
        spanCount: 2,
        error: true,
      },
    ]);
    expect(receiver.slowest()).toBe(slow);
    expect(receiver.trace('unknown')).toEqual([]);
  });

  it('names the earliest orphan as root when the root span has not arrived', async () => {
    const { receiver, url } = await started();
    await postJson(
      url,
      exportRequest([
        otlpSpan(spanId(2), { parentSpanId: spanId(1), name: 'orphan' }),
        otlpSpan(spanId(3), {
          parentSpanId: spanId(2),
          name: 'child',
          startTimeUnixNano: '1544712659000000000',
        }),
      ]),
    );
    expect(receiver.traces()[0]!.rootName).toBe('orphan');
  });

  it('calls onSpans listeners per accepted request, survives a throwing one, and disposes', async () => {
    const { url, receiver } = await started();
    const seen: string[][] = [];
    const dispose = receiver.onSpans((spans) => seen.push(spans.map((s) => s.spanId)));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    const disposeBad = receiver.onSpans(() => {
      throw new Error('listener bug');
    });
    const res = await postJson(url, exportRequest([otlpSpan(spanId(1)), otlpSpan(spanId(2))]));
    expect(res.status).toBe(200);
    expect(seen).toEqual([[spanId(1), spanId(2)]]);
    await until(() => warnings.length > 0, 'the warning');
    expect(warnings[0]).toMatch(/listener bug/);
    // Nothing new (a resend): no call.
    await postJson(url, exportRequest([otlpSpan(spanId(1))]));
    expect(seen).toHaveLength(1);
    dispose();
    disposeBad();
    await postJson(url, exportRequest([otlpSpan(spanId(3))]));
    expect(seen).toHaveLength(1);
  });
});

describe('createOtlpReceiver lifecycle and bad input', () => {
  it('rejects bad options with a TypeError naming the option', () => {
    const cases: [unknown, RegExp][] = [
      ['x', /createOtlpReceiver: options must be an object/],
      [{ port: -1 }, /option "port" must be >= 0/],
      [{ port: 70_000 }, /option "port" must be <= 65535/],
      [{ port: '4318' }, /option "port" must be a number/],
      [{ maxSpans: 0 }, /option "maxSpans" must be >= 1/],
      [{ maxBodyBytes: 1.5 }, /option "maxBodyBytes" must be an integer/],
      [{ host: '' }, /option "host" must be a non-empty string/],
      [{ hots: 'localhost' }, /unknown option "hots"/],
    ];
    for (const [options, message] of cases) {
      expect(() => createOtlpReceiver(options as never)).toThrow(TypeError);
      expect(() => createOtlpReceiver(options as never)).toThrow(message);
    }
  });

  it('rejects bad arguments to its methods', () => {
    const receiver = createOtlpReceiver();
    expect(() => receiver.trace(42 as never)).toThrow(/traceId must be a string/);
    expect(() => receiver.onSpans('x' as never)).toThrow(/listener must be a function/);
    expect(receiver.url).toBeUndefined();
  });

  it('listens once at a time, closes with the exporter’s connections open, and listens again', async () => {
    const receiver: OtlpReceiver = createOtlpReceiver();
    cleanups.push(() => receiver.close());
    const url = await receiver.listen();
    await expect(receiver.listen()).rejects.toThrow(/already listening/);
    const { tracer, provider } = service('keepalive', url);
    tracer.startSpan('one').end();
    await provider.forceFlush();
    await until(() => receiver.spans().length === 1, 'one span');
    await receiver.close();
    expect(receiver.url).toBeUndefined();
    expect(receiver.spans()).toHaveLength(1);
    await receiver.close();
    const again = await receiver.listen();
    expect(again).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await postJson(again, exportRequest([otlpSpan(spanId(9))]))).status).toBe(200);
    expect(receiver.spans()).toHaveLength(2);
  });

  it('rejects listen() on a port in use, and can listen after', async () => {
    const { url } = await started();
    const port = Number(new URL(url).port);
    const second = createOtlpReceiver({ port });
    cleanups.push(() => second.close());
    await expect(second.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(second.url).toBeUndefined();
    await expect(second.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
