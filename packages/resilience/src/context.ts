import type { DeadlineQueue } from './deadlines.js';
import { TimeoutError } from './errors.js';
import type { Disposer } from './event.js';

/** What a wrapped operation receives: the signal to honour and the attempt number (0 = first). */
export interface ExecutionContext {
  /** Aborted when the caller cancels or a policy (timeout, hedge) gives up on this attempt. */
  readonly signal: AbortSignal;
  /** 0 for the first call, 1 for the first retry or hedge, and so on. */
  readonly attempt: number;
}

/** The outermost context of one `execute` call: the caller's signal, if any. */
const ROOT = 0;
/** Same signal as its parent, its own attempt number (retry). */
const DELEGATE = 1;
/** Can be aborted on its own (timeout, hedge) as well as through its parent. */
const OWNER = 2;
type Kind = typeof ROOT | typeof DELEGATE | typeof OWNER;

const noop: Disposer = () => {};

/**
 * @internal A context made by {@link Context.owner}: the one kind that can be aborted on its own
 * and tracked by a deadline queue. (One class for every kind: with one small subclass per kind,
 * composed policies measured slower on Node 20 here, and a context is built on every call.)
 */
export type OwnerContext = Context;

/**
 * The per-execution state that policies pass down the chain. The signal is built lazily: an
 * operation that never reads `ctx.signal` costs no AbortController, which on Node 20 is the single
 * most expensive thing a timeout policy could do per call.
 *
 * @internal
 */
export class Context implements ExecutionContext {
  // Every field is set in the constructor, none by a class-field initializer: V8 then builds the
  // object in one step, which matters for an object made on every call.
  attempt: number;
  readonly parent: Context | null;
  readonly kind: Kind;
  /** Root: the caller's signal. */
  readonly caller: AbortSignal | undefined;
  /** Owner: set once it was aborted on its own. */
  selfAborted: boolean;
  selfReason: unknown;
  controller: AbortController | null;
  unlink: Disposer | null;
  /** Used by a deadline queue: the generation it started in, and whether it ended. */
  gen: number;
  settled: boolean;
  /**
   * Set by a policy inside (a breaker that just opened, an isolation) to tell the hosts outside
   * that another attempt would be refused now, so a retry stops at once instead of sleeping first.
   */
  refusal: unknown;
  /** Aggressive timeout: rejects the caller's promise at the deadline. */
  onDeadline: ((reason: unknown) => void) | null;
  /**
   * Owner: the cooperative timeout tracking it lazily. The deadline is acted on only once the
   * signal exists (or someone asks whether the context is aborted), see DeadlineQueue.
   */
  deadlines: DeadlineQueue<Context> | null;

  private constructor(
    kind: Kind,
    parent: Context | null,
    caller: AbortSignal | undefined,
    attempt: number,
  ) {
    this.attempt = attempt;
    this.parent = parent;
    this.kind = kind;
    this.caller = caller;
    this.selfAborted = false;
    this.selfReason = undefined;
    this.controller = null;
    this.unlink = null;
    this.gen = 0;
    this.settled = false;
    this.refusal = undefined;
    this.onDeadline = null;
    this.deadlines = null;
  }

  /** The context of a new `execute` call. */
  static root(signal: AbortSignal | undefined): Context {
    return new Context(ROOT, null, signal, 0);
  }

  /** A context with its own attempt counter that shares the parent's cancellation. */
  static delegate(parent: Context): Context {
    return new Context(DELEGATE, parent, undefined, parent.attempt);
  }

  /** A context that can be aborted on its own; call {@link Context.release} when done with it. */
  static owner(parent: Context, attempt = parent.attempt): OwnerContext {
    return new Context(OWNER, parent, undefined, attempt);
  }

  get signal(): AbortSignal {
    switch (this.kind) {
      case DELEGATE:
        return this.parent!.signal;
      case ROOT:
        if (this.caller) return this.caller;
        this.controller ??= new AbortController();
        return this.controller.signal;
      default:
        return this.ownSignal();
    }
  }

  /** True when this context, or any context above it, has been cancelled. */
  get aborted(): boolean {
    switch (this.kind) {
      case ROOT:
        return this.caller?.aborted === true;
      case DELEGATE:
        return this.parent!.aborted;
      default:
        if (this.deadlines !== null) this.watchDeadline();
        return this.selfAborted || this.parent!.aborted;
    }
  }

  /** The reason of the cancellation that {@link Context.aborted} reports. */
  get reason(): unknown {
    switch (this.kind) {
      case ROOT:
        return this.caller?.reason;
      case DELEGATE:
        return this.parent!.reason;
      default:
        if (this.deadlines !== null) this.watchDeadline();
        return this.selfAborted ? this.selfReason : this.parent!.reason;
    }
  }

  /**
   * True when the call was cancelled by the caller or by a policy giving up on it (a hedge that
   * found a winner), as opposed to timing out. Errors after a cancellation are neutral for a
   * breaker: the dependency did nothing wrong.
   */
  get cancelled(): boolean {
    return this.aborted && !(this.reason instanceof TimeoutError);
  }

  /** Marks this context and every context above it as refused (see {@link Context.refusal}). */
  refuse(error: unknown): void {
    for (let c: Context | null = this; c !== null; c = c.parent) c.refusal = error;
  }

  /** True when something can ever abort this context. */
  get mayAbort(): boolean {
    switch (this.kind) {
      case ROOT:
        return this.caller !== undefined;
      case DELEGATE:
        return this.parent!.mayAbort;
      default:
        return true;
    }
  }

  /** Aborts an owner context (no-op for others, or when already aborted). */
  abort(reason: unknown): void {
    if (this.kind !== OWNER || this.selfAborted) return;
    this.selfAborted = true;
    this.selfReason = reason;
    this.controller?.abort(reason);
  }

  /**
   * Runs `listener` once when this context is aborted. Returns a disposer that removes it; both
   * are no-ops when nothing can abort the context. Like `addEventListener`, it does not call the
   * listener when the context is already aborted: check {@link Context.aborted} after registering.
   */
  onAbort(listener: () => void): Disposer {
    if (!this.mayAbort) return noop;
    const signal = this.signal;
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  }

  /** Drops this owner context's listener on its parent signal so long-lived signals stay clean. */
  release(): void {
    if (this.unlink) {
      this.unlink();
      this.unlink = null;
    }
  }

  /** Hands a lazily tracked deadline to its queue, once; it may abort this context at once. */
  private watchDeadline(): void {
    const queue = this.deadlines!;
    this.deadlines = null;
    queue.watch(this);
  }

  private ownSignal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    // From now on the deadline must abort this signal: have the timeout watch it (which aborts
    // it at once if the deadline has already passed).
    if (this.deadlines !== null) this.watchDeadline();
    if (this.selfAborted) {
      controller.abort(this.selfReason);
      return controller.signal;
    }
    const parent = this.parent!;
    if (parent.mayAbort) {
      const upstream = parent.signal;
      if (upstream.aborted) {
        controller.abort(upstream.reason);
      } else {
        const forward = () => controller.abort(upstream.reason);
        upstream.addEventListener('abort', forward, { once: true });
        this.unlink = () => upstream.removeEventListener('abort', forward);
      }
    }
    return controller.signal;
  }
}
