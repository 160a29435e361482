import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Backoff,
  constantBackoff,
  exponentialBackoff,
  type Jitter,
  MAX_DELAY_MS,
  toBackoff,
} from '../src/index.js';

const take = (b: Backoff, n: number): Array<number | undefined> => {
  const seq = b.start();
  return Array.from({ length: n }, () => seq.next());
};

/** A random() that replays `values` in a loop. */
const replay = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('exponentialBackoff', () => {
  it('defaults: base 1 s, doubling, capped at 30 s, full jitter', () => {
    const b = exponentialBackoff({ random: () => 0.999_999 });
    expect([b.base, b.factor, b.max, b.jitter]).toEqual([1_000, 2, 30_000, 'full']);
    const upper = take(b, 7).map((d) => Math.round(d!));
    expect(upper).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(take(exponentialBackoff({ random: () => 0 }), 3)).toEqual([0, 0, 0]);
  });

  it('full jitter is uniform(0, min(cap, base * factor^n))', () => {
    const b = exponentialBackoff({ base: 100, factor: 3, max: 5_000, random: replay(0.5) });
    expect(take(b, 5)).toEqual([50, 150, 450, 1_350, 2_500]);
  });

  it('equal jitter is temp / 2 + uniform(0, temp / 2)', () => {
    const b = exponentialBackoff({ base: 100, jitter: 'equal', random: replay(0, 0.5, 1 - 1e-12) });
    const [a, c, d] = take(b, 3) as number[];
    expect(a).toBe(50); // 100/2 + 0
    expect(c).toBe(150); // 200/2 + 0.5 * 100
    expect(d).toBeCloseTo(400, 6); // 400/2 + ~1 * 200
  });

  it("'none' is exactly min(cap, base * factor^n)", () => {
    const b = exponentialBackoff({ base: 10, factor: 10, max: 50_000, jitter: 'none' });
    expect(take(b, 6)).toEqual([10, 100, 1_000, 10_000, 50_000, 50_000]);
  });

  it('decorrelated jitter follows min(cap, uniform(base, prev * 3)) from prev = base', () => {
    const b = exponentialBackoff({
      base: 100,
      max: 1_000,
      jitter: 'decorrelated',
      random: replay(1 - 1e-12),
    });
    const ds = take(b, 4).map((d) => Math.round(d!));
    // prev 100 -> ~300 -> ~900 -> min(1000, ~2700) -> min(1000, ~3000)
    expect(ds).toEqual([300, 900, 1_000, 1_000]);
    const low = exponentialBackoff({ base: 100, jitter: 'decorrelated', random: () => 0 });
    expect(take(low, 3)).toEqual([100, 100, 100]);
    // Each draw starts from the previous one, not from the attempt number.
    expect(b.delay(0, 200)).toBeCloseTo(600, 6);
  });

  it('each start() is a fresh sequence', () => {
    const b = exponentialBackoff({ jitter: 'none' });
    const s1 = b.start();
    s1.next();
    s1.next();
    expect(b.start().next()).toBe(1_000);
    expect(s1.next()).toBe(4_000);
  });

  it('huge attempt numbers stay at the cap, never NaN or Infinity', () => {
    for (const jitter of ['full', 'equal', 'none'] as Jitter[]) {
      const b = exponentialBackoff({ jitter, random: () => 0.999 });
      for (const n of [1_000, 1e6, 2 ** 53, Number.MAX_VALUE, Number.POSITIVE_INFINITY]) {
        const d = b.delay(n);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeLessThanOrEqual(30_000);
        expect(d).toBeGreaterThan(jitter === 'full' ? 29_000 : 29_900);
      }
    }
    // The products that would be NaN: 0 * Infinity and 1 ** Infinity.
    expect(exponentialBackoff({ base: 0, jitter: 'none' }).delay(2 ** 53)).toBe(0);
    expect(exponentialBackoff({ factor: 1, jitter: 'none' }).delay(Infinity)).toBe(1_000);
  });

  it('equal jitter stays within the exponential delay for subnormal bases', () => {
    // Found by the property below: 7.4e-323 / 2 + 0.9375 * 7.4e-323 / 2 rounds up to 8e-323.
    const max = 7.4e-323 + 5e-324;
    const b = exponentialBackoff({
      base: 7.4e-323,
      factor: 1,
      max,
      jitter: 'equal',
      random: () => 0.9375,
    });
    expect(b.delay(0, max)).toBeLessThanOrEqual(7.4e-323);
  });

  it('property: every delay is in [0, max] for any options, attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        fc.double({ min: 1, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: MAX_DELAY_MS, noNaN: true }),
        fc.constantFrom<Jitter>('full', 'equal', 'decorrelated', 'none'),
        fc.oneof(
          fc.nat(),
          fc.constantFrom(1e6, 2 ** 53, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE),
          fc.double({ min: 0, max: 1e300, noNaN: true }),
        ),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (base, factor, extra, jitter, n, r) => {
          const max = Math.min(MAX_DELAY_MS, base + extra);
          const b = exponentialBackoff({ base, factor, max, jitter, random: () => r });
          const d = b.delay(n, max);
          expect(Number.isNaN(d)).toBe(false);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(max);
          if (jitter !== 'decorrelated') {
            const temp = base === 0 ? 0 : Math.min(max, base * factor ** n);
            if (jitter === 'none') expect(d).toBe(temp);
            else expect(d).toBeLessThanOrEqual(temp + 1e-9 * temp);
            if (jitter === 'equal') expect(d).toBeGreaterThanOrEqual(temp / 2 - 1e-9 * temp);
          } else {
            expect(d).toBeGreaterThanOrEqual(Math.min(base, max));
          }
        },
      ),
    );
  });

  it('property: a long sequence never leaves [0, max] and full jitter stays under the envelope', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.constantFrom<Jitter>('full', 'equal', 'decorrelated', 'none'),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 20,
        }),
        (base, jitter, rs) => {
          const max = base * 50;
          const seq = exponentialBackoff({ base, max, jitter, random: replay(...rs) }).start();
          for (let n = 0; n < 200; n++) {
            const d = seq.next()!;
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(max);
            if (jitter === 'full') expect(d).toBeLessThanOrEqual(Math.min(max, base * 2 ** n));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a random() out of [0, 1) or NaN still yields a delay in [0, max]', () => {
    for (const r of [-5, 7, Number.NaN, Number.POSITIVE_INFINITY]) {
      for (const jitter of ['full', 'equal', 'decorrelated'] as Jitter[]) {
        const d = exponentialBackoff({ jitter, random: () => r }).delay(3);
        expect(d >= 0 && d <= 30_000).toBe(true);
      }
    }
  });

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => exponentialBackoff(5 as unknown as object)).toThrow(
      /exponentialBackoff: options must be an object/,
    );
    expect(() => exponentialBackoff({ bsae: 1 } as object)).toThrow(/unknown option "bsae"/);
    expect(() => exponentialBackoff({ base: -1 })).toThrow(/"base" must be >= 0/);
    expect(() => exponentialBackoff({ base: Number.NaN })).toThrow(/"base" must be a number/);
    expect(() => exponentialBackoff({ base: Infinity })).toThrow(/"base" must be finite/);
    expect(() => exponentialBackoff({ base: '1' as unknown as number })).toThrow(/"base"/);
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(/"factor" must be >= 1/);
    expect(() => exponentialBackoff({ factor: Infinity })).toThrow(/"factor" must be finite/);
    expect(() => exponentialBackoff({ base: 500, max: 100 })).toThrow(/"max" must be >= 500/);
    expect(() => exponentialBackoff({ max: 2 ** 31 })).toThrow(/"max" must be <= 2147483647/);
    expect(() => exponentialBackoff({ jitter: 'half' as Jitter })).toThrow(/"jitter" must be one/);
    expect(() => exponentialBackoff({ random: 0.5 as unknown as () => number })).toThrow(
      /"random" must be a function/,
    );
    expect(() => exponentialBackoff().delay(-1)).toThrow(/n must be a number >= 0/);
    expect(() => exponentialBackoff().delay(Number.NaN)).toThrow(/n must be a number >= 0/);
    // A base above the default cap raises the default cap with it.
    expect(exponentialBackoff({ base: 60_000 }).max).toBe(60_000);
  });
});

describe('constantBackoff', () => {
  it('yields the same delay forever without allocating per sequence', () => {
    const b = constantBackoff(250);
    expect(b.delayMs).toBe(250);
    expect(take(b, 4)).toEqual([250, 250, 250, 250]);
    expect(b.start()).toBe(b.start());
    expect(take(constantBackoff(0), 2)).toEqual([0, 0]);
  });

  it('rejects a missing, negative, NaN, infinite or oversized delay', () => {
    expect(() => constantBackoff(undefined as unknown as number)).toThrow(/"ms" is required/);
    expect(() => constantBackoff(-1)).toThrow(/constantBackoff: option "ms" must be >= 0/);
    expect(() => constantBackoff(Number.NaN)).toThrow(/"ms" must be a number, got NaN/);
    expect(() => constantBackoff(Infinity)).toThrow(/"ms" must be finite/);
    expect(() => constantBackoff(MAX_DELAY_MS + 1)).toThrow(/"ms" must be <=/);
  });
});

describe('toBackoff', () => {
  it('a number is a constant delay', () => {
    expect(take(toBackoff(42), 3)).toEqual([42, 42, 42]);
  });

  it('an array is a finite schedule, copied so later edits do not leak in', () => {
    const delays = [100, 500, 2_000];
    const b = toBackoff(delays);
    delays[0] = 9;
    expect(take(b, 4)).toEqual([100, 500, 2_000, undefined]);
    expect(take(b, 2)).toEqual([100, 500]); // fresh per start()
    expect(take(toBackoff([]), 1)).toEqual([undefined]);
  });

  it('any re-iterable gets a fresh iterator per sequence, checked as it is drawn', () => {
    let starts = 0;
    const schedule = {
      *[Symbol.iterator]() {
        starts++;
        yield 1;
        yield 2;
      },
    };
    const b = toBackoff(schedule);
    expect(take(b, 3)).toEqual([1, 2, undefined]);
    expect(take(b, 3)).toEqual([1, 2, undefined]);
    expect(starts).toBe(2);
    expect(take(toBackoff(new Set([5, 6])), 3)).toEqual([5, 6, undefined]);

    const bad = toBackoff({
      *[Symbol.iterator]() {
        yield 1;
        yield -3;
      },
    }).start();
    expect(bad.next()).toBe(1);
    expect(() => bad.next()).toThrow(/delay #1 must be a finite number of ms .*got number -3/);
    const nan = toBackoff({
      *[Symbol.iterator]() {
        yield Number.NaN;
      },
    }).start();
    expect(() => nan.next()).toThrow(/delay #0 must be a finite number.*NaN/);
  });

  it('a Backoff passes through unchanged', () => {
    const b = exponentialBackoff();
    expect(toBackoff(b)).toBe(b);
  });

  it('rejects bad values, bad array entries and one-shot iterators', () => {
    expect(() => toBackoff(-1)).toThrow(/must be a finite number of ms/);
    expect(() => toBackoff(Infinity)).toThrow(/must be a finite number of ms/);
    expect(() => toBackoff([1, Number.NaN])).toThrow(/delay #1 must be a finite number.*NaN/);
    expect(() => toBackoff([1, '2'] as unknown as number[])).toThrow(/delay #1/);
    expect(() => toBackoff('100' as unknown as number)).toThrow(
      /must be a number of ms, an iterable/,
    );
    expect(() => toBackoff(null as unknown as number)).toThrow(/got null/);
    expect(() => toBackoff({} as unknown as number)).toThrow(/got Object/);
    function* gen() {
      yield 1;
    }
    expect(() => toBackoff(gen())).toThrow(/is an iterator, which can be consumed only once/);
    expect(() => toBackoff(undefined as unknown as number)).toThrow(/a backoff is required/);
  });
});
