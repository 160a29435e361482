import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context, type OwnerContext } from '../src/context.js';
import {
  type Backoff,
  BrokenCircuitError,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  circuitBreaker,
  type Disposer,
  IsolatedCircuitError,
  ManualClock,
  TimeoutError,
  type WindowOptions,
} from '../src/index.js';
import type { InterceptorPolicy } from '../src/interceptor.js';

/*
 * Model-based test: random sequences of operations run against the breaker and against a small
 * reference model written below from the rules alone (lists of records filtered on demand, no
 * ring buffers, no buckets arrays, no generations stored in tokens). After every checked step the
 * state, the counters, the retry-after and the state-change events must agree.
 */

type State = 'closed' | 'open' | 'half-open' | 'isolated';
type OpenSpec = { kind: 'fixed'; ms: number } | { kind: 'fn' } | { kind: 'backoff' };
const BACKOFF = [40, 80, 160];

interface Config {
  window: WindowOptions;
  slow: { durationMs: number; rate: number } | undefined;
  open: OpenSpec;
  maxConcurrent: number;
  successThreshold: number;
  maxTrialMs: number;
  predicates: boolean;
}

type Outcome = 'success' | 'failure' | 'badResult' | 'benign' | 'ignored' | 'cancelled' | 'timeout';

type Command =
  | { t: 'start'; check: boolean }
  | { t: 'call'; roll: number; check: boolean }
  | { t: 'finish'; k: number; roll: number; after: number; check: boolean }
  | { t: 'health'; failurePercent: number; check: boolean }
  | { t: 'advance'; ms: number; check: boolean }
  | { t: 'isolate'; check: boolean }
  | { t: 'release'; k: number; twice: boolean; check: boolean }
  | { t: 'snapshot'; mode: 'restore' | 'recreate'; check: boolean };

interface Rec {
  t: number;
  failed: boolean;
  slow: boolean;
}

/**
 * The outcome of a finished call: `roll` in [0, 100) against the dependency's current failure
 * share, so that runs go down and recover (a health command changes the share).
 */
function outcomeOf(roll: number, failurePercent: number): Outcome {
  if (roll < failurePercent)
    return (['failure', 'failure', 'failure', 'timeout', 'badResult'] as const)[roll % 5]!;
  return (['ignored', 'cancelled', 'benign'] as const)[roll % 10] ?? 'success';
}

const hit = (hits: Map<string, number>, label: string) =>
  hits.set(label, (hits.get(label) ?? 0) + 1);

/** The rules, written plainly. */
class Model {
  state: State = 'closed';
  /** Bumped on every transition, restore and recreate: calls admitted before are stale. */
  era = 0;
  openUntil = 0;
  reopens = 0;
  trials: { id: number; start: number }[] = [];
  successes = 0;
  isolations = 0;
  records: Rec[] = [];
  events: string[] = [];

  constructor(
    readonly cfg: Config,
    /** What the runs exercised, to prove the test is not vacuous. */
    readonly hits: Map<string, number>,
  ) {}

  openFor(reopens: number): number {
    const o = this.cfg.open;
    if (o.kind === 'fixed') return o.ms;
    if (o.kind === 'fn') return 50 * (reopens + 1);
    return BACKOFF[Math.min(reopens, BACKOFF.length - 1)]!;
  }

  move(to: State): void {
    hit(this.hits, `${this.state}->${to}`);
    this.events.push(`${this.state}->${to}`);
    this.state = to;
    this.era++;
    this.trials = [];
    this.successes = 0;
  }

  open(at: number): number {
    this.reopens = this.state === 'closed' ? 0 : this.reopens + 1;
    const ms = this.openFor(this.reopens);
    this.openUntil = at + ms;
    this.move('open');
    return ms;
  }

  close(): void {
    this.records = [];
    this.reopens = 0;
    this.move('closed');
  }

  /** Applies the transitions that fell due by `now`, each at the time it was due. */
  tick(now: number): void {
    for (;;) {
      if (this.state === 'open' && now >= this.openUntil) {
        this.move('half-open');
      } else if (this.state === 'half-open' && this.trials.length > 0) {
        const due = Math.min(...this.trials.map((x) => x.start)) + this.cfg.maxTrialMs;
        if (now < due) return;
        hit(this.hits, 'hung trial expired');
        this.open(due);
      } else {
        return;
      }
    }
  }

  /** The records the window holds at `now`. */
  window(now: number): Rec[] {
    const w = this.cfg.window;
    if (w.type === 'consecutive') {
      const run: Rec[] = [];
      for (let i = this.records.length - 1; i >= 0 && this.records[i]!.failed; i--) {
        run.push(this.records[i]!);
      }
      return run;
    }
    if (w.type === 'count') return this.records.slice(-(w.size ?? 100));
    const width = (w.durationMs ?? 60_000) / (w.buckets ?? 60);
    const oldest = Math.floor(now / width) - (w.buckets ?? 60) + 1;
    return this.records.filter((r) => Math.floor(r.t / width) >= oldest);
  }

  counts(now: number) {
    const recs = this.window(now);
    return {
      calls: recs.length,
      failures: recs.filter((r) => r.failed).length,
      slowCalls: recs.filter((r) => r.slow).length,
    };
  }

  shouldOpen(now: number): boolean {
    const w = this.cfg.window;
    const { calls, failures, slowCalls } = this.counts(now);
    if (w.type === 'consecutive') return failures >= (w.failures ?? 5);
    let minFailures = w.failures;
    let rate = w.failureRate;
    if (minFailures === undefined && rate === undefined) {
      if (w.type === 'count') rate = 0.5;
      else minFailures = 5;
    }
    const minimum = w.minimumCalls ?? (w.type === 'count' ? (w.size ?? 100) : 10);
    const byFailures =
      (minFailures === undefined || failures >= minFailures) &&
      (rate === undefined || (calls >= minimum && failures / calls >= rate));
    const bySlow =
      this.cfg.slow !== undefined && calls >= minimum && slowCalls / calls >= this.cfg.slow.rate;
    return byFailures || bySlow;
  }

  /** Returns the expected admission: a trial/closed call, or the rejection. */
  admit(
    id: number,
    now: number,
  ):
    | { ok: true; era: number }
    | { ok: false; error: 'isolated' }
    | { ok: false; error: 'broken'; retryAfterMs: number } {
    this.tick(now);
    switch (this.state) {
      case 'isolated':
        hit(this.hits, 'rejected: isolated');
        return { ok: false, error: 'isolated' };
      case 'closed':
        return { ok: true, era: this.era };
      case 'open':
        hit(this.hits, 'rejected: open');
        return { ok: false, error: 'broken', retryAfterMs: this.openUntil - now };
      default:
        if (this.trials.length < this.cfg.maxConcurrent) {
          this.trials.push({ id, start: now });
          return { ok: true, era: this.era };
        }
        hit(this.hits, 'rejected: half-open full');
        return { ok: false, error: 'broken', retryAfterMs: 0 };
    }
  }

  classify(outcome: Outcome): 'success' | 'failure' | 'neutral' {
    switch (outcome) {
      case 'success':
        return 'success';
      case 'failure':
      case 'timeout':
        return 'failure';
      case 'cancelled':
        return 'neutral';
      case 'badResult':
        return this.cfg.predicates ? 'failure' : 'success';
      case 'benign':
        return this.cfg.predicates ? 'success' : 'failure';
      case 'ignored':
        return this.cfg.predicates ? 'neutral' : 'failure';
    }
  }

  /** Records a finished call; returns the open duration when this call opened the circuit. */
  finish(call: ModelCall, outcome: Outcome, now: number): number | undefined {
    this.tick(now);
    if (call.era !== this.era) {
      hit(this.hits, 'stale result');
      return undefined;
    }
    const kind = this.classify(outcome);
    const slow =
      kind !== 'neutral' &&
      this.cfg.slow !== undefined &&
      now - call.start > this.cfg.slow.durationMs;
    if (slow) hit(this.hits, 'slow call');
    if (this.reopens > 1) hit(this.hits, 'second reopen');
    if (this.state === 'closed') {
      if (kind === 'neutral') return undefined;
      this.records.push({ t: now, failed: kind === 'failure', slow });
      if ((kind === 'failure' || slow) && this.shouldOpen(now)) return this.open(now);
      return undefined;
    }
    // Half-open: the only other state a current call can finish in.
    this.trials = this.trials.filter((x) => x.id !== call.id);
    if (kind === 'neutral') return undefined;
    if (kind === 'failure' || slow) return this.open(now);
    if (++this.successes >= this.cfg.successThreshold) this.close();
    return undefined;
  }

  isolate(now: number): void {
    this.tick(now);
    if (this.isolations++ === 0) this.move('isolated');
  }

  release(): void {
    if (--this.isolations === 0) this.close();
  }

  snapshot(now: number) {
    this.tick(now);
    if (this.state === 'isolated') {
      return { state: 'open', openUntil: now + this.openFor(0), reopens: 0, trialSuccesses: 0 };
    }
    return {
      state: this.state,
      openUntil: this.state === 'open' ? this.openUntil : null,
      reopens: this.reopens,
      trialSuccesses: this.state === 'half-open' ? this.successes : 0,
    };
  }

  load(s: ReturnType<Model['snapshot']>, emit: boolean): void {
    const to = s.state as State;
    if (emit && to !== this.state) this.events.push(`${this.state}->${to}`);
    this.state = to;
    this.era++;
    this.trials = [];
    this.openUntil = s.openUntil ?? 0;
    this.reopens = s.reopens;
    this.successes = s.trialSuccesses;
  }
}

interface ModelCall {
  id: number;
  era: number;
  start: number;
}

interface LiveCall {
  model: ModelCall;
  breaker: CircuitBreaker;
  token: unknown;
  ctx: OwnerContext;
}

function options(cfg: Config, clock: ManualClock): CircuitBreakerOptions {
  const backoff: Backoff = {
    start() {
      let i = 0;
      return { next: () => BACKOFF[i++] };
    },
  };
  return {
    clock,
    window: cfg.window,
    ...(cfg.slow ? { slowCall: cfg.slow } : {}),
    openMs:
      cfg.open.kind === 'fixed'
        ? cfg.open.ms
        : cfg.open.kind === 'fn'
          ? (r: number) => 50 * (r + 1)
          : backoff,
    halfOpen: {
      maxConcurrent: cfg.maxConcurrent,
      successThreshold: cfg.successThreshold,
      maxTrialMs: cfg.maxTrialMs,
    },
    ...(cfg.predicates
      ? {
          isFailure: (e: unknown) => (e as Error).message !== 'benign',
          isFailureResult: (r: unknown) => r === 'bad',
          isIgnored: (e: unknown) => (e as Error).message === 'ignored',
        }
      : {}),
  };
}

function run(cfg: Config, commands: Command[], hits: Map<string, number>): void {
  const clock = new ManualClock(1_000);
  const model = new Model(cfg, hits);
  const events: string[] = [];
  const make = (initialState?: CircuitBreakerSnapshot): CircuitBreaker => {
    const b = circuitBreaker({ ...options(cfg, clock), ...(initialState ? { initialState } : {}) });
    b.onStateChange(({ from, to }) => {
      if (b === breaker) events.push(`${from}->${to}`);
    });
    return b;
  };
  let breaker: CircuitBreaker = make();
  const asPolicy = (b: CircuitBreaker) => b as unknown as InterceptorPolicy;
  let live: LiveCall[] = [];
  const disposers: { dispose: Disposer; epoch: CircuitBreaker; used: boolean }[] = [];
  let nextId = 0;
  let failurePercent = 50;

  const check = (step: number) => {
    const now = clock.now();
    model.tick(now);
    const where = `step ${step}`;
    expect(breaker.state, where).toBe(model.state);
    const s = breaker.stats;
    const c = model.counts(now);
    // A time window judged on a failure count alone places successes without reading the clock,
    // so its `calls` is approximate by design: compare it only when a rate makes it matter.
    const w = cfg.window;
    if (w.type === 'time' && w.failureRate === undefined && cfg.slow === undefined) {
      c.calls = s.calls;
    }
    expect(
      {
        calls: s.calls,
        failures: s.failures,
        slowCalls: s.slowCalls,
        retryAfterMs: s.retryAfterMs,
        trialsInFlight: s.trialsInFlight,
        trialSuccesses: s.trialSuccesses,
        reopens: s.reopens,
      },
      where,
    ).toEqual({
      ...c,
      retryAfterMs: model.state === 'open' ? model.openUntil - now : 0,
      trialsInFlight: model.state === 'half-open' ? model.trials.length : 0,
      trialSuccesses: model.state === 'half-open' ? model.successes : 0,
      reopens: model.reopens,
    });
    expect(events, where).toEqual(model.events);
  };

  /** Starts a call on the breaker and the model; checks the admission decision. */
  const start = (step: number): LiveCall | undefined => {
    const now = clock.now();
    const id = nextId++;
    const ctx = Context.owner(Context.root(undefined));
    const expected = model.admit(id, now);
    let token: unknown;
    let error: unknown;
    try {
      token = asPolicy(breaker).enter(ctx);
    } catch (err) {
      error = err;
    }
    if (expected.ok) {
      expect(error, `step ${step}: admitted`).toBeUndefined();
      const call = { model: { id, era: expected.era, start: now }, breaker, token, ctx };
      live.push(call);
      return call;
    }
    if (expected.error === 'isolated') {
      expect(error, `step ${step}`).toBeInstanceOf(IsolatedCircuitError);
    } else {
      expect(error, `step ${step}`).toBeInstanceOf(BrokenCircuitError);
      expect((error as BrokenCircuitError).retryAfterMs, `step ${step}`).toBe(
        expected.retryAfterMs,
      );
    }
    expect(ctx.refusal).toBe(error);
    return undefined;
  };

  /** Ends a call on both; checks the refusal signal when the call opened the circuit. */
  const finish = (step: number, call: LiveCall, outcome: Outcome): void => {
    const at = clock.now();
    live = live.filter((x) => x !== call);
    const current = call.breaker === breaker;
    const opened = current ? model.finish(call.model, outcome, at) : undefined;
    const b = asPolicy(call.breaker);
    const { ctx, token } = call;
    switch (outcome) {
      case 'success':
        b.exit(token, true, 'fine', ctx);
        break;
      case 'badResult':
        b.exit(token, true, 'bad', ctx);
        break;
      case 'failure':
      case 'benign':
      case 'ignored':
        b.exit(token, false, new Error(outcome === 'failure' ? 'boom' : outcome), ctx);
        break;
      case 'cancelled':
        ctx.abort(new Error('caller cancelled'));
        b.exit(token, false, ctx.reason, ctx);
        break;
      case 'timeout':
        ctx.abort(new TimeoutError(5));
        b.exit(token, false, ctx.reason, ctx);
        break;
    }
    if (opened !== undefined) {
      expect(ctx.refusal, `step ${step}: refusal`).toBeInstanceOf(BrokenCircuitError);
      expect((ctx.refusal as BrokenCircuitError).retryAfterMs).toBe(opened);
    } else if (current) {
      expect(ctx.refusal, `step ${step}: no refusal`).toBeUndefined();
    }
  };

  commands.forEach((cmd, step) => {
    const now = clock.now();
    switch (cmd.t) {
      case 'start':
        start(step);
        break;
      case 'call': {
        const call = start(step);
        if (call !== undefined) finish(step, call, outcomeOf(cmd.roll, failurePercent));
        break;
      }
      case 'finish': {
        if (live.length === 0) break;
        if (cmd.after > 0) clock.set(clock.now() + cmd.after);
        // Often the newest call (a trial, when half-open), else any (often a stale one).
        const call = (cmd.k % 2 === 0 ? live[live.length - 1] : live[cmd.k % live.length])!;
        finish(step, call, outcomeOf(cmd.roll, failurePercent));
        break;
      }
      case 'advance':
        clock.set(now + cmd.ms);
        break;
      case 'health':
        failurePercent = cmd.failurePercent;
        break;
      case 'isolate':
        model.isolate(now);
        disposers.push({ dispose: breaker.isolate(), epoch: breaker, used: false });
        break;
      case 'release': {
        if (disposers.length === 0) break;
        // Mostly a held isolation of this breaker; sometimes any (a stale or used disposer).
        const held = disposers.filter((x) => !x.used && x.epoch === breaker);
        const pool = held.length > 0 && cmd.k % 4 !== 0 ? held : disposers;
        const d = pool[cmd.k % pool.length]!;
        if (!d.used && d.epoch === breaker) model.release();
        d.used = true;
        d.dispose();
        if (cmd.twice) d.dispose();
        break;
      }
      case 'snapshot': {
        const expected = model.snapshot(now);
        const snap = JSON.parse(JSON.stringify(breaker.toJSON())) as CircuitBreakerSnapshot;
        const { window: _, version, ...rest } = snap;
        expect(version).toBe(1);
        expect(rest, `step ${step}: snapshot`).toEqual(expected);
        if (cmd.mode === 'restore') {
          hit(hits, `snapshot: ${cmd.mode} ${model.isolations > 0 ? 'isolated' : model.state}`);
          if (model.isolations > 0) {
            expect(() => breaker.restore(snap)).toThrow(/isolated/);
          } else {
            breaker.restore(snap);
            model.load(expected, true);
          }
        } else {
          hit(hits, `snapshot: ${cmd.mode} ${model.isolations > 0 ? 'isolated' : model.state}`);
          breaker = make(snap);
          model.isolations = 0;
          model.load(expected, false);
        }
        break;
      }
    }
    if (cmd.check) check(step);
  });
  check(commands.length);
  expect(clock.pendingTimers).toBe(0);
}

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const rateArb = fc.constantFrom(0.25, 0.5, 0.75, 1);

const windows: Record<'consecutive' | 'count' | 'time', fc.Arbitrary<WindowOptions>> = {
  consecutive: fc.record({
    type: fc.constant('consecutive' as const),
    failures: fc.integer({ min: 1, max: 4 }),
  }),
  count: fc.integer({ min: 1, max: 6 }).chain((size) =>
    fc.record({
      type: fc.constant('count' as const),
      size: fc.constant(size),
      failures: opt(fc.integer({ min: 1, max: size })),
      failureRate: opt(rateArb),
      minimumCalls: opt(fc.integer({ min: 1, max: size })),
    }),
  ),
  time: fc.record({
    type: fc.constant('time' as const),
    durationMs: fc.constantFrom(100, 200, 300),
    buckets: fc.constantFrom(1, 2, 3, 4, 5),
    failures: opt(fc.integer({ min: 1, max: 4 })),
    failureRate: opt(rateArb),
    minimumCalls: opt(fc.integer({ min: 1, max: 5 })),
  }),
};

const configArb = (type: keyof typeof windows): fc.Arbitrary<Config> =>
  fc.record({
    window: windows[type],
    slow:
      type === 'consecutive'
        ? fc.constant(undefined)
        : opt(fc.record({ durationMs: fc.constantFrom(10, 30, 60), rate: rateArb })),
    open: fc.oneof(
      fc.constantFrom(50, 100, 200).map((ms): OpenSpec => ({ kind: 'fixed', ms })),
      fc.constant<OpenSpec>({ kind: 'fn' }),
      fc.constant<OpenSpec>({ kind: 'backoff' }),
    ),
    maxConcurrent: fc.integer({ min: 1, max: 3 }),
    successThreshold: fc.integer({ min: 1, max: 3 }),
    maxTrialMs: fc.constantFrom(50, 100, 250),
    predicates: fc.boolean(),
  });

const checkArb = fc.boolean();
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('start' as const), check: checkArb }) },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('call' as const),
      roll: fc.integer({ min: 0, max: 99 }),
      check: checkArb,
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('finish' as const),
      k: fc.nat(16),
      roll: fc.integer({ min: 0, max: 99 }),
      after: fc.constantFrom(0, 0, 0, 5, 20, 45, 80),
      check: checkArb,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      // On a 5 ms grid, like every duration here, so that deadlines are hit exactly.
      ms: fc.integer({ min: 0, max: 30 }).map((x) => x * 5),
      check: checkArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('health' as const),
      failurePercent: fc.constantFrom(0, 10, 50, 90, 100),
      check: checkArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('isolate' as const), check: checkArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('release' as const),
      k: fc.nat(8),
      twice: fc.boolean(),
      check: checkArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('snapshot' as const),
      mode: fc.constantFrom('restore' as const, 'recreate' as const),
      check: checkArb,
    }),
  },
);

const EXPECTED_HITS = [
  'closed->open',
  'open->half-open',
  'half-open->open',
  'half-open->closed',
  'closed->isolated',
  'open->isolated',
  'half-open->isolated',
  'isolated->closed',
  'hung trial expired',
  'rejected: isolated',
  'rejected: open',
  'rejected: half-open full',
  'stale result',
  'second reopen',
  'snapshot: restore closed',
  'snapshot: restore open',
  'snapshot: restore half-open',
  'snapshot: restore isolated',
  'snapshot: recreate isolated',
  'snapshot: recreate open',
];

describe('circuitBreaker against a reference model', () => {
  for (const type of ['consecutive', 'count', 'time'] as const) {
    it(`agrees on every step (${type} window)`, () => {
      const hits = new Map<string, number>();
      fc.assert(
        fc.property(
          configArb(type),
          fc.array(commandArb, { minLength: 10, maxLength: 50, size: 'max' }),
          (cfg, cmds) => run(cfg, cmds, hits),
        ),
        { numRuns: 1500 },
      );
      // Not vacuous: the runs went through every transition and rule.
      const expected = type === 'consecutive' ? EXPECTED_HITS : [...EXPECTED_HITS, 'slow call'];
      if (process.env.BREAKER_MODEL_HITS) console.log(type, Object.fromEntries(hits));
      expect(expected.filter((h) => !hits.has(h))).toEqual([]);
    });
  }
});
