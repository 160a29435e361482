/**
 * A W3C Trace Context propagator for OpenTelemetry, written to the official test suite's strict
 * level and Level 2 (restated in test/w3c-suite.test.ts): strict traceparent parsing, whole-header
 * tracestate discard, and the random-trace-id flag carried through a service (the SDK drops it).
 */

import { booleanOption, optionsObject } from '@nines/resilience/options';
import {
  type Context,
  createContextKey,
  defaultTextMapGetter,
  isSpanContextValid,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import {
  isValidSpanId,
  isValidTraceId,
  parseTraceparent,
  TRACE_FLAG_RANDOM,
  TRACE_FLAG_SAMPLED,
  traceparentOf,
} from './traceparent.js';
import { isEmptyTraceState, parseTracestate } from './tracestate.js';

/** Header carrying the trace id, the caller's span id and the flags. */
export const TRACEPARENT_HEADER = 'traceparent';
/** Header carrying vendor-specific trace state. */
export const TRACESTATE_HEADER = 'tracestate';

/** Options of {@link W3CTraceContextPropagator}. */
export interface W3CTraceContextPropagatorOptions {
  /**
   * Whether trace ids of traces started in this process are random (at least their right-most 7
   * bytes), so outgoing headers of those traces carry the Level 2 random flag (0x02). True by
   * default: the OTel SDK's id generator is random. Set false with a custom, non-random
   * `IdGenerator`. Traces continued from an incoming header keep the flag as it came.
   */
  readonly randomTraceIds?: boolean;
}

/** What `extract` saw of an incoming trace, kept because the SDK does not carry the random flag. */
interface ExtractedTrace {
  readonly traceId: string;
  readonly random: boolean;
}

const EXTRACTED_KEY = createContextKey('nines.w3c.extracted_trace');

/**
 * Like the API's default setter, but it does not throw for carriers that cannot hold a property:
 * the API's writes `carrier[key] = value`, which throws in strict mode on a number, a string or a
 * frozen object. Reflect.set reports those with `false` instead.
 */
const objectSetter: TextMapSetter<unknown> = {
  set(carrier, key, value) {
    if ((typeof carrier === 'object' && carrier !== null) || typeof carrier === 'function') {
      Reflect.set(carrier, key, value);
    }
  },
};
const OWNER = 'W3CTraceContextPropagator';
const KNOWN_OPTIONS: readonly string[] = ['randomTraceIds'];

/**
 * Propagates the span context with the W3C `traceparent` and `tracestate` headers.
 *
 * - `extract`: an invalid `traceparent` leaves the context unchanged (a new trace starts) and
 *   `tracestate` is then not even read, as the processing model requires. A valid one becomes a
 *   remote span context (sampled bit only in `traceFlags`) with the parsed tracestate, if valid.
 * - `inject`: writes `traceparent` (version 00) for a valid span context, and `tracestate` when
 *   not empty. Nothing is written while tracing is suppressed (e.g. an exporter's own requests).
 * - Random flag (0x02): kept as received for the trace it came with; for traces started here it is
 *   set when `randomTraceIds` is true (the default).
 *
 * The getter is expected to look header names up case-insensitively; Node's `IncomingHttpHeaders`
 * (lowercase keys, duplicate headers joined with `, `) works with the default getter.
 *
 * @example
 * import { propagation } from '@opentelemetry/api';
 * propagation.setGlobalPropagator(new W3CTraceContextPropagator());
 * // in a handler
 * const ctx = propagation.extract(context.active(), req.headers);
 */
export class W3CTraceContextPropagator implements TextMapPropagator<unknown> {
  private readonly randomTraceIds: boolean;

  /** @throws TypeError naming the option when an option is invalid or unknown. */
  constructor(options?: W3CTraceContextPropagatorOptions) {
    const o = optionsObject<W3CTraceContextPropagatorOptions>(OWNER, options, KNOWN_OPTIONS);
    this.randomTraceIds = booleanOption(OWNER, 'randomTraceIds', o.randomTraceIds, true);
  }

  /**
   * Writes the headers of the span context in `ctx` into `carrier`. Never throws by itself (a
   * throwing setter is the caller's); the default setter writes object properties and ignores
   * carriers that cannot take one (undefined, numbers, frozen objects).
   */
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter<unknown> = objectSetter): void {
    const sc = trace.getSpanContext(ctx);
    if (sc === undefined || isTracingSuppressed(ctx)) return;
    let traceId = sc.traceId;
    let spanId = sc.spanId;
    if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) {
      // The API accepts uppercase hex; the header does not, so send it lowercased.
      if (!isSpanContextValid(sc)) return;
      traceId = traceId.toLowerCase();
      spanId = spanId.toLowerCase();
    }
    const flags = sc.traceFlags & TRACE_FLAG_SAMPLED;
    const extracted = ctx.getValue(EXTRACTED_KEY) as ExtractedTrace | undefined;
    let random: boolean;
    if (extracted !== undefined && extracted.traceId === traceId) {
      random = extracted.random;
    } else if (sc.isRemote === true) {
      // A remote parent this propagator did not extract: keep its own bit, vouch for nothing.
      random = (sc.traceFlags & TRACE_FLAG_RANDOM) !== 0;
    } else {
      random = this.randomTraceIds;
    }
    setter.set(
      carrier,
      TRACEPARENT_HEADER,
      traceparentOf(traceId, spanId, random ? flags | TRACE_FLAG_RANDOM : flags),
    );
    const state = sc.traceState;
    if (state !== undefined && state !== null) {
      const serialized = state.serialize();
      if (typeof serialized === 'string' && serialized.length > 0) {
        setter.set(carrier, TRACESTATE_HEADER, serialized);
      }
    }
  }

  /**
   * Returns `ctx` with the remote span context read from `carrier`, or `ctx` itself when there is
   * no valid `traceparent`. Never throws by itself; header values that are not strings count as
   * invalid.
   */
  extract(
    ctx: Context,
    carrier: unknown,
    getter: TextMapGetter<unknown> = defaultTextMapGetter,
  ): Context {
    const parent = parseTraceparent(getter.get(carrier, TRACEPARENT_HEADER));
    if (parent === null) return ctx;
    const header = getter.get(carrier, TRACESTATE_HEADER);
    const state = header === undefined ? null : parseTracestate(header);
    const spanContext: SpanContext = {
      traceId: parent.traceId,
      spanId: parent.parentId,
      // The SDK reads traceFlags as "sampled or not"; the random bit is kept aside (below).
      traceFlags: parent.flags & TRACE_FLAG_SAMPLED,
      isRemote: true,
      traceState: state === null || isEmptyTraceState(state) ? undefined : state,
    };
    const extracted: ExtractedTrace = {
      traceId: parent.traceId,
      random: (parent.flags & TRACE_FLAG_RANDOM) !== 0,
    };
    return trace.setSpanContext(ctx.setValue(EXTRACTED_KEY, extracted), spanContext);
  }

  /** The headers this propagator reads and writes. */
  fields(): string[] {
    return [TRACEPARENT_HEADER, TRACESTATE_HEADER];
  }
}

/**
 * A ready {@link W3CTraceContextPropagator} with default options.
 *
 * @example
 * propagation.setGlobalPropagator(w3cPropagator);
 */
export const w3cPropagator: W3CTraceContextPropagator = new W3CTraceContextPropagator();
