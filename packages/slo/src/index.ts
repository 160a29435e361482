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
