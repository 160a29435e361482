import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CheckResult } from './checks.js';
import type { ProbeOptions } from './options.js';

/**
 * The `status` of a probe body:
 * - `'ok'`: passing;
 * - `'degraded'`: readiness passes (200) but a non-critical check, a degraded critical check or
 *   an open breaker failed;
 * - `'fail'`: failing (503): a critical check failed (readiness) or the event loop is blocked
 *   (liveness);
 * - `'starting'`: `started()` has not been called yet (startup and readiness answer 503);
 * - `'shutting_down'`: a graceful shutdown has begun (readiness answers 503).
 */
export type ProbeStatus = 'ok' | 'degraded' | 'fail' | 'starting' | 'shutting_down';

/** The JSON body of a probe response. */
export interface ProbeBody {
  readonly status: ProbeStatus;
  /** Readiness only, where detail is allowed: each check's and breaker's result, by name. */
  readonly checks?: Readonly<Record<string, CheckResult>>;
  /** Liveness only, where detail is allowed: the worst event-loop delay in the window (ms). */
  readonly eventLoopDelayMs?: number;
}

/** A probe's answer: the HTTP status code and the body (with every detail). */
export interface ProbeResult {
  /** 200 when the probe passes (`'ok'`, `'degraded'`), 503 otherwise. */
  readonly statusCode: 200 | 503;
  readonly body: ProbeBody;
}

/** One input to the readiness decision: a check's or a breaker's outcome and how much it matters. */
export interface ReadinessInput {
  readonly ok: boolean;
  readonly critical: boolean;
  /** Resolved failure handling: `'fail'` takes the instance out of rotation, `'degrade'` does not. */
  readonly onFailure: 'fail' | 'degrade';
}

/**
 * The readiness decision. Shutting down wins over everything (the load balancer must stop
 * sending at once, whatever the checks say), then not started; then any failed critical check
 * whose handling is `'fail'` fails; any other failure degrades; otherwise ok.
 */
export function readinessStatus(
  started: boolean,
  shuttingDown: boolean,
  inputs: readonly ReadinessInput[],
): ProbeStatus {
  if (shuttingDown) return 'shutting_down';
  if (!started) return 'starting';
  let degraded = false;
  for (const input of inputs) {
    if (input.ok) continue;
    if (input.critical && input.onFailure === 'fail') return 'fail';
    degraded = true;
  }
  return degraded ? 'degraded' : 'ok';
}

/**
 * The liveness decision: alive unless the event loop was blocked longer than allowed. It never
 * looks at dependencies, startup or shutdown: restarting a process cannot fix a dependency, and a
 * process that is draining must not be killed before it has finished.
 */
export function livenessStatus(eventLoopDelayMs: number, maxEventLoopDelayMs: number): ProbeStatus {
  return eventLoopDelayMs > maxEventLoopDelayMs ? 'fail' : 'ok';
}

/** The startup decision: passing once `started()` has been called. */
export function startupStatus(started: boolean): ProbeStatus {
  return started ? 'ok' : 'starting';
}

/** The HTTP status code of a probe status. */
export function statusCodeOf(status: ProbeStatus): 200 | 503 {
  return status === 'ok' || status === 'degraded' ? 200 : 503;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** True for the loopback addresses a local request comes from (IPv4, IPv6, IPv4-mapped). */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.has(address);
}

/** Decides per request whether a probe body may include detail. */
export type DetailGate = (req: IncomingMessage) => boolean;

/** @internal Turns `ProbeOptions.detail` into a gate that never throws. */
export function detailGate(detail: NonNullable<ProbeOptions['detail']>): DetailGate {
  if (detail === 'always') return () => true;
  if (detail === 'never') return () => false;
  if (detail === 'loopback') return (req) => isLoopback(req.socket?.remoteAddress);
  return (req) => {
    try {
      return detail(req) === true;
    } catch {
      // A predicate that throws must not break the probe; showing nothing is the safe answer.
      return false;
    }
  };
}

/** The body without its detail fields. */
export function publicBody(body: ProbeBody): ProbeBody {
  return body.checks === undefined && body.eventLoopDelayMs === undefined
    ? body
    : { status: body.status };
}

/**
 * The request's path without its query string, or `undefined` for a method probes do not answer
 * (anything but GET and HEAD goes to the application).
 */
export function probePath(req: IncomingMessage): string | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Writes a probe answer as JSON; HEAD gets the headers only. Never throws. */
export function sendProbe(
  req: IncomingMessage,
  res: ServerResponse,
  statusCode: number,
  body: ProbeBody,
): void {
  try {
    if (res.headersSent || res.writableEnded) return;
    const json = JSON.stringify(body);
    res.writeHead(statusCode, {
      'content-type': 'application/json; charset=utf-8',
      // A cached probe answer is a wrong probe answer.
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(json),
    });
    res.end(req.method === 'HEAD' ? undefined : json);
  } catch {
    // The client went away or the response was already used: nothing useful left to do.
    res.destroy();
  }
}
