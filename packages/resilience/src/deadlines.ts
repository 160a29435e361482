import type { Clock, TimerHandle } from './clock.js';

/** @internal Anything a {@link DeadlineQueue} can track (a timeout's context, a hedge's attempt). */
export interface Tracked {
  /** Set by {@link DeadlineQueue.track}: the generation the entry started in. */
  gen: number;
  /** Set by {@link DeadlineQueue.settle}; must start `false`. */
  settled: boolean;
}

/** Longest generation, in ms: bounds how late a long deadline may fire. */
const MAX_TICK_MS = 100;
/** Generations per duration: a deadline fires at most `ms / TICKS_PER_DURATION` late. */
const TICKS_PER_DURATION = 50;

/**
 * The deadlines of one timeout (or hedge delay) policy, with no clock read and no timer per call.
 *
 * Reading a clock costs 80-110 ns on the machines nines runs on, as much as the await it guards,
 * so calls are not stamped with a time. They are stamped with a generation number instead: while
 * calls are in flight a single timer closes the current generation every tick (`ms / 50`, at
 * most 100 ms) and notes the time. Every call of a generation closed at time `t` started before
 * `t`, so its deadline has certainly passed at `t + ms`: the generation expires then. A deadline
 * therefore never fires early and fires at most one tick late (2 % of the duration, 100 ms at
 * most), the trade that timing wheels (Netty, Kafka) make too. When a tick finds nothing in
 * flight, the timer stops: an idle policy holds no timer and keeps the process alive at most one
 * tick after its last call.
 *
 * @internal
 */
export class DeadlineQueue<T extends Tracked> {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #tick: number;
  readonly #expire: (entry: T) => void;
  #queue: Array<T | undefined> = [];
  #head = 0;
  #tail = 0;
  #live = 0;
  /** The open generation: calls tracked now get this stamp. */
  #gen = 0;
  /** Expiry time of each closed generation that may still hold live entries, oldest first. */
  #closedGens: number[] = [];
  #closedAt: number[] = [];
  #timer: TimerHandle | undefined = undefined;
  readonly #fire = () => this.#onTimer();

  constructor(clock: Clock, ms: number, expire: (entry: T) => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#tick = Math.min(MAX_TICK_MS, Math.max(1, ms / TICKS_PER_DURATION));
    this.#expire = expire;
  }

  /** Entries in flight. */
  get live(): number {
    return this.#live;
  }

  /** Starts tracking `entry`; it expires about `ms` from now unless settled first. */
  track(entry: T): void {
    entry.gen = this.#gen;
    this.#queue[this.#tail++] = entry;
    this.#live++;
    if (this.#timer === undefined) this.#timer = this.#clock.setTimeout(this.#fire, this.#tick);
  }

  /** Marks `entry` as finished. Idempotent. */
  settle(entry: T): void {
    if (entry.settled) return;
    entry.settled = true;
    if (--this.#live === 0) {
      // Everything is settled: drop the entries so the queue never grows and pins nothing while
      // idle (nulling slots is cheaper than truncating the array on every call).
      const q = this.#queue;
      for (let i = this.#head; i < this.#tail; i++) q[i] = undefined;
      this.#head = 0;
      this.#tail = 0;
    }
  }

  #onTimer(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    if (this.#live === 0) {
      // Idle: stop ticking. The next call starts a fresh generation.
      this.#closedGens.length = 0;
      this.#closedAt.length = 0;
      this.#gen++;
      return;
    }
    // Close the open generation: all of its calls started before now.
    if (this.#tail > 0 && this.#queue[this.#tail - 1]!.gen === this.#gen) {
      this.#closedGens.push(this.#gen);
      this.#closedAt.push(now + this.#ms);
    }
    this.#gen++;
    // Expire every generation whose expiry has come, oldest first.
    let g = 0;
    while (g < this.#closedGens.length && this.#closedAt[g]! <= now) g++;
    const lastExpiredGen = g > 0 ? this.#closedGens[g - 1]! : -1;
    if (g > 0) {
      this.#closedGens.splice(0, g);
      this.#closedAt.splice(0, g);
    }
    while (this.#head < this.#tail) {
      const entry = this.#queue[this.#head]!;
      if (!entry.settled && entry.gen > lastExpiredGen) break;
      this.#queue[this.#head++] = undefined;
      if (!entry.settled) {
        this.settle(entry);
        this.#expire(entry);
      }
    }
    if (this.#head >= this.#tail) {
      this.#head = 0;
      this.#tail = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#tail) {
      this.#queue = this.#queue.slice(this.#head, this.#tail);
      this.#tail -= this.#head;
      this.#head = 0;
    }
    // An expiry's abort listener may have started a call, and so a timer, already.
    if (this.#timer === undefined && this.#live > 0) {
      const untilExpiry = this.#closedAt.length > 0 ? this.#closedAt[0]! - now : this.#tick;
      this.#timer = this.#clock.setTimeout(
        this.#fire,
        Math.max(0, Math.min(this.#tick, untilExpiry)),
      );
    }
  }
}
