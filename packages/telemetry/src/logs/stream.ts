import { describe } from '@nines/resilience/options';
import type { Logger } from 'pino';
import { pino } from 'pino';

/**
 * What this module relies on in a SonicBoom stream (the type of `pino.destination()`). sonic-boom
 * is pino's own dependency, not ours, so it is recognised by shape instead of by class.
 *
 * @internal
 */
export interface SonicBoomLike {
  readonly fd: number;
  readonly sync: boolean;
  readonly minLength: number;
  readonly destroyed: boolean;
  write(data: string): boolean;
  flush(cb?: (err?: Error) => unknown): void;
  flushSync(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/** The destination stream of a pino logger (a child shares its parent's). @internal */
export function streamOf(logger: Logger): unknown {
  return (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
}

/** True for a SonicBoom stream (what `pino.destination()` and `createLogger` make). @internal */
export function isSonicBoom(stream: unknown): stream is SonicBoomLike {
  if (stream === null || typeof stream !== 'object') return false;
  const s = stream as Partial<Record<keyof SonicBoomLike, unknown>>;
  return (
    typeof s.flushSync === 'function' &&
    typeof s.once === 'function' &&
    typeof s.fd === 'number' &&
    typeof s.minLength === 'number'
  );
}

/**
 * Rejects anything but a pino logger, so that a wrong argument fails where it is passed instead of
 * as "x.fatal is not a function" in the middle of a crash.
 *
 * @internal
 */
export function assertLogger(owner: string, logger: unknown): asserts logger is Logger {
  const l = logger as Partial<Record<string, unknown>> | null;
  if (
    l === null ||
    typeof l !== 'object' ||
    typeof l.fatal !== 'function' ||
    typeof l.info !== 'function' ||
    typeof l.isLevelEnabled !== 'function' ||
    streamOf(l as unknown as Logger) === undefined
  ) {
    throw new TypeError(
      `${owner}: argument "logger" must be a pino logger, got ${describe(logger)}`,
    );
  }
}
