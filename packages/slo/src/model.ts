/**
 * The one SLO model. Every spec format (nines YAML, OpenSLO v1, Sloth `prometheus/v1`) loads into
 * it; the in-process engine, the alert evaluation, the budget policy and the Prometheus rules all
 * read it.
 */

/** The compliance period the objective is judged over. */
export type SloWindow =
  /** The last `days` days, moving (default 30). */
  | { readonly type: 'rolling'; readonly days: number }
  /** The current calendar month or quarter, in an IANA time zone (default `'UTC'`). */
  | { readonly type: 'calendar'; readonly unit: 'month' | 'quarter'; readonly timeZone: string };

/** Prometheus series an SLI is computed from, for rule generation. */
export interface AvailabilityQueries {
  /** Counter selector of all events, e.g. `http_server_request_duration_seconds_count{service="orders"}`. */
  readonly total: string;
  /** Counter selector of bad events; exactly one of `good` and `bad` is set. */
  readonly bad?: string;
  readonly good?: string;
  /**
   * True when the queries are PromQL expressions with a `{{.window}}` placeholder for the range
   * (Sloth's form, e.g. `sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`) rather than
   * counter selectors: rules substitute each window for the placeholder instead of wrapping the
   * selector in `rate()`.
   */
  readonly windowed?: boolean;
}

/** What counts as a good event. */
export type Sli =
  /** Good events over all events (e.g. responses that are not 5xx). */
  | {
      readonly type: 'availability';
      readonly prometheus?: AvailabilityQueries;
    }
  /**
   * Events faster than `thresholdSeconds` over all events (e.g. 99.9 % under 0.2 s). The
   * threshold must be a boundary (`le`) of the histogram the events are counted in.
   */
  | {
      readonly type: 'latency';
      readonly thresholdSeconds: number;
      /** The histogram's bucket boundaries in seconds; must contain `thresholdSeconds`. */
      readonly buckets: readonly number[];
      /** Histogram base name and label selector, e.g. `http_server_request_duration_seconds`. */
      readonly prometheus?: { readonly histogram: string; readonly selector?: string };
    };

/** How the budget is counted (OpenSLO's budgetingMethod). */
export type Budgeting =
  /** Bad events over all events in the window (the default). */
  | { readonly type: 'occurrences' }
  /**
   * Bad slices over all slices: a slice of `sliceSeconds` is good when its good ratio is at least
   * `sliceTarget`.
   */
  | { readonly type: 'timeslices'; readonly sliceSeconds: number; readonly sliceTarget: number };

/** Which multi-window multi-burn-rate alerts to evaluate (the Workbook's pairs by default). */
export interface AlertingConfig {
  readonly page: boolean;
  readonly ticket: boolean;
}

/** Where an SLO was defined, for error messages and reports. */
export interface SloOrigin {
  readonly file: string;
  readonly line: number;
}

/** One service level objective. */
export interface Slo {
  /** Unique within its service; `[a-z0-9][a-z0-9-_]*`. */
  readonly name: string;
  readonly service: string;
  readonly description?: string;
  /** The target as a fraction in (0, 1): 0.999 for 99.9 %. 1 (100 %) is never valid. */
  readonly objective: number;
  readonly window: SloWindow;
  readonly sli: Sli;
  readonly budgeting: Budgeting;
  readonly alerting: AlertingConfig;
  readonly labels: Readonly<Record<string, string>>;
  readonly origin?: SloOrigin;
}

/**
 * Metric names shared with @nines/telemetry, so the rules generated here query exactly what the
 * service exposes. OpenTelemetry's `http.server.request.duration` (seconds) in Prometheus form.
 */
export const METRICS = {
  /** Histogram of server request durations in seconds (`_bucket`, `_count`, `_sum`). */
  httpServerDuration: 'http_server_request_duration_seconds',
  /** Label names on it. */
  labels: {
    service: 'service_name',
    route: 'http_route',
    method: 'http_request_method',
    status: 'http_response_status_code',
  },
} as const;

/**
 * The semantic-convention buckets of `http.server.request.duration`, in seconds. A latency SLO's
 * threshold is added to them by the telemetry package, so an SLO on 0.2 s has its boundary.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
