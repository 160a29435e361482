import { randomFillSync } from 'node:crypto';
import {
  type AttributeValue,
  type Context,
  context,
  type Exception,
  type HrTime,
  isSpanContextValid,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * A tracer for the spans nines makes itself on the hot path (one SERVER span per request), used
 * only when nines registered the SDK and so knows its sampler, resource and processor. The SDK's
 * span measured about 10 us per request in a loaded server here (id generation, per-attribute
 * validation, hrtime arrays, self-metrics); this one keeps times as numbers, takes the attribute
 * object as built, and hands the same `ReadableSpan` shape to the same processor and exporter.
 * Spans the application makes go through the SDK as usual and nest under these.
 *
 * @internal
 */
export interface LeanTracerOptions {
  readonly processor: SpanProcessor;
  readonly resource: Resource;
  /** Share of new traces recorded; continued traces follow the parent's sampled flag. */
  readonly sampleRatio: number;
  readonly scope: { readonly name: string; readonly version?: string };
}

const ATTRIBUTE_LIMIT = 128;
const EVENT_LIMIT = 128;
const LINK_LIMIT = 128;
const origin = performance.timeOrigin;

/** Random ids from a pooled buffer: one `randomFillSync` per few hundred spans. */
const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;
function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    for (let i = start; i < offset; i++) {
      if (pool[i] !== 0) return pool.toString('hex', start, offset);
    }
    // All zero is the invalid id: draw again.
  }
}

function toHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
}

function inputToMs(t: TimeInput | undefined, fallback: number): number {
  if (t === undefined) return fallback;
  if (typeof t === 'number') return t < origin / 2 ? origin + t : t; // performance.now() or epoch ms
  if (t instanceof Date) return t.getTime();
  if (Array.isArray(t)) return t[0] * 1000 + t[1] / 1e6;
  return fallback;
}

function validValue(v: unknown): v is AttributeValue {
  if (v === null || v === undefined) return false;
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  return Array.isArray(v);
}

/** Our span: the API's `Span` for users, the SDK's `ReadableSpan` for processors and exporters. */
class LeanSpan implements Span, ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly attributes: SpanAttributes;
  readonly links: Link[];
  readonly events: TimedEvent[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  readonly resource: Resource;
  readonly instrumentationScope: { name: string; version?: string };
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  ended = false;
  readonly #context: SpanContext;
  readonly #startMs: number;
  #endMs = 0;
  #attributeCount: number;
  readonly #processor: SpanProcessor;

  constructor(
    name: string,
    kind: SpanKind,
    spanContext: SpanContext,
    parent: SpanContext | undefined,
    attributes: SpanAttributes,
    links: Link[],
    startMs: number,
    tracer: LeanTracer,
  ) {
    this.name = name;
    this.kind = kind;
    this.#context = spanContext;
    this.parentSpanContext = parent;
    this.attributes = attributes;
    this.#attributeCount = -1; // counted on first setAttribute: most spans never call it
    this.links = links;
    this.#startMs = startMs;
    this.resource = tracer.resource;
    this.instrumentationScope = tracer.scope;
    this.#processor = tracer.processor;
  }

  get startTime(): HrTime {
    return toHrTime(this.#startMs);
  }
  get endTime(): HrTime {
    return toHrTime(this.#endMs);
  }
  get duration(): HrTime {
    const d = Math.max(0, this.#endMs - this.#startMs);
    const seconds = Math.floor(d / 1000);
    return [seconds, Math.round((d - seconds * 1000) * 1e6)];
  }

  spanContext(): SpanContext {
    return this.#context;
  }
  isRecording(): boolean {
    return !this.ended;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.ended || typeof key !== 'string' || key === '' || !validValue(value)) return this;
    if (this.#attributeCount < 0) this.#attributeCount = Object.keys(this.attributes).length;
    if (!Object.hasOwn(this.attributes, key)) {
      if (this.#attributeCount >= ATTRIBUTE_LIMIT) {
        this.droppedAttributesCount++;
        return this;
      }
      this.#attributeCount++;
    }
    (this.attributes as Record<string, AttributeValue>)[key] = value;
    return this;
  }
  setAttributes(attributes: SpanAttributes): this {
    for (const k in attributes) this.setAttribute(k, attributes[k] as AttributeValue);
    return this;
  }
  addEvent(name: string, attributesOrTime?: SpanAttributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    if (this.events.length >= EVENT_LIMIT) {
      this.droppedEventsCount++;
      return this;
    }
    const isTime =
      typeof attributesOrTime === 'number' ||
      attributesOrTime instanceof Date ||
      Array.isArray(attributesOrTime);
    const attributes = isTime
      ? {}
      : { ...((attributesOrTime as SpanAttributes | undefined) ?? {}) };
    const at = inputToMs(
      isTime ? (attributesOrTime as TimeInput) : time,
      origin + performance.now(),
    );
    this.events.push({ name, attributes, time: toHrTime(at), droppedAttributesCount: 0 });
    return this;
  }
  addLink(link: Link): this {
    if (this.ended) return this;
    if (this.links.length >= LINK_LIMIT) this.droppedLinksCount++;
    else this.links.push(link);
    return this;
  }
  addLinks(links: Link[]): this {
    for (const l of links) this.addLink(l);
    return this;
  }
  setStatus(status: SpanStatus): this {
    if (this.ended) return this;
    // As the SDK: OK is final, and UNSET never replaces a set status.
    if (this.status.code === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET) return this;
    this.status = status.message === undefined ? { code: status.code } : { ...status };
    return this;
  }
  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: SpanAttributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else if (exception !== null && typeof exception === 'object') {
      const e = exception as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown };
      const type = e.code ?? e.name;
      if (type !== undefined) attributes['exception.type'] = String(type);
      if (typeof e.message === 'string') attributes['exception.message'] = e.message;
      if (typeof e.stack === 'string') attributes['exception.stacktrace'] = e.stack;
    }
    this.addEvent('exception', attributes, time);
  }
  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.#endMs = inputToMs(endTime, origin + performance.now());
    if (this.#endMs < this.#startMs) this.#endMs = this.#startMs;
    this.ended = true;
    this.#processor.onEnd(this);
  }
}

/** @internal See {@link LeanTracerOptions}. */
export class LeanTracer implements Tracer {
  readonly processor: SpanProcessor;
  readonly resource: Resource;
  readonly scope: { name: string; version?: string };
  readonly #ratioBound: number;

  constructor(options: LeanTracerOptions) {
    this.processor = options.processor;
    this.resource = options.resource;
    this.scope = { ...options.scope };
    this.#ratioBound = Math.floor(options.sampleRatio * 0x100000000);
  }

  startSpan(name: string, options?: SpanOptions, ctx: Context = context.active()): Span {
    const parent = options?.root ? undefined : trace.getSpanContext(ctx);
    const hasParent = parent !== undefined && isSpanContextValid(parent);
    const traceId = hasParent ? parent.traceId : randomHex(16);
    const spanId = randomHex(8);
    // Parent-based: follow the parent's decision; a root is kept by trace-id ratio.
    const sampled = hasParent
      ? (parent.traceFlags & 1) === 1
      : this.#ratioBound >= 0x100000000 ||
        Number.parseInt(traceId.slice(24), 16) < this.#ratioBound;
    const spanContext: SpanContext = {
      traceId,
      spanId,
      traceFlags: sampled ? 1 : 0,
      ...(hasParent && parent.traceState !== undefined ? { traceState: parent.traceState } : {}),
    };
    if (!sampled) return trace.wrapSpanContext(spanContext);
    const attributes: SpanAttributes = {};
    const given = options?.attributes;
    if (given !== undefined) {
      let n = 0;
      for (const k in given) {
        const v = given[k];
        if (!validValue(v)) continue;
        if (n++ >= ATTRIBUTE_LIMIT) break;
        attributes[k] = v;
      }
    }
    const span = new LeanSpan(
      name,
      options?.kind ?? SpanKind.INTERNAL,
      spanContext,
      hasParent ? parent : undefined,
      attributes,
      options?.links?.slice(0, LINK_LIMIT) ?? [],
      inputToMs(options?.startTime, origin + performance.now()),
      this,
    );
    this.processor.onStart(span as never, ctx);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    const fn = (c ?? (typeof b === 'function' ? b : a)) as F;
    const options = typeof a === 'object' ? a : undefined;
    const parent = typeof b === 'object' ? b : context.active();
    const span = this.startSpan(name, options, parent);
    return context.with(
      trace.setSpan(parent, span),
      fn as (s: Span) => ReturnType<F>,
      undefined,
      span,
    );
  }
}
