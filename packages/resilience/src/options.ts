import type { Clock } from './clock.js';
import { describe } from './policy.js';

/**
 * Construction-time option checks. Every invalid option throws a TypeError that names the policy
 * and the option, so a typo fails at start-up instead of at the first incident.
 *
 * @internal
 */
export interface NumberRule {
  /** Smallest allowed value (inclusive unless `exclusiveMin`). Default 0. */
  min?: number;
  exclusiveMin?: boolean;
  max?: number;
  integer?: boolean;
  /** Allow `Infinity` (for "no limit"). */
  infinite?: boolean;
}

/** @internal Validates a numeric option, returning `fallback` when it is `undefined`. */
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

/** @internal Validates an optional function option. */
export function functionOption<F>(owner: string, name: string, value: unknown, fallback: F): F {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    throw new TypeError(`${owner}: option "${name}" must be a function, got ${describe(value)}`);
  }
  return value as F;
}

/** @internal Validates an optional clock option. */
export function clockOption(owner: string, value: unknown, fallback: Clock): Clock {
  if (value === undefined) return fallback;
  const c = value as Partial<Clock> | null;
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
  return c as Clock;
}

/** @internal Rejects an options argument that is not a plain object, and unknown keys. */
export function optionsObject<O extends object>(
  owner: string,
  value: unknown,
  known: readonly string[],
): Partial<O> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${owner}: options must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${owner}: unknown option "${key}" (known: ${known.join(', ')})`);
    }
  }
  return value as Partial<O>;
}
