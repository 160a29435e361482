/**
 * SLIs from a {@link WindowStats}: error ratio, burn rates, latency shares and quantiles, request
 * rate. Pure functions; `undefined` means "no traffic to judge", which a steady-state check must
 * treat differently from a good value.
 */

import { describe } from '@nines/resilience/options';
import type { WindowBucket, WindowStats } from './recorder.js';

function count(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `${owner}: argument "stats.${name}" must be a non-negative number, got ${describe(value)}`,
    );
  }
  return value;
}

/** Checks the parts of a WindowStats the functions read; hand-built ones get the same checks. */
function checkStats(owner: string, s: unknown, parts: 'counts' | 'buckets'): WindowStats {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) {
    throw new TypeError(`${owner}: argument "stats" must be a WindowStats, got ${describe(s)}`);
  }
  const w = s as WindowStats;
  if (parts === 'counts') {
    const requests = count(owner, 'requests', w.requests);
    const errors = count(owner, 'errors', w.errors);
    if (errors > requests) {
      throw new TypeError(
        `${owner}: argument "stats.errors" (${errors}) exceeds "stats.requests" (${requests})`,
      );
    }
    return w;
  }
  const buckets: unknown = w.buckets;
  if (!Array.isArray(buckets)) {
    throw new TypeError(
      `${owner}: argument "stats.buckets" must be an array, got ${describe(buckets)}`,
    );
  }
  let prev = Number.NEGATIVE_INFINITY;
  buckets.forEach((b: unknown, i) => {
    const x = b as Partial<WindowBucket> | null;
    if (x === null || typeof x !== 'object' || typeof x.le !== 'number' || Number.isNaN(x.le)) {
      throw new TypeError(
        `${owner}: argument "stats.buckets[${i}]" must be { le, count }, got ${describe(b)}`,
      );
    }
    count(owner, `buckets[${i}].count`, x.count);
    if (x.le <= prev) {
      throw new TypeError(
        `${owner}: argument "stats.buckets" must be in ascending order of le, got ${x.le} after ${prev}`,
      );
    }
    prev = x.le;
  });
  if (buckets.length > 0 && prev !== Number.POSITIVE_INFINITY) {
    throw new TypeError(`${owner}: argument "stats.buckets" must end with le = +Inf`);
  }
  return w;
}

function checkObjective(owner: string, objective: unknown): number {
  if (typeof objective !== 'number' || !(objective > 0 && objective < 1)) {
    throw new TypeError(
      `${owner}: argument "objective" must be a number between 0 and 1 (exclusive), e.g. 0.999, got ${describe(objective)}`,
    );
  }
  return objective;
}

function formatLe(le: number): string {
  return le === Number.POSITIVE_INFINITY ? '+Inf' : String(le);
}

/** Cumulative count up to index `i`, made monotone as histogram_quantile does. */
function cumulative(buckets: readonly WindowBucket[], i: number): number {
  let c = 0;
  for (let j = 0; j <= i; j++) {
    const v = (buckets[j] as WindowBucket).count;
    if (v > c) c = v;
  }
  return c;
}

/**
 * Share of failed (5xx) requests in the window, in [0, 1]; `undefined` without requests.
 *
 * @example
 * errorRatio(recorder.window('orders', {}, 60_000)); // 0.004
 */
export function errorRatio(s: WindowStats): number | undefined {
  const w = checkStats('errorRatio', s, 'counts');
  return w.requests === 0 ? undefined : w.errors / w.requests;
}

/**
 * How fast an availability SLO's error budget burns: error ratio / (1 - objective). 1 spends the
 * budget exactly over the SLO window; 14.4 spends a 30-day budget in about two days.
 *
 * @example
 * availabilityBurnRate(stats, 0.999); // 4 when 0.4 % of requests failed
 */
export function availabilityBurnRate(s: WindowStats, objective: number): number | undefined {
  const owner = 'availabilityBurnRate';
  const w = checkStats(owner, s, 'counts');
  const o = checkObjective(owner, objective);
  return w.requests === 0 ? undefined : w.errors / w.requests / (1 - o);
}

function checkThreshold(owner: string, thresholdSeconds: unknown): number {
  if (
    typeof thresholdSeconds !== 'number' ||
    !Number.isFinite(thresholdSeconds) ||
    thresholdSeconds <= 0
  ) {
    throw new TypeError(
      `${owner}: argument "thresholdSeconds" must be a positive number, got ${describe(thresholdSeconds)}`,
    );
  }
  return thresholdSeconds;
}

function slow(owner: string, s: WindowStats, thresholdSeconds: number): number | undefined {
  const w = checkStats(owner, s, 'buckets');
  const t = checkThreshold(owner, thresholdSeconds);
  const b = w.buckets;
  if (b.length === 0) return undefined;
  const i = b.findIndex((x) => x.le === t);
  if (i === -1) {
    throw new TypeError(
      `${owner}: threshold ${t} s is not a bucket boundary, so the share above it cannot be counted exactly (boundaries: ${b.map((x) => formatLe(x.le)).join(', ')}); use one of them or add it to the service's histogram buckets`,
    );
  }
  const total = cumulative(b, b.length - 1);
  if (total === 0) return undefined;
  return (total - cumulative(b, i)) / total;
}

/**
 * Share of requests slower than `thresholdSeconds`, which must be one of the buckets' boundaries
 * (an SLO threshold is added to the service's buckets by @nines/telemetry); `undefined` without
 * requests. Throws a TypeError listing the boundaries for any other threshold.
 *
 * @example
 * slowShare(stats, 0.25); // 0.012: 1.2 % of requests took more than 250 ms
 */
export function slowShare(s: WindowStats, thresholdSeconds: number): number | undefined {
  return slow('slowShare', s, thresholdSeconds);
}

/**
 * Burn rate of a latency SLO ("objective of requests under thresholdSeconds"): slow share /
 * (1 - objective).
 *
 * @example
 * latencyBurnRate(stats, 0.2, 0.99); // 2 when 2 % of requests took more than 200 ms
 */
export function latencyBurnRate(
  s: WindowStats,
  thresholdSeconds: number,
  objective: number,
): number | undefined {
  const owner = 'latencyBurnRate';
  const o = checkObjective(owner, objective);
  const share = slow(owner, s, thresholdSeconds);
  return share === undefined ? undefined : share / (1 - o);
}

/**
 * The q-quantile of request duration in seconds, with Prometheus's `histogram_quantile`
 * semantics: linear interpolation inside the bucket holding the rank (from 0 for the first
 * bucket), and the highest finite boundary when the rank falls in the `+Inf` bucket. `undefined`
 * without requests or without a finite boundary. For q = 0 it is the lower bound of the first
 * non-empty bucket (Prometheus answers NaN when the first bucket is empty).
 *
 * @example
 * quantileSeconds(stats, 0.99); // 0.43
 */
export function quantileSeconds(s: WindowStats, q: number): number | undefined {
  const owner = 'quantileSeconds';
  const w = checkStats(owner, s, 'buckets');
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
    throw new TypeError(`${owner}: argument "q" must be a number in [0, 1], got ${describe(q)}`);
  }
  const b = w.buckets;
  if (b.length < 2) return undefined;
  const last = b.length - 1;
  const total = cumulative(b, last);
  if (total === 0) return undefined;
  let rank = q * total;
  // First finite bucket whose cumulative count reaches the rank (a strictly positive one for rank 0).
  let i = 0;
  let c = 0;
  for (; i < last; i++) {
    const v = (b[i] as WindowBucket).count;
    if (v > c) c = v;
    if (rank === 0 ? c > 0 : c >= rank) break;
  }
  if (i === last) return (b[last - 1] as WindowBucket).le;
  const end = (b[i] as WindowBucket).le;
  if (i === 0 && end <= 0) return end;
  let start = 0;
  let inBucket = c;
  if (i > 0) {
    start = (b[i - 1] as WindowBucket).le;
    const below = cumulative(b, i - 1);
    inBucket -= below;
    rank -= below;
  }
  return start + (end - start) * (rank / inBucket);
}

/**
 * Requests per second over the span the window's samples cover; `undefined` when they cover no
 * time (a single snapshot).
 *
 * @example
 * requestRate(recorder.window('orders', {}, 60_000)); // 41.5
 */
export function requestRate(s: WindowStats): number | undefined {
  const owner = 'requestRate';
  const w = checkStats(owner, s, 'counts');
  const covered = count(owner, 'coveredMs', w.coveredMs);
  return covered === 0 ? undefined : w.requests / (covered / 1000);
}
