import { ManualClock } from '@nines/resilience';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchSpanProcessor } from '../src/tracing/batch-processor.js';

/** An exporter whose export calls the test answers by hand (a collector that is slow or down). */
class HeldExporter implements SpanExporter {
  readonly calls: { spans: ReadableSpan[]; done: (r: ExportResult) => void }[] = [];
  shutdownCalls = 0;
  throwOnExport = false;
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    if (this.throwOnExport) throw new Error('exporter bug');
    this.calls.push({ spans, done });
  }
  ack(i: number, ok = true): void {
    this.calls[i]?.done({ code: ok ? ExportResultCode.SUCCESS : ExportResultCode.FAILED });
  }
  async shutdown(): Promise<void> {
    this.shutdownCalls++;
  }
}

function setup(options: Parameters<typeof batchSpanProcessor>[1] = {}) {
  const clock = new ManualClock(0);
  const exporter = new HeldExporter();
  const processor = batchSpanProcessor(exporter, { clock, ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('test');
  const end = (n: number) => {
    for (let i = 0; i < n; i++) tracer.startSpan(`s${i}`).end();
  };
  return { clock, exporter, processor, provider, end };
}

const flushMicrotasks = () => new Promise<void>((r) => setImmediate(r));

describe('batchSpanProcessor', () => {
  it('exports a partial batch after the scheduled delay, not before', async () => {
    const { clock, exporter, processor, end } = setup({ scheduledDelayMs: 1000 });
    end(3);
    await clock.advance(999);
    expect(exporter.calls).toHaveLength(0);
    await clock.advance(1);
    expect(exporter.calls).toHaveLength(1);
    expect(exporter.calls[0]?.spans.map((s) => s.name)).toEqual(['s0', 's1', 's2']);
    exporter.ack(0);
    await flushMicrotasks();
    expect(processor.stats()).toEqual({ exported: 3, dropped: 0, failed: 0, queued: 0 });
  });

  it('exports a full batch at once and one batch at a time', async () => {
    const { clock, exporter, processor, end } = setup({ maxExportBatchSize: 4 });
    end(4);
    expect(exporter.calls).toHaveLength(1);
    end(6); // queued while the first export runs
    expect(exporter.calls).toHaveLength(1);
    expect(processor.stats().queued).toBe(6);
    exporter.ack(0);
    await flushMicrotasks();
    expect(exporter.calls).toHaveLength(2); // the next full batch follows at once
    expect(exporter.calls[1]?.spans).toHaveLength(4);
    exporter.ack(1);
    await flushMicrotasks();
    expect(exporter.calls).toHaveLength(2); // the last 2 wait for the delay
    await clock.advance(1000);
    expect(exporter.calls).toHaveLength(3);
    exporter.ack(2);
    await flushMicrotasks();
    expect(processor.stats()).toEqual({ exported: 10, dropped: 0, failed: 0, queued: 0 });
  });

  it('drops and counts spans when the exporter hangs and the queue is full, and recovers', async () => {
    const { clock, exporter, processor, end } = setup({
      maxQueueSize: 10,
      maxExportBatchSize: 5,
      exportTimeoutMs: 5000,
    });
    end(5); // in flight, never acknowledged
    end(25);
    expect(processor.stats()).toEqual({ exported: 0, dropped: 15, failed: 0, queued: 10 });
    await clock.advance(5000); // the hung export times out
    expect(processor.stats().failed).toBe(5);
    expect(exporter.calls).toHaveLength(2);
    exporter.ack(1);
    await flushMicrotasks();
    expect(exporter.calls).toHaveLength(3);
    exporter.ack(2);
    exporter.ack(0); // a late answer to the timed-out export changes nothing
    await flushMicrotasks();
    expect(processor.stats()).toEqual({ exported: 10, dropped: 15, failed: 5, queued: 0 });
  });

  it('counts a failed export and a throwing exporter as failed, without throwing', async () => {
    const { clock, exporter, processor, end } = setup();
    end(2);
    await clock.advance(1000);
    exporter.ack(0, false);
    await flushMicrotasks();
    exporter.throwOnExport = true;
    end(3);
    await clock.advance(1000);
    await flushMicrotasks();
    expect(processor.stats()).toEqual({ exported: 0, dropped: 0, failed: 5, queued: 0 });
  });

  it('ignores unsampled spans', async () => {
    const clock = new ManualClock(0);
    const exporter = new HeldExporter();
    const processor = batchSpanProcessor(exporter, { clock });
    const provider = new BasicTracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [processor],
    });
    provider.getTracer('t').startSpan('x').end();
    await clock.advance(5000);
    expect(exporter.calls).toHaveLength(0);
    expect(processor.stats().queued).toBe(0);
  });

  it('forceFlush exports everything, shutdown flushes then shuts the exporter down', async () => {
    const { exporter, processor, end } = setup({ maxExportBatchSize: 2 });
    end(5);
    const answer = setInterval(() => {
      for (let i = 0; i < exporter.calls.length; i++) exporter.ack(i);
    }, 1);
    try {
      await processor.forceFlush();
      expect(processor.stats()).toMatchObject({ exported: 5, queued: 0 });
      end(1);
      await processor.shutdown();
      expect(processor.stats()).toMatchObject({ exported: 6, queued: 0 });
      expect(exporter.shutdownCalls).toBe(1);
      end(3); // after shutdown: ignored
      expect(processor.stats().queued).toBe(0);
      await processor.shutdown(); // idempotent
      expect(exporter.shutdownCalls).toBe(1);
    } finally {
      clearInterval(answer);
    }
  });

  it('accounts for every span whatever the order of ends, timers and answers', async () => {
    type Step =
      | { kind: 'end'; n: number }
      | { kind: 'tick'; ms: number }
      | { kind: 'ack'; ok: boolean };
    const step = fc.oneof(
      fc.record({ kind: fc.constant('end' as const), n: fc.integer({ min: 1, max: 7 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ kind: fc.constant('ack' as const), ok: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps: Step[]) => {
        const { clock, exporter, processor, end } = setup({
          maxQueueSize: 8,
          maxExportBatchSize: 3,
          exportTimeoutMs: 2000,
        });
        let ended = 0;
        let acked = 0;
        for (const s of steps) {
          if (s.kind === 'end') {
            end(s.n);
            ended += s.n;
          } else if (s.kind === 'tick') {
            await clock.advance(s.ms);
          } else if (acked < exporter.calls.length) {
            exporter.ack(acked++, s.ok);
            await flushMicrotasks();
          }
        }
        const st = processor.stats();
        expect(st.queued).toBeLessThanOrEqual(8);
        const inFlight = exporter.calls.length > 0 ? (exporter.calls.at(-1)?.spans.length ?? 0) : 0;
        const settled = st.exported + st.dropped + st.failed + st.queued;
        // Every span is exported, dropped, failed, queued, or in the one export still running.
        expect(settled === ended || settled + inFlight === ended).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects bad options and exporters with errors that name them', () => {
    const exporter = new HeldExporter();
    expect(() => batchSpanProcessor({} as SpanExporter)).toThrow(/exporter must be a SpanExporter/);
    expect(() => batchSpanProcessor(exporter, { maxQueueSize: 0 })).toThrow(
      /"maxQueueSize" must be >= 1/,
    );
    expect(() => batchSpanProcessor(exporter, { maxQueueSize: 4, maxExportBatchSize: 8 })).toThrow(
      /"maxExportBatchSize" must be <= 4/,
    );
    expect(() => batchSpanProcessor(exporter, { scheduledDelayMs: Number.NaN })).toThrow(
      /"scheduledDelayMs" must be a number/,
    );
    expect(() => batchSpanProcessor(exporter, { exportTimeout: 5 } as never)).toThrow(
      /unknown option "exportTimeout"/,
    );
    expect(() => batchSpanProcessor(exporter, { clock: {} as never })).toThrow(/"clock"/);
  });
});
