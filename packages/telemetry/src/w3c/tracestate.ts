/**
 * The W3C Trace Context `tracestate` header: a strict parser and an immutable `TraceState`.
 *
 * Grammar (the current spec on `main`, which the current official test suite uses):
 *
 *     list   = member *( OWS "," OWS member ), empty and whitespace-only members allowed
 *     member = key "=" value
 *     key    = ( lcalpha / DIGIT ) 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )
 *     value  = 0*255( chr ) nblk-chr        chr = %x20-2B / %x2D-3C / %x3E-7E, nblk-chr = chr - SP
 *
 * Level 1's key grammar (a simple key starting with lcalpha, or `tenant@system` with at most 241 +
 * 14 characters) is a subset of this one: every Level 1 key is accepted, and keys such as `foo@`,
 * `1foo` or `a@b@c` are accepted too.
 */

import { describe } from '@nines/resilience/options';
import type { TraceState } from '@opentelemetry/api';

/** The most list members a tracestate may carry. */
export const TRACESTATE_MAX_MEMBERS = 32;
/** Length `serialize()` keeps the header within (the spec's "propagate at least 512 characters"). */
export const TRACESTATE_MAX_LENGTH = 512;
/** Members longer than this are the first removed when the header must be shortened. */
export const TRACESTATE_LARGE_MEMBER = 128;

const MAX_KEY = 256;
const MAX_VALUE = 256;
const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const EQUALS = 0x3d;

/** Char classes of key characters: 1 = may appear in a key, 2 = may also start one. */
const KEY_CHAR = new Uint8Array(128);
for (let c = 0x61; c <= 0x7a; c++) KEY_CHAR[c] = 3; // a-z
for (let c = 0x30; c <= 0x39; c++) KEY_CHAR[c] = 3; // 0-9
for (const c of '_-*/@') KEY_CHAR[c.charCodeAt(0)] = 1;

function keyClass(c: number): number {
  return c < 128 ? (KEY_CHAR[c] as number) : 0;
}

/**
 * True when `key` is a valid tracestate key under the current grammar.
 *
 * @example
 * isValidTracestateKey('rojo'); // true
 * isValidTracestateKey('tenant@vendor'); // true
 * isValidTracestateKey('Rojo'); // false: uppercase
 */
export function isValidTracestateKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY) return false;
  if ((keyClass(key.charCodeAt(0)) & 2) === 0) return false;
  for (let i = 1; i < key.length; i++) if (keyClass(key.charCodeAt(i)) === 0) return false;
  return true;
}

/**
 * True when `value` is a valid tracestate value: 1 to 256 printable ASCII characters without `,`
 * and `=`, not ending with a space (a leading space is part of the value).
 *
 * @example
 * isValidTracestateValue('00f067aa0ba902b7'); // true
 * isValidTracestateValue('a=b'); // false
 */
export function isValidTracestateValue(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < SPACE || c > 0x7e || c === COMMA || c === EQUALS) return false;
  }
  return value.charCodeAt(value.length - 1) !== SPACE;
}

/**
 * An immutable W3C tracestate. `set` and `unset` return new instances; `serialize` is computed
 * once and cached.
 *
 * A state parsed from a header that is already in canonical form (no optional whitespace, no empty
 * members) keeps the header string and splits it only if a member is read or changed, so the common
 * path (extract, then inject unchanged on each outgoing call) allocates nothing per member.
 */
class W3CTraceState implements TraceState {
  /** The canonical header, while `keys`/`values` have not been built from it. */
  private raw: string | undefined;
  private keys: string[] | undefined;
  private values: string[] | undefined;
  private serialized: string | undefined;

  constructor(raw: string | undefined, keys: string[] | undefined, values: string[] | undefined) {
    this.raw = raw;
    this.keys = keys;
    this.values = values;
    this.serialized = undefined;
  }

  /** The value of `key`, or undefined. */
  get(key: string): string | undefined {
    const keys = this.ownKeys();
    const i = keys.indexOf(key);
    return i < 0 ? undefined : this.values?.[i];
  }

  /**
   * A new state with `key` set to `value` as the left-most member (an existing `key` moves to the
   * left, the order of the others is kept), dropping right-most members beyond 32. An invalid key
   * or value returns this state unchanged: a vendor's bad entry must not break propagation.
   */
  set(key: string, value: string): TraceState {
    if (!isValidTracestateKey(key) || !isValidTracestateValue(value)) return this;
    const keys = this.ownKeys();
    const values = this.values as string[];
    if (keys[0] === key && values[0] === value) return this;
    const nextKeys = [key];
    const nextValues = [value];
    for (let i = 0; i < keys.length && nextKeys.length < TRACESTATE_MAX_MEMBERS; i++) {
      if (keys[i] === key) continue;
      nextKeys.push(keys[i] as string);
      nextValues.push(values[i] as string);
    }
    return new W3CTraceState(undefined, nextKeys, nextValues);
  }

  /** A new state without `key` (this state when `key` is absent). */
  unset(key: string): TraceState {
    const keys = this.ownKeys();
    const i = keys.indexOf(key);
    if (i < 0) return this;
    const nextKeys = keys.slice();
    const nextValues = (this.values as string[]).slice();
    nextKeys.splice(i, 1);
    nextValues.splice(i, 1);
    return nextKeys.length === 0 ? EMPTY : new W3CTraceState(undefined, nextKeys, nextValues);
  }

  /**
   * The header value: `key=value` members joined by `,`, at most 512 characters. When the members
   * do not fit, whole members are removed (never cut): first members longer than 128 characters,
   * right-most first, then members from the right, each step only while the header still does not
   * fit, so as little as possible is lost.
   */
  serialize(): string {
    if (this.serialized !== undefined) return this.serialized;
    const raw = this.raw;
    let out: string;
    if (raw !== undefined && raw.length <= TRACESTATE_MAX_LENGTH) out = raw;
    else out = serializeMembers(this.ownKeys(), this.values as string[]);
    this.serialized = out;
    return out;
  }

  /** Builds `keys`/`values` from the canonical header on first need. */
  private ownKeys(): string[] {
    if (this.keys !== undefined) return this.keys;
    const keys: string[] = [];
    const values: string[] = [];
    const raw = this.raw as string;
    // Canonical form: members are exactly `key=value` separated by single commas, and neither keys
    // nor values contain `,` or `=`.
    let start = 0;
    while (start < raw.length) {
      let comma = raw.indexOf(',', start);
      if (comma < 0) comma = raw.length;
      const eq = raw.indexOf('=', start);
      keys.push(raw.slice(start, eq));
      values.push(raw.slice(eq + 1, comma));
      start = comma + 1;
    }
    this.keys = keys;
    this.values = values;
    return keys;
  }
}

const EMPTY = new W3CTraceState('', [], []);

function serializeMembers(keys: readonly string[], values: readonly string[]): string {
  const n = keys.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += memberLength(keys, values, i);
  let count = n;
  if (fits(sum, count)) return join(keys, values, undefined);
  const dropped = new Uint8Array(n);
  for (let i = n - 1; i >= 0 && !fits(sum, count); i--) {
    const len = memberLength(keys, values, i);
    if (len > TRACESTATE_LARGE_MEMBER) {
      dropped[i] = 1;
      sum -= len;
      count--;
    }
  }
  for (let i = n - 1; i >= 0 && !fits(sum, count); i--) {
    if (dropped[i] === 1) continue;
    dropped[i] = 1;
    sum -= memberLength(keys, values, i);
    count--;
  }
  return join(keys, values, dropped);
}

/** Whether `count` members of `sum` characters in all, plus their commas, fit the limit. */
function fits(sum: number, count: number): boolean {
  return count === 0 || sum + count - 1 <= TRACESTATE_MAX_LENGTH;
}

function memberLength(keys: readonly string[], values: readonly string[], i: number): number {
  return (keys[i] as string).length + 1 + (values[i] as string).length;
}

function join(keys: readonly string[], values: readonly string[], dropped?: Uint8Array): string {
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    if (dropped !== undefined && dropped[i] === 1) continue;
    out += out.length === 0 ? `${keys[i]}=${values[i]}` : `,${keys[i]}=${values[i]}`;
  }
  return out;
}

/**
 * Scratch space for one parse: per kept member the key start, the `=` offset, the value end and a
 * hash of the key (to find repeated keys without building key strings). Parsing is synchronous, so
 * one buffer serves every call.
 */
const SLOT = 4;
const scratch = new Int32Array(TRACESTATE_MAX_MEMBERS * SLOT);

/**
 * Parses `tracestate` header values into a `TraceState`, or returns null when the header must be
 * discarded. Several headers (an array) are combined with `,` in order; empty and whitespace-only
 * members are allowed, and an empty header gives an empty state.
 *
 * Any invalid member or more than 32 members (repeats counted) discards the WHOLE header (null).
 * The spec allows either dropping single bad members or the whole header; the official test suite
 * at its strict level requires the latter (e.g. `bar=2` must not survive beside a 257-character
 * key), and keeping part of a header some vendor got wrong would forward a state nobody wrote.
 *
 * A repeated key is not invalid in that sense: the left-most member (the latest update, as members
 * are added on the left) is kept and later ones are dropped. The spec lets a vendor discard
 * duplicates it did not generate, and the current suite expects one of them to be kept.
 *
 * Never throws: anything that is not a string or an array of strings gives null.
 *
 * @example
 * parseTracestate('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')?.get('congo'); // 't61rcWkgMzE'
 * parseTracestate(['foo=1', 'foo=2'])?.serialize(); // 'foo=1'
 * parseTracestate('FOO=1,bar=2'); // null: an uppercase key
 */
export function parseTracestate(value: string | readonly string[] | undefined): TraceState | null {
  let s: string;
  if (typeof value === 'string') {
    s = value;
  } else if (Array.isArray(value) && value.length > 0) {
    for (const v of value) if (typeof v !== 'string') return null;
    s = value.length === 1 ? (value[0] as string) : value.join(',');
  } else {
    return null;
  }
  return parseJoined(s);
}

function parseJoined(s: string): W3CTraceState | null {
  const n = s.length;
  /** Members seen, repeats included. */
  let members = 0;
  /** Members kept (in `scratch`). */
  let count = 0;
  // Canonical: the header is exactly what serialize() would write, so it can be kept as is.
  let canonical = true;
  let i = 0;
  for (;;) {
    let j = i;
    while (j < n && isOws(s.charCodeAt(j))) j++;
    if (j !== i) canonical = false;
    if (j === n) {
      // An empty last member: after a comma, or a whitespace-only header ('' itself is canonical).
      if (n > 0) canonical = false;
      break;
    }
    if (s.charCodeAt(j) === COMMA) {
      canonical = false;
      i = j + 1;
      continue;
    }

    // Key: starts with lcalpha or DIGIT, at most 256 characters, then `=`.
    const keyStart = j;
    if ((keyClass(s.charCodeAt(j)) & 2) === 0) return null;
    let hash = s.charCodeAt(j);
    j++;
    while (j < n && keyClass(s.charCodeAt(j)) !== 0) {
      hash = (Math.imul(hash, 31) + s.charCodeAt(j)) | 0;
      j++;
    }
    const eq = j;
    if (eq - keyStart > MAX_KEY || j === n || s.charCodeAt(j) !== EQUALS) return null;

    // Value: printable ASCII but `,` and `=`; trailing spaces and tabs are OWS, a tab inside is not.
    let lastSolid = -1;
    let sawTab = false;
    for (j = eq + 1; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c === COMMA) break;
      if (c === TAB) {
        sawTab = true;
      } else if (c < SPACE || c > 0x7e || c === EQUALS) {
        return null;
      } else if (c !== SPACE) {
        if (sawTab) return null;
        lastSolid = j;
      }
    }
    if (lastSolid < 0) return null;
    const valueEnd = lastSolid + 1;
    if (valueEnd - eq - 1 > MAX_VALUE) return null;
    if (valueEnd !== j) canonical = false;

    // The limit is on list members in the header, so a repeated key counts too.
    if (++members > TRACESTATE_MAX_MEMBERS) return null;
    if (isRepeat(s, count, keyStart, eq - keyStart, hash)) {
      canonical = false;
    } else {
      const at = count * SLOT;
      scratch[at] = keyStart;
      scratch[at + 1] = eq;
      scratch[at + 2] = valueEnd;
      scratch[at + 3] = hash;
      count++;
    }

    if (j === n) break;
    i = j + 1;
  }

  if (count === 0) return EMPTY;
  if (canonical) return new W3CTraceState(s, undefined, undefined);
  const keys = new Array<string>(count);
  const values = new Array<string>(count);
  for (let m = 0; m < count; m++) {
    const at = m * SLOT;
    const eq = scratch[at + 1] as number;
    keys[m] = s.slice(scratch[at] as number, eq);
    values[m] = s.slice(eq + 1, scratch[at + 2] as number);
  }
  return new W3CTraceState(undefined, keys, values);
}

/** Whether the key at `keyStart` is one of the `count` keys already kept. */
function isRepeat(s: string, count: number, keyStart: number, keyLength: number, hash: number) {
  for (let m = 0; m < count; m++) {
    const at = m * SLOT;
    if (scratch[at + 3] !== hash) continue;
    const otherStart = scratch[at] as number;
    if ((scratch[at + 1] as number) - otherStart !== keyLength) continue;
    if (sameChars(s, otherStart, keyStart, keyLength)) return true;
  }
  return false;
}

function sameChars(s: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (s.charCodeAt(a + k) !== s.charCodeAt(b + k)) return false;
  return true;
}

function isOws(c: number): boolean {
  return c === SPACE || c === TAB;
}

/**
 * A new `TraceState` holding `entries` in order (the first is the left-most member).
 *
 * @throws TypeError naming the entry when a key or value is invalid, a key repeats, or there are
 * more than 32 entries.
 *
 * @example
 * createTraceState([['rojo', '00f067aa0ba902b7']]).serialize(); // 'rojo=00f067aa0ba902b7'
 */
export function createTraceState(entries: Iterable<readonly [string, string]> = []): TraceState {
  if (entries === null || typeof entries !== 'object' || !(Symbol.iterator in entries)) {
    throw new TypeError(
      `createTraceState: entries must be an iterable of [key, value] pairs, got ${describe(entries)}`,
    );
  }
  const keys: string[] = [];
  const values: string[] = [];
  for (const entry of entries) {
    const index = keys.length;
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new TypeError(`createTraceState: entry ${index} must be a [key, value] pair`);
    }
    const [key, value] = entry as readonly unknown[];
    if (!isValidTracestateKey(key)) {
      throw new TypeError(`createTraceState: entry ${index} has an invalid key ${describe(key)}`);
    }
    if (!isValidTracestateValue(value)) {
      throw new TypeError(
        `createTraceState: entry ${index} (key "${key}") has an invalid value ${describe(value)}`,
      );
    }
    if (keys.includes(key)) {
      throw new TypeError(`createTraceState: key "${key}" appears more than once`);
    }
    if (index === TRACESTATE_MAX_MEMBERS) {
      throw new TypeError(
        `createTraceState: at most ${TRACESTATE_MAX_MEMBERS} entries are allowed, got more`,
      );
    }
    keys.push(key);
    values.push(value);
  }
  return keys.length === 0 ? EMPTY : new W3CTraceState(undefined, keys, values);
}

/** @internal True for the shared empty state (the propagator does not attach it to a context). */
export function isEmptyTraceState(state: TraceState): boolean {
  return state === EMPTY;
}
