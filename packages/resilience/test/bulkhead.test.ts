import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Context } from '../src/context.js';
import {
  type BulkheadRejectEvent,
  BulkheadRejectedError,
  bulkhead,
  ManualClock,
  TimeoutError,
  timeout,
  wrap,
} from '../src/index.js';
import { InterceptorPolicy } from '../src/interceptor.js';
import { type Link, type Operation, RUN } from '../src/policy.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise reactions run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Records enter/exit, and whether it was driven on its own ([RUN]) instead of inline by a host. */
class Probe extends InterceptorPolicy {
  refuse = false;
  constructor(readonly log: string[]) {
    super();
  }
  override [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    this.log.push('probe:own-frame');
    return super[RUN](fn, ctx, next);
  }
  enter(): unknown {
    if (this.refuse) throw new Error('refused');
    this.log.push('enter');
    return null;
  }
  exit(_token: unknown, ok: boolean): void {
    this.log.push(ok ? 'exit:ok' : 'exit:err');
  }
}

describe('bulkhead', () => {
  it('runs up to the limit, queues up to the queue size, rejects the rest', async () => {
    const b = bulkhead(2, 1);
    const gates = [deferred(), deferred(), deferred()];
    const p = gates.map((g) => b.execute(() => g.promise));
    expect(b.executing).toBe(2);
    expect(b.queued).toBe(1);
    expect(b.executionSlots).toBe(0);
    expect(b.queueSlots).toBe(0);
    const rejects: BulkheadRejectEvent[] = [];
    b.onReject((e) => rejects.push(e));
    const err = await b.execute(() => 'never').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BulkheadRejectedError);
    expect(err).toMatchObject({ code: 'EBULKHEADFULL', limit: 2, queue: 1 });
    // Built without a stack trace: only the message line.
    expect((err as Error).stack?.trim().split('\n')).toHaveLength(1);
    expect(rejects).toEqual([{ executing: 2, queued: 1 }]);
    for (const g of gates) g.resolve();
    await Promise.all(p);
    expect(b.executing).toBe(0);
    expect(b.executionSlots).toBe(2);
    expect(b.queueSlots).toBe(1);
  });

  it('starts queued calls in FIFO order as slots free up', async () => {
    const b = bulkhead({ limit: 1, queue: 5 });
    const started: number[] = [];
    const gates = Array.from({ length: 6 }, () => deferred());
    const queuedSizes: number[] = [];
    b.onQueue((e) => queuedSizes.push(e.queued));
    const calls = gates.map((g, i) =>
      b.execute(() => {
        started.push(i);
        return g.promise.then(() => i);
      }),
    );
    expect(started).toEqual([0]);
    expect(queuedSizes).toEqual([1, 2, 3, 4, 5]);
    // Finishing out of order does not reorder the queue: a slot goes to the oldest waiter.
    for (const i of [0, 1, 2, 3, 4, 5]) {
      gates[i]!.resolve();
      await flush();
      expect(started).toEqual([0, 1, 2, 3, 4, 5].slice(0, Math.min(6, i + 2)));
      expect(b.executing).toBe(i < 5 ? 1 : 0);
    }
    await expect(Promise.all(calls)).resolves.toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('an aborted queued call leaves the queue at once and frees its place (cockatiel #112)', async () => {
    const b = bulkhead(1, 1);
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const ac = new AbortController();
    let called = false;
    const second = b.execute(() => {
      called = true;
    }, ac.signal);
    expect(b.queued).toBe(1);
    await expect(b.execute(() => 'full')).rejects.toBeInstanceOf(BulkheadRejectedError);
    const reason = new Error('caller gave up');
    ac.abort(reason);
    expect(b.queued).toBe(0);
    await expect(second).rejects.toBe(reason);
    // Its place is free again: the next call queues instead of being rejected.
    const third = b.execute(() => 'third');
    expect(b.queued).toBe(1);
    gate.resolve();
    await first;
    await expect(third).resolves.toBe('third');
    expect(called).toBe(false);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('a queued call that gets its slot drops its listener on the caller signal', async () => {
    const b = bulkhead(1, 10);
    const ac = new AbortController();
    const gate = deferred();
    const first = b.execute(() => gate.promise, ac.signal);
    const rest = Array.from({ length: 10 }, (_, i) => b.execute(() => i, ac.signal));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(10);
    gate.resolve();
    await first;
    await expect(Promise.all(rest)).resolves.toHaveLength(10);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('releases the slot when the operation throws synchronously', async () => {
    const b = bulkhead(1);
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(b.executing).toBe(0);
    await expect(b.execute(() => 'next')).resolves.toBe('next');
  });

  it('drains a long queue of synchronously failing calls without recursion', async () => {
    const b = bulkhead(1, Number.POSITIVE_INFINITY);
    expect(b.queueSlots).toBe(Number.POSITIVE_INFINITY);
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const n = 20_000;
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      calls.push(
        b.execute(() => {
          throw new Error(String(i));
        }),
      );
    }
    expect(b.queued).toBe(n);
    gate.resolve();
    await first;
    const results = await Promise.allSettled(calls);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(b.executing).toBe(0);
    expect(b.queued).toBe(0);
  });

  it('runs interceptors inside it inline, only once the call holds a slot', async () => {
    const log: string[] = [];
    const probe = new Probe(log);
    const policy = wrap(bulkhead(1, 1), probe);
    const gate = deferred();
    const first = policy.execute(() => gate.promise);
    const second = policy.execute(() => log.push('second'));
    expect(log).toEqual(['enter']);
    gate.resolve();
    await first;
    await second;
    expect(log).toEqual(['enter', 'exit:ok', 'enter', 'second', 'exit:ok']);
  });

  it('an interceptor that refuses inside it releases the slot', async () => {
    const log: string[] = [];
    const probe = new Probe(log);
    const b = bulkhead(1);
    const policy = wrap(b, probe);
    probe.refuse = true;
    await expect(policy.execute(() => 1)).rejects.toThrow('refused');
    expect(b.executing).toBe(0);
    probe.refuse = false;
    await expect(policy.execute(() => 2)).resolves.toBe(2);
  });

  it('time spent queued does not count against a cooperative timeout inside it', async () => {
    const clock = new ManualClock();
    const b = bulkhead(1, 1);
    const policy = wrap(b, timeout(100, { clock }));
    const gate = deferred();
    const first = policy.execute(() => gate.promise);
    let secondSettled = false;
    const second = policy.execute(
      ({ signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    second.catch(() => {}).finally(() => (secondSettled = true));
    await clock.advance(90);
    gate.resolve();
    await first; // the second call starts now, at t = 90
    await clock.advance(60); // t = 150: past 100 ms since it was queued
    expect(secondSettled).toBe(false);
    await clock.advance(45); // t = 195: 100 ms since it started (plus the timer's 2 % slack)
    await expect(second).rejects.toBeInstanceOf(TimeoutError);
    expect(b.executing).toBe(0);
  });

  it('rejects bad options with a TypeError naming the option', () => {
    const bad = (f: () => unknown, pattern: RegExp) => {
      expect(f).toThrow(TypeError);
      expect(f).toThrow(pattern);
    };
    bad(() => bulkhead(0), /"limit" must be >= 1, got 0/);
    bad(() => bulkhead(-1), /"limit" must be >= 1/);
    bad(() => bulkhead(1.5), /"limit" must be an integer/);
    bad(() => bulkhead(Number.NaN), /"limit" must be a number, got NaN/);
    bad(() => bulkhead(Number.POSITIVE_INFINITY), /"limit" must be finite/);
    bad(() => bulkhead('2' as unknown as number), /"limit" must be a number/);
    bad(() => (bulkhead as () => unknown)(), /"limit" is required/);
    bad(() => bulkhead(1, -1), /"queue" must be >= 0/);
    bad(() => bulkhead(1, 0.5), /"queue" must be an integer/);
    bad(() => bulkhead(1, Number.NaN), /"queue" must be a number/);
    bad(() => bulkhead({ queue: 1 } as unknown as { limit: number }), /"limit" is required/);
    bad(() => bulkhead({ limit: 1, queu: 2 } as { limit: number }), /unknown option "queu"/);
    bad(
      () => (bulkhead as (a: unknown, b: unknown) => unknown)({ limit: 1 }, 2),
      /second argument number 2/,
    );
    bad(() => bulkhead([1] as unknown as number), /options must be an object, got Array/);
    bad(() => bulkhead(null as unknown as number), /"limit" must be a number, got null/);
    expect(bulkhead({ limit: 3 }).queue).toBe(0);
    expect(bulkhead(3, Number.POSITIVE_INFINITY).queue).toBe(Number.POSITIVE_INFINITY);
  });
});
