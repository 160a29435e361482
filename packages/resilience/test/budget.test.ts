import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Clock,
  ManualClock,
  type RetryBudget,
  retry,
  retryBudget,
  tokenBucketBudget,
} from '../src/index.js';

const withdrawAll = (b: RetryBudget, limit = 10_000): number => {
  let n = 0;
  while (n < limit && b.tryWithdraw()) n++;
  return n;
};

describe('retryBudget (Finagle)', () => {
  it('defaults: 20 % of first attempts plus 10/s over 10 s', () => {
    const clock = new ManualClock();
    const b = retryBudget({ clock });
    expect([b.percentCanRetry, b.ttl, b.minRetriesPerSec]).toEqual([0.2, 10_000, 10]);
    expect(b.available).toBe(100); // the reserve: 10/s * 10 s
    for (let i = 0; i < 50; i++) b.recordAttempt();
    expect(b.available).toBe(110);
    expect(withdrawAll(b)).toBe(110);
    expect(b.tryWithdraw()).toBe(false);
    expect(b.available).toBe(0);
  });

  it('deposits earn exactly percentCanRetry retries each (no float drift)', () => {
    const clock = new ManualClock();
    const b = retryBudget({ clock, minRetriesPerSec: 0, percentCanRetry: 0.1 });
    for (let i = 0; i < 9; i++) b.recordAttempt();
    expect(b.tryWithdraw()).toBe(false);
    b.recordAttempt(); // 10 x 0.1 in floating point is 0.9999999999999999
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
  });

  it('deposits and withdrawals expire after ttl, lazily and without timers', async () => {
    const clock = new ManualClock();
    const b = retryBudget({ clock, minRetriesPerSec: 0, ttl: 1_000 });
    for (let i = 0; i < 10; i++) b.recordAttempt();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(500);
    expect(b.available).toBe(2);
    await clock.advance(500); // deposits are now a full ttl old
    expect(b.available).toBe(0);

    // Withdrawals expire too, so the reserve refills after ttl.
    const r = retryBudget({ clock, minRetriesPerSec: 5, ttl: 1_000 });
    expect(withdrawAll(r)).toBe(5);
    clock.set(clock.now() + 999);
    expect(r.tryWithdraw()).toBe(false);
    clock.set(clock.now() + 1);
    expect(r.available).toBe(5);
  });

  it('the window slides one slice at a time', () => {
    const clock = new ManualClock();
    const b = retryBudget({ clock, minRetriesPerSec: 0, ttl: 1_000, percentCanRetry: 1 });
    b.recordAttempt(); // t = 0, slice 0
    clock.set(300);
    b.recordAttempt(); // slice 3
    clock.set(999);
    expect(b.available).toBe(2);
    clock.set(1_000); // slice 0 expires
    expect(b.available).toBe(1);
    clock.set(1_299);
    expect(b.available).toBe(1);
    clock.set(1_300);
    expect(b.available).toBe(0);
  });

  it('survives a clock that jumps backwards or far forwards', () => {
    const clock = new ManualClock(1_000_000);
    const b = retryBudget({ clock, minRetriesPerSec: 0, percentCanRetry: 1 });
    b.recordAttempt();
    clock.set(0);
    expect(b.available).toBe(1);
    clock.set(1e15);
    expect(b.available).toBe(0);
    b.recordAttempt();
    expect(b.tryWithdraw()).toBe(true);
  });

  it('property: within one ttl, withdrawals never exceed percent * deposits + reserve', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(
          fc.oneof(
            fc.constant<'deposit'>('deposit'),
            fc.constant<'withdraw'>('withdraw'),
            fc.integer({ min: 1, max: 50 }),
          ),
          { maxLength: 300 },
        ),
        (percent, perSec, ops) => {
          const clock = new ManualClock();
          const ttl = 10_000;
          const b = retryBudget({ clock, percentCanRetry: percent, minRetriesPerSec: perSec, ttl });
          let deposits = 0;
          let granted = 0;
          let elapsed = 0;
          for (const op of ops) {
            if (op === 'deposit') {
              b.recordAttempt();
              deposits++;
            } else if (op === 'withdraw') {
              if (b.tryWithdraw()) granted++;
            } else if (elapsed + op < ttl * 0.9) {
              // Stay within the first slice-aligned 90 % of a ttl: nothing has expired yet.
              elapsed += op;
              clock.set(elapsed);
            }
            const bound = Math.floor(percent * deposits + (perSec * ttl) / 1000 + 1e-9);
            expect(granted).toBeLessThanOrEqual(bound);
            expect(b.available).toBe(bound - granted);
          }
        },
      ),
    );
  });

  it('property: over any run, retries in each ttl stay within percent * deposits of that ttl and the one before + reserve', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.nat(5), fc.nat(5)), {
          maxLength: 200,
        }),
        (steps) => {
          const clock = new ManualClock();
          const ttl = 1_000;
          const b = retryBudget({ clock, percentCanRetry: 0.5, minRetriesPerSec: 2, ttl });
          const log: Array<{ t: number; kind: 'd' | 'w' }> = [];
          for (const [dt, deposits, withdrawals] of steps) {
            clock.set(clock.now() + dt);
            for (let i = 0; i < deposits; i++) {
              b.recordAttempt();
              log.push({ t: clock.now(), kind: 'd' });
            }
            for (let i = 0; i < withdrawals; i++) {
              if (b.tryWithdraw()) log.push({ t: clock.now(), kind: 'w' });
            }
          }
          // Credit ages out slice by slice, so a window of ttl sees at most the deposits of the
          // last 2 * ttl (a coarse but safe bound) and twice the reserve.
          for (const { t } of log) {
            const w = log.filter((e) => e.kind === 'w' && e.t > t - ttl && e.t <= t).length;
            const d = log.filter((e) => e.kind === 'd' && e.t > t - 2 * ttl && e.t <= t).length;
            expect(w).toBeLessThanOrEqual(Math.floor(0.5 * d + 2 * 2 + 1e-9));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => retryBudget(null as unknown as object)).toThrow(/retryBudget: options must be/);
    expect(() => retryBudget({ ttl: 0 })).toThrow(/"ttl" must be > 0/);
    expect(() => retryBudget({ ttl: Infinity })).toThrow(/"ttl" must be finite/);
    expect(() => retryBudget({ percentCanRetry: -0.1 })).toThrow(/"percentCanRetry" must be >= 0/);
    expect(() => retryBudget({ percentCanRetry: 1001 })).toThrow(/"percentCanRetry" must be <=/);
    expect(() => retryBudget({ percentCanRetry: Number.NaN })).toThrow(/"percentCanRetry"/);
    expect(() => retryBudget({ minRetriesPerSec: -1 })).toThrow(/"minRetriesPerSec" must be >= 0/);
    expect(() => retryBudget({ minRetriesPerSec: '1' as unknown as number })).toThrow(
      /"minRetriesPerSec" must be a number/,
    );
    expect(() => retryBudget({ clock: {} as Clock })).toThrow(/"clock" must have now/);
    expect(() => retryBudget({ ratio: 1 } as object)).toThrow(/unknown option "ratio"/);
  });
});

describe('tokenBucketBudget (gRPC A6 throttling)', () => {
  it('starts full; each failure costs a token; retries stop at half the bucket', () => {
    const b = tokenBucketBudget({ maxTokens: 10, tokenRatio: 0.1 });
    expect(b.tokens).toBe(10);
    b.recordAttempt(); // no effect
    for (let i = 0; i < 4; i++) b.recordFailure();
    expect(b.tokens).toBe(6);
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tokens).toBe(6); // asking costs nothing
    b.recordFailure();
    expect(b.tokens).toBe(5);
    expect(b.tryWithdraw()).toBe(false); // must be strictly above maxTokens / 2
    for (let i = 0; i < 9; i++) b.recordSuccess();
    expect(b.tokens).toBe(5.9); // exact: thousandths, no float drift
    expect(b.tryWithdraw()).toBe(true);
  });

  it('never leaves [0, maxTokens]', () => {
    const b = tokenBucketBudget({ maxTokens: 3, tokenRatio: 2 });
    for (let i = 0; i < 10; i++) b.recordFailure();
    expect(b.tokens).toBe(0);
    for (let i = 0; i < 10; i++) b.recordSuccess();
    expect(b.tokens).toBe(3);
  });

  it('defaults to the A6 example (10 tokens, ratio 0.1) and keeps 3 decimals of the ratio', () => {
    const b = tokenBucketBudget();
    expect([b.maxTokens, b.tokenRatio]).toEqual([10, 0.1]);
    expect(tokenBucketBudget({ tokenRatio: 0.12345 }).tokenRatio).toBe(0.123);
  });

  it('property: matches a reference model in integer thousandths', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.constantFrom('ok', 'fail', 'ask'), { maxLength: 300 }),
        (maxTokens, ratioMilli, ops) => {
          const b = tokenBucketBudget({ maxTokens, tokenRatio: ratioMilli / 1000 });
          let model = maxTokens * 1000;
          for (const op of ops) {
            if (op === 'ok') {
              b.recordSuccess();
              model = Math.min(maxTokens * 1000, model + ratioMilli);
            } else if (op === 'fail') {
              b.recordFailure();
              model = Math.max(0, model - 1000);
            } else {
              expect(b.tryWithdraw()).toBe(model > maxTokens * 500);
            }
            expect(b.tokens).toBe(model / 1000);
            expect(b.tokens >= 0 && b.tokens <= maxTokens).toBe(true);
          }
        },
      ),
    );
  });

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => tokenBucketBudget({ maxTokens: 0 })).toThrow(/"maxTokens" must be >= 0.001/);
    expect(() => tokenBucketBudget({ maxTokens: 1001 })).toThrow(/"maxTokens" must be <= 1000/);
    expect(() => tokenBucketBudget({ maxTokens: Number.NaN })).toThrow(/"maxTokens"/);
    expect(() => tokenBucketBudget({ tokenRatio: 0 })).toThrow(/"tokenRatio" must be >= 0.001/);
    expect(() => tokenBucketBudget({ tokenRatio: Infinity })).toThrow(
      /"tokenRatio" must be finite/,
    );
    expect(() => tokenBucketBudget({ tokens: 1 } as object)).toThrow(/unknown option "tokens"/);
  });
});

describe('a shared budget under a fleet of callers', () => {
  it('keeps total attempts within (1 + percent) * first attempts + reserve', async () => {
    const clock = new ManualClock();
    const budget = retryBudget({ clock, percentCanRetry: 0.2, minRetriesPerSec: 1, ttl: 10_000 });
    // Two policies with different settings share the one budget.
    const a = retry({ clock, budget, maxRetries: 10, backoff: 10 });
    const b = retry({ clock, budget, maxRetries: 5, backoff: [5, 10, 20, 40, 80] });
    const reasons = new Map<string, number>();
    for (const p of [a, b]) {
      p.onGiveUp(({ reason }) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1));
    }
    let calls = 0;
    const down = async () => {
      calls++;
      throw new Error('down');
    };
    const callers = 200;
    const runs = Array.from({ length: callers }, (_, i) =>
      (i % 2 ? a : b).execute(down).catch((e: unknown) => e),
    );
    await clock.advance(2_000);
    const results = await Promise.all(runs);
    expect(results.every((e) => e instanceof Error && e.message === 'down')).toBe(true);
    const reserve = 1 * 10; // minRetriesPerSec * ttl
    expect(calls).toBeLessThanOrEqual((1 + 0.2) * callers + reserve);
    expect(calls).toBe(250); // and the budget is used to the last retry
    // Without the budget the fleet would have made up to 200 + 100 * 10 + 100 * 5 calls.
    expect(calls).toBeGreaterThanOrEqual(callers + 0.2 * callers);
    expect(reasons.get('budget-spent')).toBeGreaterThan(150);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a token bucket shared by policies stops retries once failures drain half of it', async () => {
    const clock = new ManualClock();
    const budget = tokenBucketBudget({ maxTokens: 10, tokenRatio: 0.5 });
    const policy = retry({ clock, budget, maxRetries: 100, backoff: 1 });
    let calls = 0;
    const p = policy
      .execute(() => {
        calls++;
        throw new Error('down');
      })
      .catch((e: unknown) => e);
    await clock.advance(100);
    await p;
    // 10 tokens: the fifth failure leaves 5, which is not above half, so 5 calls in all.
    expect(calls).toBe(5);
    expect(budget.tokens).toBe(5);
    // Successes earn tokens back: two successes (+1) lift it above half again.
    await policy.execute(() => 'ok');
    await policy.execute(() => 'ok');
    expect(budget.tokens).toBe(6);
    expect(budget.tryWithdraw()).toBe(true);
  });
});
