/**
 * The W3C Trace Context `traceparent` header: parsing and formatting.
 *
 * The parser is a single char-code scan over fixed offsets (no regex, so no backtracking on hostile
 * input) and allocates only the result: it runs for every incoming request.
 */

import { describe } from '@nines/resilience/options';

/** A parsed `traceparent` header. IDs are lowercase hex; `flags` is the whole flags byte as sent. */
export interface Traceparent {
  /** The version byte (0 for `00`; higher versions are accepted for forward compatibility). */
  readonly version: number;
  /** 32 lowercase hex characters, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex characters, not all zero: the caller's span id. */
  readonly parentId: string;
  /** The flags byte, unmasked. Test bits with {@link TRACE_FLAG_SAMPLED} / {@link TRACE_FLAG_RANDOM}. */
  readonly flags: number;
}

/** Flag bit 0: the caller may have recorded the trace. */
export const TRACE_FLAG_SAMPLED = 0x01;
/** Flag bit 1 (Trace Context Level 2): at least the right-most 7 bytes of the trace id are random. */
export const TRACE_FLAG_RANDOM = 0x02;
/** The flag bits this implementation knows; all others are sent as zero, as the spec requires. */
const KNOWN_FLAGS = TRACE_FLAG_SAMPLED | TRACE_FLAG_RANDOM;

const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;
/** Length of a version-00 header, and the minimum length of any version. */
const V00_LENGTH = 55;

/** Value of a lowercase hex digit by char code, -1 for anything else (uppercase included). */
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x61 + c] = 10 + c;

function hexAt(s: string, i: number): number {
  // charCodeAt past the end is NaN, and NaN < 128 is false.
  const c = s.charCodeAt(i);
  return c < 128 ? (HEX[c] as number) : -1;
}

/** True when s[from, from+length) is lowercase hex and not all zero. */
function isIdAt(s: string, from: number, length: number): boolean {
  let nonZero = false;
  for (let i = from, end = from + length; i < end; i++) {
    const h = hexAt(s, i);
    if (h < 0) return false;
    if (h !== 0) nonZero = true;
  }
  return nonZero;
}

/**
 * True when `id` is a valid trace id on the wire: 32 lowercase hex characters, not all zero.
 * (The OTel API's check also accepts uppercase; the W3C header does not.)
 *
 * @example
 * isValidTraceId('4bf92f3577b34da6a3ce929d0e0e4736'); // true
 * isValidTraceId('4BF92F3577B34DA6A3CE929D0E0E4736'); // false
 */
export function isValidTraceId(id: unknown): id is string {
  return typeof id === 'string' && id.length === 32 && isIdAt(id, 0, 32);
}

/**
 * True when `id` is a valid span (parent) id on the wire: 16 lowercase hex characters, not all zero.
 *
 * @example
 * isValidSpanId('00f067aa0ba902b7'); // true
 */
export function isValidSpanId(id: unknown): id is string {
  return typeof id === 'string' && id.length === 16 && isIdAt(id, 0, 16);
}

/**
 * Parses a `traceparent` header value, or returns null when it must be ignored (and the trace
 * restarted). Follows the spec to the letter:
 * - lowercase hex only; exact field lengths; trace-id and parent-id not all zero;
 * - version `ff` is invalid; version `00` allows nothing after the flags;
 * - a higher version is parsed for forward compatibility when it is at least 55 characters and
 *   the flags are followed by the end or by `-` (the unknown tail is ignored);
 * - optional whitespace (space, tab) at both ends is ignored;
 * - an array with more than one value (a duplicated header) is invalid: which one would be right?
 *
 * Never throws: anything that is not a string (or a one-string array) gives null.
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
 * // { version: 0, traceId: '4bf9…4736', parentId: '00f0…02b7', flags: 1 }
 */
export function parseTraceparent(
  value: string | readonly string[] | undefined,
): Traceparent | null {
  let s: unknown = value;
  if (typeof s !== 'string') {
    if (!Array.isArray(s) || s.length !== 1) return null;
    s = s[0];
    if (typeof s !== 'string') return null;
  }
  const v = s as string;
  let start = 0;
  let end = v.length;
  while (start < end && isOws(v.charCodeAt(start))) start++;
  while (end > start && isOws(v.charCodeAt(end - 1))) end--;
  const length = end - start;
  if (length < V00_LENGTH) return null;

  const v0 = hexAt(v, start);
  const v1 = hexAt(v, start + 1);
  if (v0 < 0 || v1 < 0 || v.charCodeAt(start + 2) !== DASH) return null;
  const version = v0 * 16 + v1;
  if (version === 0xff) return null;
  if (version === 0) {
    if (length !== V00_LENGTH) return null;
  } else if (length > V00_LENGTH && v.charCodeAt(start + V00_LENGTH) !== DASH) {
    return null;
  }

  if (
    !isIdAt(v, start + 3, 32) ||
    v.charCodeAt(start + 35) !== DASH ||
    !isIdAt(v, start + 36, 16) ||
    v.charCodeAt(start + 52) !== DASH
  ) {
    return null;
  }
  const f0 = hexAt(v, start + 53);
  const f1 = hexAt(v, start + 54);
  if (f0 < 0 || f1 < 0) return null;
  return {
    version,
    traceId: v.slice(start + 3, start + 35),
    parentId: v.slice(start + 36, start + 52),
    flags: f0 * 16 + f1,
  };
}

function isOws(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** `-00` … `-03`: the flags suffix for each combination of known bits, built once. */
const FLAGS_SUFFIX: readonly string[] = ['-00', '-01', '-02', '-03'];

/**
 * Builds a version-00 header from IDs already known to be valid lowercase hex.
 *
 * @internal Used by the propagator, which has validated the IDs; not part of the public API.
 */
export function traceparentOf(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}${FLAGS_SUFFIX[flags & KNOWN_FLAGS]}`;
}

/**
 * Formats a `traceparent` header. Always version `00` (the highest this implementation knows, as
 * the spec asks when re-emitting a higher version), flags as two lowercase hex digits, and only the
 * known flag bits (sampled 0x01, random 0x02) kept: the spec says unknown bits are sent as zero.
 *
 * @throws TypeError when an id is not lowercase hex of the right length or is all zero, or when
 * `flags` is not an integer from 0 to 255.
 *
 * @example
 * formatTraceparent('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 0x03);
 * // '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03'
 */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  if (!isValidTraceId(traceId)) {
    throw new TypeError(
      `formatTraceparent: traceId must be 32 lowercase hex characters, not all zero, got ${describe(traceId)}`,
    );
  }
  if (!isValidSpanId(spanId)) {
    throw new TypeError(
      `formatTraceparent: spanId must be 16 lowercase hex characters, not all zero, got ${describe(spanId)}`,
    );
  }
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xff) {
    throw new TypeError(
      `formatTraceparent: flags must be an integer from 0 to 255, got ${describe(flags)}`,
    );
  }
  return traceparentOf(traceId, spanId, flags);
}
