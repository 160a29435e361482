/**
 * Checks and normalises fault inputs. The same messages reach code (as TypeErrors) and the admin
 * endpoint (as 400 bodies), so an operator sees exactly which field is wrong either way.
 */
import { describe, enumOption, numberOption, optionsObject } from '@nines/resilience/options';
import type { FaultKind, LatencyDistribution } from './types.js';

/** The longest time to live: a fault forgotten by a crashed runner dies within a day. */
export const MAX_TTL_MS = 86_400_000;
/** Default time to live: five minutes. */
export const DEFAULT_TTL_MS = 300_000;
/** Largest skew offset either way: 30 days. */
export const MAX_SKEW_MS = 30 * 86_400_000;
/** Longest latency a fault may ask for (one day; longer waits would overflow timers). */
const MAX_LATENCY_MS = 86_400_000;
const MAX_TEXT = 1024;
const TARGET = /^[a-zA-Z0-9._:/-]{1,200}$/;
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;

const KINDS: readonly FaultKind[] = ['latency', 'error', 'block', 'skew'];
const DISTRIBUTIONS: readonly LatencyDistribution[] = ['fixed', 'uniform', 'normal', 'exponential'];
const COMMON = ['kind', 'target', 'probability', 'ttlMs', 'note'];
const KEYS: Record<FaultKind, readonly string[]> = {
  latency: [...COMMON, 'ms', 'jitterMs', 'distribution'],
  error: [...COMMON, 'status', 'message', 'code'],
  block: [...COMMON, 'mode'],
  skew: [...COMMON, 'offsetMs'],
};

interface SpecBase {
  readonly targets: readonly string[];
  readonly probability: number;
  readonly ttlMs: number;
  readonly note: string | undefined;
}

/** A checked fault input with every default filled in. */
export type FaultSpec =
  | (SpecBase & {
      readonly kind: 'latency';
      readonly ms: number;
      readonly jitterMs: number;
      readonly distribution: LatencyDistribution;
    })
  | (SpecBase & {
      readonly kind: 'error';
      readonly status: number | undefined;
      readonly message: string;
      readonly code: string;
    })
  | (SpecBase & { readonly kind: 'block'; readonly mode: 'hang' | 'refuse' })
  | (SpecBase & { readonly kind: 'skew'; readonly offsetMs: number });

/** Checks a target name given to `wrap`, `http`, `fetch` or `clock` (no `'*'`: that is for faults). */
export function targetName(owner: string, value: unknown): string {
  if (typeof value !== 'string' || !TARGET.test(value)) {
    throw new TypeError(
      `${owner}: target must be a name of 1-200 characters [a-zA-Z0-9._:/-], got ${describe(value)}`,
    );
  }
  return value;
}

function targets(owner: string, value: unknown): readonly string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(
      `${owner}: option "target" must be a name or a non-empty array of names, got ${describe(value)}`,
    );
  }
  const out: string[] = [];
  for (const t of list) {
    if (typeof t !== 'string' || (t !== '*' && !TARGET.test(t))) {
      throw new TypeError(
        `${owner}: option "target" must hold '*' or names of 1-200 characters [a-zA-Z0-9._:/-], got ${describe(t)}`,
      );
    }
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** Checks an optional string option. */
export function textOption(
  owner: string,
  name: string,
  value: unknown,
  fallback: string,
  pattern?: RegExp,
): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length > MAX_TEXT || (pattern && !pattern.test(value))) {
    const shape = pattern ? `matching ${pattern}` : `of at most ${MAX_TEXT} characters`;
    throw new TypeError(
      `${owner}: option "${name}" must be a string ${shape}, got ${describe(value)}`,
    );
  }
  return value;
}

/** Checks a time to live (also used by `extend` and the `defaultTtlMs` option). */
export function ttlOption(owner: string, name: string, value: unknown, fallback: number): number {
  return numberOption(owner, name, value, fallback, {
    min: 0,
    exclusiveMin: true,
    max: MAX_TTL_MS,
  });
}

/**
 * Checks a fault input; throws a TypeError naming `owner` and the field at the first problem.
 *
 * @example
 * parseFault('faults.inject', { kind: 'latency', target: 'store', ms: 500 }, 300_000);
 */
export function parseFault(owner: string, input: unknown, defaultTtlMs: number): FaultSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError(`${owner}: the fault must be an object, got ${describe(input)}`);
  }
  const raw = input as Record<string, unknown>;
  if (raw.kind === undefined) {
    throw new TypeError(
      `${owner}: option "kind" is required (one of ${KINDS.map((k) => `'${k}'`).join(', ')})`,
    );
  }
  const kind = enumOption<FaultKind>(owner, 'kind', raw.kind, 'latency', KINDS);
  const o = optionsObject<Record<string, unknown>>(owner, input, KEYS[kind]);
  if (o.target === undefined) throw new TypeError(`${owner}: option "target" is required`);
  const base: SpecBase = {
    targets: targets(owner, o.target),
    probability: numberOption(owner, 'probability', o.probability, 1, { min: 0, max: 1 }),
    ttlMs: ttlOption(owner, 'ttlMs', o.ttlMs, defaultTtlMs),
    note: o.note === undefined ? undefined : textOption(owner, 'note', o.note, ''),
  };
  switch (kind) {
    case 'latency': {
      if (o.ms === undefined)
        throw new TypeError(`${owner}: option "ms" is required for a latency fault`);
      const ms = numberOption(owner, 'ms', o.ms, 0, { max: MAX_LATENCY_MS });
      const jitterMs = numberOption(owner, 'jitterMs', o.jitterMs, 0, { max: MAX_LATENCY_MS });
      const distribution = enumOption<LatencyDistribution>(
        owner,
        'distribution',
        o.distribution,
        jitterMs === 0 ? 'fixed' : 'uniform',
        DISTRIBUTIONS,
      );
      if (jitterMs > 0 && (distribution === 'fixed' || distribution === 'exponential')) {
        throw new TypeError(
          `${owner}: option "jitterMs" must be 0 with distribution '${distribution}' (it has no spread to set), got ${jitterMs}`,
        );
      }
      return { ...base, kind, ms, jitterMs, distribution };
    }
    case 'error': {
      const status =
        o.status === undefined
          ? undefined
          : numberOption(owner, 'status', o.status, 500, { min: 400, max: 599, integer: true });
      return {
        ...base,
        kind,
        status,
        message: textOption(owner, 'message', o.message, 'injected fault'),
        code: textOption(owner, 'code', o.code, 'EFAULTINJECTED', CODE),
      };
    }
    case 'block':
      return { ...base, kind, mode: enumOption(owner, 'mode', o.mode, 'hang', ['hang', 'refuse']) };
    case 'skew': {
      if (o.offsetMs === undefined) {
        throw new TypeError(`${owner}: option "offsetMs" is required for a skew fault`);
      }
      if (base.probability !== 1) {
        // A clock that is skewed on some reads only would jump back and forth: not a skew.
        throw new TypeError(
          `${owner}: option "probability" must be 1 for a skew fault, got ${base.probability}`,
        );
      }
      const offsetMs = numberOption(owner, 'offsetMs', o.offsetMs, 0, {
        min: -MAX_SKEW_MS,
        max: MAX_SKEW_MS,
      });
      return { ...base, kind, offsetMs };
    }
  }
}
