import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** What a span does in its trace, as named by OpenTelemetry (`SpanKind`, lower case). */
export type SpanKindName = 'server' | 'client' | 'internal' | 'producer' | 'consumer';

/** A span's status code, lower case. */
export type SpanStatusName = 'unset' | 'ok' | 'error';

/**
 * A JSON-safe attribute value. Array elements an SDK left empty become `null`; numbers that JSON
 * cannot carry exactly (int64 beyond 2^53, NaN, ±Infinity) are kept as their decimal text.
 */
export type AttributeValue =
  | string
  | number
  | boolean
  | readonly (string | number | boolean | null)[];

/** A span event (a timestamped annotation such as an exception). */
export interface SpanEventRecord {
  readonly name: string;
  /** Epoch milliseconds, fractional. */
  readonly timeMs: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/**
 * One finished span as plain data: what the waterfall draws and what the OTLP receiver stores.
 * `JSON.parse(JSON.stringify(record))` gives back an equal record. Ids are lower-case hex.
 *
 * @example
 * const record: SpanRecord = {
 *   traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7',
 *   name: 'GET /orders', kind: 'server', service: 'orders', startMs: Date.now(), durationMs: 12.5,
 *   status: 'ok', attributes: { 'http.route': '/orders' }, events: [],
 * };
 */
export interface SpanRecord {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** 16 lower-case hex digits. */
  readonly spanId: string;
  /** The parent's span id; absent for a root span. */
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: SpanKindName;
  /** The `service.name` resource attribute (`unknown_service` when the resource has none). */
  readonly service: string;
  /** Start, epoch milliseconds (fractional: sub-millisecond precision is kept). */
  readonly startMs: number;
  /** Duration in milliseconds (fractional, >= 0). */
  readonly durationMs: number;
  readonly status: SpanStatusName;
  /** The status description, when the span set one. */
  readonly statusMessage?: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly events: readonly SpanEventRecord[];
}

/** The service name used when a resource carries no `service.name`. */
export const UNKNOWN_SERVICE = 'unknown_service';

/** Indexed by the API's `SpanKind` (INTERNAL = 0 … CONSUMER = 4). */
export const SPAN_KIND_NAMES: readonly SpanKindName[] = [
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

/** Indexed by the API's `SpanStatusCode` (UNSET = 0, OK = 1, ERROR = 2), the same as OTLP's. */
export const SPAN_STATUS_NAMES: readonly SpanStatusName[] = ['unset', 'ok', 'error'];

function hrToMs(time: HrTime): number {
  return time[0] * 1e3 + time[1] / 1e6;
}

function arrayValue(value: readonly unknown[]): (string | number | boolean | null)[] {
  const out = new Array<string | number | boolean | null>(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    out[i] =
      typeof v === 'string' || typeof v === 'boolean'
        ? v
        : typeof v === 'number'
          ? Number.isFinite(v)
            ? v
            : String(v)
          : null;
  }
  return out;
}

/** Copies SDK attributes into JSON-safe ones, skipping unset values. */
export function attributesFromOtel(attributes: Attributes): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const key in attributes) {
    const v = attributes[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'number') out[key] = Number.isFinite(v) ? v : String(v);
    else if (Array.isArray(v)) out[key] = arrayValue(v);
    else out[key] = v as string | boolean;
  }
  return out;
}

/**
 * Converts a finished SDK span into a {@link SpanRecord}; the service comes from the span's
 * resource (`service.name`). Use it in a `SpanExporter` or with the SDK's `InMemorySpanExporter`
 * to draw in-process traces with {@link renderWaterfall}.
 *
 * @example
 * const memory = new InMemorySpanExporter();
 * // … run the code under test with a provider exporting to `memory` …
 * console.log(renderWaterfall(memory.getFinishedSpans().map(spanRecordFromReadable)));
 */
export function spanRecordFromReadable(span: ReadableSpan): SpanRecord {
  const ctx = span.spanContext();
  const serviceName = span.resource.attributes['service.name'];
  const parentSpanId = span.parentSpanContext?.spanId;
  const events = new Array<SpanEventRecord>(span.events.length);
  for (let i = 0; i < span.events.length; i++) {
    const e = span.events[i]!;
    events[i] = {
      name: e.name,
      timeMs: hrToMs(e.time),
      attributes: e.attributes === undefined ? {} : attributesFromOtel(e.attributes),
    };
  }
  const record: {
    -readonly [K in keyof SpanRecord]: SpanRecord[K];
  } = {
    traceId: ctx.traceId.toLowerCase(),
    spanId: ctx.spanId.toLowerCase(),
    name: span.name,
    kind: SPAN_KIND_NAMES[span.kind] ?? 'internal',
    service: typeof serviceName === 'string' && serviceName !== '' ? serviceName : UNKNOWN_SERVICE,
    startMs: hrToMs(span.startTime),
    durationMs: Math.max(0, hrToMs(span.duration)),
    status: SPAN_STATUS_NAMES[span.status.code] ?? 'unset',
    attributes: attributesFromOtel(span.attributes),
    events,
  };
  // A remote parent of all zeros is "no parent" in every propagator.
  if (parentSpanId !== undefined && parentSpanId !== '' && !/^0+$/.test(parentSpanId)) {
    record.parentSpanId = parentSpanId.toLowerCase();
  }
  if (span.status.message !== undefined && span.status.message !== '') {
    record.statusMessage = span.status.message;
  }
  return record;
}
