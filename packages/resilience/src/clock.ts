/** A handle returned by {@link Clock.setTimeout}. Opaque to callers. */
export type TimerHandle = unknown;

/**
 * Time source and timers for every time-dependent policy. Inject a {@link ManualClock} in tests,
 * or an offset clock to simulate skew; production code uses {@link systemClock}.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences are meaningful, except for wall-clock use). */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

// Read once: the getter validates its receiver on every access, which doubles the cost of now().
const origin = performance.timeOrigin;

/** The real clock: `performance.timeOrigin + performance.now()` (epoch ms) and Node's timers. */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** Lets pending promise chains run: one macrotask turn settles every queued microtask. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock that only moves when told to. Timers fire in due order as {@link ManualClock.advance}
 * passes their time, and pending promise reactions are settled between firings, so async code
 * under test runs as it would in real time without any real waiting.
 *
 * @example
 * const clock = new ManualClock();
 * const p = retry({ clock }).execute(fn);
 * await clock.advance(1_000);
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    if (typeof start !== 'number' || !Number.isFinite(start)) {
      throw new TypeError(`ManualClock: start must be a finite number, got ${String(start)}`);
    }
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: ManualTimer = {
      at: this.#now + delay,
      seq: this.#seq++,
      callback,
      cancelled: false,
    };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as ManualTimer | undefined;
    if (timer && typeof timer === 'object' && 'cancelled' in timer) {
      timer.cancelled = true;
      const i = this.#timers.indexOf(timer);
      if (i >= 0) this.#timers.splice(i, 1);
    }
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order and settling promise reactions after
   * each, then once more at the end.
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new TypeError(
        `ManualClock.advance: ms must be a finite number >= 0, got ${String(ms)}`,
      );
    }
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#nextDue(target);
      if (!next) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Moves time forward without firing anything: for code that only reads `now()`. */
  set(now: number): void {
    if (!Number.isFinite(now))
      throw new TypeError(`ManualClock.set: now must be finite, got ${now}`);
    this.#now = now;
  }

  #nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers) {
      if (t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
