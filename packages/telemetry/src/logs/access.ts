import { describe } from '@nines/resilience/options';
import type { Logger } from 'pino';
import { accessLevelOf, writePlainAccessLine } from './fast-line.js';
import { assertLogger } from './stream.js';

/** Level of an access line: what an operator should look at first. */
export type AccessLogLevel = 'error' | 'warn' | 'info';

/** The fields of an access line, before any `extra` fields. */
export interface AccessLine {
  method: string;
  /** The route template (`/orders/:id`), absent when no route matched. */
  route: string | undefined;
  status: number;
  /** Milliseconds, rounded to the microsecond. */
  duration_ms: number;
}

const MESSAGE = 'request completed';

function checkStatus(owner: string, status: unknown): asserts status is number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    throw new TypeError(
      `${owner}: argument "status" must be an HTTP status code (an integer from 100 to 999), got ${describe(status)}`,
    );
  }
}

/**
 * Level of the access line for an HTTP status: `'error'` for 5xx (the service failed), `'warn'`
 * for 4xx (the client did), `'info'` otherwise.
 *
 * @example
 * accessLogLevel(503); // 'error'
 */
export function accessLogLevel(status: number): AccessLogLevel {
  checkStatus('accessLogLevel', status);
  return accessLevelOf(status);
}

/**
 * Writes the one access line of a request, `{ method, route, status, duration_ms, msg: 'request
 * completed' }`, at {@link accessLogLevel}`(status)`; trace and correlation ids come from the
 * active context as on every line. `route` is the route template, which keeps lines groupable;
 * when no route matched pass `undefined` and, if wanted, the path in `extra` (`{ path }`, without
 * the query string, which can carry secrets): `route` is then left out. `extra` fields are added
 * to the line but cannot replace the four above (nor `msg`).
 *
 * Runs per request: one object (the one pino is given), no closure, nothing at all when the level
 * is disabled.
 *
 * @example
 * res.on('finish', () =>
 *   logAccess(logger, req.method, route, res.statusCode, performance.now() - started),
 * );
 */
export function logAccess(
  logger: Logger,
  method: string,
  route: string | undefined,
  status: number,
  durationMs: number,
  extra?: Readonly<Record<string, unknown>>,
): void {
  assertLogger('logAccess', logger);
  checkStatus('logAccess', status);
  if (typeof method !== 'string') {
    throw new TypeError(`logAccess: argument "method" must be a string, got ${describe(method)}`);
  }
  if (route !== undefined && typeof route !== 'string') {
    throw new TypeError(
      `logAccess: argument "route" must be a string or undefined, got ${describe(route)}`,
    );
  }
  if (typeof durationMs !== 'number' || !(durationMs >= 0) || durationMs === Infinity) {
    throw new TypeError(
      `logAccess: argument "durationMs" must be a finite number >= 0, got ${describe(durationMs)}`,
    );
  }
  if (extra !== undefined && (extra === null || typeof extra !== 'object')) {
    throw new TypeError(
      `logAccess: argument "extra" must be an object or undefined, got ${describe(extra)}`,
    );
  }
  const level: AccessLogLevel = accessLevelOf(status);
  if (writePlainAccessLine(logger, level, method, route, status, durationMs, extra)) return;
  if (!logger.isLevelEnabled(level)) return;
  const line: AccessLine & Record<string, unknown> = {
    method,
    route,
    status,
    duration_ms: Math.round(durationMs * 1000) / 1000,
  };
  if (extra !== undefined) {
    for (const key in extra) {
      if (
        key !== 'method' &&
        key !== 'route' &&
        key !== 'status' &&
        key !== 'duration_ms' &&
        key !== 'msg' &&
        Object.hasOwn(extra, key)
      ) {
        line[key] = extra[key];
      }
    }
  }
  if (level === 'info') logger.info(line, MESSAGE);
  else if (level === 'warn') logger.warn(line, MESSAGE);
  else logger.error(line, MESSAGE);
}
