import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Clock } from '@nines/resilience';

/** Sampling interval of the event-loop histograms (ms): fine enough for thresholds of 50 ms up. */
export const EVENT_LOOP_RESOLUTION_MS = 20;

/**
 * The worst event-loop delay over a sliding window, from `perf_hooks.monitorEventLoopDelay`
 * (native sampling, no JavaScript timer).
 *
 * A histogram loses the interval right after it is enabled or reset (it has no previous sample to
 * measure from), so a single histogram reset at every window boundary would miss a block that
 * starts just then. Two histograms are reset in turn instead, and the reading comes from the one
 * reset longer ago: it covers at least the last full window without a gap, so a block is visible
 * for at least one window after it ends (a whole liveness period when the window is the period,
 * which is how the probes use it), and for at most two windows when the monitor is read at least
 * once a window. Windows turn lazily when the monitor is read, on the injected clock: no timer.
 *
 * @internal
 */
export class EventLoopMonitor {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #histograms: [IntervalHistogram, IntervalHistogram];
  /** Index of the histogram reset longer ago: the one that is read. */
  #older = 0;
  #turnedAt: number;
  #closed = false;

  constructor(clock: Clock, windowMs: number) {
    this.#clock = clock;
    this.#windowMs = windowMs;
    const resolution = EVENT_LOOP_RESOLUTION_MS;
    this.#histograms = [
      monitorEventLoopDelay({ resolution }),
      monitorEventLoopDelay({ resolution }),
    ];
    for (const h of this.#histograms) h.enable();
    this.#turnedAt = clock.now();
  }

  /**
   * The worst delay (ms) since the older histogram's reset: how late the loop was to run a timer due
   * every {@link EVENT_LOOP_RESOLUTION_MS}, so an idle loop reads about 0. 0 after `close()`.
   */
  delayMs(): number {
    if (this.#closed) return 0;
    const now = this.#clock.now();
    if (now - this.#turnedAt >= this.#windowMs) {
      // The older histogram has covered two windows: restart it; the other becomes the older.
      this.#histograms[this.#older]!.reset();
      this.#older = 1 - this.#older;
      this.#turnedAt = now;
    }
    const h = this.#histograms[this.#older]!;
    // Recorded values are intervals between samples (ns): an on-time sample records the
    // resolution itself, so lateness is the excess.
    if (h.count === 0) return 0;
    return Math.max(0, h.max / 1e6 - EVENT_LOOP_RESOLUTION_MS);
  }

  /** Stops sampling. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#histograms) h.disable();
  }
}
