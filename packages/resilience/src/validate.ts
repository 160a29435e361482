/**
 * Construction-time option checks shared by the nines packages (`@nines/resilience/options`). Every
 * invalid option throws a TypeError that names the entry point and the option, so a typo fails at
 * start-up instead of during an incident.
 */

/** Names a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Bounds of a numeric option. */
export interface NumberRule {
  /** Smallest allowed value (inclusive unless `exclusiveMin`). Default 0. */
  readonly min?: number;
  readonly exclusiveMin?: boolean;
  readonly max?: number;
  readonly integer?: boolean;
  /** Allow `Infinity` (for "no limit" or "off"). */
  readonly infinite?: boolean;
}

/** Validates a numeric option, returning `fallback` when it is `undefined`. */
export function numberOption(
  owner: string,
  name: string,
  value: unknown,
  fallback: number,
  rule: NumberRule = {},
): number {
  if (value === undefined) return fallback;
  const min = rule.min ?? 0;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${owner}: option "${name}" must be a number, got ${describe(value)}`);
  }
  if (value === Number.POSITIVE_INFINITY && rule.infinite) return value;
  if (!Number.isFinite(value)) {
    throw new TypeError(`${owner}: option "${name}" must be finite, got ${value}`);
  }
  if (rule.integer && !Number.isInteger(value)) {
    throw new TypeError(`${owner}: option "${name}" must be an integer, got ${value}`);
  }
  if (rule.exclusiveMin ? value <= min : value < min) {
    throw new TypeError(
      `${owner}: option "${name}" must be ${rule.exclusiveMin ? '>' : '>='} ${min}, got ${value}`,
    );
  }
  if (rule.max !== undefined && value > rule.max) {
    throw new TypeError(`${owner}: option "${name}" must be <= ${rule.max}, got ${value}`);
  }
  return value;
}

/** Validates an option that must be one of a few strings. */
export function enumOption<T extends string>(
  owner: string,
  name: string,
  value: unknown,
  fallback: T,
  allowed: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new TypeError(
      `${owner}: option "${name}" must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

/** Validates an optional function option. */
export function functionOption<F>(owner: string, name: string, value: unknown, fallback: F): F {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    throw new TypeError(`${owner}: option "${name}" must be a function, got ${describe(value)}`);
  }
  return value as F;
}

/** Validates an optional boolean option. */
export function booleanOption(
  owner: string,
  name: string,
  value: unknown,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${owner}: option "${name}" must be a boolean, got ${describe(value)}`);
  }
  return value;
}

/**
 * Rejects an options argument that is not a plain object, and unknown keys (a misspelt option
 * would otherwise be ignored silently). `name` is the option's path for nested objects.
 */
export function optionsObject<O extends object>(
  owner: string,
  value: unknown,
  known: readonly string[],
  name?: string,
): Partial<O> {
  if (value === undefined) return {};
  const what = name === undefined ? 'options' : `option "${name}"`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${owner}: ${what} must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const full = name === undefined ? key : `${name}.${key}`;
      throw new TypeError(`${owner}: unknown option "${full}" (known: ${known.join(', ')})`);
    }
  }
  return value as Partial<O>;
}

/** Validates an optional clock option (`now`, `setTimeout`, `clearTimeout`). */
export function clockOption<C>(owner: string, value: unknown, fallback: C): C {
  if (value === undefined) return fallback;
  const c = value as { now?: unknown; setTimeout?: unknown; clearTimeout?: unknown } | null;
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.now !== 'function' ||
    typeof c.setTimeout !== 'function' ||
    typeof c.clearTimeout !== 'function'
  ) {
    throw new TypeError(
      `${owner}: option "clock" must have now(), setTimeout() and clearTimeout(), got ${describe(value)}`,
    );
  }
  return value as C;
}
