/**
 * Version of the {@link TrackerSnapshot} format this build writes. Version 1 (without `slices`)
 * still loads: a timeslices tracker then rebuilds its slices from the fine buckets.
 */
export const SNAPSHOT_VERSION = 2;

/** A non-empty bucket: `[startMs, good, bad]` with an absolute start time (ms since the epoch). */
export type SnapshotBucket = readonly [startMs: number, good: number, bad: number];

/**
 * A tracker's state as a JSON-safe object, so a redeploy does not reset a 30-day budget. Times are
 * absolute, so a snapshot restored later simply has its old buckets age out.
 */
export interface TrackerSnapshot {
  readonly version: 1 | typeof SNAPSHOT_VERSION;
  /** Name of the SLO it was taken from; restoring into another SLO is refused. */
  readonly slo: string;
  /** The tracker's time when taken (ms since the epoch). */
  readonly at: number;
  readonly resolutionMs: number;
  readonly coarseMs: number;
  /** Recent buckets at `resolutionMs`. */
  readonly fine: readonly SnapshotBucket[];
  /** Buckets at `coarseMs` covering the whole period. */
  readonly coarse: readonly SnapshotBucket[];
  /**
   * Per-slice counts of a timeslices SLO (absent for occurrences and in version 1), so closed
   * slices keep their verdict across a restart.
   */
  readonly slices?: { readonly sliceMs: number; readonly buckets: readonly SnapshotBucket[] };
  /** Start times of alerts firing when taken, so a restart neither re-fires nor loses them. */
  readonly alerts: { readonly page: number | null; readonly ticket: number | null };
}

function fail(field: string, message: string): never {
  throw new TypeError(`snapshot.${field} ${message}`);
}

function finite(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(field, `must be a finite number, got ${String(v)}`);
  return v;
}

function buckets(field: string, v: unknown, sizeMs: number): SnapshotBucket[] {
  if (!Array.isArray(v)) fail(field, `must be an array, got ${typeof v}`);
  return v.map((b: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!Array.isArray(b) || b.length !== 3) fail(f, 'must be [startMs, good, bad]');
    const start = finite(`${f}[0]`, b[0]);
    if (start % sizeMs !== 0) fail(`${f}[0]`, `must be a multiple of ${sizeMs}, got ${start}`);
    const good = finite(`${f}[1]`, b[1]);
    const bad = finite(`${f}[2]`, b[2]);
    if (good < 0) fail(`${f}[1]`, `must be >= 0, got ${good}`);
    if (bad < 0) fail(`${f}[2]`, `must be >= 0, got ${bad}`);
    return [start, good, bad] as const;
  });
}

function alertSince(field: string, v: unknown): number | null {
  return v === null || v === undefined ? null : finite(field, v);
}

/**
 * Checks a value read back from storage; throws a TypeError naming the first bad field
 * (`snapshot.fine[3][1] must be >= 0, got -1`).
 */
export function parseSnapshot(value: unknown): TrackerSnapshot {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(
      `snapshot must be an object, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const s = value as Record<string, unknown>;
  if (s.version !== 1 && s.version !== SNAPSHOT_VERSION) {
    fail('version', `must be 1 or ${SNAPSHOT_VERSION}, got ${String(s.version)}`);
  }
  if (typeof s.slo !== 'string') fail('slo', `must be a string, got ${typeof s.slo}`);
  const at = finite('at', s.at);
  const resolutionMs = finite('resolutionMs', s.resolutionMs);
  const coarseMs = finite('coarseMs', s.coarseMs);
  if (resolutionMs <= 0) fail('resolutionMs', `must be > 0, got ${resolutionMs}`);
  if (coarseMs <= 0) fail('coarseMs', `must be > 0, got ${coarseMs}`);
  const a = s.alerts;
  if (a === null || typeof a !== 'object') fail('alerts', 'must be an object');
  const alerts = a as Record<string, unknown>;
  let slices: TrackerSnapshot['slices'];
  if (s.slices !== undefined && s.slices !== null) {
    if (typeof s.slices !== 'object') fail('slices', 'must be an object');
    const sl = s.slices as Record<string, unknown>;
    const sliceMs = finite('slices.sliceMs', sl.sliceMs);
    if (sliceMs <= 0) fail('slices.sliceMs', `must be > 0, got ${sliceMs}`);
    slices = { sliceMs, buckets: buckets('slices.buckets', sl.buckets, sliceMs) };
  }
  return {
    version: s.version,
    slo: s.slo,
    at,
    resolutionMs,
    coarseMs,
    fine: buckets('fine', s.fine, resolutionMs),
    coarse: buckets('coarse', s.coarse, coarseMs),
    alerts: {
      page: alertSince('alerts.page', alerts.page),
      ticket: alertSince('alerts.ticket', alerts.ticket),
    },
    ...(slices === undefined ? {} : { slices }),
  };
}
