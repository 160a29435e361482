import { context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import { getCorrelationId } from '../correlation.js';

/** Fields {@link correlationMixin} adds to a line, named as in the OpenTelemetry logging spec. */
export interface CorrelationFields {
  /** 32 lowercase hex digits. */
  trace_id?: string;
  /** 16 lowercase hex digits. */
  span_id?: string;
  /** W3C trace flags as 2 lowercase hex digits (`'01'` when sampled). */
  trace_flags?: string;
  correlation_id?: string;
}

/**
 * Returned when the active context has neither a span nor a correlation id. It must never be
 * handed to pino's default merge strategy, which writes into the mixin's object:
 * {@link mergeCorrelation} recognises it and keeps the line's own object.
 */
const NONE: CorrelationFields = Object.freeze({});

const FLAGS_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

// The SDK's spans return the same SpanContext object on every call, so one remembered result
// spares the two regular expressions of isSpanContextValid on every line of a request.
let lastSpanContext: SpanContext | undefined;
let lastValid = false;

/**
 * pino `mixin` adding `trace_id`, `span_id`, `trace_flags` of the active span (when it is valid)
 * and `correlation_id` of the active context (when set). Reads `@opentelemetry/api` only, so it
 * works with whatever OpenTelemetry setup the service has, without patching pino. Outside a span
 * and a correlation id it allocates nothing; inside, one small object per line (pino requires a
 * fresh one). Use it with {@link mergeCorrelation} when building a pino logger by hand;
 * {@link createLogger} installs both.
 *
 * @example
 * const logger = pino({ mixin: correlationMixin, mixinMergeStrategy: mergeCorrelation });
 */
export function correlationMixin(): CorrelationFields {
  const ctx = context.active();
  const span = trace.getSpan(ctx);
  const correlationId = getCorrelationId(ctx);
  if (span !== undefined) {
    const sc = span.spanContext();
    if (sc !== lastSpanContext) {
      lastValid = isSpanContextValid(sc);
      lastSpanContext = sc;
    }
    if (lastValid) {
      const fields: CorrelationFields = {
        trace_id: sc.traceId,
        span_id: sc.spanId,
        trace_flags: FLAGS_HEX[sc.traceFlags & 0xff]!,
      };
      if (correlationId !== undefined) fields.correlation_id = correlationId;
      return fields;
    }
  }
  return correlationId === undefined ? NONE : { correlation_id: correlationId };
}

/**
 * pino `mixinMergeStrategy` for {@link correlationMixin}: the line's own fields win, as with
 * pino's default, and a line without correlation passes through untouched.
 */
export function mergeCorrelation(mergeObject: object, mixinObject: object): object {
  return mixinObject === NONE ? mergeObject : Object.assign(mixinObject, mergeObject);
}

type Mixin = (mergeObject: object, level: number, logger: never) => object;

/**
 * Composes a user's pino mixin with {@link correlationMixin}: the user's fields win over the
 * correlation fields (and the line's own fields over both, in {@link mergeCorrelation}).
 *
 * @internal
 */
export function withUserMixin<M extends Mixin>(user: M): M {
  return ((mergeObject, level, logger) => {
    const own = correlationMixin();
    const theirs = user(mergeObject, level, logger);
    return own === NONE ? theirs : Object.assign(own, theirs);
  }) as M;
}
