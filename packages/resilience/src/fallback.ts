import type { Context, ExecutionContext } from './context.js';
import { Emitter, type Event } from './event.js';
import { enterAll, exitAll, type Frame, innerContext, segmentOf } from './interceptor.js';
import { type Link, type Operation, type Policy, PolicyBase, RUN, runNext } from './policy.js';
import { functionOption, optionsObject } from './validate.js';

/**
 * Why the fallback was used: the error the call failed with, or the result that the
 * `handlesResult` predicate turned down. Tell them apart with `'error' in reason`.
 */
export type FallbackReason = { readonly error: unknown } | { readonly result: unknown };

/**
 * Computes the fallback value. `context` is the execution's context: read `context.signal` to
 * honour the caller's cancellation (the signal is only created if read).
 */
export type FallbackFactory<A> = (
  reason: FallbackReason,
  context: ExecutionContext,
) => A | PromiseLike<A>;

/** Options of {@link fallback}. */
export interface FallbackOptions {
  /**
   * Which errors fall back. Default: every error, except that a call cancelled by its caller
   * always rejects with the abort reason, whatever this predicate says.
   */
  handles?: (error: unknown) => boolean;
  /** Which successful results fall back too (e.g. an HTTP 503 response). Default: none. */
  handlesResult?: (result: unknown) => boolean;
}

/** A policy made by {@link fallback}: it may resolve with `A` instead of the operation's value. */
export interface FallbackPolicy<A> extends Policy<A> {
  /** Fires each time the fallback is used, before the factory runs. */
  readonly onFallback: Event<FallbackReason>;
}

const KNOWN = ['handles', 'handlesResult'] as const;

type Predicate = (value: unknown) => boolean;

class Fallback<A> extends PolicyBase<A> implements FallbackPolicy<A> {
  readonly #value: A | undefined;
  readonly #factory: FallbackFactory<A> | null;
  readonly #handles: Predicate | null;
  readonly #handlesResult: Predicate | null;
  readonly #onFallback = new Emitter<FallbackReason>();
  readonly onFallback = this.#onFallback.event;

  constructor(
    value: A | undefined,
    factory: FallbackFactory<A> | null,
    handles: Predicate | null,
    handlesResult: Predicate | null,
  ) {
    super();
    this.#value = value;
    this.#factory = factory;
    this.#handles = handles;
    this.#handlesResult = handlesResult;
  }

  // The host pattern: interceptors inside (breaker, cooperative timeout) run in this frame.
  async [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T | A> {
    const list = segmentOf(next);
    const inner = list === null ? next : next!.next;
    let frame: Frame | null = null;
    let value: T;
    try {
      if (list !== null) frame = enterAll(list, ctx);
      value = await runNext(fn, frame === null ? ctx : innerContext(frame), inner);
      if (frame !== null) exitAll(list!, frame, true, value);
    } catch (err) {
      if (frame !== null) exitAll(list!, frame, false, err);
      // The caller gave up: a substitute answer would go nowhere and hide the cancellation.
      if (ctx.cancelled) throw ctx.reason;
      if (this.#handles !== null && !this.#handles(err)) throw err;
      if (this.#factory === null && !this.#onFallback.active) return this.#value as A;
      return this.#fall({ error: err }, ctx, err);
    }
    if (this.#handlesResult?.(value)) {
      if (ctx.cancelled) throw ctx.reason;
      if (this.#factory === null && !this.#onFallback.active) return this.#value as A;
      return this.#fall({ result: value }, ctx, undefined);
    }
    return value;
  }

  async #fall(reason: FallbackReason, ctx: Context, error: unknown): Promise<A> {
    if (this.#onFallback.active) this.#onFallback.emit(reason);
    if (this.#factory === null) return this.#value as A;
    try {
      return await this.#factory(reason, ctx);
    } catch (err) {
      if ('error' in reason) attachCause(err, error);
      throw err;
    }
  }
}

/**
 * Gives the factory's error the error it was asked to replace as its `cause`, so both show up in
 * logs. Only when the factory's error is an `Error` with no `cause` of its own and is not the
 * original error rethrown; an error that cannot be changed (frozen) is left as it is.
 */
function attachCause(err: unknown, original: unknown): void {
  if (!(err instanceof Error) || err === original || Object.hasOwn(err, 'cause')) return;
  try {
    Object.defineProperty(err, 'cause', {
      value: original,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  } catch {
    // A frozen or exotic error keeps its own shape.
  }
}

/**
 * Resolves with a substitute when the call fails. `valueOrFactory` is either the value itself, or
 * a function called with the reason (`{ error }`, or `{ result }` for a result that
 * `handlesResult` turned down) and the execution context, whose result (or promise) is used. To
 * fall back to a function value, return it from a factory.
 *
 * - Every error is handled unless `handles` says otherwise; a call cancelled by its caller (its
 *   signal aborted for a reason other than a timeout) rejects with the abort reason instead.
 * - A factory that throws rejects the call with the factory's error; when that is an `Error`
 *   without a `cause`, the original error is attached as its `cause`.
 * - Interceptors inside it (breaker, cooperative timeout) run in its own frame, and an open
 *   breaker's rejection is an error like any other: the fallback answers for it.
 *
 * @example
 * const cached = fallback(() => 'cached' as const);      // FallbackPolicy<'cached'>
 * const policy = wrap(cached, retry(), circuitBreaker()); // WrappedPolicy<'cached'>
 * const body = await policy.execute(({ signal }) => fetchBody(url, signal)); // string | 'cached'
 */
export function fallback<A>(
  factory: FallbackFactory<A>,
  options?: FallbackOptions,
): FallbackPolicy<A>;
export function fallback<A>(value: A, options?: FallbackOptions): FallbackPolicy<Awaited<A>>;
export function fallback(...args: unknown[]): FallbackPolicy<unknown> {
  const owner = 'fallback';
  if (args.length === 0) {
    throw new TypeError(`${owner}: a fallback value or factory function is required`);
  }
  if (args.length > 2) {
    throw new TypeError(
      `${owner}: expected (valueOrFactory, options?), got ${args.length} arguments`,
    );
  }
  const [valueOrFactory, options] = args;
  const opts = optionsObject<FallbackOptions>(owner, options, KNOWN);
  const handles = functionOption<Predicate | null>(owner, 'handles', opts.handles, null);
  const handlesResult = functionOption<Predicate | null>(
    owner,
    'handlesResult',
    opts.handlesResult,
    null,
  );
  return typeof valueOrFactory === 'function'
    ? new Fallback<unknown>(
        undefined,
        valueOrFactory as FallbackFactory<unknown>,
        handles,
        handlesResult,
      )
    : new Fallback<unknown>(valueOrFactory, null, handles, handlesResult);
}
