/** Clock skew: a Clock whose now() is offset while skew faults on its target are active. */
import type { Clock, TimerHandle } from '@nines/resilience';
import type { FaultCore } from './record.js';

/**
 * A Clock reading `base.now()` plus the active skew offsets of `target`. Timers are the base's:
 * skew moves what code reads as the time, not how long a wait takes.
 */
export function skewedClock(core: FaultCore, target: string, base: Clock): Clock {
  const slot = core.slot(target);
  return {
    now(): number {
      return slot.skews.length === 0 ? base.now() : base.now() + core.offset(slot);
    },
    setTimeout(callback: () => void, ms: number): TimerHandle {
      return base.setTimeout(callback, ms);
    },
    clearTimeout(handle: TimerHandle): void {
      base.clearTimeout(handle);
    },
  };
}
