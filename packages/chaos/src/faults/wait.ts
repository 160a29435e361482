/** Cancellable waits for latency and hung calls. Each leaves no listener behind once settled. */
import type { Clock } from '@nines/resilience';
import type { FaultRecord } from './record.js';

/** Waits `ms` on `clock`; rejects with the signal's reason as soon as it aborts. */
export function pause(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    if (signal === undefined) {
      clock.setTimeout(resolve, ms);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal.reason);
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Holds a call while `fault` is active: resolves when it is removed or expires (the dependency is
 * back), rejects with the signal's reason when the caller gives up first.
 */
export function hang(fault: FaultRecord, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (fault.removed) {
      resolve();
      return;
    }
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let hangers = fault.hangers;
    if (hangers === undefined) {
      hangers = new Set();
      fault.hangers = hangers;
    }
    const onAbort = (): void => {
      fault.hangers?.delete(release);
      reject(signal?.reason);
    };
    const release = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    hangers.add(release);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The call's AbortSignal: the last argument when it is one, or the `signal` of a last argument
 * that is an options object (`{ signal }`, as fetch and most clients take it).
 */
export function signalOf(args: readonly unknown[]): AbortSignal | undefined {
  const last = args[args.length - 1];
  if (last instanceof AbortSignal) return last;
  if (last !== null && typeof last === 'object') {
    const s = (last as { signal?: unknown }).signal;
    if (s instanceof AbortSignal) return s;
  }
  return undefined;
}
