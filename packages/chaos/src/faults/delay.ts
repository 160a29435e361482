/** Draws latency delays from a fault's distribution. */
import type { LatencyDistribution } from './types.js';

/** Timers longer than this fire at once in Node; a drawn delay never exceeds it. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * One delay in ms, never negative: `fixed` = ms; `uniform` = ms ± jitterMs; `normal` = mean ms,
 * standard deviation jitterMs; `exponential` = mean ms. `random` returns values in [0, 1).
 *
 * @example
 * sampleDelay('uniform', 500, 50, Math.random); // 450..550
 */
export function sampleDelay(
  distribution: LatencyDistribution,
  ms: number,
  jitterMs: number,
  random: () => number,
): number {
  let d: number;
  switch (distribution) {
    case 'fixed':
      return ms;
    case 'uniform':
      d = ms + (2 * random() - 1) * jitterMs;
      break;
    case 'normal': {
      // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
      const u = 1 - random();
      const v = random();
      d = ms + jitterMs * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      break;
    }
    case 'exponential':
      d = -ms * Math.log(1 - random());
      break;
  }
  // A broken random() (NaN, out of range) must not turn into a negative or endless wait.
  if (!(d > 0)) return 0;
  return Math.min(d, MAX_TIMER_MS);
}
