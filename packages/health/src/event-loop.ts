import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '@nines/resilience';

/** Sampling interval of the event-loop histograms (ms): fine enough for thresholds of 50 ms up. */
export const EVENT_LOOP_RESOLUTION_MS = 20;

/**
 * The worst event-loop delay over a sliding window, from `perf_hooks.monitorEventLoopDelay`
 * (native sampling, no JavaScript callback per sample).
 *
 * A histogram loses the interval right after it is enabled or reset (it has no previous sample to
 * measure from), so a single histogram reset at every window boundary would miss a block that
 * starts just then. Two histograms are reset in turn, one window apart, and the reading comes from
 * the one reset longer ago: it covers the last one to two windows without a gap, so a block stays
 * visible for at least one window after it ends and for less than two. Windows turn on a timer
 * (unref'd, on the injected clock), not when the monitor is read, so how often someone reads it (a
 * curious human, a second monitoring system) never changes what the kubelet sees.
 *
 * @internal
 */
export class EventLoopMonitor {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #histograms: [IntervalHistogram, IntervalHistogram];
  /** Index of the histogram reset longer ago: the one that is read. */
  #older = 0;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, windowMs: number) {
    this.#clock = clock;
    this.#windowMs = windowMs;
    const resolution = EVENT_LOOP_RESOLUTION_MS;
    this.#histograms = [
      monitorEventLoopDelay({ resolution }),
      monitorEventLoopDelay({ resolution }),
    ];
    for (const h of this.#histograms) h.enable();
    this.#schedule();
  }

  #schedule(): void {
    const handle = this.#clock.setTimeout(this.#turn, this.#windowMs);
    // Measuring must never keep the process alive (a ManualClock handle has no unref).
    (handle as { unref?: () => void } | null)?.unref?.();
    this.#timer = handle;
  }

  readonly #turn = (): void => {
    // The older histogram has covered two windows: restart it; the other becomes the older.
    this.#histograms[this.#older]!.reset();
    this.#older = 1 - this.#older;
    this.#schedule();
  };

  /**
   * The worst delay (ms) in the last one to two windows: how late the loop was to run a sample
   * due every {@link EVENT_LOOP_RESOLUTION_MS}, so an idle loop reads about 0. 0 after `close()`.
   */
  delayMs(): number {
    if (this.#timer === undefined) return 0;
    const h = this.#histograms[this.#older]!;
    if (h.count === 0) return 0;
    // Recorded values are intervals between samples (ns): an on-time sample records the
    // resolution itself, so lateness is the excess.
    return Math.max(0, h.max / 1e6 - EVENT_LOOP_RESOLUTION_MS);
  }

  /** Stops sampling and the window timer. Idempotent. */
  close(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const h of this.#histograms) h.disable();
  }
}
