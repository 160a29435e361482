import { getEventListeners } from 'node:events';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Context } from '../src/context.js';
import {
  bulkhead,
  type ExecutionContext,
  type FallbackPolicy,
  type FallbackReason,
  fallback,
  hedge,
  ManualClock,
  type Policy,
  retry,
  timeout,
  type WrappedPolicy,
  wrap,
} from '../src/index.js';
import { InterceptorPolicy } from '../src/interceptor.js';
import { type Link, type Operation, RUN } from '../src/policy.js';

/** Records enter/exit, and whether it was driven on its own ([RUN]) instead of inline by a host. */
class Probe extends InterceptorPolicy {
  refuse: Error | null = null;
  constructor(readonly log: string[]) {
    super();
  }
  override [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T> {
    this.log.push('probe:own-frame');
    return super[RUN](fn, ctx, next);
  }
  enter(): unknown {
    if (this.refuse) throw this.refuse;
    this.log.push('enter');
    return null;
  }
  exit(_token: unknown, ok: boolean): void {
    this.log.push(ok ? 'exit:ok' : 'exit:err');
  }
}

const fail = (err: unknown) => () => {
  throw err;
};

describe('fallback', () => {
  it('resolves with the value when the call fails, and passes successes through', async () => {
    const f = fallback('cached');
    await expect(f.execute(fail(new Error('down')))).resolves.toBe('cached');
    await expect(f.execute(() => Promise.reject(new Error('down')))).resolves.toBe('cached');
    await expect(f.execute(() => 'fresh')).resolves.toBe('fresh');
  });

  it('calls a factory with the error and the execution context', async () => {
    const err = new Error('down');
    const seen: Array<[FallbackReason, ExecutionContext]> = [];
    const f = fallback(async (reason, ctx) => {
      seen.push([reason, ctx]);
      return 'from factory';
    });
    const ac = new AbortController();
    await expect(f.execute(fail(err), ac.signal)).resolves.toBe('from factory');
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toEqual({ error: err });
    expect(seen[0]![1].signal).toBe(ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('handles: an error it does not handle rejects as it is', async () => {
    class NotFound extends Error {}
    const f = fallback(0, { handles: (e) => !(e instanceof NotFound) });
    const nf = new NotFound('no');
    await expect(f.execute(fail(nf))).rejects.toBe(nf);
    await expect(f.execute(fail(new Error('other')))).resolves.toBe(0);
  });

  it('handlesResult: a result it turns down is replaced, and the factory sees it', async () => {
    const reasons: FallbackReason[] = [];
    const f = fallback(
      (reason) => {
        reasons.push(reason);
        return 'replacement';
      },
      { handlesResult: (r) => r === 503 },
    );
    await expect(f.execute(() => 503)).resolves.toBe('replacement');
    await expect(f.execute(() => 200)).resolves.toBe(200);
    expect(reasons).toEqual([{ result: 503 }]);
  });

  it('a call cancelled by its caller rejects with the reason, whatever the predicate says', async () => {
    let factoryCalls = 0;
    const f = fallback(
      () => {
        factoryCalls++;
        return 'fb';
      },
      { handles: () => true },
    );
    const ac = new AbortController();
    const reason = new Error('user cancelled');
    const p = f.execute(
      ({ signal }) =>
        new Promise((_r, reject) => {
          signal.addEventListener('abort', () => reject(new Error('op saw abort')));
        }),
      ac.signal,
    );
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(factoryCalls).toBe(0);
  });

  it('a timeout inside is a failure like any other, not a cancellation', async () => {
    const clock = new ManualClock();
    const f = wrap(fallback('slow path'), timeout(100, { clock }));
    const p = f.execute(
      ({ signal }) =>
        new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    await clock.advance(200);
    await expect(p).resolves.toBe('slow path');
  });

  it('a factory that throws rejects with its error, the original attached as cause', async () => {
    const original = new Error('original');
    const secondary = new Error('factory failed');
    await expect(
      fallback(() => {
        throw secondary;
      }).execute(fail(original)),
    ).rejects.toBe(secondary);
    expect(secondary.cause).toBe(original);
    expect(Object.keys(secondary)).not.toContain('cause');

    // Its own cause is kept; rethrowing the original does not make it its own cause.
    const own = new Error('own', { cause: 'mine' });
    await expect(fallback(() => Promise.reject(own)).execute(fail(original))).rejects.toBe(own);
    expect(own.cause).toBe('mine');
    await expect(
      fallback((r) => Promise.reject((r as { error: unknown }).error)).execute(fail(original)),
    ).rejects.toBe(original);
    expect(original.cause).toBeUndefined();
    // A frozen error or a non-error is rejected unchanged.
    const frozen = Object.freeze(new Error('frozen'));
    await expect(fallback(fail(frozen)).execute(fail(original))).rejects.toBe(frozen);
    await expect(fallback(fail('plain')).execute(fail(original))).rejects.toBe('plain');
  });

  it('emits onFallback with the reason before the factory runs', async () => {
    const log: string[] = [];
    const f = fallback(() => {
      log.push('factory');
      return 1;
    });
    const off = f.onFallback((r) => log.push(`event:${String((r as { error: unknown }).error)}`));
    await f.execute(fail('e1'));
    off();
    await f.execute(fail('e2'));
    expect(log).toEqual(['event:e1', 'factory', 'factory']);

    const events: FallbackReason[] = [];
    const v = fallback('v', { handlesResult: (r) => r === 'bad' });
    v.onFallback((r) => events.push(r));
    await v.execute(() => 'bad');
    await v.execute(() => 'good');
    expect(events).toEqual([{ result: 'bad' }]);
  });

  it('runs interceptors inside it inline, and answers for their refusals', async () => {
    const log: string[] = [];
    const probe = new Probe(log);
    const policy = wrap(fallback('fb'), probe);
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
    await expect(policy.execute(fail(new Error('x')))).resolves.toBe('fb');
    probe.refuse = new Error('circuit open');
    await expect(policy.execute(() => 'never')).resolves.toBe('fb');
    expect(log).toEqual(['enter', 'exit:ok', 'enter', 'exit:err']);
  });

  it('keeps its value type through wrap', async () => {
    const cached = fallback(() => 'cached' as const);
    expectTypeOf(cached).toEqualTypeOf<FallbackPolicy<'cached'>>();
    expectTypeOf(cached).toMatchTypeOf<Policy<'cached'>>();
    expectTypeOf(cached.execute(() => 42)).toEqualTypeOf<Promise<number | 'cached'>>();

    const composed = wrap(
      cached,
      retry({ maxRetries: 0 }),
      hedge(100),
      bulkhead(4),
      timeout(1_000),
    );
    expectTypeOf(composed).toEqualTypeOf<WrappedPolicy<'cached'>>();
    expectTypeOf(composed.execute(() => 42)).toEqualTypeOf<Promise<number | 'cached'>>();

    expectTypeOf(fallback(async () => 7)).toEqualTypeOf<FallbackPolicy<number>>();
    expectTypeOf(fallback('x')).toEqualTypeOf<FallbackPolicy<string>>();
    expectTypeOf(fallback(Promise.resolve(true))).toEqualTypeOf<FallbackPolicy<boolean>>();
    expectTypeOf(fallback(null)).toEqualTypeOf<FallbackPolicy<null>>();
    expectTypeOf(wrap(timeout(10), bulkhead(1)).execute(() => 1)).toEqualTypeOf<Promise<number>>();
    await expect(composed.execute(fail(new Error('x')))).resolves.toBe('cached');
  });

  it('a static value may be anything but a function, undefined included', async () => {
    await expect(fallback(undefined).execute(fail(1))).resolves.toBeUndefined();
    await expect(fallback(Promise.resolve(3)).execute(fail(1))).resolves.toBe(3);
    const fn = () => 'a function value';
    await expect(fallback(() => fn).execute(fail(1))).resolves.toBe(fn);
  });

  it('a predicate that throws rejects with its error', async () => {
    const boom = new Error('predicate');
    const f = fallback(1, {
      handles: () => {
        throw boom;
      },
    });
    await expect(f.execute(fail(new Error('x')))).rejects.toBe(boom);
  });

  it('rejects bad options with a TypeError naming the option', () => {
    const bad = (f: () => unknown, pattern: RegExp) => {
      expect(f).toThrow(TypeError);
      expect(f).toThrow(pattern);
    };
    const fb = fallback as (...args: unknown[]) => unknown;
    bad(() => fb(), /a fallback value or factory function is required/);
    bad(() => fb(1, { handles: 1 }), /"handles" must be a function, got number 1/);
    bad(() => fb(1, { handlesResult: 'x' }), /"handlesResult" must be a function/);
    bad(() => fb(1, { handle: () => true }), /unknown option "handle"/);
    bad(() => fb(1, 'x'), /options must be an object/);
    bad(() => fb(1, {}, {}), /expected \(valueOrFactory, options\?\), got 3 arguments/);
  });
});
