import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { Context } from '../src/context.js';
import {
  type Backoff,
  BrokenCircuitError,
  type Clock,
  constantBackoff,
  type ExecutionContext,
  exponentialBackoff,
  type GiveUpEvent,
  IsolatedCircuitError,
  isRejection,
  ManualClock,
  type RetryBudget,
  type RetryEvent,
  retry,
  retryBudget,
  TimeoutError,
  timeout,
  wrap,
} from '../src/index.js';
import { InterceptorPolicy } from '../src/interceptor.js';
import { type Link, type Operation, RUN } from '../src/policy.js';

/** A minimal breaker: refuses while open; opens (and tells the hosts outside) on a failure. */
class StubBreaker extends InterceptorPolicy {
  open = false;
  openOnFailure = true;
  standaloneRuns = 0;
  readonly log: string[] = [];
  enter(): unknown {
    if (this.open) throw new BrokenCircuitError(5_000);
    this.log.push('enter');
    return null;
  }
  exit(_token: unknown, ok: boolean, _outcome: unknown, ctx: Context): void {
    this.log.push(ok ? 'exit:ok' : 'exit:err');
    if (!ok && this.openOnFailure) {
      this.open = true;
      ctx.refuse(new BrokenCircuitError(5_000));
    }
  }
  override [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    this.standaloneRuns++;
    return super[RUN](fn, ctx, next) as Promise<T>;
  }
}

/** An operation that fails `n` times, then returns `value`; records the contexts it saw. */
function flaky<T>(n: number, value: T, error: () => unknown = () => new Error('flaky')) {
  const seen: number[] = [];
  const op = (ctx: ExecutionContext): T => {
    seen.push(ctx.attempt);
    if (seen.length <= n) throw error();
    return value;
  };
  return { op, seen };
}

const collect = <E>(subscribe: (l: (e: E) => void) => unknown): E[] => {
  const events: E[] = [];
  subscribe((e) => events.push(e));
  return events;
};

describe('retry: the loop', () => {
  it('retries until success, numbering attempts 0, 1, 2 on the context', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 100 });
    const recovered = collect(policy.onRecovered);
    const { op, seen } = flaky(2, 'ok');
    const p = policy.execute(op);
    await clock.advance(200);
    await expect(p).resolves.toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
    expect(recovered).toEqual([{ attempts: 3 }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('defaults: 4 retries (5 calls) with capped exponential full-jitter delays, then the last error', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock });
    expect(policy.maxRetries).toBe(4);
    const retries = collect<RetryEvent>(policy.onRetry);
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    let n = 0;
    const p = policy.execute(() => {
      throw new Error(`e${n++}`);
    });
    const settled = expect(p).rejects.toThrow('e4');
    await clock.advance(16_000);
    await settled;
    expect(n).toBe(5);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
    retries.forEach((r, i) => {
      expect(r.delayMs).toBeGreaterThanOrEqual(0);
      expect(r.delayMs).toBeLessThanOrEqual(1_000 * 2 ** i);
      expect(r.retryAfter).toBe(false);
      expect('error' in r && (r.error as Error).message).toBe(`e${i}`);
    });
    expect(giveUps).toHaveLength(1);
    expect(giveUps[0]).toMatchObject({ attempts: 5, reason: 'max-retries' });
    expect('error' in giveUps[0]! && (giveUps[0].error as Error).message).toBe('e4');
  });

  it('waits exactly the backoff delay between attempts', async () => {
    const clock = new ManualClock();
    const policy = retry({
      clock,
      backoff: exponentialBackoff({ base: 100, jitter: 'none' }),
      maxRetries: 2,
    });
    const times: number[] = [];
    const p = policy
      .execute(() => {
        times.push(clock.now());
        throw new Error('x');
      })
      .catch(() => {});
    await clock.advance(99);
    expect(times).toEqual([0]);
    await clock.advance(1);
    expect(times).toEqual([0, 100]);
    await clock.advance(200);
    await p;
    expect(times).toEqual([0, 100, 300]);
  });

  it('maxRetries 0 calls once; a synchronous throw is a failure like any other', async () => {
    const policy = retry({ maxRetries: 0, clock: new ManualClock() });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const { op, seen } = flaky(1, 'never');
    await expect(policy.execute(op)).rejects.toThrow('flaky');
    expect(seen).toEqual([0]);
    expect(giveUps[0]?.reason).toBe('max-retries');
  });

  it('a zero delay retries without any timer', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 0, maxRetries: 3 });
    const { op, seen } = flaky(3, 'ok');
    await expect(policy.execute(op)).resolves.toBe('ok');
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('an iterable backoff ends the retries when it runs out', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: [10, 20], maxRetries: 10 });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const retries = collect<RetryEvent>(policy.onRetry);
    const { op, seen } = flaky(99, 'never');
    const p = policy.execute(op).catch((e: unknown) => e);
    await clock.advance(30);
    expect(await p).toBeInstanceOf(Error);
    expect(seen).toHaveLength(3);
    expect(retries.map((r) => r.delayMs)).toEqual([10, 20]);
    expect(giveUps[0]).toMatchObject({ attempts: 3, reason: 'backoff-exhausted' });
  });

  it('the first attempt succeeding starts no backoff sequence, timer or budget withdrawal', async () => {
    const clock = new ManualClock();
    const start = vi.fn(() => constantBackoff(1).start());
    const budget = { recordAttempt: vi.fn(), tryWithdraw: vi.fn(() => true) };
    const policy = retry({ clock, backoff: { start }, budget });
    for (let i = 0; i < 10; i++) await policy.execute(() => i);
    expect(start).not.toHaveBeenCalled();
    expect(budget.tryWithdraw).not.toHaveBeenCalled();
    expect(budget.recordAttempt).toHaveBeenCalledTimes(10);
    expect(clock.pendingTimers).toBe(0);
    // One sequence per execution, started at the first failure.
    const { op } = flaky(2, 'ok');
    const p = policy.execute(op);
    await clock.advance(2);
    await p;
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('a custom Backoff yielding an invalid delay rejects with a TypeError', async () => {
    const bad: Backoff = { start: () => ({ next: () => -5 }) };
    const policy = retry({ backoff: bad, clock: new ManualClock() });
    await expect(policy.execute(flaky(1, 'ok').op)).rejects.toThrow(
      /retry: option "backoff": delay #0 must be a finite number of ms/,
    );
  });

  it('retryOn decides which errors are retried', async () => {
    const clock = new ManualClock();
    const policy = retry({
      clock,
      backoff: 1,
      retryOn: (e) => (e as Error).message === 'transient',
    });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const transient = flaky(1, 'ok', () => new Error('transient'));
    const p = policy.execute(transient.op);
    await clock.advance(1);
    await expect(p).resolves.toBe('ok');
    const fatal = flaky(1, 'ok', () => new Error('fatal'));
    await expect(policy.execute(fatal.op)).rejects.toThrow('fatal');
    expect(fatal.seen).toEqual([0]);
    expect(giveUps).toMatchObject([{ attempts: 1, reason: 'not-retryable' }]);
  });

  it('a throwing predicate rejects the execution with its error', async () => {
    const policy = retry({
      retryOn: () => {
        throw new Error('bad predicate');
      },
    });
    await expect(policy.execute(flaky(1, 'ok').op)).rejects.toThrow('bad predicate');
  });
});

describe('retry: results', () => {
  const response = (status: number, extra: object = {}) => ({ status, ...extra });

  it('retries HTTP-like 429 and 503 results by default and resolves with the last one on give-up', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 10, maxRetries: 2 });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const retries = collect<RetryEvent>(policy.onRetry);
    let n = 0;
    const p = policy.execute(() => response(n++ === 0 ? 429 : 503, { n }));
    await clock.advance(20);
    await expect(p).resolves.toEqual({ status: 503, n: 3 });
    expect(n).toBe(3);
    expect(retries.map((r) => 'result' in r && r.result)).toEqual([
      { status: 429, n: 1 },
      { status: 503, n: 2 },
    ]);
    expect(giveUps).toMatchObject([{ attempts: 3, reason: 'max-retries', result: { n: 3 } }]);
  });

  it('other statuses and non-objects are results, not failures', async () => {
    const policy = retry({ clock: new ManualClock() });
    for (const v of [response(500), response(200), { status: '503' }, null, 503, 'x']) {
      let calls = 0;
      const op = () => {
        calls++;
        return v;
      };
      await expect(policy.execute(op)).resolves.toBe(v);
      expect(calls).toBe(1);
    }
  });

  it('retryOnResult replaces the default filter', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 1, retryOnResult: (v) => v === 'again' });
    const values = ['again', 'again', 'done'];
    const p = policy.execute(() => values.shift());
    await clock.advance(2);
    await expect(p).resolves.toBe('done');
    await expect(policy.execute(() => response(503))).resolves.toEqual({ status: 503 });
  });

  it("cancels a retried response's body, but not the body of the one it resolves with", async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 1, maxRetries: 2 });
    const cancels: number[] = [];
    let n = 0;
    const p = policy.execute(() => {
      const i = n++;
      return response(503, { i, body: { cancel: () => cancels.push(i) } });
    });
    await clock.advance(5);
    await expect(p).resolves.toMatchObject({ i: 2 });
    expect(cancels).toEqual([0, 1]);
  });

  it('a body whose cancel throws or rejects does not disturb the retry', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 1 });
    const bodies = [
      {
        cancel: () => {
          throw new Error('locked');
        },
      },
      { cancel: () => Promise.reject(new Error('locked')) },
      null,
      { cancel: 'no' },
    ];
    const p = policy.execute(() =>
      bodies.length ? response(503, { body: bodies.shift() }) : 'ok',
    );
    await clock.advance(10);
    await expect(p).resolves.toBe('ok');
  });

  it('a success updates gRPC-style budgets; a retryable result counts as a failure', async () => {
    const clock = new ManualClock();
    const calls: string[] = [];
    const budget: RetryBudget = {
      recordAttempt: () => calls.push('attempt'),
      tryWithdraw: () => calls.push('withdraw') > 0,
      recordSuccess: () => calls.push('success'),
      recordFailure: () => calls.push('failure'),
    };
    const policy = retry({ clock, backoff: 1, budget });
    const values = [response(503), 'ok'];
    const p = policy.execute(() => values.shift());
    await clock.advance(1);
    await p;
    expect(calls).toEqual(['attempt', 'failure', 'withdraw', 'success']);
  });
});

describe('retry: refusals and an open circuit', () => {
  it('never retries BrokenCircuitError or IsolatedCircuitError, whatever retryOn says', async () => {
    for (const make of [() => new BrokenCircuitError(10), () => new IsolatedCircuitError()]) {
      const clock = new ManualClock();
      const policy = retry({ clock, retryOn: () => true });
      const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
      const { op, seen } = flaky(5, 'ok', make);
      const err = await policy.execute(op).catch((e: unknown) => e);
      expect(isRejection(err)).toBe(true);
      expect(seen).toEqual([0]);
      expect(giveUps).toMatchObject([{ attempts: 1, reason: 'circuit-open', error: err }]);
      expect(clock.pendingTimers).toBe(0);
    }
  });

  it('stops at once, without sleeping, when a breaker inside opens on the failure', async () => {
    const clock = new ManualClock();
    const breaker = new StubBreaker();
    const r = retry({ clock, backoff: 1_000 });
    const giveUps = collect<GiveUpEvent>(r.onGiveUp);
    const retries = collect<RetryEvent>(r.onRetry);
    const policy = wrap(r, breaker);
    const own = new Error('the attempt failed');
    let calls = 0;
    await expect(
      policy.execute(() => {
        calls++;
        throw own;
      }),
    ).rejects.toBe(own);
    expect(calls).toBe(1);
    expect(retries).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
    expect(giveUps).toMatchObject([{ attempts: 1, reason: 'circuit-open', error: own }]);
    // The next execution is refused at enter and not retried either.
    await expect(policy.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(giveUps[1]?.reason).toBe('circuit-open');
  });

  it('runs a breaker + timeout segment inline (host pattern) and keeps retrying while it stays closed', async () => {
    const clock = new ManualClock();
    const breaker = new StubBreaker();
    breaker.openOnFailure = false;
    const policy = wrap(retry({ clock, backoff: 5 }), breaker, timeout(1_000, { clock }));
    const attempts: number[] = [];
    const p = policy.execute((ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt < 2) throw new Error('again');
      return 'ok';
    });
    await clock.advance(10);
    await expect(p).resolves.toBe('ok');
    expect(attempts).toEqual([0, 1, 2]);
    expect(breaker.standaloneRuns).toBe(0);
    expect(breaker.log).toEqual(['enter', 'exit:err', 'enter', 'exit:err', 'enter', 'exit:ok']);
    // Only the retry's delay timers and the timeout's shared one; nothing per call left behind.
    await clock.advance(2_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a per-attempt timeout is retried, even when the operation reports it as an AbortError', async () => {
    const clock = new ManualClock();
    const policy = wrap(retry({ clock, backoff: 1, maxRetries: 1 }), timeout(100, { clock }));
    const seen: number[] = [];
    const p = policy.execute(
      ({ signal, attempt }) =>
        new Promise<string>((resolve, reject) => {
          seen.push(attempt);
          if (attempt === 1) resolve('second time lucky');
          // Like libraries that throw their own AbortError whatever the signal's reason.
          signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        }),
    );
    await clock.advance(200); // deadlines may fire up to one tick (2 %) late
    await expect(p).resolves.toBe('second time lucky');
    expect(seen).toEqual([0, 1]);
  });

  it('a TimeoutError from an attempt is retried like any error', async () => {
    const clock = new ManualClock();
    const policy = wrap(retry({ clock, backoff: 1 }), timeout(50, { clock }));
    const p = policy.execute(
      ({ signal, attempt }) =>
        new Promise((resolve, reject) => {
          if (attempt === 2) resolve(attempt);
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    await clock.advance(200);
    await expect(p).resolves.toBe(2);
  });
});

describe('retry: cancellation', () => {
  it('an abort during the delay rejects at once with the reason, clearing the timer', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 10_000 });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const ac = new AbortController();
    const { op, seen } = flaky(9, 'never');
    const p = policy.execute(op, ac.signal);
    const settled = expect(p).rejects.toBe('stop');
    await clock.advance(1);
    expect(clock.pendingTimers).toBe(1);
    ac.abort('stop');
    await settled;
    expect(clock.pendingTimers).toBe(0);
    expect(seen).toEqual([0]);
    expect(giveUps).toMatchObject([{ attempts: 1, reason: 'cancelled' }]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('an abort during an attempt reports the cancellation, not the attempt error', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 1 });
    const ac = new AbortController();
    const reason = new Error('caller gave up');
    const p = policy.execute(() => {
      ac.abort(reason);
      throw new Error('failed meanwhile');
    }, ac.signal);
    await expect(p).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an abort from an onRetry listener stops before the delay', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 100 });
    const ac = new AbortController();
    policy.onRetry(() => ac.abort('enough'));
    await expect(policy.execute(flaky(3, 'ok').op, ac.signal)).rejects.toBe('enough');
    expect(clock.pendingTimers).toBe(0);
    const zero = retry({ clock, backoff: 0 });
    const ac2 = new AbortController();
    zero.onRetry(() => ac2.abort('now'));
    await expect(zero.execute(flaky(3, 'ok').op, ac2.signal)).rejects.toBe('now');
  });

  it('an AbortError from the operation is a cancellation and never retried', async () => {
    const policy = retry({ retryOn: () => true, clock: new ManualClock() });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const abort = new DOMException('stopped', 'AbortError');
    const { op, seen } = flaky(1, 'ok', () => abort);
    await expect(policy.execute(op)).rejects.toBe(abort);
    expect(seen).toEqual([0]);
    expect(giveUps[0]?.reason).toBe('cancelled');
  });

  it('a retried response is freed when the caller cancels', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 1 });
    const ac = new AbortController();
    const cancel = vi.fn();
    const p = policy.execute(() => {
      ac.abort('bye');
      return { status: 503, body: { cancel } };
    }, ac.signal);
    await expect(p).rejects.toBe('bye');
    expect(cancel).toHaveBeenCalledTimes(1);
  });

  it('leaves nothing on a long-lived signal after 100,000 executions with a retry each', async () => {
    // A clock whose timers fire on the next microtask: 100,000 real delays, no real waiting.
    const fast: Clock = {
      now: () => 0,
      setTimeout: (cb) => {
        queueMicrotask(cb);
        return 0;
      },
      clearTimeout: () => {},
    };
    const policy = retry({ clock: fast, backoff: 1 });
    const ac = new AbortController();
    let n = 0;
    const op = (ctx: ExecutionContext) => {
      n++;
      if (ctx.attempt === 0) throw new Error('once');
      return ctx.attempt;
    };
    for (let i = 0; i < 100_000; i++) await policy.execute(op, ac.signal);
    expect(n).toBe(200_000);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('retry: Retry-After', () => {
  it("an error's retryAfterMs replaces the backoff delay", async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 10 });
    const retries = collect<RetryEvent>(policy.onRetry);
    const err = Object.assign(new Error('slow down'), { retryAfterMs: 2_500 });
    const { op, seen } = flaky(1, 'ok', () => err);
    const p = policy.execute(op);
    await clock.advance(2_499);
    expect(seen).toEqual([0]);
    await clock.advance(1);
    await expect(p).resolves.toBe('ok');
    expect(retries).toMatchObject([{ attempt: 1, delayMs: 2_500, retryAfter: true }]);
  });

  it('reads Retry-After from 429/503 responses: Headers, Map, plain objects, HTTP-dates', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const clock = new ManualClock(start);
    const policy = retry({ clock, backoff: 10, maxRetries: 10 });
    const retries = collect<RetryEvent>(policy.onRetry);
    const results = [
      { status: 429, headers: new Headers({ 'Retry-After': '3' }) },
      { status: 503, headers: new Map([['retry-after', '1']]) },
      { status: 503, headers: { 'Retry-After': ['2'] } },
      { status: 503, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' } },
      { status: 503, headers: { 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' } }, // past: 0
      { status: 503, headers: { 'retry-after': 'soon' } }, // unparsable: the backoff
      { status: 503 }, // no headers: the backoff
      'ok',
    ];
    const p = policy.execute(() => results.shift());
    await clock.advance(60_000);
    await expect(p).resolves.toBe('ok');
    expect(retries.map((r) => [r.delayMs, r.retryAfter])).toEqual([
      [3_000, true],
      [1_000, true],
      [2_000, true],
      [10_000 - 6_000, true], // the date is 10 s after start; 6 s have passed by then
      [0, true],
      [10, false],
      [10, false],
    ]);
  });

  it('gives up at once when the server asks for more than maxRetryAfter', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, maxRetryAfter: 5_000 });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const res = { status: 503, headers: { 'retry-after': '6' } };
    await expect(policy.execute(() => res)).resolves.toBe(res);
    const err = Object.assign(new Error('later'), { retryAfterMs: Number.POSITIVE_INFINITY });
    await expect(policy.execute(() => Promise.reject(err))).rejects.toBe(err);
    expect(giveUps.map((g) => g.reason)).toEqual(['retry-after-too-long', 'retry-after-too-long']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reads the Retry-After of an error carrying a response (axios-like)', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 10 });
    const retries = collect<RetryEvent>(policy.onRetry);
    const err = Object.assign(new Error('429'), {
      response: { status: 429, headers: { 'retry-after': '7' } },
    });
    const p = policy.execute(flaky(1, 'ok', () => err).op);
    await clock.advance(7_000);
    await expect(p).resolves.toBe('ok');
    expect(retries[0]?.delayMs).toBe(7_000);
  });
});

describe('retry: budgets', () => {
  it('gives up with budget-spent once the shared budget refuses', async () => {
    const clock = new ManualClock();
    const budget = retryBudget({ clock, minRetriesPerSec: 0, percentCanRetry: 1 });
    const policy = retry({ clock, budget, backoff: 1, maxRetries: 5 });
    const giveUps = collect<GiveUpEvent>(policy.onGiveUp);
    const { op, seen } = flaky(99, 'never');
    const p = policy.execute(op).catch(() => {});
    await clock.advance(10);
    await p;
    // One deposit buys exactly one retry.
    expect(seen).toEqual([0, 1]);
    expect(giveUps).toMatchObject([{ attempts: 2, reason: 'budget-spent' }]);
  });

  it('a retry refused for another reason withdraws nothing', async () => {
    const budget = { recordAttempt: vi.fn(), tryWithdraw: vi.fn(() => true) };
    const policy = retry({ budget, maxRetries: 0, clock: new ManualClock() });
    await policy.execute(flaky(1, 'ok').op).catch(() => {});
    const big = Object.assign(new Error('x'), { retryAfterMs: 1e9 });
    await retry({ budget, clock: new ManualClock() })
      .execute(flaky(1, 'ok', () => big).op)
      .catch(() => {});
    expect(budget.tryWithdraw).not.toHaveBeenCalled();
  });

  it('Infinity retries are allowed with a budget or a schedule that ends', async () => {
    const clock = new ManualClock();
    const budget = retryBudget({ clock, minRetriesPerSec: 0.5, ttl: 10_000 });
    const policy = retry({ clock, budget, maxRetries: Infinity, backoff: 1 });
    expect(policy.maxRetries).toBe(Infinity);
    const { op, seen } = flaky(99, 'never');
    const p = policy.execute(op).catch(() => {});
    await clock.advance(100);
    await p;
    expect(seen).toHaveLength(1 + 5 + 0); // reserve 0.5/s * 10 s = 5, plus 20 % of one deposit < 1
    expect(() => retry({ maxRetries: Infinity, backoff: [1, 2] })).not.toThrow();
    expect(() =>
      retry({ maxRetries: Infinity, backoff: { start: () => ({ next: () => undefined }) } }),
    ).not.toThrow();
  });
});

describe('retry: events', () => {
  it('listeners can be removed with their disposer', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 1 });
    const seen: number[] = [];
    const off = policy.onRetry((e) => seen.push(e.attempt));
    const p1 = policy.execute(flaky(1, 'ok').op);
    await clock.advance(1);
    await p1;
    off();
    off();
    const p2 = policy.execute(flaky(1, 'ok').op);
    await clock.advance(1);
    await p2;
    expect(seen).toEqual([1]);
    expect(() => policy.onGiveUp(5 as unknown as () => void)).toThrow(TypeError);
  });

  it('a throwing listener does not change the outcome', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, backoff: 1 });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    policy.onRetry(() => {
      throw new Error('listener bug');
    });
    const p = policy.execute(flaky(1, 'ok').op);
    await clock.advance(1);
    await expect(p).resolves.toBe('ok');
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});

describe('retry: options', () => {
  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => retry(3 as unknown as object)).toThrow(/retry: options must be an object/);
    expect(() => retry({ maxRetry: 3 } as object)).toThrow(/unknown option "maxRetry"/);
    expect(() => retry({ maxRetries: -1 })).toThrow(/"maxRetries" must be >= 0/);
    expect(() => retry({ maxRetries: 1.5 })).toThrow(/"maxRetries" must be an integer/);
    expect(() => retry({ maxRetries: Number.NaN })).toThrow(/"maxRetries" must be a number/);
    expect(() => retry({ maxRetries: Infinity })).toThrow(/"maxRetries" may be Infinity only/);
    expect(() => retry({ maxRetries: Infinity, backoff: 5 })).toThrow(/"maxRetries"/);
    expect(() => retry({ maxRetries: Infinity, backoff: exponentialBackoff() })).toThrow(
      /"maxRetries"/,
    );
    expect(() => retry({ backoff: -1 })).toThrow(/retry: option "backoff" must be a finite number/);
    expect(() => retry({ backoff: [1, -1] })).toThrow(/"backoff": delay #1/);
    expect(() => retry({ backoff: 'fast' as unknown as number })).toThrow(/option "backoff"/);
    expect(() => retry({ retryOn: true as unknown as () => boolean })).toThrow(
      /"retryOn" must be a function/,
    );
    expect(() => retry({ retryOnResult: {} as unknown as () => boolean })).toThrow(
      /"retryOnResult" must be a function/,
    );
    expect(() => retry({ budget: {} as RetryBudget })).toThrow(/"budget" must have recordAttempt/);
    expect(() =>
      retry({
        budget: { recordAttempt() {}, tryWithdraw: () => true, recordFailure: 1 } as never,
      }),
    ).toThrow(/"budget"/);
    expect(() => retry({ maxRetryAfter: -1 })).toThrow(/"maxRetryAfter" must be >= 0/);
    expect(() => retry({ maxRetryAfter: 2 ** 31 })).toThrow(/"maxRetryAfter" must be <=/);
    expect(() => retry({ clock: Date as unknown as Clock })).toThrow(/"clock" must have now/);
  });

  it('execute checks its own arguments', async () => {
    await expect(retry().execute(5 as never)).rejects.toThrow(/operation must be a function/);
    const ac = new AbortController();
    ac.abort(new TimeoutError(1));
    await expect(retry().execute(() => 1, ac.signal)).rejects.toBeInstanceOf(TimeoutError);
  });
});
