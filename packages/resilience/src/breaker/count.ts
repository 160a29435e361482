import type { Thresholds } from './options.js';
import type { CountWindowSnapshot, WindowSnapshot } from './snapshot.js';
import {
  type BreakerWindow,
  countField,
  describeShort,
  exactKeys,
  plainObject,
  tripped,
  type Where,
} from './window.js';

const FAILED = 1;
const SLOW = 2;
const KEYS = ['type', 'size', 'outcomes'] as const;

/**
 * The last `size` calls in a ring of one byte each (bit 0 failed, bit 1 slow), with running
 * totals, so recording is O(1) and allocation-free.
 *
 * @internal
 */
export class CountWindow implements BreakerWindow {
  readonly type = 'count' as const;
  readonly needsClock = false;
  readonly needsClockOnFailure = false;
  readonly #t: Thresholds;
  readonly #ring: Uint8Array;
  /** Where the next call goes. */
  #next = 0;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(size: number, thresholds: Thresholds) {
    this.#ring = new Uint8Array(size);
    this.#t = thresholds;
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

  advance(): void {}

  record(failed: boolean, slow: boolean): boolean {
    this.#push((failed ? FAILED : 0) | (slow ? SLOW : 0));
    return (failed || slow) && tripped(this.#t, this.#calls, this.#failures, this.#slow);
  }

  reset(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.#calls = 0;
    this.#failures = 0;
    this.#slow = 0;
  }

  snapshot(): CountWindowSnapshot {
    const ring = this.#ring;
    const size = ring.length;
    const outcomes: number[] = new Array(this.#calls);
    let i = (this.#next - this.#calls + size) % size;
    for (let k = 0; k < this.#calls; k++) {
      outcomes[k] = ring[i]!;
      i = i + 1 === size ? 0 : i + 1;
    }
    return { type: 'count', size, outcomes };
  }

  parse(value: unknown, where: Where): CountWindowSnapshot {
    const o = plainObject(value, where, '.window');
    if (o.type !== 'count') {
      throw new TypeError(
        `${where('.window.type')} must be 'count' (this breaker's window), got ${JSON.stringify(o.type)}`,
      );
    }
    exactKeys(o, KEYS, where, '.window');
    const size = this.#ring.length;
    if (o.size !== size) {
      throw new TypeError(
        `${where('.window.size')} must be ${size} (this breaker's window size), got ${describeShort(o.size)}`,
      );
    }
    const list = o.outcomes;
    if (!Array.isArray(list) || list.length > size) {
      throw new TypeError(
        `${where('.window.outcomes')} must be an array of at most ${size} outcomes, got ${describeShort(list)}${Array.isArray(list) ? ` of ${list.length}` : ''}`,
      );
    }
    const outcomes = list.map((v, i) => countField(v, where, `.window.outcomes[${i}]`, 3));
    return { type: 'count', size, outcomes };
  }

  load(snapshot: WindowSnapshot): void {
    this.reset();
    for (const v of (snapshot as CountWindowSnapshot).outcomes) this.#push(v);
  }

  #push(v: number): void {
    const ring = this.#ring;
    const i = this.#next;
    if (this.#calls === ring.length) {
      const old = ring[i]!;
      if (old & FAILED) this.#failures--;
      if (old & SLOW) this.#slow--;
    } else {
      this.#calls++;
    }
    ring[i] = v;
    if (v & FAILED) this.#failures++;
    if (v & SLOW) this.#slow++;
    this.#next = i + 1 === ring.length ? 0 : i + 1;
  }
}
