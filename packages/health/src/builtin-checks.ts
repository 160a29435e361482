import { statfs } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import { type Clock, systemClock } from '@nines/resilience';
import { clockOption, describe, numberOption, optionsObject } from '@nines/resilience/options';
import { EventLoopMonitor } from './event-loop.js';
import type { CheckOptions } from './options.js';

/*
 * Each factory returns a complete `CheckOptions` entry, so it can be used as is or spread and
 * adjusted: `checks: { search: { ...httpCheck(url), critical: false } }`. Options are validated
 * when the factory is called.
 */

const MAX_TIMER_MS = 2_147_483_647;

function timeoutOf(owner: string, value: unknown): { timeoutMs?: number } {
  if (value === undefined) return {};
  return {
    timeoutMs: numberOption(owner, 'timeoutMs', value, 0, {
      exclusiveMin: true,
      max: MAX_TIMER_MS,
    }),
  };
}

/** Options of {@link httpCheck}. */
export interface HttpCheckOptions {
  /** Status codes that count as healthy. Default: any 2xx. */
  readonly expectStatus?: number | readonly number[];
  /** The check's timeout (ms); default the check default (1_000). */
  readonly timeoutMs?: number;
}

/**
 * A GET to an HTTP(S) dependency, healthy when it answers with an expected status. Redirects are
 * not followed (a redirect to a login page is not health), every check uses a fresh connection
 * (a pooled one could hide that new connections fail), and only the status line and headers are
 * read: the connection is closed right after them. Resolves `{ status }`.
 *
 * @example
 * checks: { payments: httpCheck('http://payments.internal/healthz', { timeoutMs: 500 }) }
 */
export function httpCheck(url: string | URL, options?: HttpCheckOptions): CheckOptions {
  const owner = 'httpCheck';
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new TypeError(`${owner}: option "url" must be an absolute URL, got ${describe(url)}`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError(
      `${owner}: option "url" must be an http: or https: URL, got ${JSON.stringify(target.protocol)}`,
    );
  }
  const o = optionsObject<HttpCheckOptions>(owner, options, ['expectStatus', 'timeoutMs']);
  let expected: (status: number) => boolean = (s) => s >= 200 && s < 300;
  let expectText = '2xx';
  if (o.expectStatus !== undefined) {
    const list = typeof o.expectStatus === 'number' ? [o.expectStatus] : o.expectStatus;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)
    ) {
      throw new TypeError(
        `${owner}: option "expectStatus" must be an HTTP status code (100-599) or a non-empty array of them, got ${describe(o.expectStatus)}`,
      );
    }
    const set = new Set<number>(list);
    expected = (s) => set.has(s);
    expectText = list.join(' or ');
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return {
    ...timeoutOf(owner, o.timeoutMs),
    check: (signal) =>
      new Promise<{ status: number }>((resolve, reject) => {
        const req = send(
          target,
          { method: 'GET', agent: false, signal, headers: { 'user-agent': 'nines-health' } },
          (res) => {
            const status = res.statusCode ?? 0;
            // Status and headers are all a check needs; a hanging body must not hold a socket.
            res.destroy();
            if (expected(status)) resolve({ status });
            else reject(new Error(`expected HTTP ${expectText}, got ${status}`));
          },
        );
        req.on('error', reject);
        req.end();
      }),
  };
}

/** Options of {@link tcpCheck}. */
export interface TcpCheckOptions {
  /** The check's timeout (ms); default the check default (1_000). */
  readonly timeoutMs?: number;
}

/**
 * Healthy when a TCP connection to `host:port` opens (the connection is closed at once). For
 * databases, caches and brokers whose protocol the service does not want to speak in a probe.
 *
 * @example
 * checks: { db: tcpCheck('db.internal', 5432) }
 */
export function tcpCheck(host: string, port: number, options?: TcpCheckOptions): CheckOptions {
  const owner = 'tcpCheck';
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(
      `${owner}: option "host" must be a non-empty string, got ${describe(host)}`,
    );
  }
  if (port === undefined) {
    throw new TypeError(`${owner}: option "port" must be a number, got undefined`);
  }
  numberOption(owner, 'port', port, 0, { min: 1, integer: true, max: 65_535 });
  const o = optionsObject<TcpCheckOptions>(owner, options, ['timeoutMs']);
  return {
    ...timeoutOf(owner, o.timeoutMs),
    check: (signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const socket = connect({ host, port });
        const onAbort = (): void => {
          socket.destroy();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve();
        });
        socket.once('error', (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        });
      }),
  };
}

/** Options of {@link eventLoopCheck}. */
export interface EventLoopCheckOptions {
  /**
   * The delay is the worst over the last one to two windows of this length (ms). Default 5_000,
   * the default check cache period, so each check run looks at the time since the previous one.
   */
  readonly windowMs?: number;
  /** The check's timeout (ms); default the check default. */
  readonly timeoutMs?: number;
  /** Time source for the window. Default `systemClock`. */
  readonly clock?: Clock;
}

/**
 * Fails when the event loop was blocked longer than `maxDelayMs` recently, measured with
 * `perf_hooks.monitorEventLoopDelay` (started at the first run). For readiness: an instance too
 * busy to answer in time is better out of rotation for a while; liveness has its own, higher,
 * threshold (`maxEventLoopDelayMs`). Resolves `{ delayMs }`.
 */
export function eventLoopCheck(maxDelayMs: number, options?: EventLoopCheckOptions): CheckOptions {
  const owner = 'eventLoopCheck';
  if (maxDelayMs === undefined) {
    throw new TypeError(`${owner}: option "maxDelayMs" must be a number, got undefined`);
  }
  numberOption(owner, 'maxDelayMs', maxDelayMs, 0, { exclusiveMin: true });
  const o = optionsObject<EventLoopCheckOptions>(owner, options, [
    'windowMs',
    'timeoutMs',
    'clock',
  ]);
  const windowMs = numberOption(owner, 'windowMs', o.windowMs, 5_000, { exclusiveMin: true });
  const clock = clockOption<Clock>(owner, o.clock, systemClock);
  let monitor: EventLoopMonitor | undefined;
  return {
    ...timeoutOf(owner, o.timeoutMs),
    check: () => {
      monitor ??= new EventLoopMonitor(clock, windowMs);
      const delayMs = Math.round(monitor.delayMs());
      if (delayMs > maxDelayMs) {
        throw new Error(`event loop delayed ${delayMs} ms (max ${maxDelayMs} ms)`);
      }
      return { delayMs };
    },
  };
}

/** Options of {@link memoryCheck}; give at least one limit. */
export interface MemoryCheckOptions {
  /** Fails when the resident set size exceeds this many bytes. */
  readonly maxRssBytes?: number;
  /**
   * Fails when the used V8 heap exceeds this share (0-1] of the heap limit (`heap_size_limit`,
   * set by `--max-old-space-size`): the measure of how close the process is to an out-of-memory
   * crash, unlike `heapTotal`, which grows and shrinks with the heap.
   */
  readonly maxHeapUsedRatio?: number;
  /** The check's timeout (ms); default the check default. */
  readonly timeoutMs?: number;
}

/**
 * Fails when the process uses more memory than allowed. Resolves
 * `{ rssBytes, heapUsedBytes, heapUsedRatio }`.
 */
export function memoryCheck(options: MemoryCheckOptions): CheckOptions {
  const owner = 'memoryCheck';
  const o = optionsObject<MemoryCheckOptions>(owner, options, [
    'maxRssBytes',
    'maxHeapUsedRatio',
    'timeoutMs',
  ]);
  const maxRss = numberOption(owner, 'maxRssBytes', o.maxRssBytes, Number.POSITIVE_INFINITY, {
    exclusiveMin: true,
  });
  const maxRatio = numberOption(owner, 'maxHeapUsedRatio', o.maxHeapUsedRatio, 1, {
    exclusiveMin: true,
    max: 1,
  });
  if (o.maxRssBytes === undefined && o.maxHeapUsedRatio === undefined) {
    throw new TypeError(`${owner}: give option "maxRssBytes" or "maxHeapUsedRatio" (or both)`);
  }
  return {
    ...timeoutOf(owner, o.timeoutMs),
    check: () => {
      const rssBytes = process.memoryUsage.rss();
      const heap = getHeapStatistics();
      const heapUsedRatio = heap.used_heap_size / heap.heap_size_limit;
      if (rssBytes > maxRss) {
        throw new Error(`rss ${rssBytes} bytes exceeds ${maxRss}`);
      }
      if (o.maxHeapUsedRatio !== undefined && heapUsedRatio > maxRatio) {
        throw new Error(`heap used ${heapUsedRatio.toFixed(3)} of its limit exceeds ${maxRatio}`);
      }
      return {
        rssBytes,
        heapUsedBytes: heap.used_heap_size,
        heapUsedRatio: Math.round(heapUsedRatio * 1_000) / 1_000,
      };
    },
  };
}

/** Options of {@link diskCheck}; give at least one limit. */
export interface DiskCheckOptions {
  /** Fails when fewer bytes than this are available to the process (unprivileged). */
  readonly minFreeBytes?: number;
  /** Fails when more than this share (0-1] of the file system is used, as `df` counts it. */
  readonly maxUsedRatio?: number;
  /** The check's timeout (ms); default the check default. */
  readonly timeoutMs?: number;
}

/**
 * Fails when the file system holding `path` runs out of space (`fs.statfs`). Resolves
 * `{ freeBytes, usedRatio }`; a path that does not exist fails with its error.
 *
 * @example
 * checks: { disk: { ...diskCheck('/var/lib/app', { maxUsedRatio: 0.95 }), critical: false } }
 */
export function diskCheck(path: string, options: DiskCheckOptions): CheckOptions {
  const owner = 'diskCheck';
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `${owner}: option "path" must be a non-empty string, got ${describe(path)}`,
    );
  }
  const o = optionsObject<DiskCheckOptions>(owner, options, [
    'minFreeBytes',
    'maxUsedRatio',
    'timeoutMs',
  ]);
  const minFree = numberOption(owner, 'minFreeBytes', o.minFreeBytes, 0);
  const maxUsed = numberOption(owner, 'maxUsedRatio', o.maxUsedRatio, 1, {
    exclusiveMin: true,
    max: 1,
  });
  if (o.minFreeBytes === undefined && o.maxUsedRatio === undefined) {
    throw new TypeError(`${owner}: give option "minFreeBytes" or "maxUsedRatio" (or both)`);
  }
  return {
    ...timeoutOf(owner, o.timeoutMs),
    check: async () => {
      const s = await statfs(path);
      const freeBytes = s.bavail * s.bsize;
      // Like df: the share of the space available to users that is used (root's reserve excluded).
      const used = s.blocks - s.bfree;
      const usable = used + s.bavail;
      const usedRatio = usable > 0 ? used / usable : 0;
      if (freeBytes < minFree) {
        throw new Error(`${freeBytes} bytes free, below ${minFree}`);
      }
      if (usedRatio > maxUsed) {
        throw new Error(`${(usedRatio * 100).toFixed(1)} % used, above ${maxUsed * 100} %`);
      }
      return { freeBytes, usedRatio: Math.round(usedRatio * 1_000) / 1_000 };
    },
  };
}
