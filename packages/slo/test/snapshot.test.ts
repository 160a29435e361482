import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AlertFiredEvent,
  fileStore,
  parseSnapshot,
  sloTracker,
  type TrackerSnapshot,
} from '../src/index.js';
import { availabilitySlo, DAY, HOUR, MIN, TestClock } from './engine-helpers.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nines-slo-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function busyTracker(clock: TestClock) {
  const t = sloTracker(availabilitySlo(), { clock });
  for (let i = 0; i < 24 * 12; i++) {
    t.record({ good: 1000, bad: i % 7 === 0 ? 3 : 0 });
    clock.advance(10 * MIN);
  }
  return t;
}

describe('snapshot and restore', () => {
  it('a new tracker built from a stored snapshot reports the same attainment and budget', async () => {
    const clock = new TestClock();
    const before = busyTracker(clock);
    const store = fileStore(join(tempDir(), 'orders.json'));
    await store.save(before.snapshot());
    const loaded = await store.load();
    expect(loaded).toBeDefined();
    const after = sloTracker(availabilitySlo(), { clock, snapshot: loaded! });
    expect(after.attainment()).toBe(before.attainment());
    expect(after.budget()).toEqual(before.budget());
    expect(after.window(HOUR)).toEqual(before.window(HOUR));
    expect(after.snapshot()).toEqual(before.snapshot());
  });

  it('is JSON-safe with absolute times', () => {
    const clock = new TestClock();
    const s = busyTracker(clock).snapshot();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s.version).toBe(2);
    expect(s.at).toBe(clock.t);
    expect(s.fine.every(([start]) => start % s.resolutionMs === 0 && start <= clock.t)).toBe(true);
  });

  it('drops buckets older than the window when restored after a long downtime', () => {
    const clock = new TestClock();
    const s = busyTracker(clock).snapshot();
    clock.advance(31 * DAY);
    const t = sloTracker(availabilitySlo(), { clock, snapshot: s });
    expect(t.budget().total).toBe(0);
    expect(t.snapshot().coarse).toEqual([]);
  });

  it('keeps counting when the clock stepped back across the restart', () => {
    const clock = new TestClock();
    const before = busyTracker(clock);
    const s = before.snapshot();
    clock.advance(-2 * HOUR);
    const t = sloTracker(availabilitySlo(), { clock, snapshot: s });
    expect(t.budget().total).toBe(before.budget().total);
    t.record({ bad: 1 });
    expect(t.window(MIN).bad).toBe(1);
    expect(t.budget().bad).toBe(before.budget().bad + 1);
  });

  it('does not fire an alert again after a restart, and resolves it later', () => {
    const clock = new TestClock();
    const a = sloTracker(availabilitySlo(), { clock });
    a.record({ bad: 100 });
    expect(a.evaluateAlerts().page.firing).toBe(true);
    const b = sloTracker(availabilitySlo(), { clock, snapshot: a.snapshot() });
    const fired: AlertFiredEvent[] = [];
    let resolved = 0;
    b.onAlertFired((e) => fired.push(e));
    b.onAlertResolved(() => resolved++);
    expect(b.evaluateAlerts().page.since).toBe(clock.t);
    expect(fired).toEqual([]);
    clock.advance(4 * DAY);
    b.evaluateAlerts();
    expect(resolved).toBe(2);
  });

  it('rejects bad snapshots naming the field', () => {
    const clock = new TestClock();
    const t = sloTracker(availabilitySlo(), { clock });
    const good = t.snapshot();
    const bad = (patch: Record<string, unknown>) => ({ ...good, ...patch }) as TrackerSnapshot;
    expect(() => t.restore(null as never)).toThrow(/snapshot must be an object/);
    expect(() => t.restore(bad({ version: 3 }))).toThrow(/snapshot\.version must be 1 or 2/);
    expect(() => t.restore(bad({ at: 'now' }))).toThrow(/snapshot\.at/);
    expect(() => t.restore(bad({ fine: [[0, -1, 0]] }))).toThrow(/snapshot\.fine\[0\]\[1\]/);
    expect(() => t.restore(bad({ fine: [[1, 1, 0]] }))).toThrow(/snapshot\.fine\[0\]\[0\]/);
    expect(() => t.restore(bad({ coarse: {} }))).toThrow(/snapshot\.coarse/);
    expect(() => t.restore(bad({ alerts: null }))).toThrow(/snapshot\.alerts/);
    expect(() => t.restore(bad({ slo: 'other' }))).toThrow(/snapshot\.slo/);
    expect(() => t.restore(bad({ resolutionMs: 30_000 }))).toThrow(/snapshot\.resolutionMs/);
    expect(() => parseSnapshot(bad({ coarseMs: 0 }))).toThrow(/snapshot\.coarseMs/);
  });
});

describe('fileStore', () => {
  it('returns undefined before the first save, and leaves no temporary files', async () => {
    const dir = tempDir();
    const store = fileStore(join(dir, 's.json'));
    expect(await store.load()).toBeUndefined();
    expect(store.loadSync()).toBeUndefined();
    const t = sloTracker(availabilitySlo(), { clock: new TestClock() });
    t.record({ good: 3, bad: 1 });
    store.saveSync(t.snapshot());
    await store.save(t.snapshot());
    expect(readdirSync(dir)).toEqual(['s.json']);
    expect(store.loadSync()).toEqual(t.snapshot());
  });

  it('names the file in errors about its content', async () => {
    const path = join(tempDir(), 'broken.json');
    writeFileSync(path, '{"version":');
    await expect(fileStore(path).load()).rejects.toThrow(/broken\.json: not valid JSON/);
    writeFileSync(path, '{"version": 9}');
    expect(() => fileStore(path).loadSync()).toThrow(/broken\.json: snapshot\.version/);
    expect(() => fileStore('')).toThrow(/path/);
  });
});

describe('snapshots of a timeslices SLO', () => {
  const minutes = (sliceSeconds = 60) =>
    availabilitySlo({ budgeting: { type: 'timeslices', sliceSeconds, sliceTarget: 0.95 } });

  it('carry the slice counts, so closed slices keep their verdict across a restart', () => {
    const clock = new TestClock();
    const a = sloTracker(minutes(), { clock });
    a.record({ good: false });
    clock.advance(MIN);
    const s = a.snapshot();
    expect(s.version).toBe(2);
    expect(s.slices).toEqual({ sliceMs: MIN, buckets: [[clock.t - MIN, 0, 1]] });
    const b = sloTracker(minutes(), { clock, snapshot: JSON.parse(JSON.stringify(s)) });
    expect(b.budget().slices?.bad).toBe(1);
    // Occurrences trackers write no slices.
    expect(sloTracker(availabilitySlo(), { clock }).snapshot().slices).toBeUndefined();
  });

  it('load a version 1 snapshot, rebuilding the recent slices from its fine buckets', () => {
    const clock = new TestClock();
    const old = sloTracker(availabilitySlo(), { clock });
    old.record({ good: 1, bad: 1 });
    clock.advance(MIN);
    old.record({ good: 100 });
    const { slices: _none, ...rest } = old.snapshot();
    const v1 = { ...rest, version: 1 } as TrackerSnapshot;
    const t = sloTracker(minutes(), { clock, snapshot: v1 });
    clock.advance(MIN);
    expect(t.window(2 * MIN).slices).toEqual({ sliceMs: MIN, elapsed: 2, good: 1, bad: 1 });
    // Slices finer than the buckets cannot be rebuilt: they start empty (good).
    const fine = sloTracker(minutes(10), { clock, snapshot: v1 });
    expect(fine.budget().slices?.bad).toBe(0);
  });

  it('reject slices of another width or bad slice buckets, naming the field', () => {
    const clock = new TestClock();
    const t = sloTracker(minutes(), { clock });
    const s = t.snapshot();
    expect(() => t.restore({ ...s, slices: { sliceMs: 10_000, buckets: [] } })).toThrow(
      /snapshot\.slices\.sliceMs is 10000, the tracker uses 60000/,
    );
    expect(() => t.restore({ ...s, slices: { sliceMs: MIN, buckets: [[1, 0, 0]] } })).toThrow(
      /snapshot\.slices\.buckets\[0\]\[0\] must be a multiple of 60000/,
    );
    expect(() => parseSnapshot({ ...s, slices: { sliceMs: 0, buckets: [] } })).toThrow(
      /snapshot\.slices\.sliceMs must be > 0/,
    );
    expect(() => parseSnapshot({ ...s, slices: 'all' })).toThrow(
      /snapshot\.slices must be an object/,
    );
  });
});
