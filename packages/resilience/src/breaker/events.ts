import type { BrokenCircuitError, IsolatedCircuitError } from '../errors.js';

/**
 * The state of a circuit breaker:
 * - `'closed'`: calls go through and their outcomes are recorded in the window;
 * - `'open'`: calls are rejected with `BrokenCircuitError` until the open duration has passed;
 * - `'half-open'`: a few trial calls go through; enough successes close the circuit, any failure
 *   reopens it;
 * - `'isolated'`: opened by hand with `isolate()`; calls are rejected with `IsolatedCircuitError`.
 */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Emitted once per state transition. */
export interface CircuitStateChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/**
 * `durationMs` in the call events below is `NaN` when nothing needed the start time when the call
 * was admitted (no slow-call detection and no success/failure/ignored listener at that moment).
 */
export interface CircuitSuccessEvent {
  readonly durationMs: number;
  /** True when slow-call detection is on and the call took longer than its threshold. */
  readonly slow: boolean;
}

/** A call that counted as a failure: an error, or a result that `isFailureResult` rejected. */
export type CircuitFailureEvent =
  | {
      readonly kind: 'error';
      readonly error: unknown;
      readonly durationMs: number;
      readonly slow: boolean;
    }
  | {
      readonly kind: 'result';
      readonly result: unknown;
      readonly durationMs: number;
      readonly slow: boolean;
    };

/** A call the breaker refused to make. */
export interface CircuitRejectionEvent {
  readonly error: BrokenCircuitError | IsolatedCircuitError;
}

/**
 * A call whose error is neutral: `isIgnored` matched it, or it was raised after the call was
 * cancelled (`cancelled: true`: the caller aborted, or a hedge dropped this attempt).
 */
export interface CircuitIgnoredEvent {
  readonly error: unknown;
  readonly durationMs: number;
  readonly cancelled: boolean;
}
