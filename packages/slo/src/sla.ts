/**
 * Service level agreements: a contractual objective and the service credits owed below it.
 *
 * Providers publish credits as step functions of the availability measured over a billing period
 * (usually a calendar month): e.g. below 99.99 % 10 %, below 99 % 30 %, below 95 % 100 % of the
 * period's charge. The caller measures the period's SLI; this module turns it into a credit.
 */

import { checkNumber, checkTarget, describeValue, formatPercent } from './availability.js';

/** One credit tier: a measured availability strictly below `below` earns `credit`. */
export interface SlaTier {
  /** Fraction in (0, 1]; the tier applies when measured < below. */
  readonly below: number;
  /** Share of the period's charge credited, in (0, 1]: 0.1 for 10 %. */
  readonly credit: number;
}

/** Options of {@link sla}. */
export interface SlaOptions {
  /** Name for reports, e.g. `'compute-region'`. */
  readonly name?: string;
  /** Contractual objective, a fraction in (0, 1): the SLA is met when measured >= objective. */
  readonly objective: number;
  /**
   * Credit tiers, strictly descending by `below`, with credits non-decreasing (a worse month never
   * earns less). The first `below` must not be above the objective, so no met period earns credit.
   * At least one tier.
   */
  readonly tiers: readonly SlaTier[];
}

/** A validated SLA, made by {@link sla}. */
export interface Sla {
  readonly name?: string;
  readonly objective: number;
  readonly tiers: readonly SlaTier[];
}

/** A period's measured SLI: an availability in [0, 1], or counts of good and total events/minutes. */
export type SlaMeasurement = number | { readonly good: number; readonly total: number };

/** Result of {@link evaluateSla}. */
export interface SlaEvaluation {
  /** Measured availability in [0, 1]; `null` when the period had no data (total 0). */
  readonly measured: number | null;
  /** True when there was no data: no traffic is not a breach, so the SLA is met with no credit. */
  readonly noData: boolean;
  /** Measured >= objective, or no data. */
  readonly met: boolean;
  /** The tier that applies (the lowest `below` the measurement is under), or `null`. */
  readonly tier: SlaTier | null;
  /** Index of `tier` in `sla.tiers`, or -1. */
  readonly tierIndex: number;
  /** Share of the period's charge credited, in [0, 1]; 0 when no tier applies. */
  readonly credit: number;
}

const built = new WeakSet<Sla>();
const SLA_KEYS = ['name', 'objective', 'tiers'];

/**
 * Validates an SLA once, at construction.
 *
 * @example
 * // A cloud provider's region-level compute SLA (monthly uptime):
 * sla({ objective: 0.9999, tiers: [
 *   { below: 0.9999, credit: 0.1 }, { below: 0.99, credit: 0.3 }, { below: 0.95, credit: 1 },
 * ] });
 * @throws TypeError naming the option: `objective`, `tiers`, `tiers[i].below`, `tiers[i].credit`.
 */
export function sla(options: SlaOptions): Sla {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`sla: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!SLA_KEYS.includes(key)) {
      throw new TypeError(`sla: unknown option "${key}" (known: ${SLA_KEYS.join(', ')})`);
    }
  }
  const { name, objective, tiers } = options;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new TypeError(`sla: "name" must be a non-empty string, got ${describeValue(name)}`);
  }
  checkTarget('sla', 'objective', objective);
  if (!Array.isArray(tiers) || tiers.length === 0) {
    throw new TypeError(`sla: "tiers" must be a non-empty array, got ${describeValue(tiers)}`);
  }
  const copy: SlaTier[] = [];
  for (let i = 0; i < tiers.length; i++) {
    const tier: unknown = tiers[i];
    if (tier === null || typeof tier !== 'object' || Array.isArray(tier)) {
      throw new TypeError(
        `sla: "tiers[${i}]" must be { below, credit }, got ${describeValue(tier)}`,
      );
    }
    for (const key of Object.keys(tier)) {
      if (key !== 'below' && key !== 'credit') {
        throw new TypeError(`sla: unknown field "tiers[${i}].${key}" (known: below, credit)`);
      }
    }
    const { below, credit } = tier as Partial<SlaTier>;
    checkNumber('sla', `tiers[${i}].below`, below, 0, 1);
    if (below === 0) throw new TypeError(`sla: "tiers[${i}].below" must be in (0, 1], got 0`);
    checkNumber('sla', `tiers[${i}].credit`, credit, 0, 1);
    if (credit === 0) {
      throw new TypeError(`sla: "tiers[${i}].credit" must be in (0, 1], got 0 (drop the tier)`);
    }
    const previous = copy[i - 1];
    if (i === 0 && below! > objective) {
      throw new TypeError(
        `sla: "tiers[0].below" must not be above the objective ${objective}, got ${below} (a met period would earn credit)`,
      );
    }
    if (previous && below! >= previous.below) {
      throw new TypeError(
        `sla: "tiers[${i}].below" must be below tiers[${i - 1}].below (${previous.below}): tiers go from the highest threshold down, got ${below}`,
      );
    }
    if (previous && credit! < previous.credit) {
      throw new TypeError(
        `sla: "tiers[${i}].credit" must be >= tiers[${i - 1}].credit (${previous.credit}): a worse period never earns less, got ${credit}`,
      );
    }
    copy.push(Object.freeze({ below: below!, credit: credit! }));
  }
  const result: Sla = Object.freeze({
    ...(name === undefined ? {} : { name }),
    objective,
    tiers: Object.freeze(copy),
  });
  built.add(result);
  return result;
}

/** Accepts an SLA made by {@link sla}, or validates a plain object of the same shape. */
function asSla(owner: string, value: Sla): Sla {
  if (built.has(value)) return value;
  try {
    return sla(value);
  } catch (error) {
    throw new TypeError(`${owner}: "sla" is invalid: ${(error as Error).message}`);
  }
}

function tierIndex(s: Sla, measured: number): number {
  // Tiers descend, so the last tier whose threshold the measurement is under is the deepest one.
  let index = -1;
  for (let i = 0; i < s.tiers.length; i++) {
    if (measured < s.tiers[i]!.below) index = i;
    else break;
  }
  return index;
}

/**
 * The credit share for a measured availability: the credit of the deepest tier it falls under
 * (`measured < below`), or 0. A measurement exactly at a threshold is not under it (AWS's
 * "< 99.0 % and ≥ 95.0 %" wording).
 *
 * @param measured - availability in [0, 1]
 * @throws TypeError naming `measured` or an invalid `sla`.
 */
export function creditFor(s: Sla, measured: number): number {
  const valid = asSla('creditFor', s);
  checkNumber('creditFor', 'measured', measured, 0, 1);
  const index = tierIndex(valid, measured);
  return index === -1 ? 0 : valid.tiers[index]!.credit;
}

/**
 * Evaluates an SLA for one period from its measured SLI: an availability in [0, 1], or
 * `{ good, total }` counts (events, or minutes up and minutes in the period for a time-based SLA).
 *
 * A period with `total` 0 has no data; it is reported as met with no credit and `noData: true`,
 * because no traffic is not an outage (a provider owes nothing for a month nobody called).
 *
 * @throws TypeError naming `measured`, `good`, `total` or an invalid `sla`.
 */
export function evaluateSla(s: Sla, measurement: SlaMeasurement): SlaEvaluation {
  const valid = asSla('evaluateSla', s);
  let measured: number | null;
  if (typeof measurement === 'number') {
    measured = checkNumber('evaluateSla', 'measured', measurement, 0, 1);
  } else if (
    measurement !== null &&
    typeof measurement === 'object' &&
    !Array.isArray(measurement)
  ) {
    const { good, total } = measurement;
    checkNumber('evaluateSla', 'total', total, 0, Number.MAX_VALUE);
    checkNumber('evaluateSla', 'good', good, 0, total);
    measured = total === 0 ? null : good / total;
  } else {
    throw new TypeError(
      `evaluateSla: "measured" must be an availability in [0, 1] or { good, total }, got ${describeValue(measurement)}`,
    );
  }
  if (measured === null) {
    return Object.freeze({
      measured,
      noData: true,
      met: true,
      tier: null,
      tierIndex: -1,
      credit: 0,
    });
  }
  const index = tierIndex(valid, measured);
  const tier = index === -1 ? null : valid.tiers[index]!;
  return Object.freeze({
    measured,
    noData: false,
    met: measured >= valid.objective,
    tier,
    tierIndex: index,
    credit: tier === null ? 0 : tier.credit,
  });
}

/**
 * One line for reports: `"99.95% against 99.99%: missed, credit 10%"`.
 *
 * @throws TypeError naming an invalid `sla`.
 */
export function describeSlaEvaluation(s: Sla, evaluation: SlaEvaluation): string {
  const valid = asSla('describeSlaEvaluation', s);
  const target = formatPercent(valid.objective);
  if (evaluation.measured === null) return `no data against ${target}: met, no credit`;
  // Three decimals, or more when fewer would print a missed measurement as the objective itself.
  let digits = 3;
  while (
    digits < 10 &&
    evaluation.measured !== valid.objective &&
    formatPercent(evaluation.measured, digits) === target
  ) {
    digits++;
  }
  const head = `${formatPercent(evaluation.measured, digits)} against ${target}`;
  if (evaluation.met) return `${head}: met`;
  return `${head}: missed, ${evaluation.credit === 0 ? 'no credit' : `credit ${formatPercent(evaluation.credit)}`}`;
}
