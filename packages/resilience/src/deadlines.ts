import type { Clock, TimerHandle } from './clock.js';
import type { Context } from './context.js';

/** @internal Anything a {@link DeadlineQueue} can track (a timeout's context, a hedge's attempt). */
export interface Tracked {
  /** Set by {@link DeadlineQueue.track}. */
  deadline: number;
  /** Set by {@link DeadlineQueue.settle}; must start `false`. */
  settled: boolean;
}

interface Refable {
  ref?: () => unknown;
  unref?: () => unknown;
}

/**
 * The deadlines of one timeout policy. Every call through the policy has the same duration, so
 * deadlines arrive in order and a FIFO replaces a priority queue; one timer, armed for the oldest
 * live deadline, serves every call in flight. A call that ends just marks itself settled: no
 * `clearTimeout` per call (about 700 ns on Node 20), no timer per call.
 *
 * @internal
 */
export class DeadlineQueue<T extends Tracked = Context> {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #expire: (ctx: T) => void;
  #queue: Array<T | undefined> = [];
  #head = 0;
  #tail = 0;
  #live = 0;
  #timer: TimerHandle | undefined = undefined;
  readonly #fire = () => this.#onTimer();

  constructor(clock: Clock, ms: number, expire: (ctx: T) => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#expire = expire;
  }

  /** Calls in flight. */
  get live(): number {
    return this.#live;
  }

  /** Starts tracking `ctx`; it expires `ms` from now unless {@link DeadlineQueue.settle}d first. */
  track(ctx: T): void {
    ctx.deadline = this.#clock.now() + this.#ms;
    this.#queue[this.#tail++] = ctx;
    if (this.#live++ === 0) {
      if (this.#timer === undefined) this.#arm(this.#ms);
      // The shared timer keeps the process alive only while some call is in flight.
      else (this.#timer as Refable).ref?.();
    }
  }

  /** Marks `ctx` as finished. Idempotent. */
  settle(ctx: T): void {
    if (ctx.settled) return;
    ctx.settled = true;
    if (--this.#live === 0) {
      (this.#timer as Refable | undefined)?.unref?.();
      // Nothing live: every entry is settled. Drop them so the queue never grows and holds no
      // context while idle (nulling slots is cheaper than truncating the array on every call).
      const q = this.#queue;
      for (let i = this.#head; i < this.#tail; i++) q[i] = undefined;
      this.#head = 0;
      this.#tail = 0;
    }
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(this.#fire, ms);
  }

  #onTimer(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    while (this.#head < this.#tail) {
      const ctx = this.#queue[this.#head]!;
      if (ctx.settled) {
        this.#queue[this.#head++] = undefined;
        continue;
      }
      // Timers may fire a fraction of a millisecond before the deadline on the monotonic scale.
      if (ctx.deadline - now >= 1) break;
      this.#queue[this.#head++] = undefined;
      this.settle(ctx);
      this.#expire(ctx);
    }
    if (this.#head >= this.#tail) {
      this.#head = 0;
      this.#tail = 0;
      return;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#tail) {
      this.#queue = this.#queue.slice(this.#head, this.#tail);
      this.#tail -= this.#head;
      this.#head = 0;
    }
    // An abort listener may have started a call (and armed a timer) while we expired others.
    if (this.#timer === undefined) {
      this.#arm(Math.max(1, this.#queue[this.#head]!.deadline - now));
    }
  }
}
