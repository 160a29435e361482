import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseShare } from '../src/experiment/instances.js';

/** Draws from a fixed list (cycling), so a run is reproducible. */
function drawsFrom(values: readonly number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('chooseShare', () => {
  it('chooses ceil(n * share) items, clamped to [1, n], without repeats, from the items', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer(), { maxLength: 60 }),
        fc.double({ min: 0, max: 1, minExcluded: true, noNaN: true }),
        fc.array(unit, { minLength: 1, maxLength: 20 }),
        (items, share, draws) => {
          const chosen = chooseShare(items, share, drawsFrom(draws));
          const n = items.length;
          const exact = n * share;
          // ceil, forgiving float noise such as 10 * 0.3 = 3.0000000000000004
          const ceil =
            Math.abs(exact - Math.round(exact)) < 1e-9 ? Math.round(exact) : Math.ceil(exact);
          const expected = n === 0 ? 0 : Math.min(n, Math.max(1, ceil));
          expect(chosen).toHaveLength(expected);
          expect(new Set(chosen).size).toBe(chosen.length);
          for (const c of chosen) expect(items).toContain(c);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('does not change the items it is given', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string()),
        unit,
        fc.array(unit, { minLength: 1 }),
        (items, share, draws) => {
          const copy = items.slice();
          chooseShare(items, Math.max(share, 0.01), drawsFrom(draws));
          expect(items).toEqual(copy);
        },
      ),
    );
  });

  it('can choose every item, and every k-subset is reachable (uniform draws)', () => {
    const items = ['a', 'b', 'c', 'd'];
    const seen = new Map<string, number>();
    let seed = 42;
    // MINSTD, exact in doubles: the test never depends on Math.random.
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < 6000; i++) {
      const key = chooseShare(items, 0.5, random).sort().join('');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // C(4, 2) = 6 subsets, each close to 1000 of 6000.
    expect([...seen.keys()].sort()).toEqual(['ab', 'ac', 'ad', 'bc', 'bd', 'cd']);
    for (const count of seen.values()) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });

  it('takes one when the share rounds below one, all at share 1, and none of nothing', () => {
    expect(chooseShare([1, 2, 3], 0.01, () => 0)).toEqual([1]);
    expect(chooseShare([1, 2, 3], 1, () => 0).sort()).toEqual([1, 2, 3]);
    expect(
      chooseShare(
        Array.from({ length: 10 }, (_, i) => i),
        0.3,
        () => 0.5,
      ),
    ).toHaveLength(3);
    expect(chooseShare([], 0.5)).toEqual([]);
    // The last draw allowed by [0, 1) picks the last item.
    expect(chooseShare([1, 2, 3], 0.1, () => 0.9999999999)).toEqual([3]);
  });

  it('rejects a share outside (0, 1], bad items and a bad random()', () => {
    for (const share of [0, -0.5, 1.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => chooseShare([1], share), String(share)).toThrow(
        /chooseShare: option "share" must be/,
      );
    }
    expect(() => chooseShare([1], '0.5' as unknown as number)).toThrow(TypeError);
    expect(() => chooseShare('abc' as unknown as string[], 0.5)).toThrow(
      'chooseShare: items must be an array',
    );
    expect(() => chooseShare([1], 0.5, 7 as unknown as () => number)).toThrow(
      'chooseShare: option "random" must be a function',
    );
    for (const bad of [1, -0.1, Number.NaN, 2]) {
      expect(() => chooseShare([1, 2], 0.5, () => bad)).toThrow(
        /chooseShare: random\(\) must return a number in \[0, 1\)/,
      );
    }
  });
});
