import { describe, optionsObject } from '@nines/resilience/options';
import type { Logger } from 'pino';
import { assertLogger, isSonicBoom, type SonicBoomLike, streamOf } from './stream.js';

/** Options of {@link flushLogger}. */
export interface FlushOptions {
  /** Stops waiting (the promise rejects with the signal's reason); the lines stay queued. */
  signal?: AbortSignal;
}

const OWNER = 'flushLogger';

/**
 * Resolves once every line logged before the call has been written to the destination, for a
 * graceful shutdown. pino's own `logger.flush(cb)` calls back at once for an unbuffered
 * asynchronous SonicBoom (the default destination) even while lines are still queued behind a
 * slow write, so this waits for the stream to go idle instead. While the service keeps logging
 * to a destination slower than the logging, idle may never come: pass a `signal`
 * (`AbortSignal.timeout(ms)`) to bound the wait. A destination that is neither a SonicBoom nor has
 * `flush(cb)` resolves at once.
 *
 * @example
 * server.close();
 * await flushLogger(logger, { signal: AbortSignal.timeout(5_000) });
 */
export function flushLogger(logger: Logger, options?: FlushOptions): Promise<void> {
  try {
    assertLogger(OWNER, logger);
    const o = optionsObject<FlushOptions>(OWNER, options, ['signal']);
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
      throw new TypeError(
        `${OWNER}: option "signal" must be an AbortSignal, got ${describe(o.signal)}`,
      );
    }
    const signal = o.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const stream = streamOf(logger);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let stopWaiting: () => void = noop;
      const onAbort = (): void => done(signal?.reason);
      const done = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        stopWaiting();
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined || err === null) resolve();
        else reject(err);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (isSonicBoom(stream)) stopWaiting = waitIdle(stream, done);
      else logger.flush(done);
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

function noop(): void {}

/** Calls `done` when `stream` has written everything queued now; returns a canceller. */
function waitIdle(stream: SonicBoomLike, done: (err?: unknown) => void): () => void {
  if (stream.destroyed) {
    done();
    return noop;
  }
  if (stream.sync) {
    // Lines are written as they are logged; only an EAGAIN leftover can be queued.
    try {
      stream.flushSync();
      done();
    } catch (err) {
      done(err);
    }
    return noop;
  }
  const onIdle = (): void => done();
  const onError = (err: Error): void => done(err);
  const start = (): void => {
    if (stream.minLength > 0) {
      // A buffering stream's own flush() forces the write and waits for it.
      stream.flush((err) => done(err));
      return;
    }
    // 'drain' is emitted whenever the write loop runs dry; an empty write starts the loop when it
    // is idle and queues behind the pending lines when it is not.
    stream.once('drain', onIdle);
    stream.write('');
  };
  stream.once('error', onError);
  stream.once('close', onIdle);
  if (stream.fd < 0) stream.once('ready', start);
  else start();
  return () => {
    stream.off('drain', onIdle);
    stream.off('ready', start);
    stream.off('error', onError);
    stream.off('close', onIdle);
  };
}
