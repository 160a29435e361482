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
 * The deadlines of one timeout (or hedge delay) policy, with no clock read, no timer and no
 * shared-array write per call.
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
 * Only entries that must be acted on at the deadline are kept in the queue: those tracked
 * `eager` (an aggressive timeout, a hedge) and those {@link DeadlineQueue.watch}ed later (a
 * cooperative timeout whose operation read its signal). Storing every fresh entry in a
 * long-lived array costs a GC write barrier per call; an operation that never reads its signal
 * cannot be aborted anyway, and {@link DeadlineQueue.isExpired} answers for it from its
 * generation alone.
 *
 * @internal
 */
export class DeadlineQueue<T extends Tracked> {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #tick: number;
  readonly #expire: (entry: T) => void;
  #queue: Array<T | undefined> = [];
  #tail = 0;
  /** Entries tracked and neither settled nor past their deadline. */
  #live = 0;
  /** The open generation: calls tracked now get this stamp. */
  #gen = 0;
  /** Live entries of the open generation. */
  #openCount = 0;
  /** The newest generation whose deadline has passed. */
  #expired = -1;
  /**
   * Closed generations not yet expired, consecutive from `#closedBase`: their live entries and
   * expiry times.
   */
  #closedBase = 0;
  #closedCounts: number[] = [];
  #closedAt: number[] = [];
  #timer: TimerHandle | undefined = undefined;
  readonly #fire = () => this.#onTimer();

  constructor(clock: Clock, ms: number, expire: (entry: T) => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#tick = Math.min(MAX_TICK_MS, Math.max(1, ms / TICKS_PER_DURATION));
    this.#expire = expire;
  }

  /** Entries in flight that have not passed their deadline. */
  get live(): number {
    return this.#live;
  }

  /**
   * Starts tracking `entry`: its deadline is about `ms` from now. An `eager` entry is expired
   * (the callback runs) at its deadline; another is only noted, see {@link DeadlineQueue.watch}.
   */
  track(entry: T, eager: boolean): void {
    entry.gen = this.#gen;
    this.#openCount++;
    this.#live++;
    if (eager) this.#queue[this.#tail++] = entry;
    if (this.#timer === undefined) this.#timer = this.#clock.setTimeout(this.#fire, this.#tick);
  }

  /**
   * Makes a tracked entry eager from now on. If its deadline has already passed it is expired at
   * once (the callback runs before this returns).
   */
  watch(entry: T): void {
    if (entry.settled) return;
    if (entry.gen <= this.#expired) {
      entry.settled = true;
      this.#expire(entry);
    } else {
      this.#queue[this.#tail++] = entry;
    }
  }

  /** True when a tracked entry's deadline has passed (whether or not it was expired yet). */
  isExpired(entry: T): boolean {
    return entry.gen <= this.#expired;
  }

  /**
   * Marks `entry` as finished. Idempotent. Returns true when the entry ran past its deadline
   * without being expired (it was tracked lazily and never watched): the caller may report it.
   */
  settle(entry: T): boolean {
    if (entry.settled) return false;
    entry.settled = true;
    const gen = entry.gen;
    // An entry past its deadline was already counted out when its generation expired.
    if (gen <= this.#expired) return true;
    if (gen === this.#gen) this.#openCount--;
    else this.#closedCounts[gen - this.#closedBase]!--;
    if (--this.#live === 0 && this.#tail > 0) {
      // Nothing live: drop the kept entries so the queue pins nothing while idle.
      const q = this.#queue;
      for (let i = 0; i < this.#tail; i++) q[i] = undefined;
      this.#tail = 0;
    }
    return false;
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#live === 0) {
      // Idle: stop ticking. Every generation so far is over.
      this.#expired = this.#gen;
      this.#gen++;
      this.#openCount = 0;
      this.#closedBase = this.#gen;
      this.#closedCounts.length = 0;
      this.#closedAt.length = 0;
      return;
    }
    const now = this.#clock.now();
    // Close the open generation: all of its calls started before now.
    if (this.#closedCounts.length === 0) this.#closedBase = this.#gen;
    this.#closedCounts.push(this.#openCount);
    this.#closedAt.push(now + this.#ms);
    this.#gen++;
    this.#openCount = 0;
    // Expire every generation whose expiry has come, oldest first.
    let g = 0;
    while (g < this.#closedAt.length && this.#closedAt[g]! <= now) {
      this.#live -= this.#closedCounts[g]!;
      g++;
    }
    if (g > 0) {
      this.#expired = this.#closedBase + g - 1;
      this.#closedBase += g;
      this.#closedCounts.splice(0, g);
      this.#closedAt.splice(0, g);
    }
    // Keep the kept entries still pending; collect those past their deadline. Entries watched
    // late may sit behind newer ones, so the whole (short) list is scanned, not just its head.
    const expired = this.#expired;
    const q = this.#queue;
    const end = this.#tail;
    let due: T[] | null = null;
    let w = 0;
    for (let r = 0; r < end; r++) {
      const entry = q[r]!;
      if (entry.settled) continue;
      if (entry.gen <= expired) {
        entry.settled = true;
        if (due === null) due = [];
        due.push(entry);
      } else {
        q[w++] = entry;
      }
    }
    for (let i = w; i < end; i++) q[i] = undefined;
    this.#tail = w;
    // Callbacks last: an abort listener may start a call, which tracks a new entry.
    if (due !== null) for (const entry of due) this.#expire(entry);
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
