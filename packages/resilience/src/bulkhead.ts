import type { Context } from './context.js';
import { BulkheadRejectedError, withoutStack } from './errors.js';
import { type Disposer, Emitter, type Event } from './event.js';
import { enterAll, exitAll, type Frame, innerContext, segmentOf } from './interceptor.js';
import { type Link, type Operation, type Policy, PolicyBase, RUN, runNext } from './policy.js';
import { describe, numberOption, optionsObject } from './validate.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Executions allowed at once: an integer >= 1. Required. */
  limit: number;
  /**
   * Calls allowed to wait, in FIFO order, for a free execution slot: an integer >= 0, or
   * `Infinity` for an unbounded queue. Default 0: a call that finds every slot taken is rejected.
   */
  queue?: number;
}

/** Emitted when a call is rejected because every execution and queue slot is taken. */
export interface BulkheadRejectEvent {
  /** Calls executing at the time (the limit). */
  readonly executing: number;
  /** Calls queued at the time (the queue size). */
  readonly queued: number;
}

/** Emitted when a call has to wait for an execution slot. */
export interface BulkheadQueueEvent {
  /** Calls queued, this one included. */
  readonly queued: number;
}

/** A policy made by {@link bulkhead}. */
export interface BulkheadPolicy extends Policy {
  /** Executions allowed at once. */
  readonly limit: number;
  /** Calls allowed to wait (`Infinity` when unbounded). */
  readonly queue: number;
  /** Calls executing now. */
  readonly executing: number;
  /** Calls waiting now. */
  readonly queued: number;
  /** Free execution slots: `limit - executing`. */
  readonly executionSlots: number;
  /** Free queue slots: `queue - queued`. */
  readonly queueSlots: number;
  /** Fires for each call rejected with a {@link BulkheadRejectedError}. */
  readonly onReject: Event<BulkheadRejectEvent>;
  /** Fires for each call that has to wait in the queue. */
  readonly onQueue: Event<BulkheadQueueEvent>;
}

const KNOWN = ['limit', 'queue'] as const;

const noop: Disposer = () => {};

/** A queued call: a node of the doubly linked FIFO, so an aborted call leaves it in O(1). */
class Waiter {
  resolve: (value: unknown) => void = noop;
  reject: (reason: unknown) => void = noop;
  before: Waiter | null = null;
  after: Waiter | null = null;
  /** True while in the queue. */
  waiting = true;
  off: Disposer = noop;
  constructor(
    readonly fn: Operation<unknown>,
    readonly ctx: Context,
    readonly link: Link | null,
  ) {}
}

class Bulkhead extends PolicyBase implements BulkheadPolicy {
  readonly limit: number;
  readonly queue: number;
  #executing = 0;
  #queued = 0;
  #head: Waiter | null = null;
  #tail: Waiter | null = null;
  /** Set while the queue is being drained, so a slot freed during a start does not recurse. */
  #draining = false;
  readonly #onReject = new Emitter<BulkheadRejectEvent>();
  readonly #onQueue = new Emitter<BulkheadQueueEvent>();
  readonly onReject = this.#onReject.event;
  readonly onQueue = this.#onQueue.event;
  /** Built once: rejections are a hot path under overload. */
  readonly #rejection = () => new BulkheadRejectedError(this.limit, this.queue);

  constructor(limit: number, queue: number) {
    super();
    this.limit = limit;
    this.queue = queue;
  }

  get executing(): number {
    return this.#executing;
  }
  get queued(): number {
    return this.#queued;
  }
  get executionSlots(): number {
    return this.limit - this.#executing;
  }
  get queueSlots(): number {
    return this.queue - this.#queued;
  }

  [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    if (this.#executing < this.limit) {
      this.#executing++;
      return this.#run(fn, ctx, next);
    }
    if (this.#queued < this.queue) return this.#enqueue(fn, ctx, next);
    if (this.#onReject.active) {
      this.#onReject.emit({ executing: this.#executing, queued: this.#queued });
    }
    return Promise.reject(withoutStack(this.#rejection));
  }

  /** Runs a call that holds a slot (the host pattern), and frees the slot when it settles. */
  async #run<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    const list = segmentOf(next);
    const inner = list === null ? next : next!.next;
    let frame: Frame | null = null;
    try {
      if (list !== null) frame = enterAll(list, ctx);
      const value = await runNext(fn, frame === null ? ctx : innerContext(frame), inner);
      if (frame !== null) exitAll(list!, frame, true, value);
      return value;
    } catch (err) {
      if (frame !== null) exitAll(list!, frame, false, err);
      throw err;
    } finally {
      this.#release();
    }
  }

  #enqueue<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    if (ctx.aborted) return Promise.reject(ctx.reason);
    const w = new Waiter(fn as Operation<unknown>, ctx, next);
    const promise = new Promise<T>((resolve, reject) => {
      w.resolve = resolve as (value: unknown) => void;
      w.reject = reject;
    });
    if (this.#tail === null) this.#head = w;
    else {
      this.#tail.after = w;
      w.before = this.#tail;
    }
    this.#tail = w;
    this.#queued++;
    // Only queued calls pay for a listener: it must leave the queue the moment it is cancelled,
    // or aborted calls would hold places that live calls need (cockatiel #112).
    w.off = ctx.onAbort(() => this.#abandon(w));
    if (this.#onQueue.active) this.#onQueue.emit({ queued: this.#queued });
    return promise;
  }

  #unlink(w: Waiter): void {
    w.waiting = false;
    if (w.before === null) this.#head = w.after;
    else w.before.after = w.after;
    if (w.after === null) this.#tail = w.before;
    else w.after.before = w.before;
    w.before = w.after = null;
    this.#queued--;
  }

  #abandon(w: Waiter): void {
    if (!w.waiting) return;
    this.#unlink(w);
    w.reject(w.ctx.reason);
  }

  #release(): void {
    this.#executing--;
    if (this.#head === null || this.#draining) return;
    this.#draining = true;
    try {
      while (this.#executing < this.limit && this.#head !== null) {
        const w = this.#head;
        this.#unlink(w);
        w.off();
        this.#executing++;
        this.#run(w.fn, w.ctx, w.link).then(w.resolve, w.reject);
      }
    } finally {
      this.#draining = false;
    }
  }
}

/**
 * Limits how many calls run at once. Up to `limit` calls execute; up to `queue` more wait in FIFO
 * order for a free slot; any further call is rejected at once with a {@link BulkheadRejectedError}
 * (built without a stack trace, since rejections are frequent under overload). A queued call whose
 * signal aborts leaves the queue at once and rejects with the abort reason.
 *
 * Circuit breakers and cooperative timeouts placed inside a bulkhead run only once the call holds
 * a slot, so time spent queued does not count against their deadline.
 *
 * @example
 * const pool = bulkhead(10, 100); // or bulkhead({ limit: 10, queue: 100 })
 * await pool.execute(({ signal }) => fetch(url, { signal }));
 */
export function bulkhead(limit: number, queue?: number): BulkheadPolicy;
export function bulkhead(options: BulkheadOptions): BulkheadPolicy;
export function bulkhead(limitOrOptions: number | BulkheadOptions, queue?: number): BulkheadPolicy {
  const owner = 'bulkhead';
  let limit: unknown = limitOrOptions;
  let size: unknown = queue;
  if (typeof limitOrOptions === 'object' && limitOrOptions !== null) {
    if (queue !== undefined) {
      throw new TypeError(
        `${owner}: pass the queue size in the options object, got a second argument ${describe(queue)}`,
      );
    }
    const opts = optionsObject<BulkheadOptions>(owner, limitOrOptions, KNOWN);
    limit = opts.limit;
    size = opts.queue;
  }
  if (limit === undefined) throw new TypeError(`${owner}: option "limit" is required`);
  return new Bulkhead(
    numberOption(owner, 'limit', limit, 0, { min: 1, integer: true }),
    numberOption(owner, 'queue', size, 0, { min: 0, integer: true, infinite: true }),
  );
}
