import { ManualClock, TimeoutError } from '@nines/resilience';
import { describe, expect, it } from 'vitest';
import { type CheckConfig, CheckRunner, errorMessage, parseChecks } from '../src/checks.js';

type Fn = CheckConfig['check'];

function config(name: string, check: Fn, over: Partial<CheckConfig> = {}): CheckConfig {
  return {
    name,
    check,
    timeoutMs: 100,
    cacheMs: 1_000,
    critical: true,
    onFailure: 'fail',
    ...over,
  };
}

/** A check that counts its calls and resolves only when told. */
function gated() {
  const calls: Array<{
    signal: AbortSignal;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }> = [];
  const check: Fn = (signal) =>
    new Promise((resolve, reject) => {
      calls.push({ signal, resolve, reject });
    });
  return { calls, check };
}

const results = async (runner: CheckRunner, budget?: number) =>
  (await runner.run(budget)).map((o) => o.result);

describe('CheckRunner', () => {
  it('caches a result for cacheMs after it completes, then runs the check again', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const runner = new CheckRunner([config('c', () => ++calls, { cacheMs: 5_000 })], clock);
    expect(await results(runner)).toEqual([{ status: 'ok', latencyMs: 0, detail: 1 }]);
    await clock.advance(4_999);
    expect(await results(runner)).toEqual([{ status: 'ok', latencyMs: 0, detail: 1 }]);
    expect(calls).toBe(1);
    await clock.advance(1);
    expect(await results(runner)).toEqual([{ status: 'ok', latencyMs: 0, detail: 2 }]);
    expect(calls).toBe(2);
  });

  it('caches failures too, so a failing dependency is not hammered', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const runner = new CheckRunner(
      [
        config('c', () => {
          calls++;
          throw new Error('down');
        }),
      ],
      clock,
    );
    for (let i = 0; i < 5; i++) await runner.run();
    expect(calls).toBe(1);
    await clock.advance(1_000);
    await runner.run();
    expect(calls).toBe(2);
  });

  it('shares a run in flight between concurrent callers (no stampede)', async () => {
    const clock = new ManualClock();
    const g = gated();
    const runner = new CheckRunner([config('c', g.check, { timeoutMs: 1_000 })], clock);
    const many = Array.from({ length: 20 }, () => results(runner));
    await clock.advance(30);
    expect(g.calls).toHaveLength(1);
    g.calls[0]!.resolve('fine');
    const all = await Promise.all(many);
    for (const r of all) expect(r).toEqual([{ status: 'ok', latencyMs: 30, detail: 'fine' }]);
    // The completed run is now cached for the late arrivals too.
    await results(runner);
    expect(g.calls).toHaveLength(1);
  });

  it('reports a stuck check failed at its timeout and aborts its signal', async () => {
    const clock = new ManualClock();
    const g = gated();
    const runner = new CheckRunner([config('stuck', g.check, { timeoutMs: 250 })], clock);
    let answer: unknown;
    void results(runner).then((r) => {
      answer = r;
    });
    await clock.advance(249);
    expect(answer).toBeUndefined();
    expect(g.calls[0]!.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(answer).toEqual([{ status: 'fail', latencyMs: 250, error: 'timed out after 250 ms' }]);
    expect(g.calls[0]!.signal.reason).toBeInstanceOf(TimeoutError);
    // A late settlement of the abandoned run changes nothing.
    g.calls[0]!.resolve('late');
    await clock.advance(0);
    expect(await results(runner)).toEqual(answer);
  });

  it('treats a synchronous throw, a rejection and a thrown non-Error as failures', async () => {
    const clock = new ManualClock();
    const runner = new CheckRunner(
      [
        config('sync', () => {
          throw new Error('boom');
        }),
        config('async', async () => {
          throw new RangeError('bad');
        }),
        config('string', () => {
          throw 'plain';
        }),
        config('thenable', () => ({
          // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point here.
          then() {
            throw new Error('then threw');
          },
        })),
      ],
      clock,
    );
    const r = await results(runner);
    expect(r.map((x) => [x.status, x.error])).toEqual([
      ['fail', 'boom'],
      ['fail', 'bad'],
      ['fail', 'plain'],
      ['fail', 'then threw'],
    ]);
  });

  it('runs checks in parallel: latency is the slowest, not the sum', async () => {
    const clock = new ManualClock();
    const a = gated();
    const b = gated();
    const runner = new CheckRunner(
      [config('a', a.check, { timeoutMs: 1_000 }), config('b', b.check, { timeoutMs: 1_000 })],
      clock,
    );
    const p = results(runner);
    await clock.advance(0);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
    await clock.advance(100);
    a.calls[0]!.resolve(undefined);
    await clock.advance(50);
    b.calls[0]!.reject(new Error('no'));
    expect(await p).toEqual([
      { status: 'ok', latencyMs: 100 },
      { status: 'fail', latencyMs: 150, error: 'no' },
    ]);
  });

  it('keeps details as JSON copies and drops unserialisable or huge ones', async () => {
    const clock = new ManualClock();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const shared = { n: 1 };
    const runner = new CheckRunner(
      [
        config('obj', () => shared),
        config('cycle', () => cyclic),
        config('big', () => 'x'.repeat(10_000)),
        config('bigint', () => 1n),
      ],
      clock,
    );
    const r = await results(runner);
    shared.n = 2;
    expect(r[0]).toEqual({ status: 'ok', latencyMs: 0, detail: { n: 1 } });
    for (const x of r.slice(1)) expect(x).toEqual({ status: 'ok', latencyMs: 0 });
  });

  it('answers within the budget: a late check shows its previous result as stale, or fails', async () => {
    const clock = new ManualClock();
    const g = gated();
    const runner = new CheckRunner(
      [config('slow', g.check, { timeoutMs: 5_000, cacheMs: 0 })],
      clock,
    );
    let first: unknown;
    void results(runner, 900).then((r) => {
      first = r;
    });
    await clock.advance(900);
    expect(first).toEqual([
      { status: 'fail', latencyMs: 900, error: 'still running after 900 ms' },
    ]);
    // The run goes on in the background; its result serves the next probe.
    await clock.advance(100);
    g.calls[0]!.resolve('done');
    await clock.advance(0);
    let second: unknown;
    void results(runner, 900).then((r) => {
      second = r;
    });
    await clock.advance(900);
    expect(second).toEqual([{ status: 'ok', latencyMs: 1_000, detail: 'done', stale: true }]);
    expect(g.calls).toHaveLength(2);
  });

  it('returns at once, without a timer, when every result is cached', async () => {
    const clock = new ManualClock();
    const runner = new CheckRunner([config('c', () => 1)], clock);
    await runner.run(900);
    expect(clock.pendingTimers).toBe(0);
    await runner.run(900);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('parseChecks', () => {
  const ok = () => 1;

  it('applies defaults and resolves failure handling', () => {
    const [a, b, c, d] = parseChecks(
      'test',
      {
        a: { check: ok },
        b: { check: ok, critical: false },
        c: { check: ok, onFailure: 'degrade' },
        d: { check: ok, timeoutMs: 50, cacheMs: 0 },
      },
      'fail',
    );
    expect(a).toMatchObject({
      name: 'a',
      timeoutMs: 1_000,
      cacheMs: 5_000,
      critical: true,
      onFailure: 'fail',
    });
    expect(b).toMatchObject({ critical: false, onFailure: 'degrade' });
    expect(c).toMatchObject({ critical: true, onFailure: 'degrade' });
    expect(d).toMatchObject({ timeoutMs: 50, cacheMs: 0 });
    expect(parseChecks('test', { a: { check: ok } }, 'degrade')[0]!.onFailure).toBe('degrade');
  });

  it.each([
    [[], /option "checks" must be an object/],
    [{ a: null }, /option "checks\.a" must be an object/],
    [{ a: { check: 1 } }, /option "checks\.a\.check" must be a function/],
    [{ a: { check: ok, timeoutMs: 0 } }, /option "checks\.a\.timeoutMs" must be > 0/],
    [{ a: { check: ok, timeoutMs: Number.NaN } }, /option "checks\.a\.timeoutMs" must be a number/],
    [{ a: { check: ok, cacheMs: -1 } }, /option "checks\.a\.cacheMs" must be >= 0/],
    [{ a: { check: ok, critical: 'yes' } }, /option "checks\.a\.critical" must be a boolean/],
    [{ a: { check: ok, onFailure: 'ignore' } }, /option "checks\.a\.onFailure" must be one of/],
    [
      { a: { check: ok, critical: false, onFailure: 'fail' } },
      /"checks\.a\.onFailure" is 'fail' but/,
    ],
    [{ a: { check: ok, timeout: 5 } }, /unknown option "checks\.a\.timeout"/],
  ])('rejects %j', (value, message) => {
    expect(() => parseChecks('test', value, 'fail')).toThrow(TypeError);
    expect(() => parseChecks('test', value, 'fail')).toThrow(message);
  });
});

describe('errorMessage', () => {
  it('bounds long messages and survives values that cannot be printed', () => {
    expect(errorMessage(new Error('x'.repeat(2_000)))).toHaveLength(503);
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    expect(errorMessage(hostile)).toBe('check failed with an unprintable value');
  });
});
