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
export type { AltOf, Operation, Policy } from './policy.js';
export {
  type TimeoutEvent,
  type TimeoutOptions,
  type TimeoutPolicy,
  type TimeoutStrategy,
  timeout,
} from './timeout.js';
export { type WrappedPolicy, wrap } from './wrap.js';
