import { describe, expect, it, vi } from 'vitest';
import { Emitter } from '../src/event.js';
import { ManualClock, systemClock } from '../src/index.js';

describe('ManualClock', () => {
  it('fires due timers in order, including timers set by timers, and never early', async () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 15);
    clock.clearTimeout(cancelled);
    await clock.advance(14);
    expect(fired).toEqual(['a@1010']);
    await clock.advance(6);
    expect(fired).toEqual(['a@1010', 'c@1015', 'b@1020']);
    expect(clock.now()).toBe(1_020);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad input with a TypeError that names it', async () => {
    expect(() => new ManualClock(Number.NaN)).toThrow(/start must be a finite number/);
    await expect(new ManualClock().advance(-1)).rejects.toThrow(/ms must be a finite number >= 0/);
    expect(() => new ManualClock().set(Number.POSITIVE_INFINITY)).toThrow(/now must be finite/);
    // Clearing something that is not a timer is harmless.
    const clock = new ManualClock();
    clock.clearTimeout(undefined);
    clock.clearTimeout({});
    expect(clock.pendingTimers).toBe(0);
  });

  it('the system clock moves forward and its timers fire', async () => {
    const a = systemClock.now();
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 1));
    expect(systemClock.now()).toBeGreaterThan(a);
  });
});

describe('events', () => {
  it('a disposer removes its listener once; others keep receiving', () => {
    const e = new Emitter<number>();
    const seen: string[] = [];
    const offA = e.event((n) => seen.push(`a${n}`));
    e.event((n) => seen.push(`b${n}`));
    expect(e.active).toBe(true);
    e.emit(1);
    offA();
    offA();
    e.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
  });

  it('a listener that throws becomes a warning and does not stop the others', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const e = new Emitter<number>();
      const seen: number[] = [];
      e.event(() => {
        throw new Error('listener bug');
      });
      e.event((n) => seen.push(n));
      e.emit(7);
      expect(seen).toEqual([7]);
      expect(warn).toHaveBeenCalledOnce();
      expect(String(warn.mock.calls[0]![0])).toContain('listener bug');
    } finally {
      warn.mockRestore();
    }
  });

  it('tells its owner when it gains its first and loses its last listener', () => {
    let changes = 0;
    const e = new Emitter<number>(() => changes++);
    const off1 = e.event(() => {});
    const off2 = e.event(() => {});
    expect(changes).toBe(1);
    off1();
    expect(changes).toBe(1);
    off2();
    expect(changes).toBe(2);
    expect(e.active).toBe(false);
  });

  it('rejects a listener that is not a function', () => {
    const e = new Emitter<number>();
    expect(() => e.event(42 as unknown as () => void)).toThrow(
      /listener must be a function, got number/,
    );
  });
});
