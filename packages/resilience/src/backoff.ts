/**
 * A delay schedule: one fresh {@link BackoffSequence} per retry execution (or per closed -> open
 * cycle of a breaker). Stateless factories keep one policy safe to share between callers.
 */
export interface Backoff {
  /** Starts a new sequence of delays. */
  start(): BackoffSequence;
}

/** The delays of one execution, in milliseconds. */
export interface BackoffSequence {
  /** The next delay, or `undefined` when the schedule is exhausted (stop retrying). */
  next(): number | undefined;
}
