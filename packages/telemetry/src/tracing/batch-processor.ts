import { type Clock, systemClock } from '@nines/resilience';
import { clockOption, numberOption, optionsObject } from '@nines/resilience/options';
import { context, TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Options of {@link batchSpanProcessor}; the defaults are the OpenTelemetry SDK's but the delay. */
export interface BatchSpanProcessorOptions {
  /** Spans held while waiting for export; the excess is dropped and counted. Default 2048. */
  readonly maxQueueSize?: number;
  /** Spans per export call. Default 512. */
  readonly maxExportBatchSize?: number;
  /** Longest wait before a partial batch is exported (ms). Default 1000. */
  readonly scheduledDelayMs?: number;
  /** An export taking longer counts as failed and the next batch may start (ms). Default 10 000. */
  readonly exportTimeoutMs?: number;
  /** Timers come from it (tests drive a manual clock). Default: the system clock, timers unref'd. */
  readonly clock?: Clock;
}

/** What a {@link BatchProcessor} did so far. */
export interface SpanExportStats {
  /** Spans handed to the exporter and acknowledged. */
  readonly exported: number;
  /** Spans dropped because the queue was full (an exporter that is slow or down). */
  readonly dropped: number;
  /** Spans in batches the exporter reported failed or that timed out. */
  readonly failed: number;
  /** Spans waiting in the queue now. */
  readonly queued: number;
}

/** A span processor that batches for an exporter and counts what it could not deliver. */
export interface BatchProcessor extends SpanProcessor {
  stats(): SpanExportStats;
}

const OWNER = 'batchSpanProcessor';
const KEYS = ['maxQueueSize', 'maxExportBatchSize', 'scheduledDelayMs', 'exportTimeoutMs', 'clock'];

/** Timers that never keep the process alive: a pending export must not delay a normal exit. */
const unrefClock: Clock = {
  now: systemClock.now,
  setTimeout(callback, ms) {
    const t = setTimeout(callback, ms);
    t.unref();
    return t;
  },
  clearTimeout: systemClock.clearTimeout,
};

/**
 * A batching span processor with a bounded queue. The app never waits for the exporter: `onEnd`
 * only pushes to an array, one export runs at a time, and when the exporter is down or slow the
 * queue fills and further spans are dropped and counted (the SDK's own processor only logs that).
 *
 * @example
 * const processor = batchSpanProcessor(new OTLPTraceExporter(), { maxQueueSize: 4096 });
 * processor.stats(); // { exported, dropped, failed, queued }
 */
export function batchSpanProcessor(
  exporter: SpanExporter,
  options?: BatchSpanProcessorOptions,
): BatchProcessor {
  if (
    exporter === null ||
    typeof exporter !== 'object' ||
    typeof (exporter as { export?: unknown }).export !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: exporter must be a SpanExporter (with export()), got ${exporter}`,
    );
  }
  const o = optionsObject<BatchSpanProcessorOptions>(OWNER, options, KEYS);
  const maxQueueSize = numberOption(OWNER, 'maxQueueSize', o.maxQueueSize, 2048, {
    min: 1,
    integer: true,
  });
  const maxExportBatchSize = numberOption(
    OWNER,
    'maxExportBatchSize',
    o.maxExportBatchSize,
    Math.min(512, maxQueueSize),
    { min: 1, integer: true, max: maxQueueSize },
  );
  const scheduledDelayMs = numberOption(OWNER, 'scheduledDelayMs', o.scheduledDelayMs, 1000, {
    min: 0,
  });
  const exportTimeoutMs = numberOption(OWNER, 'exportTimeoutMs', o.exportTimeoutMs, 10_000, {
    min: 1,
  });
  const clock = clockOption<Clock>(OWNER, o.clock, unrefClock);
  return new Batcher(
    exporter,
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMs,
    exportTimeoutMs,
    clock,
  );
}

class Batcher implements BatchProcessor {
  #queue: ReadableSpan[] = [];
  #timer: unknown = null;
  #exporting: Promise<void> | null = null;
  #shutdown = false;
  #exported = 0;
  #dropped = 0;
  #failed = 0;
  readonly #exporter: SpanExporter;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #delay: number;
  readonly #timeout: number;
  readonly #clock: Clock;
  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#drain();
  };

  constructor(
    exporter: SpanExporter,
    maxQueue: number,
    maxBatch: number,
    delay: number,
    timeout: number,
    clock: Clock,
  ) {
    this.#clock = clock;
    this.#exporter = exporter;
    this.#maxQueue = maxQueue;
    this.#maxBatch = maxBatch;
    this.#delay = delay;
    this.#timeout = timeout;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#shutdown || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    const queue = this.#queue;
    if (queue.length >= this.#maxQueue) {
      this.#dropped++;
      return;
    }
    queue.push(span);
    if (this.#exporting !== null) return; // the running export picks the rest up when it ends
    if (queue.length >= this.#maxBatch) {
      this.#drain();
    } else if (this.#timer === null) {
      this.#timer = this.#clock.setTimeout(this.#onTimer, this.#delay);
    }
  }

  stats(): SpanExportStats {
    return {
      exported: this.#exported,
      dropped: this.#dropped,
      failed: this.#failed,
      queued: this.#queue.length,
    };
  }

  /** Starts exporting if nothing is being exported; batches follow each other until the queue is empty. */
  #drain(): void {
    if (this.#exporting !== null || this.#queue.length === 0) return;
    if (this.#timer !== null) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#exporting = this.#exportAll().finally(() => {
      this.#exporting = null;
      // Spans that arrived during the last export wait for the usual delay, not for the next span.
      if (this.#queue.length > 0 && this.#timer === null && !this.#shutdown) {
        this.#timer = this.#clock.setTimeout(this.#onTimer, this.#delay);
      }
    });
  }

  async #exportAll(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      await this.#exportBatch(batch);
      // Keep going only while full batches are waiting; a partial one waits for the delay.
      if (this.#queue.length < this.#maxBatch && !this.#flushing) break;
    }
  }

  #flushing = false;

  #exportBatch(batch: ReadableSpan[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const timer = this.#clock.setTimeout(() => finish(false), this.#timeout);
      const finish = (ok: boolean): void => {
        if (done) return;
        done = true;
        this.#clock.clearTimeout(timer);
        if (ok) this.#exported += batch.length;
        else this.#failed += batch.length;
        resolve();
      };
      try {
        // The exporter's own HTTP calls must not be traced (that would feed spans back in).
        context.with(suppressTracing(context.active()), () => {
          this.#exporter.export(batch, (result) =>
            finish(result.code === ExportResultCode.SUCCESS),
          );
        });
      } catch {
        finish(false);
      }
    });
  }

  async forceFlush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#exporting !== null || this.#queue.length > 0) {
        if (this.#exporting !== null) await this.#exporting;
        else this.#drain();
      }
      await this.#exporter.forceFlush?.();
    } finally {
      this.#flushing = false;
    }
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    await this.forceFlush();
    this.#shutdown = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    await this.#exporter.shutdown();
  }
}
