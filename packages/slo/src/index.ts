export {
  allowedDowntime,
  type Component,
  compose,
  type Downtime,
  formatDuration,
  formatPercent,
  inParallel,
  inSeries,
  kOfN,
  type NinesTable,
  ninesCount,
  ninesTable,
  PERIOD_MS,
  PERIODS,
  type Period,
  type PeriodName,
  parseTarget,
  periodMs,
  redundant,
  targetForDowntime,
} from './availability.js';
export {
  type AlertEvaluation,
  type AlertFiredEvent,
  type AlertPairStatus,
  type AlertResolvedEvent,
  type AlertSeverity,
  type AlertWindowPair,
  burnRateFactor,
  DEFAULT_ALERT_WINDOWS,
  type SeverityStatus,
} from './engine/alerts.js';
export { type Clock, COARSE_CLOCK_TICK_MS, coarseClock } from './engine/clock.js';
export type { Disposer, Listen } from './engine/events.js';
export {
  parseSnapshot,
  SNAPSHOT_VERSION,
  type SnapshotBucket,
  type TrackerSnapshot,
} from './engine/snapshot.js';
export { type FileSnapshotStore, fileStore, type SnapshotStore } from './engine/store.js';
export {
  type BudgetForecast,
  type BudgetStatus,
  type SliceBudget,
  type SliceStats,
  type SloEvent,
  type SloTracker,
  type SloTrackerOptions,
  sloTracker,
  type WindowStats,
} from './engine/tracker.js';
export {
  type AlertingConfig,
  type AvailabilityQueries,
  type Budgeting,
  DEFAULT_DURATION_BUCKETS,
  METRICS,
  type Sli,
  type Slo,
  type SloOrigin,
  type SloWindow,
} from './model.js';
export {
  BUDGET_STATES,
  type BudgetIncident,
  type BudgetState,
  budgetState,
  DEFAULT_AT_RISK_BELOW,
  DEFAULT_ERROR_BUDGET_POLICY,
  DEFAULT_EXEMPTIONS,
  DEFAULT_EXHAUSTED_AT_OR_BELOW,
  DEFAULT_POSTMORTEM_ABOVE,
  type ErrorBudgetPolicy,
  type ErrorBudgetPolicyOptions,
  errorBudgetPolicy,
  evaluatePolicy,
  type FreezeFrom,
  type PolicyDecision,
  type PolicyInput,
} from './policy.js';
export {
  type AlertingRule,
  BUDGET_EXHAUSTED_ALERT,
  BURN_RATE_ALERT,
  type PrometheusRules,
  type PrometheusRulesOptions,
  prometheusRules,
  type RecordingRule,
  type RuleGroup,
} from './rules/generate.js';
export { RULES_HEADER, toRulesYaml } from './rules/yaml.js';
export {
  creditFor,
  describeSlaEvaluation,
  evaluateSla,
  type Sla,
  type SlaEvaluation,
  type SlaMeasurement,
  type SlaOptions,
  type SlaTier,
  sla,
} from './sla.js';
export { SpecError } from './spec/errors.js';
export {
  type LoadSloFileOptions,
  type LoadSlosOptions,
  loadSloFile,
  loadSloFiles,
  loadSlos,
  type SpecFormat,
} from './spec/load.js';
