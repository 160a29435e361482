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
    await clock.advance(99);
    expect(seen).toBeUndefined();
    await clock.advance(1);
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
    await clock.advance(100);
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

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => timeout(0)).toThrow(/"ms" must be > 0/);
    expect(() => timeout(Number.NaN)).toThrow(/"ms" must be a number, got NaN/);
    expect(() => timeout('5' as unknown as number)).toThrow(/"ms" must be a number/);
    expect(() => timeout(5, { strategy: 'eager' as 'cooperative' })).toThrow(/"strategy"/);
    expect(() => timeout(5, { clok: 1 } as object)).toThrow(/unknown option "clok"/);
  });
});
