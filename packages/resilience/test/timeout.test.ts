import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, TimeoutError, timeout } from '../src/index.js';

describe('timeout', () => {
  it('cooperative: aborts the signal at the deadline and returns the operation own result', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    let seen: unknown;
    const p = policy.execute(
      ({ signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            seen = signal.reason;
            reject(signal.reason);
          });
        }),
    );
    const settled = expect(p).rejects.toBeInstanceOf(TimeoutError);
    // Never early; at most one tick (2 % of the duration) late.
    await clock.advance(99);
    expect(seen).toBeUndefined();
    await clock.advance(3);
    await settled;
    expect(seen).toBeInstanceOf(TimeoutError);
    expect(policy.inFlight).toBe(0);
  });

  it('cooperative: an operation that ignores its signal keeps its own result', async () => {
    const clock = new ManualClock();
    const policy = timeout(10, { clock });
    let resolve!: (v: string) => void;
    const p = policy.execute(() => new Promise<string>((r) => (resolve = r)));
    await clock.advance(50);
    resolve('late');
    await expect(p).resolves.toBe('late');
  });

  it('aggressive: rejects at the deadline even when the operation ignores its signal', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock, strategy: 'aggressive' });
    const fired: number[] = [];
    policy.onTimeout((e) => fired.push(e.timeoutMs));
    const p = policy.execute(() => new Promise(() => {}));
    const settled = expect(p).rejects.toMatchObject({ code: 'ETIMEDOUT', timeoutMs: 100 });
    await clock.advance(102);
    await settled;
    expect(fired).toEqual([100]);
  });

  it('one shared timer serves many calls; settled calls never expire', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const fired: number[] = [];
    policy.onTimeout(() => fired.push(clock.now()));
    for (let i = 0; i < 1000; i++) await policy.execute(() => i);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1000);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires every deadline no earlier than its duration and at most one tick late', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20_000 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 30 }),
        async (ms, gaps) => {
          const clock = new ManualClock();
          const policy = timeout(ms, { clock, strategy: 'aggressive' });
          const tick = Math.min(100, Math.max(1, ms / 50));
          const starts: number[] = [];
          const ends: number[] = [];
          const pending: Promise<unknown>[] = [];
          for (const gap of gaps) {
            await clock.advance(gap);
            const start = clock.now();
            starts.push(start);
            pending.push(
              policy
                .execute(() => new Promise(() => {}))
                .catch(() => ends.push(clock.now() - start)),
            );
          }
          await clock.advance(ms + 2 * tick + 1);
          await Promise.all(pending);
          expect(ends).toHaveLength(gaps.length);
          for (const elapsed of ends) {
            expect(elapsed).toBeGreaterThanOrEqual(ms);
            expect(elapsed).toBeLessThanOrEqual(ms + tick + 1e-9);
          }
          expect(policy.inFlight).toBe(0);
          await clock.advance(tick);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('cooperative: a signal first read after the deadline is already aborted', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const fired: number[] = [];
    policy.onTimeout((e) => fired.push(e.attempt));
    let late: AbortSignal | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = policy.execute(async (ctx) => {
      await gate;
      late = ctx.signal;
      return 'done';
    });
    await clock.advance(110);
    release();
    await expect(p).resolves.toBe('done');
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBeInstanceOf(TimeoutError);
    expect(fired).toEqual([0]);
  });

  it('cooperative: an operation that ignores its signal and ends late is still reported', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const fired: number[] = [];
    policy.onTimeout((e) => fired.push(e.timeoutMs));
    let resolve!: () => void;
    const p = policy.execute(() => new Promise<void>((r) => (resolve = r)));
    await clock.advance(150);
    expect(fired).toEqual([]); // nothing could be aborted: noted when it ends
    // The policy stops ticking once the deadline has passed, even though the call hangs on.
    await clock.advance(10);
    expect(clock.pendingTimers).toBe(0);
    expect(policy.inFlight).toBe(0);
    resolve();
    await p;
    expect(fired).toEqual([100]);
  });

  it('cooperative: an operation that ends in time is never reported', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const fired: number[] = [];
    policy.onTimeout((e) => fired.push(e.timeoutMs));
    let resolve!: () => void;
    const p = policy.execute(() => new Promise<void>((r) => (resolve = r)));
    await clock.advance(90);
    resolve();
    await p;
    await clock.advance(500);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => timeout(0)).toThrow(/"ms" must be > 0/);
    expect(() => timeout(Number.NaN)).toThrow(/"ms" must be a number, got NaN/);
    expect(() => timeout('5' as unknown as number)).toThrow(/"ms" must be a number/);
    expect(() => timeout(5, { strategy: 'eager' as 'cooperative' })).toThrow(/"strategy"/);
    expect(() => timeout(5, { clok: 1 } as object)).toThrow(/unknown option "clok"/);
  });
});
