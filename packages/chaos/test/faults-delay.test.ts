import { ManualClock } from '@nines/resilience';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleDelay } from '../src/faults/delay.js';
import { createFaults } from '../src/faults/registry.js';
import type { LatencyDistribution } from '../src/faults/types.js';
import { seeded } from './helpers.js';

const DISTRIBUTIONS: LatencyDistribution[] = ['fixed', 'uniform', 'normal', 'exponential'];
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

function stats(xs: number[]) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}

describe('sampleDelay', () => {
  it('property: a delay is never negative, never NaN, and never beyond a timer’s range', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DISTRIBUTIONS),
        fc.double({ min: 0, max: 86_400_000, noNaN: true }),
        fc.double({ min: 0, max: 86_400_000, noNaN: true }),
        fc.array(unit, { minLength: 2, maxLength: 2 }),
        (distribution, ms, jitter, draws) => {
          let i = 0;
          const d = sampleDelay(distribution, ms, jitter, () => draws[i++ % 2] as number);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(2_147_483_647);
          expect(Number.isNaN(d)).toBe(false);
        },
      ),
    );
  });

  it('property: fixed is exactly ms; uniform stays within ms ± jitter (floored at 0)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        unit,
        (ms, jitter, u) => {
          expect(sampleDelay('fixed', ms, 0, () => u)).toBe(ms);
          const d = sampleDelay('uniform', ms, jitter, () => u);
          expect(d).toBeGreaterThanOrEqual(Math.max(0, ms - jitter) - 1e-6);
          expect(d).toBeLessThanOrEqual(ms + jitter + 1e-6);
        },
      ),
    );
  });

  it('survives a broken random source', () => {
    for (const r of [Number.NaN, -1, 2]) {
      for (const dist of DISTRIBUTIONS) {
        const d = sampleDelay(dist, 100, 10, () => r);
        expect(Number.isNaN(d)).toBe(false);
        expect(d).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('draws uniform, normal and exponential delays with the stated mean and spread', () => {
    const n = 20_000;
    const random = seeded(7);
    const draw = (dist: LatencyDistribution, ms: number, jitter: number) =>
      stats(Array.from({ length: n }, () => sampleDelay(dist, ms, jitter, random)));

    const u = draw('uniform', 500, 50);
    expect(u.min).toBeGreaterThanOrEqual(450);
    expect(u.max).toBeLessThanOrEqual(550);
    expect(Math.abs(u.mean - 500)).toBeLessThan(2);
    expect(Math.abs(u.sd - 50 / Math.sqrt(3))).toBeLessThan(1);

    const g = draw('normal', 500, 50);
    expect(Math.abs(g.mean - 500)).toBeLessThan(2);
    expect(Math.abs(g.sd - 50)).toBeLessThan(1.5);

    const e = draw('exponential', 200, 0);
    expect(Math.abs(e.mean - 200) / 200).toBeLessThan(0.03);
    expect(Math.abs(e.sd - 200) / 200).toBeLessThan(0.05); // exponential: sd = mean
    expect(e.min).toBeGreaterThanOrEqual(0);

    const clamped = draw('normal', 10, 100); // mostly below 0 before clamping
    expect(clamped.min).toBe(0);
  });

  it('property: the mean of exponential delays is within 10% of ms over 2000 draws', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer(), (ms, seed) => {
        const random = seeded(seed);
        let sum = 0;
        for (let i = 0; i < 2_000; i++) sum += sampleDelay('exponential', ms, 0, random);
        // sd of the mean = ms / sqrt(2000) ~ 2.2%: 10% is > 4 sd
        expect(Math.abs(sum / 2_000 - ms) / ms).toBeLessThan(0.1);
      }),
      { numRuns: 50 },
    );
  });
});

describe('latency faults draw per call', () => {
  it('waits the drawn delay on the clock', async () => {
    const clock = new ManualClock(0);
    // first draw 0.75 -> uniform 500 + (2*0.75-1)*100 = 550
    const faults = createFaults({ clock, random: () => 0.75 });
    const fn = faults.wrap('svc', async () => clock.now());
    faults.inject({ kind: 'latency', target: 'svc', ms: 500, jitterMs: 100 });
    const p = fn();
    await clock.advance(1_000);
    expect(await p).toBe(550);
  });
});
