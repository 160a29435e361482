import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { emptyResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { spanRecordFromReadable } from '../src/trace-view/span-record.js';

const providers: BasicTracerProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.shutdown()));
});

function setup(resource = resourceFromAttributes({ 'service.name': 'orders' })) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  providers.push(provider);
  return { tracer: provider.getTracer('test'), memory };
}

function finished(memory: InMemorySpanExporter, name: string): ReadableSpan {
  const span = memory.getFinishedSpans().find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span ${name}`);
  return span;
}

describe('spanRecordFromReadable', () => {
  it('converts ids, parent, kind, service, times, status, attributes and events', () => {
    const { tracer, memory } = setup();
    const start = 1_700_000_000_000.25;
    const parent = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, startTime: start });
    const child = tracer.startSpan(
      'SELECT orders',
      {
        kind: SpanKind.CLIENT,
        startTime: start + 10,
        attributes: {
          'db.system': 'postgresql',
          'db.rows': 3,
          ok: true,
          tags: ['a', 'b'],
          sparse: [1, null, 3],
          ratio: 0.5,
        },
      },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.addEvent('retry', { attempt: 2 }, start + 12.5);
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
    child.end(start + 40.125);
    parent.setStatus({ code: SpanStatusCode.OK });
    parent.end(start + 50);

    const root = spanRecordFromReadable(finished(memory, 'GET /orders'));
    const db = spanRecordFromReadable(finished(memory, 'SELECT orders'));
    expect(root.parentSpanId).toBeUndefined();
    expect(root.kind).toBe('server');
    expect(root.status).toBe('ok');
    expect(root.statusMessage).toBeUndefined();
    expect(root.service).toBe('orders');
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(root.startMs).toBeCloseTo(start, 3);
    expect(root.durationMs).toBeCloseTo(50, 6);

    expect(db.traceId).toBe(root.traceId);
    expect(db.parentSpanId).toBe(root.spanId);
    expect(db.kind).toBe('client');
    expect(db.status).toBe('error');
    expect(db.statusMessage).toBe('connection reset');
    expect(db.startMs - root.startMs).toBeCloseTo(10, 6);
    expect(db.durationMs).toBeCloseTo(30.125, 6);
    expect(db.attributes).toEqual({
      'db.system': 'postgresql',
      'db.rows': 3,
      ok: true,
      tags: ['a', 'b'],
      sparse: [1, null, 3],
      ratio: 0.5,
    });
    expect(db.events).toHaveLength(1);
    expect(db.events[0]!.name).toBe('retry');
    expect(db.events[0]!.attributes).toEqual({ attempt: 2 });
    expect(db.events[0]!.timeMs - db.startMs).toBeCloseTo(2.5, 6);
  });

  it('gives records that survive a JSON round trip unchanged', () => {
    const { tracer, memory } = setup();
    const span = tracer.startSpan('work', {
      attributes: { n: 1, s: 'x', list: [true, false], nan: Number.NaN },
    });
    span.addEvent('mark');
    span.end();
    const record = spanRecordFromReadable(finished(memory, 'work'));
    // NaN is not JSON: it is kept as text so that the record stays JSON-safe.
    expect(record.attributes.nan).toBe('NaN');
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('maps every span kind', () => {
    const { tracer, memory } = setup();
    const kinds = [
      [SpanKind.INTERNAL, 'internal'],
      [SpanKind.SERVER, 'server'],
      [SpanKind.CLIENT, 'client'],
      [SpanKind.PRODUCER, 'producer'],
      [SpanKind.CONSUMER, 'consumer'],
    ] as const;
    for (const [kind, name] of kinds) tracer.startSpan(`k-${name}`, { kind }).end();
    for (const [, name] of kinds) {
      expect(spanRecordFromReadable(finished(memory, `k-${name}`)).kind).toBe(name);
    }
  });

  it('names the service unknown_service when the resource has none', () => {
    const { tracer, memory } = setup(emptyResource());
    tracer.startSpan('anonymous').end();
    expect(spanRecordFromReadable(finished(memory, 'anonymous')).service).toBe('unknown_service');
  });

  it('keeps a remote parent (a span continued from another process)', () => {
    const { tracer, memory } = setup();
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4BF92F3577B34DA6A3CE929D0E0E4736'.toLowerCase(),
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
    });
    tracer.startSpan('continued', { kind: SpanKind.SERVER }, remote).end();
    const record = spanRecordFromReadable(finished(memory, 'continued'));
    expect(record.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(record.parentSpanId).toBe('00f067aa0ba902b7');
  });
});
