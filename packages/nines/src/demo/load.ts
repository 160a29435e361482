/**
 * An open-loop load generator: requests leave on a fixed schedule whatever the responses do, so a
 * slow server shows up as latency and errors, never as a quieter sender (the coordinated omission
 * a closed loop hides). Bounded by a request count and a duration.
 */
import type { TrafficView } from './model.js';

/** One request to send. */
export interface LoadRequest {
  readonly method: 'GET' | 'POST';
  /** Path and query, starting with `/`. */
  readonly path: string;
  /** JSON text sent with `content-type: application/json`. */
  readonly body?: string;
}

/** What `onResult` hears of each request that was sent. */
export interface LoadResult {
  /** HTTP status; 0 for a network error or a timeout. */
  readonly status: number;
  /** Milliseconds from send to the end of the response body. */
  readonly ms: number;
  /** Method and path with numeric segments templated, e.g. `GET /orders/:id`. */
  readonly route: string;
}

export interface LoadOptions {
  /** Where requests go, e.g. `http://127.0.0.1:4000`. */
  readonly baseUrl: string;
  /** Steady rate in requests per second (> 0, <= 2000). */
  readonly ratePerSec: number;
  /** A linear ramp from `fromPerSec` up (or down) to `ratePerSec` over `overMs`. */
  readonly ramp?: { readonly fromPerSec: number; readonly overMs: number };
  /** Hard bound on the requests scheduled (sent plus dropped). */
  readonly maxRequests: number;
  /** Hard bound on the time sending, from `start()`. */
  readonly maxMs: number;
  /** What to send as the `i`-th request (from 0). */
  readonly next: (i: number, random: () => number) => LoadRequest;
  /** Per request, default 2000. */
  readonly timeoutMs?: number;
  /** Default 500: a send due beyond it is counted as dropped, never queued. */
  readonly maxInFlight?: number;
  readonly random?: () => number;
  /** Clock for the stats (the rate window); scheduling uses real timers. */
  readonly clock?: { now(): number };
  readonly onResult?: (r: LoadResult) => void;
}

/** What a load has done so far. */
export interface LoadStats extends TrafficView {
  /** Sends that were due while `maxInFlight` requests were pending. */
  readonly dropped: number;
  readonly inFlight: number;
  /** Responses by status code (`"0"` = network error or timeout). */
  readonly byStatus: Record<string, number>;
}

export interface Load {
  /** Starts sending (once). */
  start(): void;
  /** Stops sending; resolves when the requests in flight have ended. */
  stop(): Promise<void>;
  /**
   * `sent` counts requests that left; `ok` responses below 500; `failed` 5xx, network errors and
   * timeouts; `rate` the requests sent per second over the last ~2 s.
   */
  stats(): LoadStats;
  /**
   * Resolves once sending has ended (a bound reached or `stop()`) and the requests in flight have
   * ended; rejects if `next` threw or returned a bad request (sending stops then).
   */
  readonly done: Promise<void>;
}

const TICK_MS = 10;
const RATE_WINDOW_MS = 2000;
const MAX_RATE = 2000;

function fail(option: string, expected: string, got: unknown): never {
  const shown = typeof got === 'function' ? 'a function' : (JSON.stringify(got) ?? String(got));
  throw new TypeError(`createLoad: ${option} must be ${expected}, got ${shown}`);
}

function checkNumber(
  option: string,
  value: unknown,
  test: (n: number) => boolean,
  expected: string,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !test(value)) {
    fail(option, expected, value);
  }
  return value;
}

function checkFunction(option: string, value: unknown): void {
  if (typeof value !== 'function') fail(option, 'a function', value);
}

/** `GET /orders/17?x=1` -> `GET /orders/:id`. */
function routeOf(request: LoadRequest): string {
  const path = request.path.split('?')[0] ?? '';
  return `${request.method} ${path.replace(/\/\d+(?=\/|$)/g, '/:id')}`;
}

/** Creates a load generator (validates every option; nothing is sent before `start()`). */
export function createLoad(options: LoadOptions): Load {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  if (typeof options.baseUrl !== 'string') fail('baseUrl', 'an http(s) URL', options.baseUrl);
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    fail('baseUrl', 'an http(s) URL', options.baseUrl);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    fail('baseUrl', 'an http(s) URL', options.baseUrl);
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const rate = checkNumber(
    'ratePerSec',
    options.ratePerSec,
    (n) => n > 0 && n <= MAX_RATE,
    `a number > 0 and <= ${MAX_RATE}`,
  );
  let rampFrom = rate;
  let rampMs = 0;
  if (options.ramp !== undefined) {
    if (typeof options.ramp !== 'object' || options.ramp === null) {
      fail('ramp', 'an object { fromPerSec, overMs }', options.ramp);
    }
    rampFrom = checkNumber(
      'ramp.fromPerSec',
      options.ramp.fromPerSec,
      (n) => n >= 0 && n <= MAX_RATE,
      `a number >= 0 and <= ${MAX_RATE}`,
    );
    rampMs = checkNumber('ramp.overMs', options.ramp.overMs, (n) => n > 0, 'a number > 0');
  }
  const maxRequests = checkNumber(
    'maxRequests',
    options.maxRequests,
    (n) => Number.isInteger(n) && n > 0,
    'an integer > 0',
  );
  const maxMs = checkNumber('maxMs', options.maxMs, (n) => n > 0, 'a number > 0');
  checkFunction('next', options.next);
  const timeoutMs =
    options.timeoutMs === undefined
      ? 2000
      : checkNumber('timeoutMs', options.timeoutMs, (n) => n > 0, 'a number > 0');
  const maxInFlight =
    options.maxInFlight === undefined
      ? 500
      : checkNumber(
          'maxInFlight',
          options.maxInFlight,
          (n) => Number.isInteger(n) && n > 0,
          'an integer > 0',
        );
  if (options.random !== undefined) checkFunction('random', options.random);
  if (options.clock !== undefined) {
    if (typeof options.clock !== 'object' || options.clock === null) {
      fail('clock', 'an object with now()', options.clock);
    }
    checkFunction('clock.now', options.clock.now);
  }
  if (options.onResult !== undefined) checkFunction('onResult', options.onResult);

  const random = options.random ?? Math.random;
  const clock = options.clock ?? { now: () => Date.now() };
  const next = options.next;
  const onResult = options.onResult;

  /** Requests due `t` ms after the start: the integral of the rate. */
  const dueAt = (t: number): number => {
    const s = t / 1000;
    if (rampMs <= 0) return rate * s;
    const rs = rampMs / 1000;
    if (s <= rs) return rampFrom * s + ((rate - rampFrom) * s * s) / (2 * rs);
    return rampFrom * rs + ((rate - rampFrom) * rs) / 2 + rate * (s - rs);
  };
  // The largest one tick may send: its share at the highest rate, plus one.
  const perTickCap = Math.ceil((Math.max(rate, rampFrom) * TICK_MS) / 1000) + 1;

  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let startedAt = 0;
  let scheduled = 0; // sent + dropped
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let dropped = 0;
  let inFlight = 0;
  const byStatus: Record<string, number> = {};
  const sentTimes: number[] = [];
  let sentTimesHead = 0;
  let statsStart: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  const pending = new Set<Promise<void>>();

  let resolveDone: () => void = () => {};
  let rejectDone: (error: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // Marks the promise handled: a caller that never awaits `done` gets no unhandled rejection.
  done.catch(() => {});
  let failure: unknown = null;

  const settle = async (): Promise<void> => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };

  const finish = (): Promise<void> => {
    if (state !== 'stopped') {
      state = 'stopped';
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      void settle().then(() => {
        if (failure !== null) rejectDone(failure);
        else resolveDone();
      });
    }
    return settle();
  };

  const send = (request: LoadRequest): void => {
    inFlight += 1;
    sent += 1;
    sentTimes.push(clock.now());
    const began = performance.now();
    const init: RequestInit = {
      method: request.method,
      signal: AbortSignal.timeout(timeoutMs),
    };
    if (request.body !== undefined) {
      init.body = request.body;
      init.headers = { 'content-type': 'application/json' };
    }
    const work = (async () => {
      let status = 0;
      try {
        const response = await fetch(`${baseUrl}${request.path}`, init);
        // Read the body to the end: it frees the connection and times the whole response.
        await response.arrayBuffer();
        status = response.status;
      } catch {
        status = 0;
      }
      const ms = performance.now() - began;
      inFlight -= 1;
      if (status === 0 || status >= 500) failed += 1;
      else ok += 1;
      const key = String(status);
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      if (onResult !== undefined) {
        try {
          onResult({ status, ms, route: routeOf(request) });
        } catch {
          // A listener's bug must not stop the traffic.
        }
      }
    })();
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const nextRequest = (i: number): LoadRequest => {
    const request = next(i, random);
    if (
      typeof request !== 'object' ||
      request === null ||
      (request.method !== 'GET' && request.method !== 'POST') ||
      typeof request.path !== 'string' ||
      !request.path.startsWith('/') ||
      (request.body !== undefined && typeof request.body !== 'string')
    ) {
      throw new TypeError(
        `createLoad: next(${i}) must return { method: 'GET' | 'POST', path: '/...', body?: string }, got ${JSON.stringify(request)}`,
      );
    }
    return request;
  };

  const tick = (): void => {
    timer = undefined;
    if (state !== 'running') return;
    const elapsed = performance.now() - startedAt;
    const horizon = Math.min(elapsed, maxMs);
    const due = Math.min(Math.floor(dueAt(horizon)), maxRequests);
    const count = Math.min(due - scheduled, perTickCap);
    for (let k = 0; k < count; k++) {
      const i = scheduled;
      scheduled += 1;
      if (inFlight >= maxInFlight) {
        dropped += 1;
        continue;
      }
      let request: LoadRequest;
      try {
        request = nextRequest(i);
      } catch (error) {
        failure = error;
        void finish();
        return;
      }
      send(request);
    }
    if (scheduled >= maxRequests || elapsed >= maxMs) {
      void finish();
      return;
    }
    // Ticks land on a fixed grid from the start; a late one catches up on the next.
    const nextAt = (Math.floor(elapsed / TICK_MS) + 1) * TICK_MS;
    const wait = Math.max(0, Math.min(nextAt, maxMs) - elapsed);
    timer = setTimeout(tick, wait);
  };

  return {
    start() {
      if (state !== 'idle') throw new Error('createLoad: start() may be called once');
      state = 'running';
      startedAt = performance.now();
      statsStart = clock.now();
      tick();
    },
    stop() {
      if (state === 'idle') {
        state = 'stopped';
        resolveDone();
        return Promise.resolve();
      }
      return finish();
    },
    stats() {
      const now = clock.now();
      while (
        sentTimesHead < sentTimes.length &&
        (sentTimes[sentTimesHead] ?? 0) < now - RATE_WINDOW_MS
      ) {
        sentTimesHead += 1;
      }
      if (sentTimesHead > 4096) {
        sentTimes.splice(0, sentTimesHead);
        sentTimesHead = 0;
      }
      const recent = sentTimes.length - sentTimesHead;
      const span = statsStart === null ? 0 : Math.min(RATE_WINDOW_MS, now - statsStart);
      const windowMs = Math.max(span, 250);
      return {
        sent,
        ok,
        failed,
        rate: recent === 0 ? 0 : (recent * 1000) / windowMs,
        dropped,
        inFlight,
        byStatus: { ...byStatus },
      };
    },
    done,
  };
}

/** A random integer from `lo` to `hi` inclusive. */
function between(random: () => number, lo: number, hi: number): number {
  return lo + Math.min(hi - lo, Math.floor(random() * (hi - lo + 1)));
}

/**
 * The demo's traffic mix on the orders API: about 60 % `GET /orders/:id` (ids 1..orderIds), 30 %
 * `GET /orders`, 10 % `POST /orders` with 1-3 items `{ sku: "SKU-%03d", qty: 1-3, price }`.
 */
export function ordersMix(ids: { orderIds: number; skus: number }): LoadOptions['next'] {
  if (typeof ids !== 'object' || ids === null) {
    throw new TypeError('ordersMix: expected { orderIds, skus }');
  }
  for (const key of ['orderIds', 'skus'] as const) {
    const n = ids[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new TypeError(`ordersMix: ${key} must be an integer >= 1, got ${String(n)}`);
    }
  }
  const { orderIds, skus } = ids;
  return (_i, random) => {
    const roll = random();
    if (roll < 0.6) return { method: 'GET', path: `/orders/${between(random, 1, orderIds)}` };
    if (roll < 0.9) return { method: 'GET', path: '/orders' };
    const items = Array.from({ length: between(random, 1, 3) }, () => ({
      sku: `SKU-${String(between(random, 1, skus)).padStart(3, '0')}`,
      qty: between(random, 1, 3),
      price: between(random, 100, 9999) / 100,
    }));
    return { method: 'POST', path: '/orders', body: JSON.stringify({ items }) };
  };
}
