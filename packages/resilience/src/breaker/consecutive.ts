import type { ConsecutiveWindowSnapshot, WindowSnapshot } from './snapshot.js';
import { type BreakerWindow, countField, exactKeys, plainObject, type Where } from './window.js';

const KEYS = ['type', 'failures'] as const;

/**
 * Consecutive failures: the window is the current run of failures, so `calls === failures` and a
 * success empties it. No clock, no allocation.
 *
 * @internal
 */
export class ConsecutiveWindow implements BreakerWindow {
  readonly type = 'consecutive' as const;
  readonly needsClock = false;
  readonly needsClockOnFailure = false;
  readonly #threshold: number;
  #run = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  get calls(): number {
    return this.#run;
  }
  get failures(): number {
    return this.#run;
  }
  get slowCalls(): number {
    return 0;
  }

  advance(): void {}

  record(failed: boolean): boolean {
    if (!failed) {
      this.#run = 0;
      return false;
    }
    return ++this.#run >= this.#threshold;
  }

  reset(): void {
    this.#run = 0;
  }

  snapshot(): ConsecutiveWindowSnapshot {
    return { type: 'consecutive', failures: this.#run };
  }

  parse(value: unknown, where: Where): ConsecutiveWindowSnapshot {
    const o = plainObject(value, where, '.window');
    if (o.type !== 'consecutive') {
      throw new TypeError(
        `${where('.window.type')} must be 'consecutive' (this breaker's window), got ${JSON.stringify(o.type)}`,
      );
    }
    exactKeys(o, KEYS, where, '.window');
    return {
      type: 'consecutive',
      failures: countField(o.failures, where, '.window.failures', this.#threshold),
    };
  }

  load(snapshot: WindowSnapshot): void {
    this.#run = (snapshot as ConsecutiveWindowSnapshot).failures;
  }
}
