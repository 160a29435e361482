import { getEventListeners } from 'node:events';
import { ManualClock } from '@nines/resilience';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InjectedFaultError } from '../src/faults/errors.js';
import { createFaults } from '../src/faults/registry.js';
import { seeded } from './helpers.js';

/** Settles promise reactions without moving the clock. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks a promise's outcome without awaiting it. */
function track<T>(p: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => {
      state.done = true;
      state.value = value;
    },
    (error: unknown) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}

function setup(random: () => number = Math.random) {
  const clock = new ManualClock(1_700_000_000_000);
  const faults = createFaults({ clock, random });
  let calls = 0;
  const store = faults.wrap('store', async (id: string, signal?: AbortSignal) => {
    calls++;
    signal?.throwIfAborted();
    return `stock:${id}`;
  });
  return { clock, faults, store, calls: () => calls };
}

describe('faults.wrap', () => {
  it('passes calls straight through when no fault is active, same promise and this', async () => {
    const faults = createFaults({ clock: new ManualClock(0) });
    const p = Promise.resolve(1);
    const wrapped = faults.wrap('db', function (this: unknown) {
      expect(this).toBe(holder);
      return p;
    });
    const holder = { wrapped };
    expect(holder.wrapped()).toBe(p);
    faults.inject({ kind: 'latency', target: 'other', ms: 100 });
    expect(holder.wrapped()).toBe(p); // a fault on another target costs nothing here
  });

  it('delays by exactly ms on the clock', async () => {
    const { clock, faults, store, calls } = setup();
    faults.inject({ kind: 'latency', target: 'store', ms: 500 });
    const s = track(store('42'));
    await clock.advance(499);
    expect(s.done).toBe(false);
    expect(calls()).toBe(0);
    await clock.advance(1);
    expect(s).toMatchObject({ done: true, value: 'stock:42' });
    expect(calls()).toBe(1);
  });

  it('adds up latency faults on one target', async () => {
    const { clock, faults, store } = setup();
    faults.inject({ kind: 'latency', target: 'store', ms: 200 });
    faults.inject({ kind: 'latency', target: ['x', 'store'], ms: 300 });
    const s = track(store('1'));
    await clock.advance(499);
    expect(s.done).toBe(false);
    await clock.advance(1);
    expect(s.done).toBe(true);
  });

  it('stops a delay at once when the signal aborts, leaving no listener', async () => {
    const { clock, faults, store, calls } = setup();
    faults.inject({ kind: 'latency', target: 'store', ms: 10_000 });
    const ac = new AbortController();
    const s = track(store('1', ac.signal));
    await tick();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    const reason = new Error('caller gave up');
    ac.abort(reason);
    await tick();
    expect(s).toMatchObject({ done: true, error: reason });
    expect(calls()).toBe(0);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(1); // only the registry's expiry timer is left
  });

  it('leaves no listener on the signal after a delay completes', async () => {
    const { clock, faults, store } = setup();
    faults.inject({ kind: 'latency', target: 'store', ms: 50 });
    const ac = new AbortController();
    const s = track(store('1', ac.signal));
    await clock.advance(50);
    expect(s.value).toBe('stock:1');
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('finds the signal in a trailing options object too', async () => {
    const { clock, faults } = setup();
    const fn = faults.wrap('api', async (_path: string, _init: { signal?: AbortSignal }) => 'ok');
    faults.inject({ kind: 'latency', target: 'api', ms: 1_000 });
    const ac = new AbortController();
    const s = track(fn('/x', { signal: ac.signal }));
    await clock.advance(10);
    ac.abort(new Error('stop'));
    await tick();
    expect((s.error as Error).message).toBe('stop');
  });

  it('throws an InjectedFaultError for an error fault without calling the function', async () => {
    const { faults, store, calls } = setup();
    const f = faults.inject({ kind: 'error', target: 'store', status: 503, message: 'store down' });
    const error = await store('1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InjectedFaultError);
    expect(error).toMatchObject({
      name: 'InjectedFaultError',
      message: 'store down',
      code: 'EFAULTINJECTED',
      fault: f.id,
      status: 503,
    });
    expect(calls()).toBe(0);
    faults.inject({ kind: 'error', target: 'db', code: 'E_DB' });
    const db = faults.wrap('db', async () => 1);
    await expect(db()).rejects.toMatchObject({ code: 'E_DB', message: 'injected fault' });
  });

  it('delays, then fails, when latency and error faults are both active', async () => {
    const { clock, faults, store } = setup();
    faults.inject({ kind: 'error', target: 'store' });
    faults.inject({ kind: 'latency', target: 'store', ms: 100 });
    const s = track(store('1'));
    await clock.advance(99);
    expect(s.done).toBe(false);
    await clock.advance(1);
    expect(s.error).toBeInstanceOf(InjectedFaultError);
  });

  it('applies the first matching error or block fault in injection order', async () => {
    const { faults, store } = setup();
    const first = faults.inject({ kind: 'block', target: 'store', mode: 'refuse' });
    faults.inject({ kind: 'error', target: 'store', code: 'SECOND' });
    await expect(store('1')).rejects.toMatchObject({ code: 'ECONNREFUSED', fault: first.id });
    faults.remove(first.id);
    await expect(store('1')).rejects.toMatchObject({ code: 'SECOND' });
  });

  it('refuses at once like a refused connection', async () => {
    const { faults, store, calls } = setup();
    const f = faults.inject({ kind: 'block', target: 'store', mode: 'refuse' });
    const error = (await store('1').catch((e: unknown) => e)) as InjectedFaultError;
    expect(error).toBeInstanceOf(InjectedFaultError);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toContain(f.id);
    expect(calls()).toBe(0);
  });

  describe('a hanging block', () => {
    it('is released by the signal, with its reason, leaving no listener', async () => {
      const { clock, faults, store, calls } = setup();
      faults.inject({ kind: 'block', target: 'store' });
      const ac = new AbortController();
      const s = track(store('1', ac.signal));
      await clock.advance(60_000);
      expect(s.done).toBe(false);
      ac.abort(new Error('timeout'));
      await tick();
      expect((s.error as Error).message).toBe('timeout');
      expect(calls()).toBe(0);
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    });

    it('proceeds to the real call when the fault is removed', async () => {
      const { clock, faults, store, calls } = setup();
      const f = faults.inject({ kind: 'block', target: 'store' });
      const ac = new AbortController();
      const s = track(store('7', ac.signal));
      await clock.advance(1_000);
      expect(s.done).toBe(false);
      faults.remove(f.id);
      await tick();
      expect(s).toMatchObject({ done: true, value: 'stock:7' });
      expect(calls()).toBe(1);
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    });

    it('proceeds when the fault expires, and when all faults are cleared', async () => {
      const { clock, faults, store } = setup();
      faults.inject({ kind: 'block', target: 'store', ttlMs: 5_000 });
      const s = track(store('1'));
      await clock.advance(4_999);
      expect(s.done).toBe(false);
      await clock.advance(1);
      expect(s.value).toBe('stock:1');

      faults.inject({ kind: 'block', target: 'store' });
      const t = track(store('2'));
      await clock.advance(10);
      expect(t.done).toBe(false);
      expect(faults.clear()).toBe(1);
      await tick();
      expect(t.value).toBe('stock:2');
    });

    it('rejects at once when the signal is already aborted', async () => {
      const { faults, store } = setup();
      faults.inject({ kind: 'block', target: 'store' });
      const reason = new Error('already');
      await expect(store('1', AbortSignal.abort(reason))).rejects.toBe(reason);
    });
  });

  it('property: latencies add up, then the first error or block in injection order applies', async () => {
    const faultArb = fc.oneof(
      fc.record({ kind: fc.constant('latency' as const), ms: fc.integer({ min: 0, max: 1_000 }) }),
      fc.record({
        kind: fc.constant('error' as const),
        code: fc.constantFrom('E_A', 'E_B', 'E_C'),
      }),
      fc.record({ kind: fc.constant('block' as const), mode: fc.constant('refuse' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(faultArb, { maxLength: 8 }), async (inputs) => {
        const { clock, faults, store, calls } = setup();
        for (const input of inputs) faults.inject({ ...input, target: ['store', 'other'] });
        const total = inputs.reduce((sum, f) => sum + (f.kind === 'latency' ? f.ms : 0), 0);
        const first = inputs.find((f) => f.kind !== 'latency');
        const s = track(store('1'));
        if (total > 0) {
          await clock.advance(total - 1);
          expect(s.done).toBe(false);
        }
        await clock.advance(1);
        expect(s.done).toBe(true);
        if (first === undefined) {
          expect(s.value).toBe('stock:1');
          expect(calls()).toBe(1);
        } else {
          expect(s.error).toMatchObject({
            code: first.kind === 'error' ? first.code : 'ECONNREFUSED',
          });
          expect(calls()).toBe(0);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("matches exact target names and '*'", async () => {
    const { faults } = setup();
    const a = faults.wrap('a', async () => 'a');
    const b = faults.wrap('svc:b/v1', async () => 'b');
    const f = faults.inject({ kind: 'error', target: ['a'] });
    await expect(a()).rejects.toBeInstanceOf(InjectedFaultError);
    await expect(b()).resolves.toBe('b');
    faults.remove(f.id);
    faults.inject({ kind: 'error', target: '*' });
    await expect(a()).rejects.toBeInstanceOf(InjectedFaultError);
    await expect(b()).rejects.toBeInstanceOf(InjectedFaultError);
    // a target wrapped after the injection sees it as well
    await expect(faults.wrap('late', async () => 1)()).rejects.toBeInstanceOf(InjectedFaultError);
  });

  it('affects about the given share of calls (seeded random)', async () => {
    const { faults, store } = setup(seeded(42));
    faults.inject({ kind: 'error', target: 'store', probability: 0.3 });
    const n = 5_000;
    let failed = 0;
    for (let i = 0; i < n; i++) {
      try {
        await store('1');
      } catch {
        failed++;
      }
    }
    // binomial sd = sqrt(n p (1-p)) ~ 32; allow 5 sd
    expect(Math.abs(failed - n * 0.3)).toBeLessThan(165);
  });

  it('never affects a call with probability 0', async () => {
    const { faults, store } = setup(seeded(1));
    faults.inject({ kind: 'error', target: 'store', probability: 0 });
    for (let i = 0; i < 200; i++) await expect(store('1')).resolves.toBe('stock:1');
  });

  it('ignores an expired fault at the call, before its timer fires', async () => {
    const { clock, faults, store } = setup();
    faults.inject({ kind: 'error', target: 'store', ttlMs: 1_000 });
    await expect(store('1')).rejects.toBeInstanceOf(InjectedFaultError);
    clock.set(clock.now() + 1_000); // moves time without firing the expiry timer
    await expect(store('1')).resolves.toBe('stock:1');
  });

  it('rejects bad arguments with a TypeError naming them', () => {
    const { faults } = setup();
    expect(() => faults.wrap('', async () => 1)).toThrow(/faults\.wrap: target must be a name/);
    expect(() => faults.wrap('*', async () => 1)).toThrow(/faults\.wrap: target/);
    expect(() => faults.wrap('has space', async () => 1)).toThrow(TypeError);
    expect(() => faults.wrap('ok', 'nope' as never)).toThrow(/faults\.wrap: fn must be a function/);
  });
});

describe('faults.clock (skew)', () => {
  it('offsets now() while skew faults are active, and delegates timers', async () => {
    const clock = new ManualClock(1_000_000);
    const faults = createFaults({ clock });
    const skewed = faults.clock('orders');
    expect(skewed.now()).toBe(1_000_000);
    const f = faults.inject({ kind: 'skew', target: 'orders', offsetMs: -60_000, ttlMs: 10_000 });
    faults.inject({ kind: 'skew', target: '*', offsetMs: 5_000, ttlMs: 20_000 });
    expect(skewed.now()).toBe(1_000_000 - 55_000);
    expect(faults.clock('other').now()).toBe(1_005_000);
    let fired = false;
    skewed.setTimeout(() => {
      fired = true;
    }, 100);
    await clock.advance(100);
    expect(fired).toBe(true);
    const h = skewed.setTimeout(() => {
      fired = false;
    }, 100);
    skewed.clearTimeout(h);
    await clock.advance(100);
    expect(fired).toBe(true);
    clock.set(1_000_000 + 10_000); // the first skew has expired (lazily)
    expect(skewed.now()).toBe(1_010_000 + 5_000);
    faults.clear();
    expect(skewed.now()).toBe(1_010_000);
    expect(f).toMatchObject({ kind: 'skew', offsetMs: -60_000 });
  });

  it('uses a given base clock and never delays or fails calls', async () => {
    const clock = new ManualClock(0);
    const faults = createFaults({ clock });
    const base = new ManualClock(500);
    const skewed = faults.clock('svc', base);
    faults.inject({ kind: 'skew', target: 'svc', offsetMs: 250 });
    expect(skewed.now()).toBe(750);
    await expect(faults.wrap('svc', async () => 'ok')()).resolves.toBe('ok');
  });

  it('rejects a bad base clock', () => {
    const faults = createFaults();
    expect(() => faults.clock('svc', { now: () => 1 } as never)).toThrow(
      /faults\.clock: base must be a Clock/,
    );
    expect(() => faults.clock('bad name')).toThrow(/faults\.clock: target/);
  });
});
