import { getEventListeners } from 'node:events';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Context } from '../src/context.js';
import {
  type ExecutionContext,
  ManualClock,
  type Policy,
  retry,
  TimeoutError,
  timeout,
  wrap,
} from '../src/index.js';
import { InterceptorPolicy } from '../src/interceptor.js';
import { type Link, type Operation, PolicyBase, RUN, runNext } from '../src/policy.js';

/** Records enter/exit order; refuses when told to. */
class Probe extends InterceptorPolicy {
  constructor(
    readonly name: string,
    readonly log: string[],
    public refuse = false,
  ) {
    super();
  }
  enter(): unknown {
    if (this.refuse) {
      this.log.push(`${this.name}:refuse`);
      throw new Error(`${this.name} refused`);
    }
    this.log.push(`${this.name}:enter`);
    return this.name;
  }
  exit(token: unknown, ok: boolean): void {
    this.log.push(`${this.name}:exit:${ok ? 'ok' : 'err'}:${String(token)}`);
  }
}

/** A non-interceptor policy that records around its inner call. */
class Around extends PolicyBase {
  constructor(
    readonly name: string,
    readonly log: string[],
  ) {
    super();
  }
  async [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    this.log.push(`${this.name}:before`);
    try {
      return await runNext(fn, ctx, next);
    } finally {
      this.log.push(`${this.name}:after`);
    }
  }
}

describe('wrap', () => {
  it('runs policies outermost first and exits innermost first', async () => {
    const log: string[] = [];
    const p = wrap(
      new Around('a', log),
      new Probe('b', log),
      new Probe('c', log),
      new Around('d', log),
    );
    await expect(
      p.execute(() => {
        log.push('call');
        return 42;
      }),
    ).resolves.toBe(42);
    expect(log).toEqual([
      'a:before',
      'b:enter',
      'c:enter',
      'd:before',
      'call',
      'd:after',
      'c:exit:ok:c',
      'b:exit:ok:b',
      'a:after',
    ]);
  });

  it('lists the composed policies, outermost first', () => {
    const log: string[] = [];
    const p = wrap(
      new Probe('a', log),
      new Probe('b', log),
      new Around('c', log),
      new Probe('d', log),
    );
    expect(p.policies.map((x) => (x as Probe | Around).name)).toEqual(['a', 'b', 'c', 'd']);
    expect(Object.isFrozen(p.policies)).toBe(true);
  });

  it('a refusal inside a segment exits the interceptors already entered, with the error', async () => {
    const log: string[] = [];
    const p = wrap(new Probe('a', log), new Probe('b', log, true), new Probe('c', log));
    await expect(p.execute(() => log.push('call'))).rejects.toThrow('b refused');
    expect(log).toEqual(['a:enter', 'b:refuse', 'a:exit:err:a']);
  });

  it('runs a long run of interceptors in order, under a retry host too', async () => {
    const log: string[] = [];
    const probes = ['a', 'b', 'c', 'd', 'e'].map((n) => new Probe(n, log));
    let calls = 0;
    const p = wrap(retry({ backoff: 0 }), ...probes);
    await expect(
      p.execute(() => {
        log.push(`call${++calls}`);
        if (calls === 1) throw new Error('once');
        return 'ok';
      }),
    ).resolves.toBe('ok');
    const once = (call: string, outcome: string) => [
      'a:enter',
      'b:enter',
      'c:enter',
      'd:enter',
      'e:enter',
      call,
      `e:exit:${outcome}:e`,
      `d:exit:${outcome}:d`,
      `c:exit:${outcome}:c`,
      `b:exit:${outcome}:b`,
      `a:exit:${outcome}:a`,
    ];
    expect(log).toEqual([...once('call1', 'err'), ...once('call2', 'ok')]);
  });

  it('reports a synchronous throw of the operation as a failure to every layer', async () => {
    const log: string[] = [];
    const p = wrap(new Probe('a', log), new Probe('b', log));
    await expect(
      p.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(log).toEqual(['a:enter', 'b:enter', 'b:exit:err:b', 'a:exit:err:a']);
  });

  it('flattens nested wraps and keeps working when composed inside another chain', async () => {
    const log: string[] = [];
    const inner = wrap(new Around('b', log), new Probe('c', log));
    const outer = wrap(new Around('a', log), inner, new Around('d', log));
    expect(outer.policies.map((p) => (p as Around).name)).toEqual(['a', 'b', 'c', 'd']);
    await outer.execute(() => log.push('call'));
    expect(log).toEqual([
      'a:before',
      'b:before',
      'c:enter',
      'd:before',
      'call',
      'd:after',
      'c:exit:ok:c',
      'b:after',
      'a:after',
    ]);
  });

  it('keeps operation types', () => {
    const p = wrap(timeout(10), timeout(20));
    expectTypeOf(p.execute(() => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(p).toMatchTypeOf<Policy>();
  });

  it('rejects bad input', async () => {
    expect(() => wrap()).toThrow(/at least one policy/);
    expect(() => wrap(timeout(1), {} as Policy)).toThrow(
      /argument 2 is not a nines policy, got Object/,
    );
    expect(() => wrap(null as unknown as Policy)).toThrow(
      /argument 1 is not a nines policy, got null/,
    );
    const p = wrap(timeout(10));
    await expect(p.execute(42 as unknown as Operation<number>)).rejects.toThrow(
      /operation must be a function, got number 42/,
    );
    await expect(p.execute(() => 1, 'x' as unknown as AbortSignal)).rejects.toThrow(
      /signal must be an AbortSignal/,
    );
    // still serving after bad input
    await expect(p.execute(() => 7)).resolves.toBe(7);
  });
});

describe('execution context', () => {
  it('rejects at once with the reason when the caller signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    let called = false;
    await expect(
      wrap(timeout(10)).execute(() => {
        called = true;
      }, ac.signal),
    ).rejects.toThrow('gone');
    expect(called).toBe(false);
  });

  it('passes the caller signal through, and a timeout aborts only its own attempt', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const seen: ExecutionContext[] = [];
    const p = timeout(50, { clock }).execute((ctx) => {
      seen.push(ctx);
      return new Promise((_r, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
      );
    }, ac.signal);
    const settled = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(51);
    await settled;
    expect(seen[0]!.signal.aborted).toBe(true);
    expect(ac.signal.aborted).toBe(false);
  });

  it('a caller abort reaches the operation through nested timeouts', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = wrap(timeout(1000, { clock }), timeout(2000, { clock })).execute(
      ({ signal }) =>
        new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      ac.signal,
    );
    ac.abort(new Error('user cancelled'));
    await expect(p).rejects.toThrow('user cancelled');
  });

  it('100,000 executions under one long-lived signal leave no listener on it', async () => {
    const ac = new AbortController();
    const policy = wrap(timeout(10_000), timeout(20_000, 'aggressive'));
    for (let i = 0; i < 100_000; i++) {
      await policy.execute(({ signal }) => signal.aborted, ac.signal);
    }
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('the signal is the same object on every read within an attempt', async () => {
    await timeout(100).execute((ctx) => {
      expect(ctx.signal).toBe(ctx.signal);
      expect(ctx.attempt).toBe(0);
    });
  });
});
