/**
 * Scrapes services' `/metrics` over time and answers windowed questions about their requests
 * (how many, how many failed, how fast), the raw material of an experiment's steady-state SLOs.
 * Only the server request-duration histogram (and `process_start_time_seconds`, to see restarts)
 * is kept; everything else a scrape returns is parsed and dropped, so an hour of history stays small.
 */

import { describe, functionOption, numberOption, optionsObject } from '@nines/resilience/options';
import { METRICS } from '@nines/slo';
import { CounterHistory, lastAtOrBefore, pruneFront } from './counter-history.js';
import { parsePrometheusText, type Sample } from './prometheus-text.js';

/** One service: the `/metrics` URLs of its instances, whose counts are summed. */
export interface MetricsTarget {
  readonly name: string;
  readonly urls: readonly string[];
}

/** Which requests a window counts; an absent field matches every value. */
export interface RequestFilter {
  /** `service_name` label. */
  readonly service?: string;
  /** `http_route` label (the route template; `''` for requests without a route). */
  readonly route?: string;
  /** `http_request_method` label. */
  readonly method?: string;
}

/** One cumulative histogram bucket: requests that took at most `le` seconds. */
export interface WindowBucket {
  readonly le: number;
  readonly count: number;
}

/** What one target's matching requests did over a window. */
export interface WindowStats {
  /** Increase of `_count` over the window (all matching series summed). */
  readonly requests: number;
  /** Increase for 5xx responses (status label starting with '5'). */
  readonly errors: number;
  /**
   * Increase per bucket boundary, cumulative, ascending, `+Inf` last. Only boundaries every
   * matching series has are listed (others could not be summed exactly). Empty without data.
   */
  readonly buckets: readonly WindowBucket[];
  /** Time of the snapshot the increase is measured from. */
  readonly fromMs: number;
  /** Time of the newest snapshot. */
  readonly toMs: number;
  /** `toMs - fromMs`: the span the increase covers (0 with a single snapshot). */
  readonly coveredMs: number;
  /**
   * True when every source's history reaches back to the window's start (`now - windowMs`). A
   * scrape a little late or early does not flip it, unlike comparing `coveredMs` with the window.
   */
  readonly complete: boolean;
}

/** Outcome of scraping one URL. */
export interface ScrapeResult {
  readonly target: string;
  readonly url: string;
  readonly ok: boolean;
  /** Why the scrape failed (HTTP status, connection error, timeout, parse error). */
  readonly error?: string;
  /** Samples parsed (0 when the scrape failed). */
  readonly samples: number;
}

/** Options of {@link createMetricsRecorder}. */
export interface MetricsRecorderOptions {
  readonly targets: readonly MetricsTarget[];
  /** Time source for sample times and windows. Default `Date.now`. */
  readonly clock?: { now(): number };
  /** Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** Per scrape request (connect and body), ms. Default 2000. */
  readonly timeoutMs?: number;
  /** History kept, ms; older samples are dropped. Default one hour. */
  readonly retainMs?: number;
}

/** Recorded `/metrics` history of some services; see {@link createMetricsRecorder}. */
export interface MetricsRecorder {
  /**
   * Scrapes every URL once (in parallel) and records each answer at `clock.now()`. Never throws
   * for a down or bad endpoint: the result lists per-URL outcomes, in target and URL order.
   */
  scrape(): Promise<readonly ScrapeResult[]>;
  /**
   * Windowed increase for one target from the recorded samples. The increase runs from each
   * source's snapshot at or just before `now - windowMs` (or its oldest, then `complete` is false)
   * to its newest. Counter resets count like Prometheus's `increase()`; a source that is down adds
   * nothing meanwhile; series are summed per source first, so one instance's restart does not
   * disturb the others.
   */
  window(target: string, filter: RequestFilter, windowMs: number): WindowStats;
  /**
   * Records one complete snapshot of a source (`url` names it; it need not be HTTP) at `atMs`.
   * Series missing from a snapshot count as 0 from then on, as a restarted process's would.
   */
  record(target: string, url: string, samples: readonly Sample[], atMs: number): void;
}

const OWNER = 'createMetricsRecorder';
const KEYS = ['targets', 'clock', 'fetch', 'timeoutMs', 'retainMs'];
const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_RETAIN_MS = 3_600_000;
const HISTOGRAM = METRICS.httpServerDuration;
const COUNT = `${HISTOGRAM}_count`;
const BUCKET = `${HISTOGRAM}_bucket`;
const PROCESS_START = 'process_start_time_seconds';
const L = METRICS.labels;
const SYSTEM_CLOCK = { now: () => Date.now() };

/** One label set (without `le`) of the duration histogram from one source. */
interface Group {
  readonly service: string | undefined;
  readonly route: string | undefined;
  readonly method: string | undefined;
  readonly error: boolean;
  count: CounterHistory | undefined;
  readonly buckets: Map<number, CounterHistory>;
}

/** One URL of a target. */
interface Source {
  /** Snapshot times, ascending from `head`. */
  readonly times: number[];
  head: number;
  readonly groups: Map<string, Group>;
  /** Every series of this source (for the missing-series and restart checks). */
  readonly series: Set<CounterHistory>;
  processStart: number | undefined;
}

interface Target {
  readonly name: string;
  readonly urls: readonly string[];
  readonly sources: Map<string, Source>;
}

function checkTargets(value: unknown): Target[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(
      `${OWNER}: option "targets" must be a non-empty array, got ${describe(value)}`,
    );
  }
  const seen = new Set<string>();
  return value.map((t: unknown, i) => {
    const o = optionsObject<MetricsTarget>(OWNER, t, ['name', 'urls'], `targets[${i}]`);
    if (t === undefined) {
      throw new TypeError(`${OWNER}: option "targets[${i}]" must be an object, got undefined`);
    }
    if (typeof o.name !== 'string' || o.name === '') {
      throw new TypeError(
        `${OWNER}: option "targets[${i}].name" must be a non-empty string, got ${describe(o.name)}`,
      );
    }
    if (seen.has(o.name)) {
      throw new TypeError(`${OWNER}: option "targets[${i}].name" repeats "${o.name}"`);
    }
    seen.add(o.name);
    const urls: unknown = o.urls;
    if (!Array.isArray(urls) || urls.length === 0) {
      throw new TypeError(
        `${OWNER}: option "targets[${i}].urls" must be a non-empty array, got ${describe(urls)}`,
      );
    }
    const unique = new Set<string>();
    urls.forEach((u: unknown, j) => {
      let ok = false;
      if (typeof u === 'string') {
        try {
          const p = new URL(u).protocol;
          ok = p === 'http:' || p === 'https:';
        } catch {}
      }
      if (!ok) {
        throw new TypeError(
          `${OWNER}: option "targets[${i}].urls[${j}]" must be an http(s) URL, got ${describe(u)}`,
        );
      }
      if (unique.has(u as string)) {
        throw new TypeError(`${OWNER}: option "targets[${i}].urls[${j}]" repeats ${u}`);
      }
      unique.add(u as string);
    });
    return { name: o.name, urls: [...unique], sources: new Map() };
  });
}

function checkClock(value: unknown): { now(): number } {
  if (value === undefined) return SYSTEM_CLOCK;
  const c = value as { now?: unknown } | null;
  if (c === null || typeof c !== 'object' || typeof c.now !== 'function') {
    throw new TypeError(`${OWNER}: option "clock" must have now(), got ${describe(value)}`);
  }
  return value as { now(): number };
}

/** Key of a label set without `le`: sorted names and values (label order varies by exporter). */
function groupKey(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) if (n !== 'le') key += `${n}\u0000${labels[n]}\u0001`;
  return key;
}

function matches(g: Group, filter: RequestFilter): boolean {
  return (
    (filter.service === undefined || g.service === filter.service) &&
    (filter.route === undefined || g.route === filter.route) &&
    (filter.method === undefined || g.method === filter.method)
  );
}

function scrapeError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message !== '') return `${err.message}: ${cause.message}`;
    return err.message;
  }
  return String(err);
}

/**
 * Creates a recorder of the request-duration histogram (`http_server_request_duration_seconds`,
 * labels from `METRICS` of @nines/slo) served by the targets' `/metrics`. Call `scrape()` every
 * few seconds; ask `window()` for the increase over the last minutes and feed it to the SLI
 * functions (`errorRatio`, `quantileSeconds`, ...).
 *
 * @example
 * const recorder = createMetricsRecorder({
 *   targets: [{ name: 'orders', urls: ['http://10.0.0.5:8080/metrics', 'http://10.0.0.6:8080/metrics'] }],
 * });
 * setInterval(() => void recorder.scrape(), 5000);
 * const last5m = recorder.window('orders', { route: '/orders/:id' }, 300_000);
 * availabilityBurnRate(last5m, 0.999); // under 2?
 */
export function createMetricsRecorder(options: MetricsRecorderOptions): MetricsRecorder {
  const o = optionsObject<MetricsRecorderOptions>(OWNER, options, KEYS);
  if (options === undefined) {
    throw new TypeError(`${OWNER}: options must be an object, got undefined`);
  }
  const targets = checkTargets(o.targets);
  const clock = checkClock(o.clock);
  const fetchFn = functionOption<typeof fetch>(OWNER, 'fetch', o.fetch, (input, init) =>
    globalThis.fetch(input, init),
  );
  const timeoutMs = numberOption(OWNER, 'timeoutMs', o.timeoutMs, DEFAULT_TIMEOUT_MS, {
    exclusiveMin: true,
  });
  const retainMs = numberOption(OWNER, 'retainMs', o.retainMs, DEFAULT_RETAIN_MS, {
    exclusiveMin: true,
  });
  const byName = new Map<string, Target>();
  for (const t of targets) byName.set(t.name, t);

  function targetNamed(owner: string, name: unknown): Target {
    if (typeof name !== 'string') {
      throw new TypeError(`${owner}: argument "target" must be a string, got ${describe(name)}`);
    }
    const t = byName.get(name);
    if (t === undefined) {
      throw new TypeError(
        `${owner}: unknown target "${name}" (known: ${[...byName.keys()].join(', ')})`,
      );
    }
    return t;
  }

  function recordSnapshot(t: Target, url: string, samples: readonly Sample[], at: number): void {
    let source = t.sources.get(url);
    if (source === undefined) {
      source = {
        times: [],
        head: 0,
        groups: new Map(),
        series: new Set(),
        processStart: undefined,
      };
      t.sources.set(url, source);
    }
    const n = source.times.length;
    const prevAt = n === source.head ? undefined : (source.times[n - 1] as number);

    // Pass 1: this snapshot's values per series, and whether the process restarted since the last
    // one (a counter went down, a series vanished, or process_start_time_seconds changed). A
    // restart resets every series of the source, including those that already climbed past their
    // old value (plain increase() would undercount those).
    const values = new Map<CounterHistory, number>();
    const fresh = new Set<CounterHistory>();
    let restart = false;
    for (const s of samples) {
      const isCount = s.name === COUNT;
      if (!isCount && s.name !== BUCKET) {
        if (s.name === PROCESS_START && Number.isFinite(s.value)) {
          if (source.processStart !== undefined && source.processStart !== s.value) restart = true;
          source.processStart = s.value;
        }
        continue;
      }
      if (!Number.isFinite(s.value) || s.value < 0) continue;
      let le = Number.NaN;
      if (!isCount) {
        const raw = s.labels.le;
        le = raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw);
        if (raw === undefined || raw === '' || Number.isNaN(le)) continue;
      }
      const key = groupKey(s.labels);
      let g = source.groups.get(key);
      if (g === undefined) {
        const status = s.labels[L.status];
        g = {
          service: s.labels[L.service],
          route: s.labels[L.route],
          method: s.labels[L.method],
          error: status?.startsWith('5') === true,
          count: undefined,
          buckets: new Map(),
        };
        source.groups.set(key, g);
      }
      let series = isCount ? g.count : g.buckets.get(le);
      if (series === undefined) {
        series = new CounterHistory();
        if (isCount) g.count = series;
        else g.buckets.set(le, series);
        source.series.add(series);
        fresh.add(series);
      } else if (series.present && s.value < series.last) restart = true;
      values.set(series, s.value);
    }
    for (const series of source.series) {
      if (series.present && !values.has(series)) restart = true;
    }

    // Pass 2: append. A series first seen now was 0 at the previous snapshot (registries create
    // series on their first observation), so the requests it already counts are not lost.
    for (const series of source.series) {
      const v = values.get(series);
      if (v === undefined) {
        if (series.present) series.vanish(at);
        continue;
      }
      if (fresh.has(series) && prevAt !== undefined) series.push(prevAt, 0, false);
      series.push(at, v, restart);
      series.present = true;
    }
    source.times.push(at);

    // Retention: keep one snapshot at or before the cutoff; forget series that have been missing
    // for longer than that, and sources that have not answered for that long.
    const cutoff = at - retainMs;
    source.head = pruneFront([source.times], source.head, cutoff);
    for (const [key, g] of source.groups) {
      if (g.count !== undefined) g.count = pruneSeries(source, g.count, cutoff);
      for (const [le, series] of g.buckets) {
        if (pruneSeries(source, series, cutoff) === undefined) g.buckets.delete(le);
      }
      if (g.count === undefined && g.buckets.size === 0) source.groups.delete(key);
    }
    for (const [u, other] of t.sources) {
      const last = other.times[other.times.length - 1];
      if (other !== source && (last === undefined || last <= cutoff)) t.sources.delete(u);
    }
  }

  function pruneSeries(
    source: Source,
    series: CounterHistory,
    cutoff: number,
  ): CounterHistory | undefined {
    if (!series.present && series.newest() <= cutoff) {
      source.series.delete(series);
      return undefined;
    }
    series.prune(cutoff);
    return series;
  }

  async function scrapeOne(t: Target, url: string): Promise<ScrapeResult> {
    let text: string;
    try {
      const res = await fetchFn(url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'text/plain;version=0.0.4' },
      });
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        return { target: t.name, url, ok: false, error: `HTTP ${res.status}`, samples: 0 };
      }
      text = await res.text();
    } catch (err) {
      return { target: t.name, url, ok: false, error: scrapeError(err, timeoutMs), samples: 0 };
    }
    try {
      const samples = parsePrometheusText(text);
      const source = t.sources.get(url);
      const last = source?.times[source.times.length - 1];
      // A clock that stepped back must not put samples out of order.
      const now = clock.now();
      recordSnapshot(t, url, samples, last !== undefined && now < last ? last : now);
      return { target: t.name, url, ok: true, samples: samples.length };
    } catch (err) {
      return { target: t.name, url, ok: false, error: scrapeError(err, timeoutMs), samples: 0 };
    }
  }

  return {
    scrape() {
      const jobs: Promise<ScrapeResult>[] = [];
      for (const t of targets) for (const url of t.urls) jobs.push(scrapeOne(t, url));
      return Promise.all(jobs);
    },

    record(target, url, samples, atMs) {
      const owner = 'MetricsRecorder.record';
      const t = targetNamed(owner, target);
      if (typeof url !== 'string' || url === '') {
        throw new TypeError(
          `${owner}: argument "url" must be a non-empty string, got ${describe(url)}`,
        );
      }
      if (!Array.isArray(samples)) {
        throw new TypeError(
          `${owner}: argument "samples" must be an array, got ${describe(samples)}`,
        );
      }
      samples.forEach((s: unknown, i) => {
        const x = s as Partial<Sample> | null;
        if (
          x === null ||
          typeof x !== 'object' ||
          typeof x.name !== 'string' ||
          typeof x.value !== 'number' ||
          x.labels === null ||
          typeof x.labels !== 'object'
        ) {
          throw new TypeError(
            `${owner}: argument "samples[${i}]" must be { name, labels, value }, got ${describe(s)}`,
          );
        }
      });
      if (typeof atMs !== 'number' || !Number.isFinite(atMs)) {
        throw new TypeError(
          `${owner}: argument "atMs" must be a finite number, got ${describe(atMs)}`,
        );
      }
      const source = t.sources.get(url);
      const last = source?.times[source.times.length - 1];
      if (last !== undefined && atMs < last) {
        throw new TypeError(
          `${owner}: argument "atMs" (${atMs}) is earlier than the last snapshot of ${url} (${last})`,
        );
      }
      recordSnapshot(t, url, samples, atMs);
    },

    window(target, filter, windowMs) {
      const owner = 'MetricsRecorder.window';
      const t = targetNamed(owner, target);
      const f = optionsObject<RequestFilter>(
        owner,
        filter,
        ['service', 'route', 'method'],
        'filter',
      );
      for (const k of ['service', 'route', 'method'] as const) {
        if (f[k] !== undefined && typeof f[k] !== 'string') {
          throw new TypeError(
            `${owner}: argument "filter.${k}" must be a string, got ${describe(f[k])}`,
          );
        }
      }
      if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
        throw new TypeError(
          `${owner}: argument "windowMs" must be a positive number, got ${describe(windowMs)}`,
        );
      }
      if (windowMs > retainMs) {
        throw new TypeError(
          `${owner}: argument "windowMs" (${windowMs}) is longer than the history kept (retainMs ${retainMs})`,
        );
      }
      const now = clock.now();
      const start = now - windowMs;
      let requests = 0;
      let errors = 0;
      let fromMs = Number.POSITIVE_INFINITY;
      let toMs = Number.NEGATIVE_INFINITY;
      let complete = t.sources.size > 0;
      let histograms = 0;
      const sums = new Map<number, { count: number; groups: number }>();
      for (const source of t.sources.values()) {
        const end = lastAtOrBefore(source.times, source.head, now);
        if (end < source.head) {
          complete = false;
          continue;
        }
        let begin = lastAtOrBefore(source.times, source.head, start);
        if (begin < source.head) {
          begin = source.head;
          complete = false;
        }
        const from = source.times[begin] as number;
        const to = source.times[end] as number;
        // Silent since before the window (a killed instance): nothing to add, and its old
        // snapshots must not stretch the span the others' increase is divided by.
        if (to <= start) continue;
        // Series are looked up by time; from the oldest snapshot, ask for "before everything" so
        // snapshots sharing its time (a clock that stood still) are not skipped.
        const base = begin === source.head ? Number.NEGATIVE_INFINITY : from;
        if (from < fromMs) fromMs = from;
        if (to > toMs) toMs = to;
        for (const g of source.groups.values()) {
          if (!matches(g, f)) continue;
          if (g.count !== undefined) {
            const inc = g.count.increase(base, to);
            requests += inc;
            if (g.error) errors += inc;
          }
          if (g.buckets.size === 0) continue;
          histograms++;
          for (const [le, series] of g.buckets) {
            const sum = sums.get(le);
            const inc = series.increase(base, to);
            if (sum === undefined) sums.set(le, { count: inc, groups: 1 });
            else {
              sum.count += inc;
              sum.groups++;
            }
          }
        }
      }
      if (fromMs === Number.POSITIVE_INFINITY) {
        fromMs = now;
        toMs = now;
      }
      return {
        requests,
        errors,
        buckets: sumBuckets(sums, histograms, requests),
        fromMs,
        toMs,
        coveredMs: toMs - fromMs,
        complete,
      };
    },
  };
}

/**
 * Cumulative buckets from the per-boundary sums: only boundaries every histogram had, `+Inf`
 * last, made monotone (as Prometheus's histogram_quantile does) since counters read at slightly
 * different moments can disagree by a request or two.
 */
function sumBuckets(
  sums: Map<number, { count: number; groups: number }>,
  histograms: number,
  requests: number,
): WindowBucket[] {
  if (histograms === 0) return [];
  const les: number[] = [];
  for (const [le, s] of sums) if (s.groups === histograms) les.push(le);
  les.sort((a, b) => a - b);
  const out: WindowBucket[] = [];
  let running = 0;
  for (const le of les) {
    const c = (sums.get(le) as { count: number }).count;
    if (c > running) running = c;
    out.push({ le, count: running });
  }
  if (les[les.length - 1] !== Number.POSITIVE_INFINITY) {
    out.push({ le: Number.POSITIVE_INFINITY, count: Math.max(running, requests) });
  }
  return out;
}
