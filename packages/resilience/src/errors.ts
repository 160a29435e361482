/**
 * Base class of every error nines raises itself. `code` is stable and safe to branch on.
 */
export class NinesError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Builds an error without capturing a stack trace. Rejections happen on hot paths (an open
 * breaker, a full bulkhead) where a stack costs more than the call it replaces and tells nothing.
 */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The circuit is open (or half-open with every trial permit taken): the call was not made. */
export class BrokenCircuitError extends NinesError {
  /** Milliseconds until the breaker admits a trial call (0 when half-open permits are the limit). */
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, message?: string) {
    super(
      'ECIRCUITOPEN',
      message ?? `circuit is open; a trial call is allowed in ${Math.ceil(retryAfterMs)} ms`,
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** The circuit was isolated by hand with `isolate()`: the call was not made. */
export class IsolatedCircuitError extends NinesError {
  constructor() {
    super('ECIRCUITISOLATED', 'circuit is isolated by hand; no calls are allowed until released');
  }
}

/** A timeout policy's deadline passed. */
export class TimeoutError extends NinesError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('ETIMEDOUT', `operation timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A bulkhead had no free execution slot and no free queue slot. */
export class BulkheadRejectedError extends NinesError {
  readonly limit: number;
  readonly queue: number;
  constructor(limit: number, queue: number) {
    super('EBULKHEADFULL', `bulkhead is full (${limit} executing, ${queue} queued)`);
    this.limit = limit;
    this.queue = queue;
  }
}

/** True when `err` is one of the errors nines raises when it refused to make a call. */
export function isRejection(err: unknown): err is BrokenCircuitError | IsolatedCircuitError {
  return err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError;
}
