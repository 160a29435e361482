import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@nines/resilience';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFaults } from '../src/faults/registry.js';
import type { AuditEntry, FaultInput } from '../src/faults/types.js';

const T0 = Date.UTC(2025, 0, 1);

describe('createFaults options', () => {
  it('rejects bad options with a TypeError naming the option', () => {
    const bad: [unknown, RegExp][] = [
      ['x', /createFaults: options must be an object/],
      [{ ttl: 1 }, /createFaults: unknown option "ttl"/],
      [{ clock: {} }, /createFaults: option "clock" must have now\(\)/],
      [{ random: 1 }, /createFaults: option "random" must be a function/],
      [{ audit: 3 }, /createFaults: option "audit" must be a file path or a function/],
      [
        { audit: '/no/such/dir/faults.jsonl' },
        /createFaults: option "audit": directory \/no\/such\/dir does not exist/,
      ],
      [{ audit: tmpdir() }, /createFaults: option "audit": .* is a directory/],
      [{ defaultTtlMs: -1 }, /createFaults: option "defaultTtlMs" must be > 0, got -1/],
      [{ defaultTtlMs: 86_400_001 }, /option "defaultTtlMs" must be <= 86400000/],
      [{ maxFaults: 0 }, /createFaults: option "maxFaults" must be >= 1/],
      [{ maxFaults: 1.5 }, /option "maxFaults" must be an integer/],
    ];
    for (const [options, message] of bad) {
      expect(() => createFaults(options as never)).toThrow(TypeError);
      expect(() => createFaults(options as never)).toThrow(message);
    }
  });
});

describe('faults.inject', () => {
  it('returns the fault JSON with defaults filled in', () => {
    const clock = new ManualClock(T0);
    const faults = createFaults({ clock });
    const f = faults.inject({
      kind: 'latency',
      target: 'store',
      ms: 500,
      jitterMs: 50,
      note: 'why',
    });
    expect(f).toEqual({
      id: expect.stringMatching(/^f-[0-9a-f]{8}$/),
      kind: 'latency',
      target: ['store'],
      probability: 1,
      ttlMs: 300_000,
      createdAt: '2025-01-01T00:00:00.000Z',
      expiresAt: '2025-01-01T00:05:00.000Z',
      note: 'why',
      ms: 500,
      jitterMs: 50,
      distribution: 'uniform',
    });
    expect(faults.inject({ kind: 'latency', target: 'a', ms: 1 })).toMatchObject({
      distribution: 'fixed',
    });
    expect(faults.inject({ kind: 'error', target: ['a', 'b', 'a'] })).toMatchObject({
      target: ['a', 'b'],
      message: 'injected fault',
      code: 'EFAULTINJECTED',
    });
    expect(faults.inject({ kind: 'block', target: '*' })).toMatchObject({ mode: 'hang' });
    expect(faults.inject({ kind: 'skew', target: 'clock', offsetMs: -1 })).toMatchObject({
      offsetMs: -1,
    });
    expect(Object.isFrozen(f)).toBe(true);
    expect(JSON.parse(JSON.stringify(f))).toEqual(f);
  });

  it('rejects bad input with a TypeError naming the field, and changes nothing', () => {
    const faults = createFaults({ clock: new ManualClock(0) });
    const bad: [unknown, RegExp][] = [
      [null, /faults\.inject: the fault must be an object, got null/],
      [[], /the fault must be an object, got Array/],
      [{ target: 'a' }, /option "kind" is required/],
      [
        { kind: 'explode', target: 'a' },
        /option "kind" must be one of 'latency', 'error', 'block', 'skew'/,
      ],
      [{ kind: 'error' }, /option "target" is required/],
      [{ kind: 'error', target: [] }, /option "target" must be a name or a non-empty array/],
      [{ kind: 'error', target: 'a b' }, /option "target" must hold '\*' or names/],
      [{ kind: 'error', target: ['a', 7] }, /option "target" must hold/],
      [{ kind: 'error', target: 'a', probability: 1.5 }, /option "probability" must be <= 1/],
      [{ kind: 'error', target: 'a', probability: '1' }, /option "probability" must be a number/],
      [{ kind: 'error', target: 'a', ttlMs: 0 }, /option "ttlMs" must be > 0, got 0/],
      [{ kind: 'error', target: 'a', ttlMs: 86_400_001 }, /option "ttlMs" must be <= 86400000/],
      [{ kind: 'error', target: 'a', note: 5 }, /option "note" must be a string/],
      [{ kind: 'error', target: 'a', ms: 5 }, /unknown option "ms"/],
      [{ kind: 'latency', target: 'a' }, /option "ms" is required for a latency fault/],
      [{ kind: 'latency', target: 'a', ms: -1 }, /option "ms" must be >= 0, got -1/],
      [
        { kind: 'latency', target: 'a', ms: 1, jitterMs: Number.NaN },
        /option "jitterMs" must be a number, got NaN/,
      ],
      [
        { kind: 'latency', target: 'a', ms: 1, distribution: 'pareto' },
        /option "distribution" must be one of/,
      ],
      [
        { kind: 'latency', target: 'a', ms: 1, jitterMs: 1, distribution: 'fixed' },
        /option "jitterMs" must be 0 with distribution 'fixed'/,
      ],
      [{ kind: 'error', target: 'a', status: 200 }, /option "status" must be >= 400, got 200/],
      [{ kind: 'error', target: 'a', status: 600 }, /option "status" must be <= 599/],
      [{ kind: 'error', target: 'a', status: 500.5 }, /option "status" must be an integer/],
      [
        { kind: 'error', target: 'a', code: 'has space' },
        /option "code" must be a string matching/,
      ],
      [
        { kind: 'error', target: 'a', message: 'x'.repeat(2000) },
        /option "message" must be a string of at most 1024/,
      ],
      [
        { kind: 'block', target: 'a', mode: 'drop' },
        /option "mode" must be one of 'hang', 'refuse'/,
      ],
      [{ kind: 'skew', target: 'a' }, /option "offsetMs" is required for a skew fault/],
      [
        { kind: 'skew', target: 'a', offsetMs: Number.POSITIVE_INFINITY },
        /option "offsetMs" must be finite/,
      ],
      [
        { kind: 'skew', target: 'a', offsetMs: 31 * 86_400_000 },
        /option "offsetMs" must be <= 2592000000/,
      ],
      [
        { kind: 'skew', target: 'a', offsetMs: 1, probability: 0.5 },
        /option "probability" must be 1 for a skew fault/,
      ],
    ];
    for (const [input, message] of bad) {
      expect(() => faults.inject(input as FaultInput), JSON.stringify(input)).toThrow(message);
      expect(() => faults.inject(input as FaultInput)).toThrow(TypeError);
    }
    expect(() => faults.inject({ kind: 'error', target: 'a' }, { actor: '' })).toThrow(
      /faults\.inject: option "actor" must be a string/,
    );
    expect(() => faults.inject({ kind: 'error', target: 'a' }, { who: 'x' } as never)).toThrow(
      /faults\.inject: unknown option "who"/,
    );
    expect(faults.list()).toEqual([]);
    expect(faults.audit()).toEqual([]);
  });

  it('refuses more than maxFaults active faults with a RangeError', async () => {
    const clock = new ManualClock(0);
    const faults = createFaults({ clock, maxFaults: 2 });
    faults.inject({ kind: 'error', target: 'a', ttlMs: 1_000 });
    faults.inject({ kind: 'error', target: 'a', ttlMs: 2_000 });
    expect(() => faults.inject({ kind: 'error', target: 'a' })).toThrow(RangeError);
    expect(() => faults.inject({ kind: 'error', target: 'a' })).toThrow(/option "maxFaults"/);
    await clock.advance(1_000);
    expect(() => faults.inject({ kind: 'error', target: 'a' })).not.toThrow();
  });

  it('gives unique ids', () => {
    const faults = createFaults({ clock: new ManualClock(0), maxFaults: 1000 });
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) ids.add(faults.inject({ kind: 'error', target: 'a' }).id);
    expect(ids.size).toBe(1000);
  });
});

describe('list, get, remove, clear, extend', () => {
  it('manage the active faults', async () => {
    const clock = new ManualClock(T0);
    const faults = createFaults({ clock });
    const a = faults.inject({ kind: 'error', target: 'a' });
    const b = faults.inject({ kind: 'latency', target: 'b', ms: 5 });
    expect(faults.list().map((f) => f.id)).toEqual([a.id, b.id]);
    expect(faults.size).toBe(2);
    expect(faults.get(a.id)).toEqual(a);
    expect(faults.get('f-nope')).toBeUndefined();
    expect(faults.remove(a.id)).toEqual(a);
    expect(faults.remove(a.id)).toBeUndefined();
    await clock.advance(1_000);
    const renewed = faults.extend(b.id, 60_000);
    expect(renewed).toMatchObject({
      id: b.id,
      ttlMs: 60_000,
      expiresAt: new Date(T0 + 61_000).toISOString(),
    });
    expect(faults.get(b.id)).toEqual(renewed);
    expect(faults.extend('f-nope', 1_000)).toBeUndefined();
    expect(faults.clear()).toBe(1);
    expect(faults.list()).toEqual([]);
    expect(faults.clear()).toBe(0);
  });

  it('reject bad arguments with a TypeError naming them', () => {
    const faults = createFaults({ clock: new ManualClock(0) });
    const f = faults.inject({ kind: 'error', target: 'a' });
    expect(() => faults.remove(5 as never)).toThrow(
      /faults\.remove: id must be a string, got number 5/,
    );
    expect(() => faults.get(undefined as never)).toThrow(/faults\.get: id must be a string/);
    expect(() => faults.extend(f.id, 0)).toThrow(/faults\.extend: option "ttlMs" must be > 0/);
    expect(() => faults.extend(f.id, undefined as never)).toThrow(
      /faults\.extend: option "ttlMs" is required/,
    );
    expect(() => faults.extend(f.id, 1e12)).toThrow(/option "ttlMs" must be <= 86400000/);
    expect(() => faults.clear({ actor: 7 } as never)).toThrow(/faults\.clear: option "actor"/);
    expect(() => faults.audit(0)).toThrow(/faults\.audit: option "limit" must be >= 1/);
    expect(() => faults.onChange('x' as never)).toThrow(
      /faults\.onChange: listener must be a function/,
    );
    expect(faults.list()).toHaveLength(1);
  });
});

describe('time to live', () => {
  it('expires faults by one timer, armed for the soonest expiry, and audits expire', async () => {
    const clock = new ManualClock(T0);
    const faults = createFaults({ clock });
    expect(clock.pendingTimers).toBe(0);
    const a = faults.inject({ kind: 'error', target: 'a', ttlMs: 3_000 });
    const b = faults.inject({ kind: 'error', target: 'b', ttlMs: 1_000 });
    faults.inject({ kind: 'error', target: 'c', ttlMs: 2_000 });
    expect(clock.pendingTimers).toBe(1);
    const seen: AuditEntry[] = [];
    faults.onChange((e) => seen.push(e));
    await clock.advance(999);
    expect(seen).toEqual([]);
    await clock.advance(1);
    expect(seen).toEqual([
      { time: new Date(T0 + 1_000).toISOString(), action: 'expire', actor: 'ttl', fault: b },
    ]);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(2_000);
    expect(seen.map((e) => e.action)).toEqual(['expire', 'expire', 'expire']);
    expect(seen[2]).toMatchObject({ fault: { id: a.id } });
    expect(faults.list()).toEqual([]);
    expect(clock.pendingTimers).toBe(0); // no timer without faults
  });

  it('re-arms the timer when the soonest fault is removed or extended', async () => {
    const clock = new ManualClock(0);
    const faults = createFaults({ clock });
    const a = faults.inject({ kind: 'error', target: 'a', ttlMs: 1_000 });
    const b = faults.inject({ kind: 'error', target: 'b', ttlMs: 5_000 });
    faults.extend(a.id, 10_000);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(5_000);
    expect(faults.list().map((f) => f.id)).toEqual([a.id]);
    faults.remove(a.id);
    expect(clock.pendingTimers).toBe(0);
    expect(faults.audit().map((e) => e.action)).toEqual([
      'inject',
      'inject',
      'extend',
      'expire',
      'remove',
    ]);
    expect(faults.get(b.id)).toBeUndefined();
  });

  it('sweeps lazily on reads when the clock moved without timers firing', () => {
    const clock = new ManualClock(0);
    const faults = createFaults({ clock });
    faults.inject({ kind: 'error', target: 'a', ttlMs: 100 });
    clock.set(100);
    expect(faults.size).toBe(0);
    expect(faults.audit().at(-1)).toMatchObject({ action: 'expire', actor: 'ttl' });
  });

  it('property: after any sequence of injections and clock moves, exactly the unexpired faults are listed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('inject' as const),
              ttl: fc.integer({ min: 1, max: 5_000 }),
            }),
            fc.record({
              op: fc.constant('advance' as const),
              ms: fc.integer({ min: 0, max: 3_000 }),
            }),
            fc.record({ op: fc.constant('remove' as const), index: fc.nat() }),
          ),
          { maxLength: 30 },
        ),
        async (ops) => {
          const clock = new ManualClock(0);
          const faults = createFaults({ clock, maxFaults: 100 });
          const model = new Map<string, number>();
          for (const op of ops) {
            if (op.op === 'inject') {
              const f = faults.inject({ kind: 'error', target: 'x', ttlMs: op.ttl });
              model.set(f.id, clock.now() + op.ttl);
            } else if (op.op === 'advance') {
              await clock.advance(op.ms);
            } else {
              const ids = [...model.keys()];
              const id = ids[op.index % Math.max(1, ids.length)];
              if (id !== undefined) {
                const live = (model.get(id) as number) > clock.now();
                expect(faults.remove(id) !== undefined).toBe(live);
                model.delete(id);
              }
            }
            const now = clock.now();
            const expected = [...model].filter(([, at]) => at > now).map(([id]) => id);
            expect(faults.list().map((f) => f.id)).toEqual(expected);
            expect(clock.pendingTimers).toBe(expected.length === 0 ? 0 : 1);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('audit log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nines-faults-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per change to a file', async () => {
    const clock = new ManualClock(T0);
    const path = join(dir, 'faults.jsonl');
    const faults = createFaults({ clock, audit: path });
    const a = faults.inject(
      { kind: 'latency', target: 'store', ms: 500, note: 'game day' },
      { actor: 'runner' },
    );
    const b = faults.inject({ kind: 'error', target: 'db', ttlMs: 1_000 });
    faults.extend(a.id, 60_000);
    await clock.advance(1_000);
    faults.remove(a.id, { actor: 'alice' });
    faults.inject({ kind: 'block', target: 'x' });
    faults.clear();
    const lines = (await readFile(path, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.action, l.actor])).toEqual([
      ['inject', 'runner'],
      ['inject', 'code'],
      ['extend', 'code'],
      ['expire', 'ttl'],
      ['remove', 'alice'],
      ['inject', 'code'],
      ['clear', 'code'],
    ]);
    expect(lines[0]).toEqual({
      time: '2025-01-01T00:00:00.000Z',
      action: 'inject',
      actor: 'runner',
      fault: a,
    });
    expect(lines[2].fault).toMatchObject({ id: a.id, ttlMs: 60_000 });
    expect(lines[3].fault).toEqual(b);
    expect(lines[6].faults).toHaveLength(1);
    expect(lines[6].faults[0]).toMatchObject({ kind: 'block' });
    expect(faults.audit()).toEqual(lines);
    expect(faults.audit(2)).toEqual(lines.slice(5));
  });

  it('calls a function sink and onChange listeners; a disposed listener is not called', () => {
    const sunk: AuditEntry[] = [];
    const faults = createFaults({ clock: new ManualClock(0), audit: (e) => sunk.push(e) });
    const heard: string[] = [];
    const dispose = faults.onChange((e) => heard.push(e.action));
    const f = faults.inject({ kind: 'error', target: 'a' });
    dispose();
    faults.remove(f.id);
    expect(sunk.map((e) => e.action)).toEqual(['inject', 'remove']);
    expect(heard).toEqual(['inject']);
  });

  it('refuses an inject or extend the sink cannot record, but always removes', () => {
    let broken = false;
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const faults = createFaults({
        clock: new ManualClock(0),
        audit: () => {
          if (broken) throw new Error('disk full');
        },
      });
      const f = faults.inject({ kind: 'error', target: 'a' });
      broken = true;
      expect(() => faults.inject({ kind: 'error', target: 'b' })).toThrow('disk full');
      expect(() => faults.extend(f.id, 1_000)).toThrow('disk full');
      expect(faults.list()).toEqual([f]); // unchanged
      expect(faults.remove(f.id)).toEqual(f);
      expect(faults.list()).toEqual([]);
      expect(emit).toHaveBeenCalledWith(expect.stringContaining('disk full'), 'FaultsWarning');
      // the in-memory record still has what happened
      expect(faults.audit().map((e) => e.action)).toEqual(['inject', 'remove']);
    } finally {
      emit.mockRestore();
    }
  });

  it('keeps a listener that throws from breaking the change or other listeners', () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const faults = createFaults({ clock: new ManualClock(0) });
      const heard: string[] = [];
      faults.onChange(() => {
        throw new Error('boom');
      });
      faults.onChange((e) => heard.push(e.action));
      faults.inject({ kind: 'error', target: 'a' });
      expect(heard).toEqual(['inject']);
      expect(faults.size).toBe(1);
      expect(emit).toHaveBeenCalled();
    } finally {
      emit.mockRestore();
    }
  });

  it('keeps the last 1000 entries in memory', () => {
    const faults = createFaults({ clock: new ManualClock(0), maxFaults: 2000 });
    for (let i = 0; i < 1_200; i++) faults.inject({ kind: 'error', target: 'a', note: String(i) });
    const entries = faults.audit();
    expect(entries).toHaveLength(1_000);
    expect(entries[0]).toMatchObject({ fault: { note: '200' } });
    expect(entries.at(-1)).toMatchObject({ fault: { note: '1199' } });
  });
});
