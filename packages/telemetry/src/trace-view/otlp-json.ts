import {
  type AttributeValue,
  SPAN_KIND_NAMES,
  SPAN_STATUS_NAMES,
  type SpanEventRecord,
  type SpanKindName,
  type SpanRecord,
  UNKNOWN_SERVICE,
} from './span-record.js';

/**
 * Thrown by {@link spanRecordsFromOtlpJson} when the request as a whole is not an
 * `ExportTraceServiceRequest` (a receiver answers 400). Problems in single spans do not throw:
 * those spans are counted as rejected instead.
 */
export class OtlpFormatError extends Error {
  readonly code = 'EOTLPFORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'OtlpFormatError';
  }
}

/** What {@link spanRecordsFromOtlpJson} made of a request. */
export interface OtlpDecodeResult {
  /** The valid spans, in request order. */
  readonly spans: SpanRecord[];
  /** How many spans were invalid and left out. */
  readonly rejected: number;
  /** Why, one message per rejected span (capped at {@link MAX_REJECT_MESSAGES}). */
  readonly errors: string[];
}

/** At most this many rejection messages are kept per request. */
export const MAX_REJECT_MESSAGES = 10;

// OTLP's SpanKind: 0 UNSPECIFIED (treated as internal, as the spec says), 1 INTERNAL, 2 SERVER,
// 3 CLIENT, 4 PRODUCER, 5 CONSUMER: the API's numbering shifted by one.
const OTLP_KINDS: readonly SpanKindName[] = ['internal', ...SPAN_KIND_NAMES];

const ZERO_SPAN_ID = '0000000000000000';

/**
 * Lower-cases `value` when it is `length` hex digits and not all zero (the W3C invalid id);
 * OTLP/JSON ids are case-insensitive hex. Returns undefined otherwise.
 */
export function normalizeHexId(value: unknown, length: 16 | 32): string | undefined {
  if (typeof value !== 'string' || value.length !== length) return undefined;
  let nonZero = false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    // 0-9, A-F, a-f
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return undefined;
    if (c !== 48) nonZero = true;
  }
  return nonZero ? value.toLowerCase() : undefined;
}

const DIGITS = /^\d{1,20}$/;

/**
 * A `fixed64` nanosecond timestamp (a decimal string, or a number) as nanoseconds since the
 * epoch in a bigint, or undefined when it is neither. Kept as bigint so that a duration of one
 * nanosecond survives epoch-sized values.
 */
function nanos(value: unknown): bigint | undefined {
  if (typeof value === 'string') return DIGITS.test(value) ? BigInt(value) : undefined;
  // A number past 2^53 (any nanosecond timestamp today) has lost its low digits already, but
  // keeps microseconds, which is all a waterfall needs.
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
  return undefined;
}

function nanosToMs(value: bigint): number {
  // Whole microseconds first so that the division by 1000 is the only rounding step.
  return Number(value / 1000n) / 1000 + Number(value % 1000n) / 1e6;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const INT64 = /^-?\d{1,20}$/;

function scalar(value: Record<string, unknown>): string | number | boolean | null | undefined {
  const s = value.stringValue;
  if (typeof s === 'string') return s;
  const b = value.boolValue;
  if (typeof b === 'boolean') return b;
  const i = value.intValue;
  if (typeof i === 'number' && Number.isInteger(i)) return i;
  if (typeof i === 'string' && INT64.test(i)) {
    const n = Number(i);
    return Number.isSafeInteger(n) ? n : i;
  }
  const d = value.doubleValue;
  if (typeof d === 'number') return d;
  if (typeof d === 'string') {
    // The proto JSON mapping writes NaN and the infinities as strings; JSON has no other way.
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return d;
    const n = Number(d);
    return d.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  const bytes = value.bytesValue;
  if (typeof bytes === 'string') return bytes; // base64, as sent
  return undefined;
}

function anyValue(value: unknown): AttributeValue | undefined {
  if (!isObject(value)) return undefined;
  const s = scalar(value);
  if (s !== undefined && s !== null) return s;
  const array = value.arrayValue;
  if (isObject(array)) {
    const values = Array.isArray(array.values) ? array.values : [];
    const out = new Array<string | number | boolean | null>(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!isObject(v)) {
        out[i] = null;
        continue;
      }
      const inner = scalar(v);
      // Nested arrays and maps are kept as JSON text: attribute arrays are flat by definition.
      out[i] = inner !== undefined ? inner : nestedJson(v);
    }
    return out;
  }
  if (isObject(value.kvlistValue)) return nestedJson(value) ?? undefined;
  return undefined;
}

function nestedJson(value: Record<string, unknown>): string | null {
  const plain = plainValue(value, 0);
  return plain === undefined ? null : JSON.stringify(plain);
}

/** An AnyValue as plain JSON, depth-limited so that hostile nesting cannot exhaust the stack. */
function plainValue(value: unknown, depth: number): unknown {
  if (!isObject(value) || depth > 16) return undefined;
  const s = scalar(value);
  if (s !== undefined) return s;
  if (isObject(value.arrayValue)) {
    const values = value.arrayValue.values;
    return Array.isArray(values) ? values.map((v) => plainValue(v, depth + 1) ?? null) : [];
  }
  if (isObject(value.kvlistValue)) {
    const out: Record<string, unknown> = {};
    const values = value.kvlistValue.values;
    if (Array.isArray(values)) {
      for (const kv of values) {
        if (isObject(kv) && typeof kv.key === 'string') {
          out[kv.key] = plainValue(kv.value, depth + 1) ?? null;
        }
      }
    }
    return out;
  }
  return undefined;
}

/** `KeyValue[]` to a record; entries without a key or a value are skipped. */
function attributes(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (!isObject(kv) || typeof kv.key !== 'string') continue;
    const v = anyValue(kv.value);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

function serviceOf(resource: unknown): string {
  if (!isObject(resource) || !Array.isArray(resource.attributes)) return UNKNOWN_SERVICE;
  for (const kv of resource.attributes) {
    if (isObject(kv) && kv.key === 'service.name' && isObject(kv.value)) {
      const name = kv.value.stringValue;
      if (typeof name === 'string' && name !== '') return name;
    }
  }
  return UNKNOWN_SERVICE;
}

function listField(
  owner: Record<string, unknown>,
  key: string,
  snakeKey: string,
  where: string,
): unknown[] {
  const value = owner[key];
  if (value === undefined || value === null) {
    // Ignoring it as an unknown field would answer 200 and store nothing: say what is wrong.
    if (owner[snakeKey] !== undefined) {
      throw new OtlpFormatError(
        `${where}: OTLP/JSON keys are lowerCamelCase: "${key}", not "${snakeKey}"`,
      );
    }
    return [];
  }
  if (!Array.isArray(value)) {
    throw new OtlpFormatError(`${where}.${key} must be an array, got ${typeof value}`);
  }
  return value;
}

/** Converts one OTLP span, or returns why it is invalid. */
function spanRecord(span: unknown, service: string): SpanRecord | string {
  if (!isObject(span)) return 'span is not an object';
  const traceId = normalizeHexId(span.traceId, 32);
  if (traceId === undefined) return `invalid traceId ${short(span.traceId)}`;
  const spanId = normalizeHexId(span.spanId, 16);
  if (spanId === undefined) return `invalid spanId ${short(span.spanId)}`;
  let parentSpanId: string | undefined;
  const rawParent = span.parentSpanId;
  if (rawParent !== undefined && rawParent !== null && rawParent !== '') {
    parentSpanId = normalizeHexId(rawParent, 16);
    if (parentSpanId === undefined && rawParent !== ZERO_SPAN_ID) {
      return `span ${spanId}: invalid parentSpanId ${short(rawParent)}`;
    }
  }
  const name = span.name ?? '';
  if (typeof name !== 'string') return `span ${spanId}: name must be a string`;
  const rawKind = span.kind ?? 0;
  const kind = typeof rawKind === 'number' ? OTLP_KINDS[rawKind] : undefined;
  if (kind === undefined) {
    return `span ${spanId}: kind must be an integer 0-5 (OTLP/JSON encodes enums as integers), got ${short(rawKind)}`;
  }
  const start = nanos(span.startTimeUnixNano);
  const end = nanos(span.endTimeUnixNano);
  if (start === undefined || start === 0n) {
    return `span ${spanId}: startTimeUnixNano must be a positive int64, got ${short(span.startTimeUnixNano)}`;
  }
  if (end === undefined || end < start) {
    return `span ${spanId}: endTimeUnixNano must be an int64 not before the start, got ${short(span.endTimeUnixNano)}`;
  }
  let status: SpanRecord['status'] = 'unset';
  let statusMessage: string | undefined;
  if (isObject(span.status)) {
    const code = span.status.code ?? 0;
    const named = typeof code === 'number' ? SPAN_STATUS_NAMES[code] : undefined;
    if (named === undefined) {
      return `span ${spanId}: status.code must be 0, 1 or 2, got ${short(code)}`;
    }
    status = named;
    const message = span.status.message;
    if (typeof message === 'string' && message !== '') statusMessage = message;
  }
  const rawEvents = Array.isArray(span.events) ? span.events : [];
  const events: SpanEventRecord[] = [];
  for (const e of rawEvents) {
    if (!isObject(e)) continue;
    const time = nanos(e.timeUnixNano);
    events.push({
      name: typeof e.name === 'string' ? e.name : '',
      timeMs: time === undefined ? nanosToMs(start) : nanosToMs(time),
      attributes: attributes(e.attributes),
    });
  }
  return {
    traceId,
    spanId,
    ...(parentSpanId === undefined ? {} : { parentSpanId }),
    name,
    kind,
    service,
    startMs: nanosToMs(start),
    durationMs: Number(end - start) / 1e6,
    status,
    ...(statusMessage === undefined ? {} : { statusMessage }),
    attributes: attributes(span.attributes),
    events,
  };
}

function short(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/**
 * Converts a parsed OTLP/HTTP JSON `ExportTraceServiceRequest` into {@link SpanRecord}s.
 * Ids are case-insensitive hex, int64 values may be strings or numbers, enums are integers and
 * unknown fields are ignored (the OTLP/JSON rules). An invalid span (bad ids, missing times) is
 * left out and counted in `rejected`; a request that is not shaped like an export request at all
 * throws {@link OtlpFormatError}.
 *
 * @example
 * const { spans, rejected } = spanRecordsFromOtlpJson(JSON.parse(body));
 */
export function spanRecordsFromOtlpJson(request: unknown): OtlpDecodeResult {
  if (!isObject(request)) {
    throw new OtlpFormatError(
      `an ExportTraceServiceRequest must be a JSON object, got ${Array.isArray(request) ? 'an array' : short(request)}`,
    );
  }
  const spans: SpanRecord[] = [];
  const errors: string[] = [];
  let rejected = 0;
  const resourceSpans = listField(request, 'resourceSpans', 'resource_spans', 'request');
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = resourceSpans[r];
    const where = `resourceSpans[${r}]`;
    if (!isObject(rs)) throw new OtlpFormatError(`${where} must be an object`);
    const service = serviceOf(rs.resource);
    const scopeSpans = listField(rs, 'scopeSpans', 'scope_spans', where);
    for (let s = 0; s < scopeSpans.length; s++) {
      const ss = scopeSpans[s];
      if (!isObject(ss)) throw new OtlpFormatError(`${where}.scopeSpans[${s}] must be an object`);
      for (const span of listField(ss, 'spans', 'spans', `${where}.scopeSpans[${s}]`)) {
        const record = spanRecord(span, service);
        if (typeof record === 'string') {
          rejected++;
          if (errors.length < MAX_REJECT_MESSAGES) errors.push(record);
        } else {
          spans.push(record);
        }
      }
    }
  }
  return { spans, rejected, errors };
}
