import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  bulkhead,
  circuitBreaker,
  fallback,
  hedge,
  ManualClock,
  retry,
  TimeoutError,
  timeout,
  wrap,
} from '../src/index.js';

const boom = () => Promise.reject(new Error('down'));

describe('policies composed', () => {
  it('a retry stops the moment the breaker inside opens, with no sleep', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ clock, window: { type: 'consecutive', failures: 2 } });
    const policy = wrap(retry({ clock, maxRetries: 10, backoff: 1_000 }), breaker);
    const reasons: string[] = [];
    const off = (policy.policies[0] as ReturnType<typeof retry>).onGiveUp((e) =>
      reasons.push(e.reason),
    );
    let calls = 0;
    const p = policy.execute(() => {
      calls++;
      return boom();
    });
    const settled = expect(p).rejects.toThrow('down');
    // One backoff delay between the two failing calls, then nothing more.
    await clock.advance(1_000);
    await settled;
    expect(calls).toBe(2);
    expect(breaker.state).toBe('open');
    expect(reasons).toEqual(['circuit-open']);
    expect(clock.pendingTimers).toBe(0);
    off();
  });

  it('an open breaker is never retried, and the retry adds no delay to the rejection', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ clock, window: { type: 'consecutive', failures: 1 } });
    await breaker.execute(boom).catch(() => {});
    const policy = wrap(retry({ clock, backoff: 1_000 }), breaker);
    let calls = 0;
    await expect(
      policy.execute(() => {
        calls++;
      }),
    ).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(calls).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('each attempt gets its own timeout, and timeouts count as breaker failures', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ clock, window: { type: 'consecutive', failures: 3 } });
    const policy = wrap(
      retry({ clock, maxRetries: 1, backoff: 0 }),
      breaker,
      timeout(100, { clock }),
    );
    const attempts: number[] = [];
    const p = policy.execute(({ signal, attempt }) => {
      attempts.push(attempt);
      return new Promise((_r, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    });
    const settled = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(250);
    await settled;
    expect(attempts).toEqual([0, 1]);
    expect(breaker.stats.failures).toBe(2);
  });

  it('a fallback outside catches the open circuit', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ clock, window: { type: 'consecutive', failures: 1 } });
    const policy = wrap(fallback('stale' as const), breaker);
    await expect(policy.execute(boom)).resolves.toBe('stale');
    expect(breaker.state).toBe('open');
    await expect(policy.execute(() => 'fresh')).resolves.toBe('stale');
  });

  it('100,000 executions of every policy under one long-lived signal leave no listener', async () => {
    const ac = new AbortController();
    const policy = wrap(
      fallback(0),
      retry({ maxRetries: 1, backoff: 0 }),
      circuitBreaker(),
      bulkhead(4, 4),
      hedge({ delay: 10_000 }),
      timeout(10_000),
    );
    for (let i = 0; i < 100_000; i++) {
      await policy.execute(({ signal }) => (signal.aborted ? 1 : 2), ac.signal);
    }
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});
