export {
  type Backoff,
  type BackoffLike,
  type BackoffSequence,
  type ConstantBackoff,
  constantBackoff,
  type ExponentialBackoff,
  type ExponentialBackoffOptions,
  exponentialBackoff,
  type Jitter,
  MAX_DELAY_MS,
  toBackoff,
} from './backoff.js';
export {
  type CircuitBreaker,
  type CircuitBreakerStats,
  circuitBreaker,
} from './breaker/breaker.js';
export type {
  CircuitFailureEvent,
  CircuitIgnoredEvent,
  CircuitRejectionEvent,
  CircuitState,
  CircuitStateChange,
  CircuitSuccessEvent,
} from './breaker/events.js';
export type {
  CircuitBreakerOptions,
  ConsecutiveWindowOptions,
  CountWindowOptions,
  HalfOpenOptions,
  OpenDuration,
  SlowCallOptions,
  TimeWindowOptions,
  WindowOptions,
} from './breaker/options.js';
export type {
  CircuitBreakerSnapshot,
  ConsecutiveWindowSnapshot,
  CountWindowSnapshot,
  TimeWindowSnapshot,
  WindowSnapshot,
} from './breaker/snapshot.js';
export {
  type RetryBudget,
  type RetryBudgetOptions,
  retryBudget,
  type TokenBucketBudget,
  type TokenBucketBudgetOptions,
  tokenBucketBudget,
  type WindowedRetryBudget,
} from './budget.js';
export {
  type BulkheadOptions,
  type BulkheadPolicy,
  type BulkheadQueueEvent,
  type BulkheadRejectEvent,
  bulkhead,
} from './bulkhead.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export type { ExecutionContext } from './context.js';
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  isRejection,
  NinesError,
  TimeoutError,
} from './errors.js';
export type { Disposer, Event } from './event.js';
export {
  type FallbackFactory,
  type FallbackOptions,
  type FallbackPolicy,
  type FallbackReason,
  fallback,
} from './fallback.js';
export { type HedgeEvent, type HedgeOptions, type HedgePolicy, hedge } from './hedge.js';
export type { AltOf, Operation, Policy } from './policy.js';
export {
  type AttemptOutcome,
  type GiveUpEvent,
  type GiveUpReason,
  type RecoveredEvent,
  type RetryEvent,
  type RetryOptions,
  type RetryPolicy,
  retry,
} from './retry.js';
export { parseRetryAfter, retryAfterOf } from './retry-after.js';
export {
  type TimeoutEvent,
  type TimeoutOptions,
  type TimeoutPolicy,
  type TimeoutStrategy,
  timeout,
} from './timeout.js';
export { type WrappedPolicy, wrap } from './wrap.js';
