/**
 * Error budget policy as code, after Google's example policy (SRE Workbook, appendix B): while
 * budget remains, releases proceed; when it runs low the service is at risk; when it is exhausted,
 * changes freeze except P0 and security fixes; a single incident that burns more than 20 % of the
 * budget requires a postmortem.
 *
 * {@link evaluatePolicy} is a pure function of the budget remaining, so a CI/CD gate (`nines budget
 * check`) can call it and exit non-zero when `freeze` is true.
 */

import { checkNumber, describeValue } from './availability.js';

/** Policy states, from best to worst. */
export type BudgetState = 'healthy' | 'at-risk' | 'exhausted';

/** The states in order from best to worst (index = severity). */
export const BUDGET_STATES: readonly BudgetState[] = Object.freeze([
  'healthy',
  'at-risk',
  'exhausted',
]);

/** From which state changes freeze: `'exhausted'` (Google's policy), `'at-risk'`, or never. */
export type FreezeFrom = 'exhausted' | 'at-risk' | 'never';

/** Options of {@link errorBudgetPolicy}; every field has a default. */
export interface ErrorBudgetPolicyOptions {
  /**
   * At risk when the budget remaining (a fraction) is strictly below this. In
   * [exhaustedAtOrBelow, 1]; equal to `exhaustedAtOrBelow` switches the at-risk state off.
   * Default 0.25.
   */
  readonly atRiskBelow?: number;
  /**
   * Exhausted when the budget remaining is at or below this. In [-1, 1); negative tolerates some
   * overspend before freezing. Default 0 (Google: "exceeded its error budget").
   */
  readonly exhaustedAtOrBelow?: number;
  /** The state from which changes freeze. Default `'exhausted'`. */
  readonly freezeFrom?: FreezeFrom;
  /**
   * An incident that consumed strictly more than this share of the budget requires a postmortem.
   * In (0, 1]. Default 0.2 (Google's 20 %).
   */
  readonly postmortemAbove?: number;
  /**
   * Kinds of change allowed through a freeze (Google: P0 issues and security fixes). Non-empty
   * strings; may be empty to allow none. Default `['P0', 'security']`.
   */
  readonly exemptions?: readonly string[];
}

/** A validated policy with every default filled in, made by {@link errorBudgetPolicy}. */
export interface ErrorBudgetPolicy {
  readonly atRiskBelow: number;
  readonly exhaustedAtOrBelow: number;
  readonly freezeFrom: FreezeFrom;
  readonly postmortemAbove: number;
  readonly exemptions: readonly string[];
}

/** An incident and the share of the error budget it consumed. */
export interface BudgetIncident {
  /** Non-empty and unique within one evaluation. */
  readonly id: string;
  /** Share of the window's budget the incident consumed, >= 0 (may exceed 1). */
  readonly budgetConsumed: number;
}

/** Input of {@link evaluatePolicy}. */
export interface PolicyInput {
  /**
   * Share of the error budget left over the policy's window (e.g. the trailing four weeks): 1 is
   * untouched, 0 spent, negative overspent. Finite.
   */
  readonly budgetRemaining: number;
  /** Incidents in the window, for the postmortem rule. */
  readonly incidents?: readonly BudgetIncident[];
  /** The change being gated is of this exempt kind (one of the policy's `exemptions`). */
  readonly exemption?: string;
}

/** Result of {@link evaluatePolicy}. */
export interface PolicyDecision {
  readonly state: BudgetState;
  /** Changes must not ship: the state is at or past `freezeFrom` and no exemption applies. */
  readonly freeze: boolean;
  /** The state called for a freeze but the change's exemption lifted it. */
  readonly exempted: boolean;
  /** Why, for people: one line per rule that applied. */
  readonly reasons: readonly string[];
  /** Incidents that consumed more than `postmortemAbove` of the budget, in input order. */
  readonly postmortems: readonly BudgetIncident[];
}

/** Default at-risk threshold on the budget remaining. */
export const DEFAULT_AT_RISK_BELOW = 0.25;
/** Default exhausted threshold on the budget remaining. */
export const DEFAULT_EXHAUSTED_AT_OR_BELOW = 0;
/** Default postmortem threshold on one incident's budget share (Google's 20 %). */
export const DEFAULT_POSTMORTEM_ABOVE = 0.2;
/** Default kinds of change allowed through a freeze (Google's P0 and security fixes). */
export const DEFAULT_EXEMPTIONS: readonly string[] = Object.freeze(['P0', 'security']);

const POLICY_KEYS = [
  'atRiskBelow',
  'exhaustedAtOrBelow',
  'freezeFrom',
  'postmortemAbove',
  'exemptions',
];
const FREEZE_FROM: readonly FreezeFrom[] = ['exhausted', 'at-risk', 'never'];
const built = new WeakSet<ErrorBudgetPolicy>();

/**
 * Builds and validates an error budget policy; with no options, Google's example policy with an
 * at-risk state below 25 % remaining.
 *
 * @throws TypeError naming the option.
 */
export function errorBudgetPolicy(options: ErrorBudgetPolicyOptions = {}): ErrorBudgetPolicy {
  const owner = 'errorBudgetPolicy';
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!POLICY_KEYS.includes(key)) {
      throw new TypeError(`${owner}: unknown option "${key}" (known: ${POLICY_KEYS.join(', ')})`);
    }
  }
  const exhaustedAtOrBelow = options.exhaustedAtOrBelow ?? DEFAULT_EXHAUSTED_AT_OR_BELOW;
  checkNumber(owner, 'exhaustedAtOrBelow', exhaustedAtOrBelow, -1, 1);
  if (exhaustedAtOrBelow === 1) {
    throw new TypeError(`${owner}: "exhaustedAtOrBelow" must be below 1, got 1`);
  }
  const atRiskBelow = options.atRiskBelow ?? DEFAULT_AT_RISK_BELOW;
  checkNumber(owner, 'atRiskBelow', atRiskBelow, -1, 1);
  if (atRiskBelow < exhaustedAtOrBelow) {
    throw new TypeError(
      `${owner}: "atRiskBelow" must be >= exhaustedAtOrBelow (${exhaustedAtOrBelow}), got ${atRiskBelow}`,
    );
  }
  const freezeFrom = options.freezeFrom ?? 'exhausted';
  if (!FREEZE_FROM.includes(freezeFrom)) {
    throw new TypeError(
      `${owner}: "freezeFrom" must be one of ${FREEZE_FROM.join(', ')}, got ${describeValue(freezeFrom)}`,
    );
  }
  const postmortemAbove = options.postmortemAbove ?? DEFAULT_POSTMORTEM_ABOVE;
  checkNumber(owner, 'postmortemAbove', postmortemAbove, 0, 1);
  if (postmortemAbove === 0) {
    throw new TypeError(`${owner}: "postmortemAbove" must be in (0, 1], got 0`);
  }
  const exemptions = options.exemptions ?? DEFAULT_EXEMPTIONS;
  if (!Array.isArray(exemptions)) {
    throw new TypeError(
      `${owner}: "exemptions" must be an array, got ${describeValue(exemptions)}`,
    );
  }
  exemptions.forEach((e: unknown, i) => {
    if (typeof e !== 'string' || e.trim() === '') {
      throw new TypeError(
        `${owner}: "exemptions[${i}]" must be a non-empty string, got ${describeValue(e)}`,
      );
    }
  });
  const policy: ErrorBudgetPolicy = Object.freeze({
    atRiskBelow,
    exhaustedAtOrBelow,
    freezeFrom,
    postmortemAbove,
    exemptions: Object.freeze([...exemptions]),
  });
  built.add(policy);
  return policy;
}

/** Google's example policy plus an at-risk state below 25 % remaining. */
export const DEFAULT_ERROR_BUDGET_POLICY: ErrorBudgetPolicy = errorBudgetPolicy();

/**
 * The state for a budget remaining: exhausted at or below `exhaustedAtOrBelow`, at risk below
 * `atRiskBelow`, healthy otherwise. Non-increasing in severity as the budget remaining grows.
 *
 * @throws TypeError naming `budgetRemaining` or an invalid `policy`.
 */
export function budgetState(policy: ErrorBudgetPolicy, budgetRemaining: number): BudgetState {
  const p = asPolicy('budgetState', policy);
  checkNumber(
    'budgetState',
    'budgetRemaining',
    budgetRemaining,
    -Number.MAX_VALUE,
    Number.MAX_VALUE,
  );
  return stateOf(p, budgetRemaining);
}

function stateOf(p: ErrorBudgetPolicy, remaining: number): BudgetState {
  if (remaining <= p.exhaustedAtOrBelow) return 'exhausted';
  if (remaining < p.atRiskBelow) return 'at-risk';
  return 'healthy';
}

function asPolicy(owner: string, value: ErrorBudgetPolicy): ErrorBudgetPolicy {
  if (built.has(value)) return value;
  try {
    return errorBudgetPolicy(value);
  } catch (error) {
    throw new TypeError(`${owner}: "policy" is invalid: ${(error as Error).message}`);
  }
}

/** A share as people read it, negative allowed: -0.032 → "-3.2%". */
function share(x: number): string {
  return `${Number((x * 100).toFixed(2))}%`;
}

/**
 * Applies the policy to the budget remaining (and the window's incidents) and says whether changes
 * freeze, why, and which incidents need a postmortem. Pure: a CLI gate exits non-zero when
 * `freeze` is true.
 *
 * @example
 * evaluatePolicy(DEFAULT_ERROR_BUDGET_POLICY, { budgetRemaining: -0.05 }).freeze === true
 * evaluatePolicy(DEFAULT_ERROR_BUDGET_POLICY, { budgetRemaining: -0.05, exemption: 'security' }).freeze === false
 * @throws TypeError naming `budgetRemaining`, `incidents[i].id`, `incidents[i].budgetConsumed`,
 *   `exemption` (not one of the policy's), or an invalid `policy`.
 */
export function evaluatePolicy(policy: ErrorBudgetPolicy, input: PolicyInput): PolicyDecision {
  const owner = 'evaluatePolicy';
  const p = asPolicy(owner, policy);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError(`${owner}: input must be an object, got ${describeValue(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (key !== 'budgetRemaining' && key !== 'incidents' && key !== 'exemption') {
      throw new TypeError(
        `${owner}: unknown field "${key}" (known: budgetRemaining, incidents, exemption)`,
      );
    }
  }
  const { budgetRemaining, incidents = [], exemption } = input;
  checkNumber(owner, 'budgetRemaining', budgetRemaining, -Number.MAX_VALUE, Number.MAX_VALUE);
  if (!Array.isArray(incidents)) {
    throw new TypeError(`${owner}: "incidents" must be an array, got ${describeValue(incidents)}`);
  }
  if (exemption !== undefined && !p.exemptions.includes(exemption)) {
    throw new TypeError(
      `${owner}: "exemption" must be one of the policy's exemptions (${p.exemptions.join(', ') || 'none'}), got ${describeValue(exemption)}`,
    );
  }

  const state = stateOf(p, budgetRemaining);
  const reasons: string[] = [];
  const remaining = share(budgetRemaining);
  if (state === 'exhausted') {
    reasons.push(
      `error budget exhausted: ${remaining} remaining, at or below ${share(p.exhaustedAtOrBelow)}`,
    );
  } else if (state === 'at-risk') {
    reasons.push(
      `error budget at risk: ${remaining} remaining, below ${share(p.atRiskBelow)}; prioritise reliability work`,
    );
  } else {
    reasons.push(`error budget healthy: ${remaining} remaining; releases proceed`);
  }

  const frozenState =
    p.freezeFrom !== 'never' && BUDGET_STATES.indexOf(state) >= BUDGET_STATES.indexOf(p.freezeFrom);
  const exempted = frozenState && exemption !== undefined;
  if (exempted) {
    reasons.push(`freeze lifted for this change: it is a "${exemption}" change`);
  } else if (frozenState) {
    const allowed = p.exemptions.length > 0 ? ` except ${p.exemptions.join(', ')} changes` : '';
    reasons.push(`changes frozen${allowed} until the budget recovers`);
  }

  const postmortems: BudgetIncident[] = [];
  const seen = new Set<string>();
  incidents.forEach((incident: unknown, i) => {
    if (incident === null || typeof incident !== 'object' || Array.isArray(incident)) {
      throw new TypeError(
        `${owner}: "incidents[${i}]" must be { id, budgetConsumed }, got ${describeValue(incident)}`,
      );
    }
    const { id, budgetConsumed } = incident as Partial<BudgetIncident>;
    if (typeof id !== 'string' || id === '') {
      throw new TypeError(
        `${owner}: "incidents[${i}].id" must be a non-empty string, got ${describeValue(id)}`,
      );
    }
    if (seen.has(id)) {
      throw new TypeError(`${owner}: "incidents[${i}].id" repeats "${id}"`);
    }
    seen.add(id);
    checkNumber(owner, `incidents[${i}].budgetConsumed`, budgetConsumed, 0, Number.MAX_VALUE);
    if (budgetConsumed! > p.postmortemAbove) {
      postmortems.push(Object.freeze({ id, budgetConsumed: budgetConsumed! }));
      reasons.push(
        `incident ${id} consumed ${share(budgetConsumed!)} of the budget, more than ${share(p.postmortemAbove)}: postmortem required`,
      );
    }
  });

  return Object.freeze({
    state,
    freeze: frozenState && !exempted,
    exempted,
    reasons: Object.freeze(reasons),
    postmortems: Object.freeze(postmortems),
  });
}
