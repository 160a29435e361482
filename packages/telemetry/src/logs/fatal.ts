import { describe, numberOption, optionsObject } from '@nines/resilience/options';
import { type Logger, pino } from 'pino';
import { assertLogger, streamOf } from './stream.js';

/** The two process events {@link handleFatalErrors} listens to. */
export type FatalEvent = 'uncaughtException' | 'unhandledRejection';

/** Where the fatal events come from: `process`, or an EventEmitter in tests. */
export interface FatalEventSource {
  on(event: FatalEvent, listener: (error: unknown, origin?: unknown) => void): unknown;
  removeListener(event: FatalEvent, listener: (error: unknown, origin?: unknown) => void): unknown;
}

/** Options of {@link handleFatalErrors}. */
export interface FatalErrorOptions {
  /** Ends the process; default `process.exit`. */
  exit?: (code: number) => void;
  /** Default 1. */
  exitCode?: number;
  /** Default `process`. */
  source?: FatalEventSource;
}

const OWNER = 'handleFatalErrors';
const KNOWN = ['exit', 'exitCode', 'source'] as const;

/**
 * Makes an uncaught exception or unhandled rejection end the process with its reason on record:
 * logs it at `fatal` (under the logger's error key, with `origin`), writes out every queued line
 * synchronously, then exits with code 1. Without it the crash reaches only stderr, as a stack
 * trace outside the JSON logs. (The queued lines of a SonicBoom destination are written either
 * way, by pino's exit hook; the synchronous flush here also covers other streams that have
 * `flushSync`, such as `pino.multistream`.) Returns a disposer that removes the handlers.
 *
 * Installing an `uncaughtException` listener replaces Node's default crash, so `exit` must end
 * the process (the default does).
 *
 * @example
 * const logger = createLogger({ service: 'orders' });
 * const dispose = handleFatalErrors(logger);
 */
export function handleFatalErrors(logger: Logger, options?: FatalErrorOptions): () => void {
  assertLogger(OWNER, logger);
  const o = optionsObject<FatalErrorOptions>(OWNER, options, KNOWN);
  if (o.exit !== undefined && typeof o.exit !== 'function') {
    throw new TypeError(`${OWNER}: option "exit" must be a function, got ${describe(o.exit)}`);
  }
  const exitCode = numberOption(OWNER, 'exitCode', o.exitCode, 1, { integer: true, max: 255 });
  const source = o.source === undefined ? process : o.source;
  if (
    source === null ||
    typeof source !== 'object' ||
    typeof source.on !== 'function' ||
    typeof source.removeListener !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: option "source" must have on() and removeListener(), got ${describe(source)}`,
    );
  }
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const errorKey =
    ((logger as unknown as Record<symbol, unknown>)[pino.symbols.errorKeySym] as string) ?? 'err';

  const fatal = (error: unknown, origin: FatalEvent): void => {
    try {
      logger.fatal(
        { [errorKey]: error, origin },
        origin === 'uncaughtException' ? 'uncaught exception' : 'unhandled rejection',
      );
      // pino's fatal() already flushes a SonicBoom; this covers other streams with flushSync
      // (pino.multistream) and a logger whose fatal level is disabled.
      const stream = streamOf(logger) as { flushSync?: () => void };
      if (typeof stream.flushSync === 'function') stream.flushSync();
    } catch {
      // Nothing may keep a crashed process from exiting.
    }
    exit(exitCode);
  };
  const onException = (error: unknown, origin?: unknown): void =>
    fatal(error, origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException');
  const onRejection = (reason: unknown): void => fatal(reason, 'unhandledRejection');

  source.on('uncaughtException', onException);
  source.on('unhandledRejection', onRejection);
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    source.removeListener('uncaughtException', onException);
    source.removeListener('unhandledRejection', onRejection);
  };
}
