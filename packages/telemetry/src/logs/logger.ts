import { fstatSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  booleanOption,
  describe,
  enumOption,
  numberOption,
  optionsObject,
} from '@nines/resilience/options';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { correlationMixin, mergeCorrelation, withUserMixin } from './correlation.js';
import { markPlain } from './fast-line.js';
import { type RedactOptions, redaction } from './redact.js';
import { isSonicBoom, type SonicBoomLike, streamOf } from './stream.js';

/** pino's logger (what {@link createLogger} returns) and destination stream types. */
export type { DestinationStream, Logger } from 'pino';

/** Log levels, most severe first; `'silent'` logs nothing. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * The pino options passed through unchanged (with `formatters.log`, `formatters.bindings` and
 * `mixin` composed with the logger's own redaction and correlation): `serializers`, `timestamp`,
 * `messageKey`, `errorKey`, `msgPrefix`, `hooks`, `formatters`, `mixin`.
 */
export type PinoPassThrough = Pick<
  LoggerOptions<never, false>,
  | 'serializers'
  | 'timestamp'
  | 'messageKey'
  | 'errorKey'
  | 'msgPrefix'
  | 'hooks'
  | 'formatters'
  | 'mixin'
>;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions extends PinoPassThrough {
  /** Name of the service; every line carries it as `service`. Required. */
  service: string;
  /** Least severe level written; default `'info'`. */
  level?: LogLevel;
  /**
   * Where lines go: a file path (opened for appending at once, so a bad path fails here), a file
   * descriptor, or any pino `DestinationStream`, e.g. `pino.destination({ dest: path })` for a
   * file to `reopen()` after rotation. Default stdout (fd 1).
   */
  destination?: string | number | DestinationStream;
  /**
   * Write each line before the log call returns (default false). Synchronous writes lose nothing
   * on a crash but stall the service when the destination is slow; asynchronous writes (SonicBoom)
   * keep serving and are flushed on exit and by {@link handleFatalErrors}. Only for a path or fd.
   */
  sync?: boolean;
  /**
   * Bound, in bytes, of the lines waiting for a slow destination (asynchronous path or fd only).
   * A line that would pass it is dropped whole, counted in {@link loggerStats}, and reported by a
   * warning line once the destination catches up: memory stays bounded and the service keeps
   * serving, at the price of those lines. Without a bound a destination slower than the logging
   * grows the heap by everything logged meanwhile. Default 16 MiB; `Infinity` for no bound.
   */
  maxBufferBytes?: number;
  /**
   * Redaction, on by default (see {@link DEFAULT_REDACT_PATHS} and {@link SECRET_FIELDS}); `false`
   * turns it off.
   */
  redact?: boolean | RedactOptions;
  /** Extra fields on every line, after `pid` and `hostname` (set one to undefined to drop it). */
  base?: Readonly<Record<string, unknown>>;
}

/** Counters of a logger's destination, shared by its children. */
export interface LoggerStats {
  /** Lines dropped because the buffer was full ({@link CreateLoggerOptions.maxBufferBytes}). */
  readonly droppedLines: number;
  /** Write errors from the destination (the first one also raises a process warning). */
  readonly writeErrors: number;
}

interface DestinationState {
  droppedLines: number;
  writeErrors: number;
}

const OWNER = 'createLogger';
const KNOWN = [
  'service',
  'level',
  'destination',
  'sync',
  'maxBufferBytes',
  'redact',
  'base',
  'serializers',
  'timestamp',
  'messageKey',
  'errorKey',
  'msgPrefix',
  'hooks',
  'formatters',
  'mixin',
] as const;
const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
const states = new WeakMap<object, DestinationState>();

/**
 * Creates a pino logger writing one JSON object per line, with `service` on every line, the level
 * as its name (`"level":"info"`), `trace_id` / `span_id` / `trace_flags` / `correlation_id` from
 * the active OpenTelemetry context ({@link correlationMixin}), and credentials redacted.
 *
 * Redaction by default covers `authorization`, `proxy-authorization`, `cookie` and `set-cookie`
 * in `req.headers`, `res.headers`, `headers` and at the top level, and {@link SECRET_FIELDS} at the
 * top level and one level down in plain objects (`{ user: { password } }`), not deeper and not
 * inside arrays; child bindings get the paths but not the one-level-down fields. The object
 * logged is never changed. Paths are case-sensitive.
 *
 * @example
 * const logger = createLogger({ service: 'orders', destination: '/var/log/orders.log' });
 * logger.info({ orderId }, 'order placed');
 * // {"level":"info","time":…,"pid":…,"hostname":"…","service":"orders","trace_id":"…",…}
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  if (options === undefined) {
    throw new TypeError(`${OWNER}: options must be an object with at least "service"`);
  }
  const o = optionsObject<CreateLoggerOptions>(OWNER, options, KNOWN);
  if (typeof o.service !== 'string' || o.service.trim() === '') {
    throw new TypeError(
      `${OWNER}: option "service" must be a non-empty string, got ${describe(o.service)}`,
    );
  }
  const level = enumOption(OWNER, 'level', o.level, 'info', LEVELS);
  const redact = redaction(OWNER, o.redact);
  const base = baseOption(o.base, o.service);
  const sync = booleanOption(OWNER, 'sync', o.sync, false);
  const maxBufferBytes = numberOption(
    OWNER,
    'maxBufferBytes',
    o.maxBufferBytes,
    DEFAULT_MAX_BUFFER_BYTES,
    { min: 1, integer: true, infinite: true },
  );
  for (const name of ['serializers', 'formatters', 'hooks'] as const) {
    const v = o[name];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      throw new TypeError(`${OWNER}: option "${name}" must be an object, got ${describe(v)}`);
    }
  }
  for (const name of ['messageKey', 'errorKey', 'msgPrefix'] as const) {
    const v = o[name];
    if (v !== undefined && typeof v !== 'string') {
      throw new TypeError(`${OWNER}: option "${name}" must be a string, got ${describe(v)}`);
    }
  }
  if (o.mixin !== undefined && typeof o.mixin !== 'function') {
    throw new TypeError(`${OWNER}: option "mixin" must be a function, got ${describe(o.mixin)}`);
  }
  if (
    o.timestamp !== undefined &&
    typeof o.timestamp !== 'boolean' &&
    typeof o.timestamp !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: option "timestamp" must be a boolean or a function, got ${describe(o.timestamp)}`,
    );
  }

  const stream = destinationOption(o, sync, maxBufferBytes);
  const userFormatters = o.formatters ?? {};
  const userLog = userFormatters.log;
  const nested = redact.nested;
  const userMixin = o.mixin;

  const pinoOptions: LoggerOptions<never, false> = {
    level,
    base,
    mixin: userMixin === undefined ? correlationMixin : withUserMixin(userMixin),
    mixinMergeStrategy: mergeCorrelation,
    formatters: {
      // Computed once per level by pino (its level cache), not per line.
      level: (label) => ({ level: label }),
      ...userFormatters,
      ...(nested === undefined
        ? {}
        : {
            // Redaction runs last, so fields added by the user's formatter are covered too.
            log: userLog === undefined ? nested : (obj) => nested(userLog(obj)),
            bindings: (bindings) =>
              nested((userFormatters.bindings?.(bindings) ?? bindings) as Record<string, unknown>),
          }),
    },
  };
  if (redact.pino !== undefined) pinoOptions.redact = redact.pino;
  if (o.serializers !== undefined) pinoOptions.serializers = o.serializers;
  if (o.timestamp !== undefined) pinoOptions.timestamp = o.timestamp;
  if (o.messageKey !== undefined) pinoOptions.messageKey = o.messageKey;
  if (o.errorKey !== undefined) pinoOptions.errorKey = o.errorKey;
  if (o.msgPrefix !== undefined) pinoOptions.msgPrefix = o.msgPrefix;
  if (o.hooks !== undefined) pinoOptions.hooks = o.hooks;

  const logger = pino(pinoOptions, stream);
  const extraPaths =
    typeof o.redact === 'object' && o.redact !== null && (o.redact.paths?.length ?? 0) > 0;
  if (
    o.formatters === undefined &&
    o.mixin === undefined &&
    o.timestamp === undefined &&
    o.messageKey === undefined &&
    o.msgPrefix === undefined &&
    o.hooks === undefined &&
    o.serializers === undefined &&
    !extraPaths
  ) {
    markPlain(logger);
  }
  if (isSonicBoom(stream) && !states.has(stream)) watchDestination(stream, logger);
  return logger;
}

/**
 * The counters of `logger`'s destination (zero for a destination that {@link createLogger} did
 * not open).
 *
 * @example
 * const { droppedLines } = loggerStats(logger); // 0 while the destination keeps up
 */
export function loggerStats(logger: Logger): LoggerStats {
  const state = states.get(streamOf(logger) as object);
  return { droppedLines: state?.droppedLines ?? 0, writeErrors: state?.writeErrors ?? 0 };
}

function baseOption(value: unknown, service: string): Record<string, unknown> {
  const base: Record<string, unknown> = { pid: process.pid, hostname: hostname() };
  if (value !== undefined) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new TypeError(`${OWNER}: option "base" must be an object, got ${describe(value)}`);
    }
    if (Object.hasOwn(value, 'service')) {
      throw new TypeError(`${OWNER}: option "base" must not set "service" (use option "service")`);
    }
    Object.assign(base, value);
  }
  base.service = service;
  return base;
}

function destinationOption(
  o: Partial<CreateLoggerOptions>,
  sync: boolean,
  maxBufferBytes: number,
): DestinationStream {
  const dest = o.destination === undefined ? 1 : o.destination;
  if (typeof dest === 'object' && dest !== null && typeof dest.write === 'function') {
    for (const name of ['sync', 'maxBufferBytes'] as const) {
      if (o[name] !== undefined) {
        throw new TypeError(
          `${OWNER}: option "${name}" applies to a file path or descriptor, not to a stream passed as "destination"`,
        );
      }
    }
    return dest;
  }
  const maxLength = maxBufferBytes === Number.POSITIVE_INFINITY ? 0 : maxBufferBytes;
  if (typeof dest === 'string' && dest !== '') {
    // Open (and create) the file here rather than let SonicBoom open the path asynchronously:
    // a bad path fails this call instead of surfacing later as an 'error' event, and a crash
    // right after start-up can still flush its fatal line (SonicBoom cannot flush before its
    // file is open). The cost: no SonicBoom reopen() for log rotation; pass
    // pino.destination({ dest: path }) as "destination" for that.
    let fd: number;
    try {
      fd = openSync(dest, 'a');
    } catch (err) {
      throw new Error(
        `${OWNER}: option "destination" cannot be opened for appending: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return pino.destination({ dest: fd, sync, maxLength });
  }
  if (typeof dest === 'number' && Number.isInteger(dest) && dest >= 0) {
    try {
      fstatSync(dest);
    } catch (err) {
      throw new Error(
        `${OWNER}: option "destination" is not an open file descriptor: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return pino.destination({ dest, sync, maxLength });
  }
  throw new TypeError(
    `${OWNER}: option "destination" must be a file path, a file descriptor or a stream with write(), got ${describe(dest)}`,
  );
}

/**
 * Counts dropped lines and write errors of a SonicBoom made here. A drop is reported by one
 * warning line once the destination has caught up ('drain'), not per dropped line: logging from
 * inside the write that overflowed would only overflow again.
 */
function watchDestination(stream: SonicBoomLike, logger: Logger): void {
  const state: DestinationState = { droppedLines: 0, writeErrors: 0 };
  states.set(stream, state);
  let unreported = 0;
  let lastError: unknown;
  const report = (): void => {
    const dropped = unreported;
    unreported = 0;
    if (stream.destroyed) return;
    try {
      logger.warn(
        { dropped_lines: dropped, dropped_lines_total: state.droppedLines },
        'log lines dropped: the log destination is too slow',
      );
    } catch {
      // The destination is closing: nothing left to tell.
    }
  };
  stream.on('drop', () => {
    state.droppedLines++;
    if (unreported++ === 0) stream.once('drain', report);
  });
  stream.on('error', (err: Error) => {
    // pino re-emits the first error from its own listener: count each error once.
    if (err === lastError) return;
    lastError = err;
    if (state.writeErrors++ === 0) {
      process.emitWarning(`log destination failed: ${err.message}`, {
        code: 'NINES_LOG_DESTINATION',
      });
    }
  });
}
