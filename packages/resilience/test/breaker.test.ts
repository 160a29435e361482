import { describe, expect, it, vi } from 'vitest';
import { Context } from '../src/context.js';
import {
  type Backoff,
  BrokenCircuitError,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitStateChange,
  circuitBreaker,
  IsolatedCircuitError,
  isRejection,
  ManualClock,
  TimeoutError,
  timeout,
  wrap,
} from '../src/index.js';
import type { InterceptorPolicy } from '../src/interceptor.js';

const boom = () => Promise.reject(new Error('boom'));
const okay = () => Promise.resolve('ok');

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
function deferred<T = string>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A clock that counts reads. */
class CountingClock extends ManualClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

function setup(options: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  const breaker = circuitBreaker({ clock, ...options });
  const changes: string[] = [];
  breaker.onStateChange(({ from, to }) => changes.push(`${from}->${to}`));
  return { clock, breaker, changes };
}

async function fail(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await breaker.execute(boom).catch(() => {});
}
async function succeed(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await breaker.execute(okay);
}
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
const asInterceptor = (b: CircuitBreaker) => b as unknown as InterceptorPolicy;

describe('circuitBreaker: defaults (5 failures in 60 s, open 30 s, 1 trial, 3 successes)', () => {
  it('opens on the 5th failure, rejects without calling, and goes half-open after 30 s', async () => {
    const { clock, breaker, changes } = setup();
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['closed->open']);

    const fn = vi.fn(okay);
    const err = await rejection(breaker.execute(fn));
    expect(fn).not.toHaveBeenCalled();
    expect(err).toBeInstanceOf(BrokenCircuitError);
    expect((err as BrokenCircuitError).retryAfterMs).toBe(30_000);
    expect((err as BrokenCircuitError).code).toBe('ECIRCUITOPEN');

    await clock.advance(29_999);
    expect(((await rejection(breaker.execute(fn))) as BrokenCircuitError).retryAfterMs).toBe(1);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(changes).toEqual(['closed->open']); // lazy: nothing happens until read
    expect(breaker.state).toBe('half-open');
    expect(breaker.state).toBe('half-open');
    expect(changes).toEqual(['closed->open', 'open->half-open']);
  });

  it('half-open admits one trial at a time and closes after 3 successes', async () => {
    const { clock, breaker, changes } = setup();
    await fail(breaker, 5);
    await clock.advance(30_000);
    for (let i = 0; i < 3; i++) {
      const d = deferred();
      const trial = breaker.execute(() => d.promise);
      const extra = await rejection(breaker.execute(okay));
      expect(extra).toBeInstanceOf(BrokenCircuitError);
      expect((extra as BrokenCircuitError).retryAfterMs).toBe(0);
      expect(breaker.stats.trialsInFlight).toBe(1);
      d.resolve('ok');
      await trial;
      expect(breaker.state).toBe(i < 2 ? 'half-open' : 'closed');
    }
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    // Fresh counts once closed: 4 failures do not open it.
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
  });

  it('any failure in half-open reopens at once, even after successes', async () => {
    const { clock, breaker, changes } = setup();
    await fail(breaker, 5);
    await clock.advance(30_000);
    await succeed(breaker, 2);
    expect(breaker.stats.trialSuccesses).toBe(2);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(breaker.stats.retryAfterMs).toBe(30_000);
    expect(breaker.stats.reopens).toBe(1);
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->open']);
  });

  it('forgets failures older than the 60 s window', async () => {
    const { clock, breaker } = setup();
    await fail(breaker, 4);
    await clock.advance(59_999);
    expect(breaker.stats.failures).toBe(4);
    await clock.advance(1);
    expect(breaker.stats).toMatchObject({ calls: 0, failures: 0 });
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });
});

describe('windows', () => {
  it('consecutive: a success starts the count again', async () => {
    const { breaker } = setup({ window: { type: 'consecutive', failures: 3 } });
    await fail(breaker, 2);
    await succeed(breaker, 1);
    await fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(breaker.stats).toMatchObject({ calls: 2, failures: 2, failureRate: 1 });
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('count: judges the failure rate of the last N calls once minimumCalls is reached', async () => {
    const { breaker } = setup({
      window: { type: 'count', size: 4, failureRate: 0.5, minimumCalls: 3 },
    });
    await fail(breaker, 1);
    await succeed(breaker, 1);
    expect(breaker.state).toBe('closed'); // 2 calls < minimumCalls
    await succeed(breaker, 2); // window [F S S S]
    expect(breaker.stats).toMatchObject({ calls: 4, failures: 1, failureRate: 0.25 });
    await fail(breaker, 1); // [S S S F] - the first failure slid out
    expect(breaker.stats).toMatchObject({ calls: 4, failures: 1 });
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1); // [S S F F] = 50 %
    expect(breaker.state).toBe('open');
  });

  it('count: defaults to size 100, minimumCalls = size, rate 50 %', async () => {
    const { breaker } = setup({ window: { type: 'count' } });
    await fail(breaker, 99);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('count: failures and failureRate together must both be reached', async () => {
    const { breaker } = setup({
      window: { type: 'count', size: 10, failures: 3, failureRate: 0.5, minimumCalls: 2 },
    });
    await fail(breaker, 2); // 100 % but only 2 failures
    expect(breaker.state).toBe('closed');
    await succeed(breaker, 3); // 2/5
    await fail(breaker, 1); // 3/6 = 50 % and 3 failures
    expect(breaker.state).toBe('open');
  });

  it('a success never opens the circuit, even when it brings the window to minimumCalls', async () => {
    const { breaker } = setup({
      window: { type: 'count', size: 10, failureRate: 0.5, minimumCalls: 4 },
    });
    await fail(breaker, 3);
    await succeed(breaker, 1); // 3/4 >= 50 %, but a success does not trip
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('time: rate + minimumCalls; buckets rotate lazily from the clock', async () => {
    const { clock, breaker } = setup({
      window: { type: 'time', durationMs: 10_000, buckets: 10, failureRate: 0.5, minimumCalls: 4 },
    });
    await fail(breaker, 3);
    await clock.advance(5_000);
    await succeed(breaker, 3); // 3/6
    expect(breaker.state).toBe('closed');
    await clock.advance(5_000); // the 3 failures leave the window
    expect(breaker.stats).toMatchObject({ calls: 3, failures: 0 });
    await fail(breaker, 2); // 2/5 < 50 %
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1); // 3/6
    expect(breaker.state).toBe('open');
  });

  it('time: a call counts for between duration - width and duration (bucket granularity)', async () => {
    const { clock, breaker } = setup({
      window: { type: 'time', durationMs: 1_000, buckets: 4, failures: 2 },
    });
    clock.set(240); // bucket [0, 250)
    await fail(breaker, 1);
    clock.set(999);
    expect(breaker.stats.failures).toBe(1);
    clock.set(1_000); // bucket 4 replaces bucket 0: counted for 760 ms (>= 1000 - 250)
    expect(breaker.stats.failures).toBe(0);
    await fail(breaker, 1);
    clock.set(1_000 + 10 * 1_000); // far away: everything cleared at once
    expect(breaker.stats.calls).toBe(0);
    await fail(breaker, 1);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('time: a clock that goes back keeps counting into the newest bucket', async () => {
    const { clock, breaker } = setup({
      window: { type: 'time', durationMs: 1_000, buckets: 10, failures: 3 },
    });
    clock.set(5_000);
    await fail(breaker, 1);
    clock.set(1_000);
    await fail(breaker, 1);
    expect(breaker.stats.failures).toBe(2);
    clock.set(5_999);
    expect(breaker.stats.failures).toBe(2);
  });
});

describe('slow calls', () => {
  it('opens when the slow-call rate reaches its threshold (successes can be slow)', async () => {
    const { clock, breaker } = setup({
      window: { type: 'count', size: 4, minimumCalls: 4 },
      slowCall: { durationMs: 100, rate: 0.5 },
    });
    const slowEvents: boolean[] = [];
    breaker.onSuccess((e) => slowEvents.push(e.slow));
    const slowly = async () => {
      const d = deferred();
      const p = breaker.execute(() => d.promise);
      await clock.advance(101);
      d.resolve('ok');
      await p;
    };
    await succeed(breaker, 2);
    await slowly();
    expect(breaker.stats).toMatchObject({ calls: 3, slowCalls: 1, failures: 0 });
    expect(breaker.state).toBe('closed');
    await slowly(); // 2/4 slow
    expect(breaker.state).toBe('open');
    expect(slowEvents).toEqual([false, false, true, true]);
  });

  it('exactly the threshold is not slow; measured from admission to outcome', async () => {
    const { clock, breaker } = setup({
      window: { type: 'count', size: 2, minimumCalls: 1 },
      slowCall: { durationMs: 100 },
    });
    const durations: number[] = [];
    breaker.onSuccess((e) => durations.push(e.durationMs));
    const d = deferred();
    const p = breaker.execute(() => d.promise);
    await clock.advance(100);
    d.resolve('ok');
    await p;
    expect(durations).toEqual([100]);
    expect(breaker.stats.slowCalls).toBe(0);
  });

  it('a slow failure counts as failure and slow; a slow trial call reopens', async () => {
    const { clock, breaker } = setup({
      window: { type: 'count', size: 2, minimumCalls: 2, failureRate: 1 },
      slowCall: { durationMs: 50, rate: 1 },
    });
    const failures: { slow: boolean; kind: string }[] = [];
    breaker.onFailure((e) => failures.push({ slow: e.slow, kind: e.kind }));
    const d = deferred();
    const p = breaker.execute(() => d.promise);
    await clock.advance(60);
    d.reject(new Error('late'));
    await p.catch(() => {});
    expect(breaker.stats).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
    expect(failures).toEqual([{ slow: true, kind: 'error' }]);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    await clock.advance(30_000);
    const t = deferred();
    const trial = breaker.execute(() => t.promise);
    await clock.advance(51);
    t.resolve('ok but slow');
    await trial;
    expect(breaker.state).toBe('open');
  });

  it('reads the clock only when something needs it', async () => {
    const clock = new CountingClock();
    const plain = circuitBreaker({ clock, window: { type: 'consecutive' } });
    await succeed(plain, 10);
    await fail(plain, 2);
    expect(clock.reads).toBe(0);
    const off = plain.onSuccess(() => {});
    await succeed(plain, 1);
    expect(clock.reads).toBe(2); // start and end, for durationMs
    off();

    clock.reads = 0;
    const timed = circuitBreaker({ clock, window: { type: 'time' } });
    await succeed(timed, 10);
    expect(clock.reads).toBe(0); // judged on failures alone: successes need no bucket
    await fail(timed, 2);
    expect(clock.reads).toBe(2); // one per failure, to pick the bucket

    clock.reads = 0;
    const rated = circuitBreaker({ clock, window: { type: 'time', failureRate: 0.5 } });
    await succeed(rated, 10);
    expect(clock.reads).toBe(10); // a rate needs every outcome in its bucket

    clock.reads = 0;
    const slow = circuitBreaker({
      clock,
      window: { type: 'count' },
      slowCall: { durationMs: 10 },
    });
    await succeed(slow, 10);
    expect(clock.reads).toBe(20);
  });

  it('durationMs is NaN for a call admitted before the first listener subscribed', async () => {
    const { breaker } = setup({ window: { type: 'consecutive' } });
    const d = deferred();
    const p = breaker.execute(() => d.promise);
    const seen: number[] = [];
    breaker.onSuccess((e) => seen.push(e.durationMs));
    d.resolve('x');
    await p;
    expect(seen).toEqual([Number.NaN]);
  });
});

describe('open duration', () => {
  it('grows through a Backoff on each reopen, keeps the last value, resets when closed', async () => {
    const starts: number[] = [];
    const backoff: Backoff = {
      start() {
        starts.push(1);
        const list = [100, 200, 400];
        let i = 0;
        return { next: () => list[i++] };
      },
    };
    const { clock, breaker } = setup({
      window: { type: 'consecutive', failures: 1 },
      openMs: backoff,
      halfOpen: { successThreshold: 1 },
    });
    await fail(breaker, 1);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      seen.push(breaker.stats.retryAfterMs);
      await clock.advance(breaker.stats.retryAfterMs);
      expect(breaker.state).toBe('half-open');
      await fail(breaker, 1);
    }
    expect(seen).toEqual([100, 200, 400, 400, 400]);
    expect(starts).toHaveLength(1);
    await clock.advance(400);
    await succeed(breaker, 1);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.stats.retryAfterMs).toBe(100);
    expect(starts).toHaveLength(2);
  });

  it('accepts a function of the reopen count (0 for the first open)', async () => {
    const { clock, breaker } = setup({
      window: { type: 'consecutive', failures: 1 },
      openMs: (reopens) => 1_000 * (reopens + 1),
    });
    await fail(breaker, 1);
    expect(breaker.stats.retryAfterMs).toBe(1_000);
    await clock.advance(1_000);
    await fail(breaker, 1);
    expect(breaker.stats.retryAfterMs).toBe(2_000);
    await clock.advance(2_000);
    await fail(breaker, 1);
    expect(breaker.stats.retryAfterMs).toBe(3_000);
  });

  it('an invalid value at run time falls back (previous value, else 30 s) with one warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const values = [Number.NaN, 500, -1];
      let i = 0;
      const { clock, breaker } = setup({
        window: { type: 'consecutive', failures: 1 },
        openMs: () => values[i++]!,
      });
      await fail(breaker, 1);
      expect(breaker.stats.retryAfterMs).toBe(30_000);
      await clock.advance(30_000);
      await fail(breaker, 1);
      expect(breaker.stats.retryAfterMs).toBe(500);
      await clock.advance(500);
      await fail(breaker, 1);
      expect(breaker.stats.retryAfterMs).toBe(500);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('half-open', () => {
  it('a hung trial call counts as failed after maxTrialMs, detected lazily; its late result is ignored', async () => {
    const { clock, breaker, changes } = setup({
      window: { type: 'consecutive', failures: 1 },
      openMs: 1_000,
      halfOpen: { maxTrialMs: 5_000, successThreshold: 1 },
    });
    await fail(breaker, 1);
    await clock.advance(1_000);
    const hung = deferred();
    const trial = breaker.execute(() => hung.promise);
    await clock.advance(4_999);
    expect(breaker.state).toBe('half-open');
    expect((await rejection(breaker.execute(okay))) as BrokenCircuitError).toBeInstanceOf(
      BrokenCircuitError,
    );
    await clock.advance(1);
    // Reopened at the moment the trial became too old: open until 6_000 + 1_000.
    expect(breaker.state).toBe('open');
    expect(breaker.stats.retryAfterMs).toBe(1_000);
    expect(breaker.stats.reopens).toBe(1);
    hung.resolve('late');
    await trial;
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    await succeed(breaker, 1);
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual([
      'closed->open',
      'open->half-open',
      'half-open->open',
      'open->half-open',
      'half-open->closed',
    ]);
  });

  it('a long-idle breaker with a hung trial applies each due transition once, in order', async () => {
    const { clock, breaker, changes } = setup({
      window: { type: 'consecutive', failures: 1 },
      openMs: 1_000,
      halfOpen: { maxTrialMs: 5_000 },
    });
    await fail(breaker, 1);
    await clock.advance(1_000);
    void breaker.execute(() => new Promise(() => {}));
    await clock.advance(60_000);
    // Expired at 6_000, reopened until 7_000, half-open since: a new trial is admitted now.
    expect(breaker.state).toBe('half-open');
    expect(changes).toEqual([
      'closed->open',
      'open->half-open',
      'half-open->open',
      'open->half-open',
    ]);
    await expect(breaker.execute(okay)).resolves.toBe('ok');
  });

  it('defaults maxTrialMs to 30 s', async () => {
    const { clock, breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    await fail(breaker, 1);
    await clock.advance(30_000);
    void breaker.execute(() => new Promise(() => {}));
    await clock.advance(29_999);
    expect(breaker.state).toBe('half-open');
    await clock.advance(1);
    expect(breaker.state).toBe('open');
  });

  it('an ignored or cancelled trial releases its permit without counting', async () => {
    const { clock, breaker } = setup({
      window: { type: 'consecutive', failures: 1 },
      isIgnored: (e) => (e as Error).message === 'meh',
      halfOpen: { successThreshold: 2 },
    });
    await fail(breaker, 1);
    await clock.advance(30_000);
    await breaker.execute(() => Promise.reject(new Error('meh'))).catch(() => {});
    expect(breaker.stats).toMatchObject({
      state: 'half-open',
      trialsInFlight: 0,
      trialSuccesses: 0,
    });
    const ac = new AbortController();
    const p = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      ac.signal,
    );
    expect(breaker.stats.trialsInFlight).toBe(1);
    ac.abort(new Error('caller gave up'));
    await p.catch(() => {});
    expect(breaker.stats).toMatchObject({
      state: 'half-open',
      trialsInFlight: 0,
      trialSuccesses: 0,
    });
    await succeed(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('with maxConcurrent > 1, the success threshold closes it and the rest no longer count', async () => {
    const { clock, breaker } = setup({
      window: { type: 'consecutive', failures: 1 },
      halfOpen: { maxConcurrent: 3, successThreshold: 2 },
    });
    await fail(breaker, 1);
    await clock.advance(30_000);
    const ds = [deferred(), deferred(), deferred()];
    const ps = ds.map((d) => breaker.execute(() => d.promise));
    expect(await rejection(breaker.execute(okay))).toBeInstanceOf(BrokenCircuitError);
    ds[0]!.resolve('a');
    ds[1]!.resolve('b');
    await Promise.all([ps[0], ps[1]]);
    expect(breaker.state).toBe('closed');
    ds[2]!.reject(new Error('stale'));
    await ps[2]!.catch(() => {});
    expect(breaker.state).toBe('closed');
    expect(breaker.stats.failures).toBe(0);
  });
});

describe('what counts', () => {
  it('isFailure: other errors count as successes (they reset a consecutive run)', async () => {
    const { breaker } = setup({
      window: { type: 'consecutive', failures: 2 },
      isFailure: (e) => (e as Error).message === 'boom',
    });
    await fail(breaker, 1);
    await breaker.execute(() => Promise.reject(new Error('not found'))).catch(() => {});
    await fail(breaker, 1);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('isIgnored: neutral, neither success nor failure', async () => {
    const { breaker } = setup({
      window: { type: 'consecutive', failures: 2 },
      isIgnored: (e) => (e as Error).message === 'meh',
    });
    const ignored: unknown[] = [];
    breaker.onIgnored((e) => ignored.push((e.error as Error).message, e.cancelled));
    await fail(breaker, 1);
    await breaker.execute(() => Promise.reject(new Error('meh'))).catch(() => {});
    expect(breaker.stats.calls).toBe(1);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(ignored).toEqual(['meh', false]);
  });

  it('isFailureResult: results can be failures (default none)', async () => {
    const { breaker } = setup({
      window: { type: 'consecutive', failures: 2 },
      isFailureResult: (r) => (r as { status: number }).status >= 500,
    });
    const kinds: unknown[] = [];
    breaker.onFailure((e) => kinds.push(e.kind === 'result' ? e.result : e.error));
    await breaker.execute(() => ({ status: 503 }));
    await breaker.execute(() => ({ status: 200 }));
    await breaker.execute(() => ({ status: 500 }));
    expect(breaker.state).toBe('closed');
    await breaker.execute(() => ({ status: 502 }));
    expect(breaker.state).toBe('open');
    expect(kinds).toEqual([{ status: 503 }, { status: 500 }, { status: 502 }]);
  });

  it('a predicate that throws counts as failure and never breaks the call', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const { breaker } = setup({
        window: { type: 'consecutive', failures: 1 },
        isFailureResult: () => {
          throw new Error('bad predicate');
        },
      });
      await expect(breaker.execute(() => 42)).resolves.toBe(42);
      expect(breaker.state).toBe('open');
      expect(warn).toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('errors after the caller cancelled are neutral; a TimeoutError is a failure', async () => {
    const { clock, breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    const ac = new AbortController();
    const p = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      ac.signal,
    );
    ac.abort();
    await p.catch(() => {});
    expect(breaker.state).toBe('closed');

    // Breaker outside the timeout: sees the TimeoutError, its own context is not cancelled.
    const outer = wrap(breaker, timeout(100, { clock }));
    const q = outer.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const settled = expect(q).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(110); // a timeout fires at most one tick (2 %) late
    await settled;
    expect(breaker.state).toBe('open');
  });

  it('a TimeoutError counts as failure when the breaker runs inside the timeout', async () => {
    const { clock, breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    const inner = wrap(timeout(100, { clock }), breaker);
    const q = inner.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const settled = expect(q).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(110); // a timeout fires at most one tick (2 %) late
    await settled;
    expect(breaker.state).toBe('open');
  });

  it('a hedge-style abort (owner context aborted for another reason) is neutral', () => {
    const { breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    const b = asInterceptor(breaker);
    const ctx = Context.owner(Context.root(undefined));
    const token = b.enter(ctx);
    ctx.abort(new Error('another attempt won'));
    b.exit(token, false, new Error('aborted'), ctx);
    expect(breaker.state).toBe('closed');
    const timed = Context.owner(Context.root(undefined));
    const t2 = b.enter(timed);
    timed.abort(new TimeoutError(5));
    b.exit(t2, false, timed.reason, timed);
    expect(breaker.state).toBe('open');
  });

  it('results of calls started before a transition do not move the counts', async () => {
    const { clock, breaker } = setup({
      window: { type: 'consecutive', failures: 2 },
      halfOpen: { successThreshold: 1 },
    });
    const early = deferred();
    const p = breaker.execute(() => early.promise);
    await fail(breaker, 2);
    expect(breaker.state).toBe('open');
    await clock.advance(30_000);
    expect(breaker.state).toBe('half-open');
    early.resolve('old news');
    await p;
    expect(breaker.state).toBe('half-open'); // its success did not close the circuit
    const late = deferred();
    const q = breaker.execute(() => late.promise);
    await fail(breaker, 0);
    late.reject(new Error('x'));
    await q.catch(() => {});
    expect(breaker.state).toBe('open');
  });
});

describe('refusal signal for outer hosts', () => {
  it('refuses the context when a failure opens the circuit, and when rejecting', () => {
    const { breaker } = setup({ window: { type: 'consecutive', failures: 2 } });
    const b = asInterceptor(breaker);
    const root = Context.root(undefined);
    const ctx = Context.delegate(root);
    b.exit(b.enter(ctx), false, new Error('1'), ctx);
    expect(ctx.refusal).toBeUndefined();
    b.exit(b.enter(ctx), false, new Error('2'), ctx);
    expect(ctx.refusal).toBeInstanceOf(BrokenCircuitError);
    expect((ctx.refusal as BrokenCircuitError).retryAfterMs).toBe(30_000);
    expect(root.refusal).toBe(ctx.refusal);

    const other = Context.root(undefined);
    expect(() => b.enter(other)).toThrow(BrokenCircuitError);
    expect(other.refusal).toBeInstanceOf(BrokenCircuitError);
  });

  it('builds rejection errors without a stack', async () => {
    const { breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    await fail(breaker, 1);
    const err = (await rejection(breaker.execute(okay))) as Error;
    expect(err.stack ?? '').not.toMatch(/\n\s+at /);
  });

  it('names the circuit in rejection messages', async () => {
    const { breaker } = setup({ name: 'db', window: { type: 'consecutive', failures: 1 } });
    expect(breaker.name).toBe('db');
    await fail(breaker, 1);
    const err = (await rejection(breaker.execute(okay))) as Error;
    expect(err.message).toBe('circuit "db" is open; a trial call is allowed in 30000 ms');
  });
});

describe('isolation', () => {
  it('is ref-counted, rejects with IsolatedCircuitError, and closes with fresh counts', async () => {
    const { breaker, changes } = setup({ window: { type: 'consecutive', failures: 3 } });
    await fail(breaker, 2);
    const a = breaker.isolate();
    const b = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    const err = await rejection(breaker.execute(okay));
    expect(err).toBeInstanceOf(IsolatedCircuitError);
    expect(err).not.toBeInstanceOf(BrokenCircuitError);
    expect(isRejection(err)).toBe(true);
    expect((err as IsolatedCircuitError).code).toBe('ECIRCUITISOLATED');
    a();
    a(); // harmless
    expect(breaker.state).toBe('isolated');
    b();
    expect(breaker.state).toBe('closed');
    expect(breaker.stats.calls).toBe(0);
    await fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['closed->isolated', 'isolated->closed']);
  });

  it('overrides an open circuit and ignores results of calls admitted before', async () => {
    const { clock, breaker, changes } = setup({ window: { type: 'consecutive', failures: 1 } });
    const d = deferred();
    const p = breaker.execute(() => d.promise);
    await fail(breaker, 1);
    await clock.advance(30_000);
    const release = breaker.isolate();
    // The due open -> half-open transition is applied first: one event per transition.
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->isolated']);
    d.reject(new Error('late'));
    await p.catch(() => {});
    release();
    expect(breaker.state).toBe('closed');
    expect(breaker.stats.calls).toBe(0);
  });

  it('emits onRejection for every refused call', async () => {
    const { breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    const errors: unknown[] = [];
    breaker.onRejection((e) => errors.push(e.error));
    await fail(breaker, 1);
    await breaker.execute(okay).catch(() => {});
    const release = breaker.isolate();
    await breaker.execute(okay).catch(() => {});
    release();
    expect(errors.map((e) => (e as Error).constructor.name)).toEqual([
      'BrokenCircuitError',
      'IsolatedCircuitError',
    ]);
  });
});

describe('snapshots', () => {
  const roundTrip = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

  it('an open circuit restored elsewhere keeps its remaining open time', async () => {
    const { clock, breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    clock.set(1_000);
    await fail(breaker, 1);
    clock.set(11_000);
    const snap = roundTrip(breaker.toJSON());
    expect(snap).toEqual({
      version: 1,
      state: 'open',
      openUntil: 31_000,
      reopens: 0,
      trialSuccesses: 0,
      window: { type: 'consecutive', failures: 1 },
    });
    const copy = circuitBreaker({
      clock,
      window: { type: 'consecutive', failures: 1 },
      initialState: snap,
    });
    expect(copy.state).toBe('open');
    expect(copy.stats.retryAfterMs).toBe(20_000);
    clock.set(31_000);
    expect(copy.state).toBe('half-open');
  });

  it('JSON.stringify(breaker) gives the snapshot; windows round-trip', async () => {
    for (const window of [
      { type: 'count', size: 5, failureRate: 0.9 },
      { type: 'time', durationMs: 1_000, buckets: 5, failures: 10 },
    ] as const) {
      const { clock, breaker } = setup({ window, slowCall: { durationMs: 10, rate: 1 } });
      for (let i = 0; i < 7; i++) {
        clock.set(i * 150);
        const d = deferred();
        const p = breaker.execute(() => d.promise);
        if (i % 3 === 0) clock.set(i * 150 + 20);
        if (i % 2 === 0) d.resolve('ok');
        else d.reject(new Error('x'));
        await p.catch(() => {});
      }
      const snap = JSON.parse(JSON.stringify(breaker));
      const copy = circuitBreaker({ clock, window, slowCall: { durationMs: 10 } });
      copy.restore(snap);
      expect(copy.toJSON()).toEqual(breaker.toJSON());
      expect(copy.stats).toEqual(breaker.stats);
      expect(copy.stats.calls).toBeGreaterThan(0);
    }
  });

  it('saves isolation as open for one first open duration', () => {
    const { clock, breaker } = setup({ openMs: 5_000 });
    clock.set(100);
    const release = breaker.isolate();
    const snap = breaker.toJSON();
    expect(snap).toMatchObject({ state: 'open', openUntil: 5_100, reopens: 0 });
    expect(() => breaker.restore(snap)).toThrow(/isolated/);
    release();
    breaker.restore(snap);
    expect(breaker.state).toBe('open');
  });

  it('restore emits one state change, and drops trial permits and running calls', async () => {
    const { breaker, changes } = setup({
      window: { type: 'consecutive', failures: 1 },
      halfOpen: { successThreshold: 2 },
    });
    const halfOpen = {
      version: 1,
      state: 'half-open',
      openUntil: null,
      reopens: 2,
      trialSuccesses: 1,
      window: { type: 'consecutive', failures: 1 },
    } as const;
    const running = deferred();
    const p = breaker.execute(() => running.promise);
    breaker.restore(halfOpen);
    expect(changes).toEqual(['closed->half-open']);
    expect(breaker.stats).toMatchObject({ trialSuccesses: 1, trialsInFlight: 0, reopens: 2 });
    running.resolve('stale');
    await p;
    expect(breaker.stats.trialSuccesses).toBe(1);
    breaker.restore(halfOpen); // same state: no event
    expect(changes).toHaveLength(1);
    await succeed(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('replays a Backoff to the restored reopen count', async () => {
    const backoff: Backoff = {
      start() {
        let d = 50;
        return { next: () => (d *= 2) };
      },
    };
    const clock = new ManualClock();
    const breaker = circuitBreaker({
      clock,
      window: { type: 'consecutive', failures: 1 },
      openMs: backoff,
      initialState: {
        version: 1,
        state: 'half-open',
        openUntil: null,
        reopens: 2,
        trialSuccesses: 0,
        window: { type: 'consecutive', failures: 1 },
      },
    });
    await fail(breaker, 1); // reopen #3: the 4th value of the sequence
    expect(breaker.stats).toMatchObject({ reopens: 3, retryAfterMs: 800 });
  });
});

describe('concurrency and timers', () => {
  for (const maxConcurrent of [1, 7]) {
    it(`10,000 concurrent calls while half-open admit exactly ${maxConcurrent}`, async () => {
      const { clock, breaker } = setup({
        window: { type: 'consecutive', failures: 1 },
        halfOpen: { maxConcurrent, successThreshold: 100 },
      });
      await fail(breaker, 1);
      await clock.advance(30_000);
      const gate = deferred();
      let admitted = 0;
      const calls = Array.from({ length: 10_000 }, () =>
        breaker.execute(() => {
          admitted++;
          return gate.promise;
        }),
      );
      const results = await Promise.allSettled(
        calls.map((p, i) => (i < maxConcurrent ? Promise.resolve() : p)),
      );
      expect(admitted).toBe(maxConcurrent);
      const rejected = results.slice(maxConcurrent);
      expect(
        rejected.every((r) => r.status === 'rejected' && r.reason instanceof BrokenCircuitError),
      ).toBe(true);
      expect(breaker.stats.trialsInFlight).toBe(maxConcurrent);
      gate.resolve('ok');
      await Promise.all(calls.slice(0, maxConcurrent));
      expect(breaker.stats).toMatchObject({
        state: 'half-open',
        trialsInFlight: 0,
        trialSuccesses: maxConcurrent,
      });
    });
  }

  it('never sets a timer, in any state', async () => {
    const clock = new ManualClock();
    const breakers = [
      circuitBreaker({ clock }),
      circuitBreaker({ clock, window: { type: 'consecutive', failures: 2 } }),
      circuitBreaker({
        clock,
        window: { type: 'count', size: 10 },
        slowCall: { durationMs: 5 },
        openMs: { start: () => ({ next: () => 1_000 }) },
      }),
    ];
    const seen = new Set<CircuitState>();
    for (const b of breakers) {
      b.onStateChange(({ to }) => seen.add(to));
      for (let round = 0; round < 3; round++) {
        await succeed(b, 20);
        await fail(b, 100);
        await Promise.all(Array.from({ length: 10 }, () => b.execute(okay).catch(() => {})));
        clock.set(clock.now() + 40_000);
        void b.state;
        await Promise.all(Array.from({ length: 10 }, () => b.execute(okay).catch(() => {})));
        void b.execute(() => new Promise(() => {})).catch(() => {});
        clock.set(clock.now() + 100_000);
        const release = b.isolate();
        await b.execute(okay).catch(() => {});
        b.toJSON();
        release();
      }
      expect(clock.pendingTimers).toBe(0);
    }
    expect([...seen].sort()).toEqual(['closed', 'half-open', 'isolated', 'open']);
  });

  it('one event per transition, none without listeners, and listeners can be removed', async () => {
    const { clock, breaker } = setup({ window: { type: 'consecutive', failures: 1 } });
    const events: CircuitStateChange[] = [];
    const off = breaker.onStateChange((e) => events.push(e));
    await fail(breaker, 1);
    await clock.advance(30_000);
    void breaker.state;
    void breaker.state;
    void breaker.stats;
    expect(events).toEqual([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half-open' },
    ]);
    off();
    await fail(breaker, 1);
    expect(events).toHaveLength(2);
  });
});

describe('composition', () => {
  it('runs inline in a wrap() with a timeout, and counts outcomes once', async () => {
    const { clock, breaker } = setup({ window: { type: 'count', size: 10, minimumCalls: 1 } });
    const policy = wrap(breaker, timeout(1_000, { clock }));
    await expect(policy.execute(() => 'v')).resolves.toBe('v');
    await policy.execute(boom).catch(() => {});
    expect(breaker.stats).toMatchObject({ calls: 2, failures: 1 });
  });
});
