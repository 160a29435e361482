import { describe, expect, it } from 'vitest';
import {
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  circuitBreaker,
  ManualClock,
} from '../src/index.js';

const bad = (options: unknown) => () => circuitBreaker(options as CircuitBreakerOptions);

describe('circuitBreaker: option validation', () => {
  it('accepts no options and every documented option', () => {
    expect(circuitBreaker().state).toBe('closed');
    expect(
      circuitBreaker({
        name: 'x',
        window: {
          type: 'time',
          durationMs: 10_000,
          buckets: 10,
          failureRate: 0.5,
          minimumCalls: 3,
        },
        slowCall: { durationMs: 100, rate: 0.5 },
        openMs: 1_000,
        halfOpen: { maxConcurrent: 2, successThreshold: 1, maxTrialMs: 1_000 },
        isFailure: () => true,
        isFailureResult: () => false,
        isIgnored: () => false,
        clock: new ManualClock(),
      }).state,
    ).toBe('closed');
  });

  it('rejects a non-object options argument and unknown keys', () => {
    expect(bad(5)).toThrow(/circuitBreaker: options must be an object, got number 5/);
    expect(bad(null)).toThrow(/options must be an object, got null/);
    expect(bad([])).toThrow(/options must be an object, got Array/);
    expect(bad({ treshold: 5 })).toThrow(/circuitBreaker: unknown option "treshold"/);
    expect(bad({ halfOpenAfter: 5 })).toThrow(TypeError);
  });

  it('name', () => {
    expect(bad({ name: '' })).toThrow(/option "name" must be a non-empty string/);
    expect(bad({ name: 5 })).toThrow(/option "name" must be a non-empty string, got number 5/);
  });

  it('window: shape and type', () => {
    expect(bad({ window: 'time' })).toThrow(/option "window" must be an object/);
    expect(bad({ window: null })).toThrow(/option "window" must be an object, got null/);
    expect(bad({ window: {} })).toThrow(
      /option "window.type" must be 'consecutive', 'count' or 'time', got undefined/,
    );
    expect(bad({ window: { type: 'sliding' } })).toThrow(/option "window.type"/);
    expect(bad({ window: { type: 'consecutive', size: 3 } })).toThrow(
      /unknown option "window.size" \(known: type, failures\)/,
    );
    expect(bad({ window: { type: 'count', durationMs: 3 } })).toThrow(
      /unknown option "window.durationMs"/,
    );
    expect(bad({ window: { type: 'time', size: 3 } })).toThrow(/unknown option "window.size"/);
  });

  const integerCases = [
    ['consecutive', 'failures'],
    ['count', 'size'],
    ['count', 'failures'],
    ['count', 'minimumCalls'],
    ['time', 'buckets'],
    ['time', 'failures'],
    ['time', 'minimumCalls'],
  ] as const;
  for (const [type, key] of integerCases) {
    it(`window.${key} (${type}) must be an integer >= 1`, () => {
      const name = new RegExp(`option "window.${key}"`);
      for (const v of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', null]) {
        expect(bad({ window: { type, [key]: v } })).toThrow(name);
        expect(bad({ window: { type, [key]: v } })).toThrow(TypeError);
      }
    });
  }

  for (const type of ['count', 'time'] as const) {
    it(`window.failureRate (${type}) must be in (0, 1]`, () => {
      for (const v of [0, -0.1, 1.01, Number.NaN, '0.5']) {
        expect(bad({ window: { type, failureRate: v } })).toThrow(/option "window.failureRate"/);
      }
      expect(bad({ window: { type, failureRate: 0 } })).toThrow(/must be > 0, got 0/);
      expect(bad({ window: { type, failureRate: 1.5 } })).toThrow(/must be <= 1, got 1.5/);
      expect(circuitBreaker({ window: { type, failureRate: 1 } }).state).toBe('closed');
    });
  }

  it('window.durationMs (time) must be > 0 and finite', () => {
    for (const v of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '60s']) {
      expect(bad({ window: { type: 'time', durationMs: v } })).toThrow(
        /option "window.durationMs"/,
      );
    }
  });

  it('window limits: count minimumCalls and failures <= size; size and buckets have a cap', () => {
    expect(bad({ window: { type: 'count', size: 5, minimumCalls: 6 } })).toThrow(
      /option "window.minimumCalls" must be <= "window.size" \(5\), got 6/,
    );
    expect(bad({ window: { type: 'count', size: 5, failures: 6 } })).toThrow(
      /option "window.failures" must be <= "window.size"/,
    );
    expect(bad({ window: { type: 'count', size: 1e7 } })).toThrow(/"window.size" must be <=/);
    expect(bad({ window: { type: 'time', buckets: 1e5 } })).toThrow(/"window.buckets" must be <=/);
  });

  it('slowCall', () => {
    expect(bad({ slowCall: 100 })).toThrow(/option "slowCall" must be an object/);
    expect(bad({ slowCall: {} })).toThrow(/option "slowCall.durationMs" is required/);
    expect(bad({ slowCall: { durationMs: 0 } })).toThrow(/option "slowCall.durationMs"/);
    expect(bad({ slowCall: { durationMs: -1 } })).toThrow(/option "slowCall.durationMs"/);
    expect(bad({ slowCall: { durationMs: Number.NaN } })).toThrow(/"slowCall.durationMs"/);
    expect(bad({ slowCall: { durationMs: 10, rate: 0 } })).toThrow(/option "slowCall.rate"/);
    expect(bad({ slowCall: { durationMs: 10, rate: 2 } })).toThrow(/option "slowCall.rate"/);
    expect(bad({ slowCall: { durationMs: 10, ratio: 1 } })).toThrow(
      /unknown option "slowCall.ratio"/,
    );
    expect(bad({ window: { type: 'consecutive' }, slowCall: { durationMs: 10 } })).toThrow(
      /option "slowCall" needs a 'count' or 'time' window/,
    );
  });

  it('openMs', () => {
    for (const v of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '30s', true]) {
      expect(bad({ openMs: v })).toThrow(/option "openMs"/);
    }
    expect(bad({ openMs: {} })).toThrow(
      /option "openMs" must be a number, a function or a Backoff with start\(\)/,
    );
    expect(bad({ openMs: null })).toThrow(/option "openMs"/);
  });

  it('halfOpen', () => {
    expect(bad({ halfOpen: 1 })).toThrow(/option "halfOpen" must be an object/);
    expect(bad({ halfOpen: { calls: 1 } })).toThrow(/unknown option "halfOpen.calls"/);
    for (const key of ['maxConcurrent', 'successThreshold']) {
      for (const v of [0, -1, 1.5, Number.NaN, '1']) {
        expect(bad({ halfOpen: { [key]: v } })).toThrow(new RegExp(`option "halfOpen.${key}"`));
      }
    }
    for (const v of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1']) {
      expect(bad({ halfOpen: { maxTrialMs: v } })).toThrow(/option "halfOpen.maxTrialMs"/);
    }
  });

  it('predicates and clock', () => {
    for (const key of ['isFailure', 'isFailureResult', 'isIgnored']) {
      expect(bad({ [key]: true })).toThrow(new RegExp(`option "${key}" must be a function`));
    }
    expect(bad({ clock: {} })).toThrow(/option "clock" must have now\(\)/);
    expect(bad({ clock: Date })).toThrow(/option "clock"/);
  });
});

const closed: CircuitBreakerSnapshot = {
  version: 1,
  state: 'closed',
  openUntil: null,
  reopens: 0,
  trialSuccesses: 0,
  window: { type: 'consecutive', failures: 2 },
};

describe('snapshot validation (restore() and initialState)', () => {
  const breaker = () =>
    circuitBreaker({ window: { type: 'consecutive', failures: 3 }, clock: new ManualClock() });
  const restore = (snapshot: unknown) => () =>
    breaker().restore(snapshot as CircuitBreakerSnapshot);
  const withField = (patch: Record<string, unknown>) => ({ ...closed, ...patch });

  it('accepts a valid snapshot', () => {
    const b = breaker();
    b.restore(closed);
    expect(b.stats.failures).toBe(2);
  });

  it('rejects non-objects, missing and unknown fields', () => {
    expect(restore(null)).toThrow(/circuitBreaker.restore: "snapshot" must be an object, got null/);
    expect(restore('{}')).toThrow(/"snapshot" must be an object/);
    expect(restore([])).toThrow(/"snapshot" must be an object, got an array/);
    const { reopens: _, ...missing } = closed;
    expect(restore(missing)).toThrow(/"snapshot.reopens" is missing/);
    expect(restore(withField({ extra: 1 }))).toThrow(/"snapshot.extra" is not a snapshot field/);
  });

  it('version, state, openUntil, reopens, trialSuccesses', () => {
    expect(restore(withField({ version: 2 }))).toThrow(/"snapshot.version" must be 1, got 2/);
    expect(restore(withField({ state: 'isolated' }))).toThrow(
      /"snapshot.state" must be 'closed', 'open' or 'half-open', got "isolated"/,
    );
    expect(restore(withField({ state: 'open', openUntil: null }))).toThrow(
      /"snapshot.openUntil" must be a finite clock time when the state is 'open', got null/,
    );
    expect(restore(withField({ state: 'open', openUntil: Number.NaN }))).toThrow(
      /"snapshot.openUntil" must be a finite clock time/,
    );
    expect(restore(withField({ state: 'open', openUntil: '5' }))).toThrow(/"snapshot.openUntil"/);
    expect(restore(withField({ openUntil: 5 }))).toThrow(
      /"snapshot.openUntil" must be null when the state is 'closed', got 5/,
    );
    expect(restore(withField({ reopens: 1 }))).toThrow(/"snapshot.reopens" must be <= 0, got 1/);
    expect(restore(withField({ state: 'half-open', reopens: -1 }))).toThrow(
      /"snapshot.reopens" must be an integer >= 0, got -1/,
    );
    expect(restore(withField({ state: 'half-open', reopens: 1.5 }))).toThrow(/"snapshot.reopens"/);
    // The success threshold is 3 by default: at most 2 successes can be pending.
    expect(restore(withField({ state: 'half-open', trialSuccesses: 3 }))).toThrow(
      /"snapshot.trialSuccesses" must be <= 2, got 3/,
    );
    expect(restore(withField({ trialSuccesses: 1 }))).toThrow(/"snapshot.trialSuccesses"/);
  });

  it('window content must match the breaker window', () => {
    expect(restore(withField({ window: null }))).toThrow(/"snapshot.window" must be an object/);
    expect(restore(withField({ window: { type: 'consecutive', failures: 1, size: 3 } }))).toThrow(
      /"snapshot.window.size" is not a snapshot field/,
    );
    expect(restore(withField({ window: { type: 'count', failures: 1 } }))).toThrow(
      /"snapshot.window.type" must be 'consecutive' \(this breaker's window\), got "count"/,
    );
    expect(restore(withField({ window: { type: 'consecutive', failures: 4 } }))).toThrow(
      /"snapshot.window.failures" must be <= 3, got 4/,
    );
    expect(restore(withField({ window: { type: 'consecutive', failures: -1 } }))).toThrow(
      /"snapshot.window.failures" must be an integer >= 0/,
    );

    const count = circuitBreaker({ window: { type: 'count', size: 3 } });
    const countSnap = (window: unknown) => () =>
      count.restore({ ...closed, window } as CircuitBreakerSnapshot);
    expect(countSnap({ type: 'count', size: 4, outcomes: [] })).toThrow(
      /"snapshot.window.size" must be 3 \(this breaker's window size\), got 4/,
    );
    expect(countSnap({ type: 'count', size: 3, outcomes: [0, 0, 0, 0] })).toThrow(
      /"snapshot.window.outcomes" must be an array of at most 3 outcomes, got an array of 4/,
    );
    expect(countSnap({ type: 'count', size: 3, outcomes: 'x' })).toThrow(
      /"snapshot.window.outcomes" must be an array/,
    );
    expect(countSnap({ type: 'count', size: 3, outcomes: [0, 4] })).toThrow(
      /"snapshot.window.outcomes\[1\]" must be <= 3, got 4/,
    );

    const time = circuitBreaker({ window: { type: 'time', durationMs: 1_000, buckets: 2 } });
    const timeSnap = (patch: Record<string, unknown>) => () =>
      time.restore({
        ...closed,
        window: {
          type: 'time',
          durationMs: 1_000,
          buckets: 2,
          head: 0,
          counts: [
            [0, 0, 0],
            [0, 0, 0],
          ],
          ...patch,
        },
      } as CircuitBreakerSnapshot);
    expect(timeSnap({})).not.toThrow();
    expect(timeSnap({ durationMs: 2_000 })).toThrow(/"snapshot.window.durationMs" must be 1000/);
    expect(timeSnap({ buckets: 3 })).toThrow(/"snapshot.window.buckets" must be 2/);
    expect(timeSnap({ head: 1.5 })).toThrow(/"snapshot.window.head" must be an integer/);
    expect(timeSnap({ counts: [[0, 0, 0]] })).toThrow(
      /"snapshot.window.counts" must be an array of 2 buckets, got an array of 1/,
    );
    expect(
      timeSnap({
        counts: [
          [0, 0, 0],
          [1, 0],
        ],
      }),
    ).toThrow(/"snapshot.window.counts\[1\]" must be \[calls, failures, slowCalls\]/);
    expect(
      timeSnap({
        counts: [
          [0, 0, 0],
          [1, 2, 0],
        ],
      }),
    ).toThrow(/"snapshot.window.counts\[1\]\[1\]" must be <= 1, got 2/);
    expect(
      timeSnap({
        counts: [
          [0, 0, -1],
          [0, 0, 0],
        ],
      }),
    ).toThrow(/"snapshot.window.counts\[0\]\[2\]" must be an integer >= 0/);
  });

  it('initialState is validated at construction with the option named', () => {
    expect(() =>
      circuitBreaker({
        window: { type: 'consecutive' },
        initialState: { ...closed, state: 'shut' } as unknown as CircuitBreakerSnapshot,
      }),
    ).toThrow(/circuitBreaker: option "initialState.state" must be/);
    expect(() => circuitBreaker({ initialState: closed })).toThrow(
      /option "initialState.window.type" must be 'time' \(this breaker's window\)/,
    );
  });

  it('a rejected restore leaves the breaker as it was', () => {
    const b = breaker();
    b.restore(closed);
    expect(() => b.restore({ ...closed, window: { type: 'consecutive', failures: 9 } })).toThrow(
      TypeError,
    );
    expect(b.stats.failures).toBe(2);
  });
});
