import { context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import { type Logger, pino } from 'pino';
import { getCorrelationId } from '../correlation.js';
import { SECRET_FIELDS } from './redact.js';

/**
 * Loggers from {@link createLogger} whose lines have the default shape (no user formatters, mixin,
 * timestamp, message key, prefix, hooks, serializers or extra redaction paths). For them the access
 * line is written as a ready JSON string, byte for byte what pino would write, without pino's
 * per-line object merging, formatter and redaction passes: the access line runs once per request,
 * and measured in a loaded server that work cost more than the rest of the instrumentation.
 */
const plainLoggers = new WeakSet<Logger>();

/** @internal Marks a logger made with the default line shape. */
export function markPlain(logger: Logger): void {
  plainLoggers.add(logger);
}

const LEVEL_VALUES = { info: 30, warn: 40, error: 50 } as const;
const LEVEL_PREFIX = {
  info: '{"level":"info","time":',
  warn: '{"level":"warn","time":',
  error: '{"level":"error","time":',
} as const;
const CORE_KEYS = new Set(['method', 'route', 'status', 'duration_ms', 'msg']);
const SECRETS: ReadonlySet<string> = new Set(SECRET_FIELDS);
const FLAGS_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);
const { chindingsSym, streamSym } = pino.symbols;

/**
 * Writes the access line directly when the logger allows it; returns false when pino must do it
 * (a customised logger, or an extra field that is not a plain string, number or boolean, or whose
 * name is a secret field to redact).
 *
 * @internal
 */
export function writePlainAccessLine(
  logger: Logger,
  level: 'info' | 'warn' | 'error',
  method: string,
  route: string | undefined,
  status: number,
  durationMs: number,
  extra: Readonly<Record<string, unknown>> | undefined,
): boolean {
  if (!plainLoggers.has(logger)) return false;
  let tail = '';
  if (extra !== undefined) {
    for (const key in extra) {
      if (!Object.hasOwn(extra, key) || CORE_KEYS.has(key)) continue;
      if (SECRETS.has(key)) return false;
      const v = extra[key];
      if (typeof v === 'string') tail += `,${JSON.stringify(key)}:${JSON.stringify(v)}`;
      else if (typeof v === 'number' && Number.isFinite(v)) tail += `,${JSON.stringify(key)}:${v}`;
      else if (typeof v === 'boolean') tail += `,${JSON.stringify(key)}:${v}`;
      else return false;
    }
  }
  const ctx = context.active();
  writeLine(
    logger,
    level,
    trace.getSpan(ctx)?.spanContext(),
    getCorrelationId(ctx),
    method,
    route,
    status,
    durationMs,
    tail,
  );
  return true;
}

/** JSON of a string, cached: methods and route templates repeat on every request. */
const quoted = new Map<string, string>();
function quote(v: string): string {
  let q = quoted.get(v);
  if (q === undefined) {
    q = JSON.stringify(v);
    if (quoted.size < 4096) quoted.set(v, q);
  }
  return q;
}

/** @internal The access line's level for a status: error for 5xx, warn for 4xx, info otherwise. */
export function accessLevelOf(status: number): 'info' | 'warn' | 'error' {
  return status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

/**
 * The access line of one request, from what the instrumentation measured (span context and
 * correlation id included, so no context lookup): the same bytes as {@link writePlainAccessLine}
 * inside the request's context. Only for a logger {@link isPlainLogger} accepts, which the caller
 * checks once rather than on every request.
 *
 * @internal
 */
export function writeRequestLine(
  logger: Logger,
  spanContext: SpanContext,
  correlationId: string,
  method: string,
  route: string | undefined,
  status: number,
  durationMs: number,
  path: string,
): void {
  writeLine(
    logger,
    accessLevelOf(status),
    spanContext,
    correlationId,
    method,
    route,
    status,
    durationMs,
    `,"path":${JSON.stringify(path)}`,
  );
}

/** The one place the access line's bytes are put together (pino's shape for a default logger). */
function writeLine(
  logger: Logger,
  level: 'info' | 'warn' | 'error',
  sc: SpanContext | undefined,
  correlationId: string | undefined,
  method: string,
  route: string | undefined,
  status: number,
  durationMs: number,
  tail: string,
): void {
  if (logger.levelVal > LEVEL_VALUES[level]) return; // disabled: nothing to write
  let line =
    LEVEL_PREFIX[level] + Date.now() + (logger as unknown as Record<symbol, string>)[chindingsSym];
  if (sc !== undefined && isSpanContextValid(sc)) {
    line += `,"trace_id":"${sc.traceId}","span_id":"${sc.spanId}","trace_flags":"${FLAGS_HEX[sc.traceFlags & 0xff]}"`;
  }
  if (correlationId !== undefined) line += `,"correlation_id":${JSON.stringify(correlationId)}`;
  line += `,"method":${quote(method)}`;
  if (route !== undefined) line += `,"route":${quote(route)}`;
  line += `,"status":${status},"duration_ms":${Math.round(durationMs * 1000) / 1000}${tail},"msg":"request completed"}\n`;
  (logger as unknown as Record<symbol, { write(s: string): unknown }>)[streamSym]!.write(line);
}

/** @internal True for loggers whose lines {@link writeRequestLine} can write. */
export function isPlainLogger(logger: Logger): boolean {
  return plainLoggers.has(logger);
}
