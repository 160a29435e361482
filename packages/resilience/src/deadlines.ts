import type { Clock, TimerHandle } from './clock.js';
import type { Context } from './context.js';

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
export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #expire: (ctx: Context) => void;
  #queue: Context[] = [];
  #head = 0;
  #live = 0;
  #timer: TimerHandle | undefined = undefined;
  readonly #fire = () => this.#onTimer();

  constructor(clock: Clock, ms: number, expire: (ctx: Context) => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#expire = expire;
  }

  /** Calls in flight. */
  get live(): number {
    return this.#live;
  }

  /** Starts tracking `ctx`; it expires `ms` from now unless {@link DeadlineQueue.settle}d first. */
  track(ctx: Context): void {
    ctx.deadline = this.#clock.now() + this.#ms;
    this.#queue.push(ctx);
    if (this.#live++ === 0) {
      if (this.#timer === undefined) this.#arm(this.#ms);
      // The shared timer keeps the process alive only while some call is in flight.
      else (this.#timer as Refable).ref?.();
    }
  }

  /** Marks `ctx` as finished. Idempotent. */
  settle(ctx: Context): void {
    if (ctx.settled) return;
    ctx.settled = true;
    if (--this.#live === 0) {
      (this.#timer as Refable | undefined)?.unref?.();
      // Nothing live: drop the settled entries at once so the queue never grows while idle.
      this.#queue.length = 0;
      this.#head = 0;
    }
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(this.#fire, ms);
  }

  #onTimer(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const q = this.#queue;
    while (this.#head < q.length) {
      const ctx = q[this.#head]!;
      if (ctx.settled) {
        this.#head++;
        continue;
      }
      // Timers may fire a fraction of a millisecond before the deadline on the monotonic scale.
      if (ctx.deadline - now >= 1) break;
      this.#head++;
      this.settle(ctx);
      this.#expire(ctx);
    }
    if (this.#head >= q.length) {
      q.length = 0;
      this.#head = 0;
    } else {
      if (this.#head > 1024 && this.#head * 2 > q.length) {
        this.#queue = q.slice(this.#head);
        this.#head = 0;
      }
      // An abort listener may have started a call (and armed a timer) while we expired others.
      if (this.#timer === undefined)
        this.#arm(Math.max(1, this.#queue[this.#head]!.deadline - now));
    }
  }
}
