import type {
  CircuitBreaker,
  CircuitState,
  Disposer,
  GiveUpEvent,
  RetryEvent,
  RetryPolicy,
} from '@nines/resilience';
import { describe, optionsObject } from '@nines/resilience/options';
import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { MetricsRegistry } from './metrics/registry.js';

/** Options of {@link bridgeCircuitBreaker} and {@link bridgeRetry}. */
export interface BridgeOptions {
  /** Names the policy in metrics (`name` label), span events and log lines, e.g. `'store'`. */
  readonly name: string;
  /** Where the counters and the state gauge go. */
  readonly registry?: MetricsRegistry;
  /** Receives a WARN line per breaker state change (and per give-up of a retry). */
  readonly logger?: Logger;
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEYS = ['name', 'registry', 'logger'];

function check(
  owner: string,
  options: unknown,
): Required<Pick<BridgeOptions, 'name'>> & BridgeOptions {
  const o = optionsObject<BridgeOptions>(owner, options, KEYS);
  if (typeof o.name !== 'string' || !NAME.test(o.name)) {
    throw new TypeError(
      `${owner}: option "name" must be 1-64 letters, digits, ".", "_" or "-", got ${describe(o.name)}`,
    );
  }
  if (o.registry !== undefined && typeof o.registry?.counter !== 'function') {
    throw new TypeError(
      `${owner}: option "registry" must be a MetricsRegistry, got ${describe(o.registry)}`,
    );
  }
  if (o.logger !== undefined && typeof o.logger?.warn !== 'function') {
    throw new TypeError(
      `${owner}: option "logger" must be a pino logger, got ${describe(o.logger)}`,
    );
  }
  return o as BridgeOptions;
}

/**
 * Turns a circuit breaker's events into telemetry: a state gauge (`nines_circuit_breaker_state`,
 * one series per state, 1 for the current one), transition and rejection counters, span events
 * and a `nines.circuit_breaker.state` attribute on the active span, and one WARN log line per state
 * change. Returns a disposer that detaches every listener.
 *
 * @example
 * bridgeCircuitBreaker(breaker, { name: 'store', registry: telemetry.registry, logger: telemetry.logger });
 */
export function bridgeCircuitBreaker(breaker: CircuitBreaker, options: BridgeOptions): Disposer {
  const owner = 'bridgeCircuitBreaker';
  if (typeof (breaker as Partial<CircuitBreaker>)?.onStateChange !== 'function') {
    throw new TypeError(
      `${owner}: breaker must be a circuit breaker from @nines/resilience, got ${describe(breaker)}`,
    );
  }
  const { name, registry, logger } = check(owner, options);
  const gauge = registry?.gauge({
    name: 'nines_circuit_breaker_state',
    help: 'Circuit breaker state: 1 for the current state, 0 for the others.',
    labelNames: ['name', 'state'],
  });
  const stateSeries = STATES.map((s) => gauge?.labels(name, s));
  const setState = (state: CircuitState): void => {
    for (let i = 0; i < STATES.length; i++) stateSeries[i]?.set(STATES[i] === state ? 1 : 0);
  };
  setState(breaker.state);
  const transitions = registry?.counter({
    name: 'nines_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes.',
    labelNames: ['name', 'from', 'to'],
  });
  const rejections = registry
    ?.counter({
      name: 'nines_circuit_breaker_rejections_total',
      help: 'Calls rejected without running because the circuit was open or isolated.',
      labelNames: ['name'],
    })
    .labels(name);

  const offChange = breaker.onStateChange(({ from, to }) => {
    setState(to);
    transitions?.labels(name, from, to).inc();
    const span = trace.getActiveSpan();
    span?.addEvent('circuit_breaker.state_change', { 'nines.policy.name': name, from, to });
    span?.setAttribute('nines.circuit_breaker.state', to);
    logger?.warn({ breaker: name, from, to }, `circuit breaker ${name}: ${from} -> ${to}`);
  });
  const offReject = breaker.onRejection(() => {
    rejections?.inc();
    const span = trace.getActiveSpan();
    span?.addEvent('circuit_breaker.rejected', { 'nines.policy.name': name, state: breaker.state });
    span?.setAttribute('nines.circuit_breaker.state', breaker.state);
  });
  return () => {
    offChange();
    offReject();
  };
}

/**
 * Turns a retry policy's events into telemetry: `nines_retries_total` and
 * `nines_retry_give_ups_total` counters, a `retry` span event (attempt, delay, whether a
 * Retry-After set it) and a `nines.retry.attempt` attribute on the active span, and a WARN line
 * when the policy gives up. Returns a disposer that detaches every listener.
 *
 * @example
 * bridgeRetry(policy, { name: 'store', registry: telemetry.registry, logger: telemetry.logger });
 */
export function bridgeRetry(policy: RetryPolicy, options: BridgeOptions): Disposer {
  const owner = 'bridgeRetry';
  if (typeof (policy as Partial<RetryPolicy>)?.onRetry !== 'function') {
    throw new TypeError(
      `${owner}: policy must be a retry policy from @nines/resilience, got ${describe(policy)}`,
    );
  }
  const { name, registry, logger } = check(owner, options);
  const retries = registry
    ?.counter({
      name: 'nines_retries_total',
      help: 'Retries scheduled (not counting first attempts).',
      labelNames: ['name'],
    })
    .labels(name);
  const giveUps = registry?.counter({
    name: 'nines_retry_give_ups_total',
    help: 'Executions the retry policy gave up on, by reason.',
    labelNames: ['name', 'reason'],
  });
  const offRetry = policy.onRetry((e: RetryEvent) => {
    retries?.inc();
    const span = trace.getActiveSpan();
    span?.addEvent('retry', {
      'nines.policy.name': name,
      attempt: e.attempt,
      delay_ms: e.delayMs,
      retry_after: e.retryAfter,
    });
    span?.setAttribute('nines.retry.attempt', e.attempt);
  });
  const offGiveUp = policy.onGiveUp((e: GiveUpEvent) => {
    giveUps?.labels(name, e.reason).inc();
    trace.getActiveSpan()?.addEvent('retry.give_up', {
      'nines.policy.name': name,
      attempts: e.attempts,
      reason: e.reason,
    });
    logger?.warn({ retry: name, attempts: e.attempts, reason: e.reason }, `retry ${name}: gave up`);
  });
  return () => {
    offRetry();
    offGiveUp();
  };
}
