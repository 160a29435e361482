/** RFC 9110 delay-seconds: digits only (no sign, no fraction). */
const DELAY_SECONDS = /^\s*(\d+)\s*$/;
/** All three HTTP-date forms (IMF-fixdate, RFC 850, asctime) start with a day name. */
const HTTP_DATE = /^\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s/i;
/** HTTP dates are always GMT; asctime carries no zone, which Date.parse would read as local time. */
const HAS_ZONE = /\b(?:gmt|utc|ut)\b|[+-]\d{4}\s*$/i;

/**
 * Parses a `Retry-After` header value into a delay in ms: delta-seconds (`"120"`) or an HTTP-date
 * (`"Wed, 21 Oct 2015 07:28:00 GMT"`), the latter relative to `nowMs` read as wall-clock time
 * (milliseconds since the epoch; a date in the past gives 0). Returns `undefined` for anything
 * else, including negative or fractional seconds.
 *
 * @example
 * parseRetryAfter('3', Date.now()); // 3000
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const seconds = DELAY_SECONDS.exec(value);
  if (seconds !== null) return Number(seconds[1]) * 1000;
  if (!HTTP_DATE.test(value)) return undefined;
  const at = Date.parse(HAS_ZONE.test(value) ? value : `${value} GMT`);
  if (!Number.isFinite(at)) return undefined;
  return at > nowMs ? at - nowMs : 0;
}

interface HeadersLike {
  get?: (name: string) => unknown;
  [name: string]: unknown;
}

function headerValue(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const h = headers as HeadersLike;
  let v: unknown;
  if (typeof h.get === 'function') {
    v = h.get('retry-after'); // fetch Headers, a Map
  } else {
    v = h['retry-after'];
    if (v === undefined) {
      // A plain map written by hand may use any case; Node's incoming headers are lower case.
      for (const key of Object.keys(h)) {
        if (key.toLowerCase() === 'retry-after') {
          v = h[key];
          break;
        }
      }
    }
  }
  if (Array.isArray(v)) v = v[0];
  if (typeof v === 'number') v = String(v);
  return typeof v === 'string' ? v : undefined;
}

function fromResponse(value: object, nowMs: number): number | undefined {
  const r = value as { status?: unknown; headers?: unknown };
  if (r.status !== 429 && r.status !== 503) return undefined;
  return parseRetryAfter(headerValue(r.headers), nowMs);
}

/**
 * The delay a server asked for, in ms, read from a failed attempt's outcome, or `undefined`:
 * - an error (or any object) with a numeric `retryAfterMs` >= 0 (may be `Infinity`);
 * - an HTTP-like response with `status` 429 or 503 whose `headers` (a fetch `Headers`, a `Map`, or
 *   a plain object as in Node's `IncomingMessage.headers`) carry `Retry-After`;
 * - an error whose `response` property is such a response (as thrown by axios-like clients).
 *
 * `nowMs` is wall-clock time, used for HTTP-date values.
 */
export function retryAfterOf(outcome: unknown, nowMs: number): number | undefined {
  if (typeof outcome !== 'object' || outcome === null) return undefined;
  const ms = (outcome as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof ms === 'number') return ms >= 0 ? ms : undefined;
  const fromSelf = fromResponse(outcome, nowMs);
  if (fromSelf !== undefined) return fromSelf;
  const response = (outcome as { response?: unknown }).response;
  return typeof response === 'object' && response !== null
    ? fromResponse(response, nowMs)
    : undefined;
}
