import { Context, type ExecutionContext } from './context.js';
import { describe } from './validate.js';

/** The function a policy protects. It may return a value or a promise. */
export type Operation<T> = (context: ExecutionContext) => T | PromiseLike<T>;

/** @internal The method through which composed policies call each other without closures. */
export const RUN: unique symbol = Symbol('nines.run');

/** @internal One step of a composed chain. */
export interface Link {
  readonly policy: PolicyBase<unknown>;
  readonly next: Link | null;
}

/** Type-only key: carries a policy's `Alt` type through compositions. Never set at run time. */
declare const altType: unique symbol;

/**
 * A resilience policy. `Alt` is the extra type a policy may resolve with instead of the
 * operation's own (a fallback's value); it is `never` for every other policy.
 *
 * @example
 * const result = await policy.execute(({ signal }) => fetch(url, { signal }));
 */
export interface Policy<Alt = never> {
  /** Type-only: the extra result type (see {@link AltOf}). */
  readonly [altType]: Alt;
  /**
   * Runs `operation` under this policy. `signal` cancels the whole execution, including waits
   * between retries and places in a bulkhead queue.
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T | Alt>;
}

/** The `Alt` type of a policy: what it may resolve with besides the operation's own value. */
export type AltOf<P> = P extends { readonly [altType]: infer A } ? A : never;

/** @internal Calls the next policy in the chain, or the operation itself at the end. */
export function runNext<T>(fn: Operation<T>, ctx: Context, next: Link | null): T | PromiseLike<T> {
  return next === null ? fn(ctx) : (next.policy[RUN](fn, ctx, next.next) as Promise<T>);
}

/**
 * @internal The rejection for an `execute` call that cannot start: an operation that is not a
 * function, a signal that is not an AbortSignal, or one already aborted. Undefined otherwise.
 */
export function refuseCall(operation: unknown, signal: unknown): Promise<never> | undefined {
  if (typeof operation !== 'function') {
    return Promise.reject(
      new TypeError(`execute: operation must be a function, got ${describe(operation)}`),
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return Promise.reject(
      new TypeError(`execute: signal must be an AbortSignal, got ${describe(signal)}`),
    );
  }
  if ((signal as AbortSignal | undefined)?.aborted) {
    return Promise.reject((signal as AbortSignal).reason);
  }
  return undefined;
}

/** @internal Shared `execute` with argument checks; subclasses implement {@link RUN}. */
export abstract class PolicyBase<Alt = never> implements Policy<Alt> {
  declare readonly [altType]: Alt;

  execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T | Alt> {
    if (typeof operation !== 'function' || signal !== undefined) {
      const refused = refuseCall(operation, signal);
      if (refused !== undefined) return refused;
    }
    return this[RUN](operation, Context.root(signal), null);
  }

  abstract [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T | Alt>;
}
