/**
 * Time-sliced request counts and log-linear latency buckets: the in-process views of the RED
 * recorder and the symptom alerts. Memory is fixed by the window, not by traffic, and recording
 * is a few additions into typed arrays.
 */

/** Octaves below 1 s covered by the log-linear buckets: the smallest tracked value is 2^-17 s. */
const MIN_EXPONENT = -17;
/** Values from 2^8 s (256 s) go to the overflow bucket. */
const MAX_EXPONENT = 8;
/** Linear sub-buckets per octave; the relative error is half a sub-bucket: 1 / (2 x 16). */
const SUB_BUCKETS = 16;
const SUB_BITS = 4;

/** Smallest value with its own log-linear bucket (2^-17 s, about 7.6 µs). */
export const LATENCY_MIN_SECONDS = 2 ** MIN_EXPONENT;
/** Values from here on (256 s) share the overflow bucket, reported as the window's maximum. */
export const LATENCY_MAX_SECONDS = 2 ** MAX_EXPONENT;
/**
 * Bound on the relative error of a quantile for values in [{@link LATENCY_MIN_SECONDS},
 * {@link LATENCY_MAX_SECONDS}): 1/32 = 3.125 %. Below that range the absolute error is under
 * 7.6 µs; above it the estimate is the largest value seen in the window.
 */
export const LATENCY_RELATIVE_ERROR = 1 / (2 * SUB_BUCKETS);
/** @internal Underflow, 25 octaves of 16, overflow. */
export const LATENCY_BUCKETS = (MAX_EXPONENT - MIN_EXPONENT) * SUB_BUCKETS + 2;

// Reads the exponent and the top mantissa bits of a double without Math.log (exact at octave
// edges, where log2 rounding would misplace values).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** @internal Index of `seconds` (finite, >= 0) among the {@link LATENCY_BUCKETS} log-linear buckets. */
export function latencyBucket(seconds: number): number {
  if (seconds < LATENCY_MIN_SECONDS) return 0;
  if (seconds >= LATENCY_MAX_SECONDS) return LATENCY_BUCKETS - 1;
  f64[0] = seconds;
  const hi = u32[HIGH_WORD]!;
  const exponent = (hi >>> 20) - 1023;
  return (
    1 + (exponent - MIN_EXPONENT) * SUB_BUCKETS + ((hi >>> (20 - SUB_BITS)) & (SUB_BUCKETS - 1))
  );
}

/** @internal The value reported for bucket `i`: the midpoint of its range (before clamping to min/max). */
export function latencyBucketMidpoint(i: number): number {
  if (i <= 0) return LATENCY_MIN_SECONDS / 2;
  if (i >= LATENCY_BUCKETS - 1) return Number.POSITIVE_INFINITY;
  const octave = Math.floor((i - 1) / SUB_BUCKETS);
  const sub = (i - 1) % SUB_BUCKETS;
  return 2 ** (octave + MIN_EXPONENT) * (1 + (sub + 0.5) / SUB_BUCKETS);
}

/**
 * @internal The nearest-rank position of quantile `q` among `n` values (1-based): `ceil(q x n)`, at least 1.
 * A tiny tolerance keeps float noise (0.95 x 100 = 95.00000000000001) from moving a rank up.
 */
export function nearestRank(q: number, n: number): number {
  return Math.max(1, Math.ceil(q * n - 1e-9));
}

/**
 * @internal The quantiles `qs` of the values counted in `hist` (per-bucket counts, `total` values, smallest
 * `min`, largest `max`): the midpoint of the bucket holding the nearest-rank value, clamped to
 * [min, max]. Null without values.
 */
export function histogramQuantiles(
  hist: ArrayLike<number>,
  total: number,
  min: number,
  max: number,
  qs: readonly number[],
): (number | null)[] {
  const out: (number | null)[] = [];
  if (total <= 0) {
    for (let j = 0; j < qs.length; j++) out.push(null);
    return out;
  }
  for (const q of qs) {
    const rank = nearestRank(q, total);
    let seen = 0;
    let i = 0;
    for (; i < hist.length - 1; i++) {
      seen += hist[i]!;
      if (seen >= rank) break;
    }
    const v = latencyBucketMidpoint(i);
    out.push(Math.max(min, Math.min(v, max)));
  }
  return out;
}

/** @internal Fields per slice in the counts array: requests, then 1xx to 5xx. */
export const COUNT_FIELDS = 6;

/** @internal Sums over a range of slices; see {@link SliceWindow.summarize}. */
export interface WindowSummary {
  /** Time the range covers, from its oldest slice's start (or the window's creation) to now. */
  readonly coveredMs: number;
  readonly requests: number;
  /** Requests per class: 1xx, 2xx, 3xx, 4xx, 5xx. */
  readonly classes: readonly [number, number, number, number, number];
  readonly sumSeconds: number;
  /** Requests that took at most the window's threshold (0 for a window without one). */
  readonly atOrBelow: number;
  /** Smallest and largest duration in the range; `Infinity`/`-Infinity` without requests. */
  readonly min: number;
  readonly max: number;
  /** Latency quantiles asked for, null without requests or without latency buckets. */
  readonly quantiles: readonly (number | null)[];
}

/**
 * @internal A ring of `slices` time slices of `sliceMs`, each holding request counts per status class,
 * duration sum, min and max, and (optionally) log-linear latency buckets. A slot is cleared
 * lazily when the clock reaches the slice it is reused for, so time passing costs nothing.
 */
export class SliceWindow {
  readonly sliceMs: number;
  readonly slices: number;
  /** When the window was created: ranges never reach before it. */
  readonly createdAt: number;
  /** Slice number held by each slot (NaN: never used). */
  readonly #ids: Float64Array;
  readonly #counts: Float64Array;
  readonly #sums: Float64Array;
  readonly #mins: Float64Array;
  readonly #maxs: Float64Array;
  readonly #hist: Uint32Array | null;
  /** Per slice: requests at or under `#threshold` (exact, unlike the buckets). */
  readonly #le: Float64Array | null;
  readonly #threshold: number;
  /** Newest slice written or read: a clock going back keeps writing to it. */
  #head: number;

  /**
   * `latency` adds the log-linear buckets; `threshold` (seconds) adds an exact count of the
   * requests at or under it.
   */
  constructor(sliceMs: number, slices: number, latency: boolean, now: number, threshold?: number) {
    this.sliceMs = sliceMs;
    this.slices = slices;
    this.createdAt = now;
    this.#ids = new Float64Array(slices).fill(Number.NaN);
    this.#counts = new Float64Array(slices * COUNT_FIELDS);
    this.#sums = new Float64Array(slices);
    this.#mins = new Float64Array(slices);
    this.#maxs = new Float64Array(slices);
    this.#hist = latency ? new Uint32Array(slices * LATENCY_BUCKETS) : null;
    this.#le = threshold === undefined ? null : new Float64Array(slices);
    this.#threshold = threshold ?? 0;
    this.#head = Math.floor(now / sliceMs);
  }

  /** Bytes held by the typed arrays; fixed at construction. */
  get bytes(): number {
    return (
      this.#ids.byteLength +
      this.#counts.byteLength +
      this.#sums.byteLength * 3 +
      (this.#le?.byteLength ?? 0) +
      (this.#hist?.byteLength ?? 0)
    );
  }

  /** Counts one request: `cls` 0..4 for 1xx..5xx, `bucket` from {@link latencyBucket}. */
  add(now: number, cls: number, seconds: number, bucket: number): void {
    let slice = Math.floor(now / this.sliceMs);
    if (slice > this.#head) this.#head = slice;
    else slice = this.#head;
    const n = this.slices;
    const i = ((slice % n) + n) % n;
    if (this.#ids[i] !== slice) this.#reset(i, slice);
    const c = i * COUNT_FIELDS;
    this.#counts[c]!++;
    this.#counts[c + 1 + cls]!++;
    this.#sums[i]! += seconds;
    if (seconds < this.#mins[i]!) this.#mins[i] = seconds;
    if (seconds > this.#maxs[i]!) this.#maxs[i] = seconds;
    const h = this.#hist;
    if (h !== null) h[i * LATENCY_BUCKETS + bucket]!++;
    const le = this.#le;
    if (le !== null && seconds <= this.#threshold) le[i]!++;
  }

  #reset(i: number, slice: number): void {
    this.#ids[i] = slice;
    this.#counts.fill(0, i * COUNT_FIELDS, (i + 1) * COUNT_FIELDS);
    this.#sums[i] = 0;
    this.#mins[i] = Number.POSITIVE_INFINITY;
    this.#maxs[i] = Number.NEGATIVE_INFINITY;
    this.#hist?.fill(0, i * LATENCY_BUCKETS, (i + 1) * LATENCY_BUCKETS);
    if (this.#le !== null) this.#le[i] = 0;
  }

  /**
   * Sums the `count` slices ending `offset` slices before the current one (offset 0: the last
   * `count` slices including the current, partial one). `quantiles` need latency buckets.
   */
  summarize(
    now: number,
    count: number,
    offset = 0,
    quantiles: readonly number[] = [],
  ): WindowSummary {
    let current = Math.floor(now / this.sliceMs);
    if (!(current >= this.#head)) current = this.#head;
    else this.#head = current;
    const last = current - offset;
    const first = last - count + 1;
    const cls = new Float64Array(5);
    let requests = 0;
    let sumSeconds = 0;
    let atOrBelow = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    const hist = this.#hist === null ? null : new Float64Array(LATENCY_BUCKETS);
    for (let i = 0; i < this.slices; i++) {
      const id = this.#ids[i]!;
      if (!(id >= first && id <= last)) continue;
      const c = i * COUNT_FIELDS;
      requests += this.#counts[c]!;
      for (let k = 0; k < 5; k++) cls[k]! += this.#counts[c + 1 + k]!;
      sumSeconds += this.#sums[i]!;
      if (this.#le !== null) atOrBelow += this.#le[i]!;
      if (this.#mins[i]! < min) min = this.#mins[i]!;
      if (this.#maxs[i]! > max) max = this.#maxs[i]!;
      if (hist !== null) {
        const h = this.#hist!;
        const base = i * LATENCY_BUCKETS;
        for (let b = 0; b < LATENCY_BUCKETS; b++) hist[b]! += h[base + b]!;
      }
    }
    const start = Math.max(first * this.sliceMs, this.createdAt);
    const end = offset === 0 ? Math.max(now, start) : (last + 1) * this.sliceMs;
    return {
      coveredMs: Math.max(0, end - start),
      requests,
      classes: [cls[0]!, cls[1]!, cls[2]!, cls[3]!, cls[4]!],
      sumSeconds,
      atOrBelow,
      min,
      max,
      quantiles:
        hist === null
          ? quantiles.map(() => null)
          : histogramQuantiles(hist, requests, min, max, quantiles),
    };
  }
}
