/**
 * HTTP methods the semantic conventions know (RFC 9110, PATCH and QUERY). Anything else is
 * reported as `_OTHER`, so a client cannot create one span name or metric series per made-up
 * method.
 */
const KNOWN = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/** A normalised method and, when it differs, the original one. */
export interface NormalizedMethod {
  readonly method: string;
  readonly original: string | undefined;
}

const CACHE = new Map<string, NormalizedMethod>();
const OTHER: NormalizedMethod = { method: '_OTHER', original: undefined };

/** Maps a request method to the semantic-convention value (`GET`, ..., or `_OTHER`). */
export function normalizeMethod(raw: string | undefined): NormalizedMethod {
  if (raw === undefined) return OTHER;
  const hit = CACHE.get(raw);
  if (hit !== undefined) return hit;
  const upper = raw.toUpperCase();
  const n: NormalizedMethod = KNOWN.has(upper)
    ? { method: upper, original: upper === raw ? undefined : raw }
    : { method: '_OTHER', original: raw };
  // Only known spellings are cached: unknown methods could otherwise grow the map without bound.
  if (KNOWN.has(upper) && CACHE.size < 256) CACHE.set(raw, n);
  return n;
}
