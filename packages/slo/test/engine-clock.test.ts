import { afterEach, describe, expect, it, vi } from 'vitest';
import { COARSE_CLOCK_TICK_MS, coarseClock, sloTracker } from '../src/index.js';
import { availabilitySlo } from './engine-helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('coarseClock', () => {
  it('is at most one tick stale while used, and keeps no timer once idle', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    expect(coarseClock.now()).toBe(1_000_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(COARSE_CLOCK_TICK_MS - 1);
    expect(coarseClock.now()).toBe(1_000_000);
    vi.advanceTimersByTime(1);
    expect(coarseClock.now()).toBe(1_000_000 + COARSE_CLOCK_TICK_MS);
    // Two ticks without a read: the interval stops.
    vi.advanceTimersByTime(3 * COARSE_CLOCK_TICK_MS);
    expect(vi.getTimerCount()).toBe(0);
    // The next read is exact again and restarts the interval.
    expect(coarseClock.now()).toBe(Date.now());
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(3 * COARSE_CLOCK_TICK_MS);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is the default clock of a tracker', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const t = sloTracker(availabilitySlo());
    t.record({ good: true });
    expect(t.snapshot().at).toBe(Date.UTC(2026, 0, 1));
    vi.advanceTimersByTime(3 * COARSE_CLOCK_TICK_MS);
    expect(vi.getTimerCount()).toBe(0);
  });
});
