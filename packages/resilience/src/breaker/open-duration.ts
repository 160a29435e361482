import type { Backoff, BackoffSequence } from '../backoff.js';
import { describe } from '../validate.js';
import { DEFAULT_OPEN_MS, type OpenDuration, OWNER } from './options.js';

/** A restored breaker replays at most this many steps of a backoff per open, so a corrupt reopen count cannot stall a call. */
const MAX_REPLAY = 1_000;

const valid = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < Infinity;

/**
 * The open duration of each open period: fixed, from a function of the reopen count, or from a
 * {@link Backoff} sequence that is started at the first open after closed and advanced on each
 * reopen. The sequence position is derived from the reopen count, so a breaker restored from a
 * snapshot replays the sequence and resumes where the snapshot left it.
 *
 * @internal
 */
export class OpenSchedule {
  readonly #fixed: number;
  readonly #fn: ((reopens: number) => number) | null;
  readonly #backoff: Backoff | null;
  #seq: BackoffSequence | null = null;
  /** How many values `#seq` has produced. */
  #pos = 0;
  #ended = false;
  #last = DEFAULT_OPEN_MS;
  #warned = false;

  constructor(spec: OpenDuration) {
    this.#fixed = typeof spec === 'number' ? spec : Number.NaN;
    this.#fn = typeof spec === 'function' ? spec : null;
    this.#backoff = typeof spec === 'object' ? spec : null;
  }

  /** The open duration after `reopens` reopens since the circuit was last closed (0 = first open). */
  duration(reopens: number): number {
    if (this.#fn !== null) {
      let v: unknown;
      try {
        v = this.#fn(reopens);
      } catch (err) {
        v = err;
      }
      if (valid(v)) this.#last = v;
      else this.#warn(v);
      return this.#last;
    }
    if (this.#backoff === null) return this.#fixed;
    if (this.#seq === null || reopens === 0 || reopens < this.#pos - 1) this.#restart();
    for (let steps = 0; this.#pos <= reopens && !this.#ended && steps < MAX_REPLAY; steps++) {
      let v: unknown;
      try {
        v = this.#seq!.next();
      } catch (err) {
        v = err;
      }
      this.#pos++;
      if (v === undefined) this.#ended = true;
      else if (valid(v)) this.#last = v;
      else this.#warn(v);
    }
    return this.#last;
  }

  /** The duration of a first open, without disturbing a running sequence. */
  first(): number {
    if (this.#fn !== null) {
      try {
        const v = this.#fn(0);
        if (valid(v)) return v;
      } catch {}
      return DEFAULT_OPEN_MS;
    }
    if (this.#backoff === null) return this.#fixed;
    try {
      const v = this.#backoff.start().next();
      if (valid(v)) return v;
    } catch {}
    return DEFAULT_OPEN_MS;
  }

  /** Forgets the running sequence (the circuit closed, or a snapshot was loaded). */
  reset(): void {
    this.#seq = null;
    this.#pos = 0;
    this.#ended = false;
  }

  #restart(): void {
    this.#last = DEFAULT_OPEN_MS;
    this.#pos = 0;
    this.#ended = false;
    try {
      this.#seq = this.#backoff!.start();
    } catch (err) {
      this.#warn(err);
      this.#seq = { next: () => undefined };
    }
  }

  #warn(value: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    process.emitWarning(
      `${OWNER}: option "openMs" produced ${value instanceof Error ? `an error (${value.message})` : describe(value)} instead of a finite number of ms >= 0; using ${this.#last} ms`,
      'NinesBreakerWarning',
    );
  }
}
