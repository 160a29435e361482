import type { Thresholds } from './options.js';
import type { TimeWindowSnapshot, WindowSnapshot } from './snapshot.js';
import {
  type BreakerWindow,
  countField,
  describeShort,
  exactKeys,
  plainObject,
  tripped,
  type Where,
} from './window.js';

const KEYS = ['type', 'durationMs', 'buckets', 'head', 'counts'] as const;

const mod = (k: number, n: number): number => ((k % n) + n) % n;

/**
 * The calls that ended in the last `durationMs`, in `n` buckets of `durationMs / n` ms. Bucket `k`
 * (absolute: `floor(time / width)`) lives in slot `k mod n`. Buckets are rotated lazily from the
 * clock when the window is read or written, never by a timer, so an idle breaker costs memory
 * only: three numbers per bucket and running totals.
 *
 * @internal
 */
export class TimeWindow implements BreakerWindow {
  readonly type = 'time' as const;
  /**
   * Rates need every call in its right bucket, so each record reads the clock. A window judged on
   * a failure count alone reads it only for failures: a clock read costs as much as the call it
   * guards on these machines, and the successes it would place only feed `stats.calls`.
   */
  readonly needsClock: boolean;
  readonly needsClockOnFailure = true;
  readonly #t: Thresholds;
  readonly #durationMs: number;
  readonly #n: number;
  readonly #width: number;
  /** [calls, failures, slow] per slot. */
  readonly #counts: Uint32Array;
  /** Absolute index of the newest bucket. */
  #head = Number.NEGATIVE_INFINITY;
  /** Its slot, and the time at which it stops being the newest (the common case is one compare). */
  #slot = 0;
  #headEnd = Number.NEGATIVE_INFINITY;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(durationMs: number, buckets: number, thresholds: Thresholds) {
    this.#durationMs = durationMs;
    this.#n = buckets;
    this.#width = durationMs / buckets;
    this.#counts = new Uint32Array(3 * buckets);
    this.#t = thresholds;
    this.needsClock = thresholds.failureRate > 0 || thresholds.slowRate > 0;
  }

  get calls(): number {
    return this.#calls;
  }
  get failures(): number {
    return this.#failures;
  }
  get slowCalls(): number {
    return this.#slow;
  }

  advance(now: number): void {
    if (now < this.#headEnd) return;
    const b = Math.floor(now / this.#width);
    const head = this.#head;
    // Same bucket, or a clock that went back: keep counting into the newest bucket.
    if (!(b > head)) return;
    const n = this.#n;
    const c = this.#counts;
    if (b - head >= n) {
      if (this.#calls > 0) this.reset();
    } else {
      for (let k = head + 1; k <= b; k++) {
        const i = 3 * mod(k, n);
        this.#calls -= c[i]!;
        this.#failures -= c[i + 1]!;
        this.#slow -= c[i + 2]!;
        c[i] = 0;
        c[i + 1] = 0;
        c[i + 2] = 0;
      }
    }
    this.#setHead(b);
  }

  #setHead(b: number): void {
    this.#head = b;
    this.#slot = 3 * mod(b, this.#n);
    // A hair before the next bucket's start: near the edge, floor(now / width) decides, so float
    // rounding can never keep a call in a bucket that the exact computation has left.
    const end = (b + 1) * this.#width;
    this.#headEnd = end - Math.abs(end) * 1e-12;
  }

  record(failed: boolean, slow: boolean, now: number): boolean {
    // NaN: a success placed without a clock read (see needsClock), in the newest bucket known.
    if (!Number.isNaN(now)) this.advance(now);
    const c = this.#counts;
    const i = this.#slot;
    c[i]!++;
    this.#calls++;
    if (failed) {
      c[i + 1]!++;
      this.#failures++;
    }
    if (slow) {
      c[i + 2]!++;
      this.#slow++;
    }
    return (failed || slow) && tripped(this.#t, this.#calls, this.#failures, this.#slow);
  }

  reset(): void {
    this.#counts.fill(0);
    this.#calls = 0;
    this.#failures = 0;
    this.#slow = 0;
  }

  snapshot(now: number): TimeWindowSnapshot {
    this.advance(now);
    const n = this.#n;
    const c = this.#counts;
    const counts: [number, number, number][] = new Array(n);
    for (let j = 0; j < n; j++) {
      const i = 3 * mod(this.#head - n + 1 + j, n);
      counts[j] = [c[i]!, c[i + 1]!, c[i + 2]!];
    }
    return { type: 'time', durationMs: this.#durationMs, buckets: n, head: this.#head, counts };
  }

  parse(value: unknown, where: Where): TimeWindowSnapshot {
    const o = plainObject(value, where, '.window');
    if (o.type !== 'time') {
      throw new TypeError(
        `${where('.window.type')} must be 'time' (this breaker's window), got ${JSON.stringify(o.type)}`,
      );
    }
    exactKeys(o, KEYS, where, '.window');
    if (o.durationMs !== this.#durationMs) {
      throw new TypeError(
        `${where('.window.durationMs')} must be ${this.#durationMs} (this breaker's window), got ${describeShort(o.durationMs)}`,
      );
    }
    const n = this.#n;
    if (o.buckets !== n) {
      throw new TypeError(
        `${where('.window.buckets')} must be ${n} (this breaker's window), got ${describeShort(o.buckets)}`,
      );
    }
    const head = o.head;
    if (typeof head !== 'number' || !Number.isSafeInteger(head)) {
      throw new TypeError(
        `${where('.window.head')} must be an integer, got ${describeShort(head)}`,
      );
    }
    const list = o.counts;
    if (!Array.isArray(list) || list.length !== n) {
      throw new TypeError(
        `${where('.window.counts')} must be an array of ${n} buckets, got ${describeShort(list)}${Array.isArray(list) ? ` of ${list.length}` : ''}`,
      );
    }
    const counts = list.map((bucket, j): [number, number, number] => {
      const path = `.window.counts[${j}]`;
      if (!Array.isArray(bucket) || bucket.length !== 3) {
        throw new TypeError(
          `${where(path)} must be [calls, failures, slowCalls], got ${describeShort(bucket)}`,
        );
      }
      const calls = countField(bucket[0], where, `${path}[0]`, 0xffff_ffff);
      const failures = countField(bucket[1], where, `${path}[1]`, calls);
      const slow = countField(bucket[2], where, `${path}[2]`, calls);
      return [calls, failures, slow];
    });
    return { type: 'time', durationMs: this.#durationMs, buckets: n, head, counts };
  }

  load(snapshot: WindowSnapshot): void {
    const s = snapshot as TimeWindowSnapshot;
    this.reset();
    const n = this.#n;
    const c = this.#counts;
    this.#setHead(s.head);
    for (let j = 0; j < n; j++) {
      const [calls, failures, slow] = s.counts[j]!;
      const i = 3 * mod(s.head - n + 1 + j, n);
      c[i] = calls;
      c[i + 1] = failures;
      c[i + 2] = slow;
      this.#calls += calls;
      this.#failures += failures;
      this.#slow += slow;
    }
  }
}
