/**
 * A ring of time buckets holding good and bad event counts. Slots are absolute
 * (`floor(time / sizeMs)`), so a slot index is also its start time, and the ring rotates lazily:
 * nothing happens until a write or a read at a later slot clears the buckets in between.
 *
 * Counts are float64 so bulk counts stay exact up to 2^53 per bucket.
 *
 * @internal
 */
export class BucketRing {
  readonly sizeMs: number;
  readonly length: number;
  readonly good: Float64Array;
  readonly bad: Float64Array;
  /** Newest slot held (absolute). */
  head: number;
  /** Array index of {@link BucketRing.head}. */
  headIndex: number;

  constructor(sizeMs: number, length: number, head: number) {
    this.sizeMs = sizeMs;
    this.length = length;
    this.good = new Float64Array(length);
    this.bad = new Float64Array(length);
    this.head = head;
    this.headIndex = this.indexOf(head);
  }

  indexOf(slot: number): number {
    const i = slot % this.length;
    return i < 0 ? i + this.length : i;
  }

  /** Moves the head forward to `slot`, zeroing the buckets skipped. A slot not ahead is ignored. */
  advance(slot: number): void {
    const gap = slot - this.head;
    if (gap <= 0) return;
    if (gap >= this.length) {
      this.good.fill(0);
      this.bad.fill(0);
    } else {
      let i = this.headIndex;
      for (let k = 0; k < gap; k++) {
        i = i + 1 === this.length ? 0 : i + 1;
        this.good[i] = 0;
        this.bad[i] = 0;
      }
    }
    this.head = slot;
    this.headIndex = this.indexOf(slot);
  }

  /** Oldest slot still held. */
  get tail(): number {
    return this.head - this.length + 1;
  }

  /**
   * Adds the counts of slots `from..to` (inclusive, clamped to what the ring holds) into `out`
   * (`out[0]` good, `out[1]` bad).
   */
  sum(from: number, to: number, out: Float64Array): void {
    if (from < this.tail) from = this.tail;
    if (to > this.head) to = this.head;
    let g = 0;
    let b = 0;
    for (let s = from; s <= to; s++) {
      const i = this.indexOf(s);
      g += this.good[i]!;
      b += this.bad[i]!;
    }
    out[0]! += g;
    out[1]! += b;
  }

  /** Adds counts to an absolute slot; a slot older than the ring is dropped, a newer one is clamped to the head. */
  addAt(slot: number, good: number, bad: number): void {
    if (slot < this.tail) return;
    const i = slot > this.head ? this.headIndex : this.indexOf(slot);
    this.good[i]! += good;
    this.bad[i]! += bad;
  }

  /** Non-empty buckets as `[startMs, good, bad]`, oldest first. */
  entries(): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    for (let s = this.tail; s <= this.head; s++) {
      const i = this.indexOf(s);
      const g = this.good[i]!;
      const b = this.bad[i]!;
      if (g !== 0 || b !== 0) out.push([s * this.sizeMs, g, b]);
    }
    return out;
  }

  clear(head: number): void {
    this.good.fill(0);
    this.bad.fill(0);
    this.head = head;
    this.headIndex = this.indexOf(head);
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return this.good.byteLength + this.bad.byteLength;
  }
}
