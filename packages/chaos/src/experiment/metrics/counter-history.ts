/**
 * The recorded history of one counter series. It stores, per sample, the counter's running total
 * with resets already folded in (as Prometheus's `increase()` does: after a reset the new value is
 * the increase since the reset), so the increase over any window is one subtraction and two binary
 * searches, however long the history.
 */

/** Index of the last entry of `times[head..]` at or before `t`, or `head - 1` when there is none. */
export function lastAtOrBefore(times: readonly number[], head: number, t: number): number {
  let lo = head;
  let hi = times.length - 1;
  let found = head - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Drops the entries older than `cutoff` from the front, keeping the last one at or before it (a
 * window reaching exactly to the cutoff still needs its starting sample). Returns the new head;
 * compacts the arrays once the dropped part dominates, so memory stays proportional to retention.
 */
export function pruneFront(arrays: readonly number[][], head: number, cutoff: number): number {
  const times = arrays[0] as number[];
  const keep = lastAtOrBefore(times, head, cutoff);
  if (keep > head) head = keep;
  if (head > 64 && head * 2 > times.length) {
    for (const a of arrays) a.splice(0, head);
    head = 0;
  }
  return head;
}

/** One counter series of one source. */
export class CounterHistory {
  /** Sample times (ms), ascending. */
  readonly times: number[] = [];
  /** Running total (resets folded in) at each sample. */
  readonly totals: number[] = [];
  head = 0;
  /** Last raw value seen (0 after the series went missing). */
  last = 0;
  /** Whether the series was in the source's latest snapshot. */
  present = false;

  /** Appends a sample whose raw value is `value`; `reset` forces "counted from zero". */
  push(at: number, value: number, reset: boolean): void {
    const n = this.totals.length;
    const before = n === 0 ? 0 : (this.totals[n - 1] as number);
    const increase = n === 0 ? 0 : reset || value < this.last ? value : value - this.last;
    this.times.push(at);
    this.totals.push(before + increase);
    this.last = value;
  }

  /** Marks the series as 0 at `at` (it was missing from a snapshot), counting nothing. */
  vanish(at: number): void {
    const n = this.totals.length;
    this.times.push(at);
    this.totals.push(n === 0 ? 0 : (this.totals[n - 1] as number));
    this.last = 0;
    this.present = false;
  }

  /** Time of the newest sample, or -Infinity when empty. */
  newest(): number {
    const n = this.times.length;
    return n === this.head ? Number.NEGATIVE_INFINITY : (this.times[n - 1] as number);
  }

  /**
   * Running total at time `t`: that of the last sample at or before `t`, else of the oldest
   * sample (the series' history starts later; it then counts from its first sample).
   */
  totalAt(t: number): number {
    const i = lastAtOrBefore(this.times, this.head, t);
    return this.totals[Math.max(i, this.head)] as number;
  }

  /** Increase between times `from` and `to` (both snapshot times of the source). */
  increase(from: number, to: number): number {
    if (this.times.length === this.head) return 0;
    return this.totalAt(to) - this.totalAt(from);
  }

  prune(cutoff: number): void {
    this.head = pruneFront([this.times, this.totals], this.head, cutoff);
  }
}
