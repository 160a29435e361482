import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Context } from '../src/context.js';
import {
  type ExecutionContext,
  type HedgeEvent,
  hedge,
  IsolatedCircuitError,
  ManualClock,
  type RetryBudget,
  TimeoutError,
  timeout,
  wrap,
} from '../src/index.js';
import { InterceptorPolicy } from '../src/interceptor.js';

/** Stands for a breaker isolated by hand: refuses every call without making it. */
class Isolated extends InterceptorPolicy {
  enter(): unknown {
    throw new IsolatedCircuitError();
  }
  exit(): void {}
}

/** An attempt the test settles by hand; it rejects with its signal's reason when aborted. */
interface Call {
  readonly ctx: ExecutionContext;
  resolve(value: string): void;
  reject(err: unknown): void;
}

/** An operation that records each attempt and leaves it pending until the test settles it. */
function recorder() {
  const calls: Call[] = [];
  const op = (ctx: ExecutionContext) =>
    new Promise<string>((resolve, reject) => {
      calls.push({ ctx, resolve, reject });
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    });
  return { calls, op };
}

/** A budget that allows `tokens` withdrawals and counts its use. */
function countingBudget(tokens: number) {
  const use = { deposits: 0, asked: 0, granted: 0, successes: 0, failures: 0 };
  const budget: RetryBudget = {
    recordSuccess: () => {
      use.successes++;
    },
    recordFailure: () => {
      use.failures++;
    },
    recordAttempt: () => {
      use.deposits++;
    },
    tryWithdraw: () => {
      use.asked++;
      if (use.granted >= tokens) return false;
      use.granted++;
      return true;
    },
  };
  return { budget, use };
}

// The shared delay timer may start a hedge a little after `delay` (at most 2 % later), never before.
const DELAY = 100;
const LATE = 5;

describe('hedge', () => {
  it('returns the first result when it arrives before the delay, without hedging', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, clock });
    const hedges: HedgeEvent[] = [];
    h.onHedge((e) => hedges.push(e));
    const { calls, op } = recorder();
    const p = h.execute(op);
    await clock.advance(DELAY - 1);
    calls[0]!.resolve('primary');
    await expect(p).resolves.toBe('primary');
    await clock.advance(DELAY * 3);
    expect(calls).toHaveLength(1);
    expect(hedges).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('starts a hedge after the delay; the first result wins and the loser is aborted', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, clock });
    const hedges: number[] = [];
    h.onHedge((e) => hedges.push(e.attempt));
    const { calls, op } = recorder();
    const p = h.execute(op);
    await clock.advance(DELAY - 1);
    expect(calls).toHaveLength(1);
    await clock.advance(1 + LATE);
    expect(calls).toHaveLength(2);
    expect(hedges).toEqual([1]);
    expect(calls.map((c) => c.ctx.attempt)).toEqual([0, 1]);
    expect(calls[0]!.ctx.signal).not.toBe(calls[1]!.ctx.signal);
    calls[1]!.resolve('hedge');
    await expect(p).resolves.toBe('hedge');
    const loser = calls[0]!.ctx.signal;
    expect(loser.aborted).toBe(true);
    expect(loser.reason).not.toBeInstanceOf(TimeoutError);
    expect((loser.reason as Error).name).toBe('AbortError');
    // A loser counts as cancelled (neutral for a breaker), not timed out.
    expect((calls[0]!.ctx as Context).cancelled).toBe(true);
    expect(calls[1]!.ctx.signal.aborted).toBe(false);
    await clock.advance(DELAY * 3);
    expect(calls).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('the primary can still win after a hedge started', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, maxHedges: 2, clock });
    const { calls, op } = recorder();
    const p = h.execute(op);
    await clock.advance(DELAY + LATE);
    expect(calls).toHaveLength(2);
    calls[0]!.resolve('primary');
    await expect(p).resolves.toBe('primary');
    expect(calls[1]!.ctx.signal.aborted).toBe(true);
    await clock.advance(DELAY * 3);
    expect(calls).toHaveLength(2); // no second hedge once settled
  });

  it('starts up to maxHedges extra attempts, one per delay', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, maxHedges: 3, clock });
    const { calls, op } = recorder();
    const p = h.execute(op);
    await clock.advance(DELAY + LATE);
    expect(calls).toHaveLength(2);
    await clock.advance(DELAY + LATE);
    expect(calls).toHaveLength(3);
    await clock.advance(DELAY + LATE);
    expect(calls).toHaveLength(4);
    await clock.advance(DELAY * 5);
    expect(calls).toHaveLength(4);
    expect(calls.map((c) => c.ctx.attempt)).toEqual([0, 1, 2, 3]);
    calls[2]!.resolve('third');
    await expect(p).resolves.toBe('third');
    expect(calls.map((c) => c.ctx.signal.aborted)).toEqual([true, true, false, true]);
  });

  it('an attempt that fails before the delay starts the next one at once', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, maxHedges: 2, clock });
    const { calls, op } = recorder();
    const p = h.execute(op);
    calls[0]!.reject(new Error('primary failed'));
    await clock.advance(0);
    expect(calls).toHaveLength(2);
    // The delay restarts for the new attempt.
    await clock.advance(DELAY - 1);
    expect(calls).toHaveLength(2);
    await clock.advance(1 + LATE);
    expect(calls).toHaveLength(3);
    calls[1]!.resolve('second');
    await expect(p).resolves.toBe('second');
  });

  it('a synchronous throw counts as a failed attempt', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, clock });
    const attempts: number[] = [];
    const p = h.execute(({ attempt }) => {
      attempts.push(attempt);
      if (attempt === 0) throw new Error('sync');
      return 'hedge';
    });
    await expect(p).resolves.toBe('hedge');
    expect(attempts).toEqual([0, 1]);
  });

  it('when every attempt fails, rejects with the error of the last one to end', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, maxHedges: 2, clock });
    const { calls, op } = recorder();
    const p = h.execute(op);
    await clock.advance(DELAY + LATE);
    await clock.advance(DELAY + LATE);
    expect(calls).toHaveLength(3);
    const last = new Error('first attempt, last to end');
    calls[2]!.reject(new Error('third'));
    calls[1]!.reject(new Error('second'));
    await clock.advance(0);
    calls[0]!.reject(last);
    await expect(p).rejects.toBe(last);
  });

  it('isAcceptable: an unacceptable result hedges at once; if none is acceptable the last one is returned', async () => {
    const clock = new ManualClock();
    const h = hedge({
      delay: DELAY,
      maxHedges: 2,
      clock,
      isAcceptable: (r) => r !== 'busy',
    });
    const { calls, op } = recorder();
    const p = h.execute(op);
    calls[0]!.resolve('busy');
    await clock.advance(0);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve('ok');
    await expect(p).resolves.toBe('ok');

    const q = h.execute(op);
    calls[2]!.resolve('busy');
    await clock.advance(0);
    calls[3]!.resolve('busy');
    await clock.advance(0);
    calls[4]!.resolve('busy');
    await expect(q).resolves.toBe('busy');
  });

  it('an isAcceptable that throws fails that attempt with its error', async () => {
    const clock = new ManualClock();
    const boom = new Error('predicate');
    const h = hedge({
      delay: DELAY,
      clock,
      isAcceptable: () => {
        throw boom;
      },
    });
    await expect(h.execute(() => 'x')).rejects.toBe(boom);
  });

  it('a budget: one deposit per execution, one withdrawal per extra attempt, no hedge when spent', async () => {
    const clock = new ManualClock();
    const { budget, use } = countingBudget(1);
    const h = hedge({ delay: DELAY, maxHedges: 3, budget, clock });
    const { calls, op } = recorder();
    const p = h.execute(op);
    expect(use.deposits).toBe(1);
    await clock.advance(DELAY + LATE);
    expect(calls).toHaveLength(2);
    expect(use).toMatchObject({ deposits: 1, asked: 1, granted: 1 });
    await clock.advance((DELAY + LATE) * 3);
    // Refused: no more attempts, and those running go on.
    expect(calls).toHaveLength(2);
    expect(use.asked).toBe(2);
    expect(calls.some((c) => c.ctx.signal.aborted)).toBe(false);
    calls[0]!.resolve('primary');
    await expect(p).resolves.toBe('primary');
    // The abandoned hedge is neither a success nor a failure.
    expect(use).toMatchObject({ successes: 1, failures: 0 });

    // Spent budget, failing primary: the call fails with the primary's error.
    const err = new Error('down');
    const q = h.execute(op);
    expect(use.deposits).toBe(2);
    calls[2]!.reject(err);
    await expect(q).rejects.toBe(err);
    expect(calls).toHaveLength(3);
    expect(use).toMatchObject({ successes: 1, failures: 1 });
  });

  it('a refusal from a policy inside stops further attempts', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, maxHedges: 3, clock });
    const open = new Error('circuit open');
    let attempts = 0;
    const p = h.execute((ctx) => {
      attempts++;
      (ctx as Context).refuse(open);
      throw open;
    });
    await expect(p).rejects.toBe(open);
    await clock.advance(DELAY * 5);
    expect(attempts).toBe(1);
  });

  it('an open circuit inside stops further attempts, and is not a budget failure', async () => {
    const clock = new ManualClock();
    const { budget, use } = countingBudget(10);
    const h = wrap(hedge({ delay: DELAY, maxHedges: 3, budget, clock }), new Isolated());
    let attempts = 0;
    const p = h.execute(() => attempts++);
    await expect(p).rejects.toBeInstanceOf(IsolatedCircuitError);
    await clock.advance(DELAY * 5);
    expect(attempts).toBe(0);
    expect(use).toMatchObject({ asked: 0, failures: 0 });
  });

  it('delay 0 starts every attempt at once; delay Infinity hedges only on failure', async () => {
    const clock = new ManualClock();
    const { calls, op } = recorder();
    const all = hedge({ delay: 0, maxHedges: 2, clock }).execute(op);
    expect(calls).toHaveLength(3);
    calls[1]!.resolve('b');
    await expect(all).resolves.toBe('b');

    const onFailure = hedge(Number.POSITIVE_INFINITY, { maxHedges: 2, clock });
    const p = onFailure.execute(op);
    await clock.advance(1_000_000);
    expect(calls).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
    calls[3]!.reject(new Error('x'));
    await clock.advance(0);
    expect(calls).toHaveLength(5);
    calls[4]!.resolve('e');
    await expect(p).resolves.toBe('e');
  });

  it('caller cancellation aborts every attempt and rejects at once with the reason', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, maxHedges: 2, clock });
    const ac = new AbortController();
    const seen: AbortSignal[] = [];
    // Attempts that ignore their signal: the call must not wait for them.
    const p = h.execute((ctx) => {
      seen.push(ctx.signal);
      return new Promise<string>(() => {});
    }, ac.signal);
    await clock.advance(DELAY + LATE);
    expect(seen).toHaveLength(2);
    const reason = new Error('user cancelled');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(seen.every((s) => s.aborted && s.reason === reason)).toBe(true);
    await clock.advance(DELAY * 5);
    expect(seen).toHaveLength(2);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('10,000 executions under one long-lived signal leave no listener on it', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, clock });
    const ac = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      // Every other execution hedges at once (the primary fails), reading each attempt's signal.
      await h.execute(({ signal, attempt }) => {
        if (signal.aborted) throw new Error('unexpected abort');
        if (attempt === 0 && i % 2 === 0) throw new Error('primary failed');
        return attempt;
      }, ac.signal);
    }
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await clock.advance(DELAY * 2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('one shared timer serves every execution in flight', async () => {
    const clock = new ManualClock();
    const h = hedge({ delay: DELAY, clock });
    const { calls, op } = recorder();
    const runs = Array.from({ length: 100 }, () => h.execute(op));
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(DELAY + LATE);
    expect(calls).toHaveLength(200);
    for (const c of calls) c.resolve('v');
    await expect(Promise.all(runs)).resolves.toHaveLength(100);
    await clock.advance(DELAY);
    expect(clock.pendingTimers).toBe(0);
  });

  it('composes: a timeout inside bounds each attempt, and hedging starts on its failure', async () => {
    const clock = new ManualClock();
    const policy = wrap(hedge({ delay: 1_000, clock }), timeout(50, { clock }));
    const { calls, op } = recorder();
    const p = policy.execute(op);
    await clock.advance(60);
    // The first attempt timed out (a failure), so the hedge started without waiting 1 s.
    expect(calls).toHaveLength(2);
    expect(calls[0]!.ctx.signal.reason).toBeInstanceOf(TimeoutError);
    calls[1]!.resolve('second');
    await expect(p).resolves.toBe('second');
  });

  it('rejects bad options with a TypeError naming the option', () => {
    const bad = (f: () => unknown, pattern: RegExp) => {
      expect(f).toThrow(TypeError);
      expect(f).toThrow(pattern);
    };
    const h = hedge as (...args: unknown[]) => unknown;
    bad(() => h(), /"delay" is required/);
    bad(() => h({}), /"delay" is required/);
    bad(() => h({ delay: -1 }), /"delay" must be >= 0/);
    bad(() => h({ delay: Number.NaN }), /"delay" must be a number, got NaN/);
    bad(() => h({ delay: '10' }), /"delay" must be a number/);
    bad(() => h(-5), /"delay" must be >= 0/);
    bad(() => h({ delay: 10, maxHedges: 0 }), /"maxHedges" must be >= 1/);
    bad(() => h({ delay: 10, maxHedges: 1.5 }), /"maxHedges" must be an integer/);
    bad(() => h({ delay: 10, maxHedges: Number.POSITIVE_INFINITY }), /"maxHedges" must be finite/);
    bad(() => h({ delay: 10, isAcceptable: true }), /"isAcceptable" must be a function/);
    bad(
      () => h({ delay: 10, budget: {} }),
      /"budget" must have recordAttempt\(\) and tryWithdraw\(\)/,
    );
    bad(() => h({ delay: 10, budget: null }), /"budget"/);
    bad(() => h({ delay: 10, clock: {} }), /"clock"/);
    bad(() => h({ delay: 10, maxHedge: 2 }), /unknown option "maxHedge"/);
    bad(() => h(10, { delay: 20 }), /unknown option "delay"/);
    bad(() => h({ delay: 10 }, {}), /one options object/);
    bad(() => h('10'), /options must be an object/);
    expect(hedge(10)).toMatchObject({ delay: 10, maxHedges: 1 });
    expect(hedge({ delay: 0, maxHedges: 4 })).toMatchObject({ delay: 0, maxHedges: 4 });
  });
});
