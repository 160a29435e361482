import { booleanOption, describe, optionsObject } from '@nines/resilience/options';
import { pino } from 'pino';

/** Headers that carry credentials. */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'] as const;

/**
 * Field names whose values are credentials, redacted at the top level of a line and one level
 * down (`{ user: { password } }`).
 */
export const SECRET_FIELDS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'api_key',
  'apiKey',
  'client_secret',
]);

function headerPath(prefix: string, header: string): string {
  const key = header.includes('-') ? `["${header}"]` : header;
  if (prefix === '') return key;
  return key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`;
}

/**
 * The literal pino redaction paths on by default: the credential headers in `req.headers`,
 * `res.headers`, `headers` and at the top level (lower case, as Node delivers them, and the
 * capitalised spelling people write in outgoing requests), and the {@link SECRET_FIELDS} at the
 * top level. The one-level-down fields are not pino paths: see {@link createLogger}.
 *
 * @example
 * DEFAULT_REDACT_PATHS.includes('req.headers.authorization'); // true
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze([
  ...['req.headers', 'res.headers', 'headers', ''].flatMap((prefix) =>
    SECRET_HEADERS.flatMap((h) => [
      headerPath(prefix, h),
      headerPath(
        prefix,
        h.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()),
      ),
    ]),
  ),
  ...SECRET_FIELDS,
]);

/** The `redact` option of {@link createLogger}. */
export interface RedactOptions {
  /**
   * More pino redaction paths (dot and bracket notation, `*` wildcards), added to the defaults.
   * Paths are case-sensitive and must not come from user input. A wildcard in first position
   * (`*.x`) makes pino run its redactor on every top-level key of every line: several times
   * slower, so prefer literal paths.
   */
  paths?: readonly string[];
  /** Keep the default paths and fields (default true). */
  defaults?: boolean;
  /** Replacement value; default `'[Redacted]'`. */
  censor?: string;
  /** Remove redacted keys instead of replacing their values (default false). */
  remove?: boolean;
}

/** What {@link createLogger} gives pino for the `redact` option. @internal */
export interface Redaction {
  /** pino's `redact` option, or undefined when no path is redacted. */
  readonly pino: { paths: string[]; censor?: string; remove?: boolean } | undefined;
  /** Redacts {@link SECRET_FIELDS} one level down, or undefined when the defaults are off. */
  readonly nested: ((obj: Record<string, unknown>) => Record<string, unknown>) | undefined;
}

const REDACT_KNOWN = ['paths', 'defaults', 'censor', 'remove'] as const;
const CENSOR = '[Redacted]';
const NULL_SINK = { write(): void {} };

/** Validates the `redact` option and turns it into pino options. @internal */
export function redaction(owner: string, value: unknown): Redaction {
  if (value === false) return { pino: undefined, nested: undefined };
  if (value === undefined || value === true) {
    return { pino: { paths: [...DEFAULT_REDACT_PATHS] }, nested: nestedRedactor(CENSOR, false) };
  }
  const o = optionsObject<RedactOptions>(owner, value, REDACT_KNOWN, 'redact');
  const defaults = booleanOption(owner, 'redact.defaults', o.defaults, true);
  const remove = booleanOption(owner, 'redact.remove', o.remove, false);
  if (o.censor !== undefined && typeof o.censor !== 'string') {
    throw new TypeError(
      `${owner}: option "redact.censor" must be a string, got ${describe(o.censor)}`,
    );
  }
  const censor = o.censor ?? CENSOR;
  const extra = redactPaths(owner, o.paths);
  const paths = defaults ? [...DEFAULT_REDACT_PATHS, ...extra] : extra;
  return {
    pino: paths.length === 0 ? undefined : remove ? { paths, remove } : { paths, censor },
    nested: defaults ? nestedRedactor(censor, remove) : undefined,
  };
}

function redactPaths(owner: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${owner}: option "redact.paths" must be an array of strings, got ${describe(value)}`,
    );
  }
  const paths: string[] = [];
  for (const [i, path] of value.entries()) {
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(
        `${owner}: option "redact.paths[${i}]" must be a non-empty string, got ${describe(path)}`,
      );
    }
    // pino checks the syntax when a logger is made; check each path alone to name the bad one.
    try {
      pino({ redact: [path] }, NULL_SINK);
    } catch (err) {
      throw new TypeError(
        `${owner}: option "redact.paths[${i}]" is not a valid redaction path: ${JSON.stringify(path)} (${(err as Error).message})`,
      );
    }
    paths.push(path);
  }
  return paths;
}

const SECRET_SET: ReadonlySet<string> = new Set(SECRET_FIELDS);
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Builds the one-level-down redactor, run by pino's `formatters.log` on every line. pino's own
 * way to say "any parent" is a leading `*` wildcard, which measured about 8x slower per line
 * (some 12 us against 1.5 us for an access line) because it runs the redactor on every top-level
 * key. This walks the keys once, looks only inside plain objects (not Errors, requests or class
 * instances, whose serializers run later), and copies only when it finds something, so the
 * caller's object is never changed.
 */
function nestedRedactor(
  censor: string,
  remove: boolean,
): (obj: Record<string, unknown>) => Record<string, unknown> {
  const objectProto = Object.prototype;
  return function redactNested(obj) {
    let out = obj;
    for (const key in obj) {
      const value = obj[key];
      if (value === null || typeof value !== 'object') continue;
      const proto = Object.getPrototypeOf(value);
      if (proto !== objectProto && proto !== null) continue;
      const inner = value as Record<string, unknown>;
      let copy: Record<string, unknown> | undefined;
      for (const k in inner) {
        if (!SECRET_SET.has(k) || !hasOwn.call(inner, k)) continue;
        copy ??= { ...inner };
        if (remove) delete copy[k];
        else copy[k] = censor;
      }
      if (copy === undefined) continue;
      if (out === obj) out = { ...obj };
      out[key] = copy;
    }
    return out;
  };
}
