/**
 * What the demo knows while it runs (the live view draws it) and what it reports at the end (the
 * final report and `--json` print it).
 */

/** RED of one service over the last few seconds, from its own `/metrics`. */
export interface ServiceView {
  readonly name: string;
  /** Its process answers (its last scrape worked). */
  readonly up: boolean;
  /** Requests per second served. */
  readonly rate: number;
  /** Share of 5xx responses, 0 to 1; null without traffic. */
  readonly errorRatio: number | null;
  /** Latency quantiles in milliseconds; null without traffic. */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/** A circuit breaker inside a service, from `nines_circuit_breaker_state`. */
export interface BreakerView {
  readonly service: string;
  readonly name: string;
  readonly state: 'closed' | 'open' | 'half-open' | 'isolated';
}

/** One SLO, as the service that owns it reports it (`GET /slo`). */
export interface SloView {
  readonly service: string;
  readonly name: string;
  /** The objective as a fraction (0.999). */
  readonly objective: number;
  /** Good events over all events in the SLO's window so far, 0 to 1. */
  readonly attainment: number;
  /** Share of the error budget left, 1 = untouched, may go below 0. */
  readonly budgetRemaining: number;
  /** Burn rate over the short alert window. */
  readonly burnRate: number;
  readonly alerts: { readonly page: boolean; readonly ticket: boolean };
  /** The error budget policy's state: `healthy`, `at-risk`, or `exhausted` (changes frozen). */
  readonly policy: string;
}

/** A burn-rate alert that is firing now. */
export interface AlertView {
  readonly service: string;
  readonly slo: string;
  readonly severity: 'page' | 'ticket';
  /** Milliseconds since the demo started when it fired. */
  readonly sinceMs: number;
}

/** Where the demo is. */
export type DemoPhase =
  | 'starting'
  | 'warmup'
  | 'steady'
  | 'chaos'
  | 'recovery'
  | 'stopping'
  | 'done';

/** The traffic the load generator has sent so far. */
export interface TrafficView {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Requests per second it is sending now. */
  readonly rate: number;
}

/** Everything the live view shows, at one moment. */
export interface DemoState {
  readonly elapsedMs: number;
  /** The planned length of the run; null with --follow. */
  readonly durationMs: number | null;
  readonly phase: DemoPhase;
  /** The chaos step running now (e.g. "500 ms on the external API"), when in the chaos phase. */
  readonly chaosStep: string | null;
  /** Hypothesis checks of the chaos experiment so far. */
  readonly hypothesis: {
    readonly checks: number;
    readonly misses: number;
    readonly last: string | null;
  };
  readonly services: readonly ServiceView[];
  readonly breakers: readonly BreakerView[];
  readonly slos: readonly SloView[];
  readonly alerts: readonly AlertView[];
  readonly traffic: TrafficView;
}

/** One change of a breaker's state, seen by the demo. */
export interface BreakerChange {
  readonly service: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Milliseconds since the demo started. */
  readonly atMs: number;
}

/** A burn-rate alert's life. */
export interface AlertRecord {
  readonly service: string;
  readonly slo: string;
  readonly severity: 'page' | 'ticket';
  readonly firedAtMs: number;
  /** Null when it was still firing at the end. */
  readonly resolvedAtMs: number | null;
}

/** The final report of a run (`nines demo --json` prints it). */
export interface DemoReport {
  /** When the demo started (ISO 8601); the `...Ms` times below count from it. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly chaos: null | {
    readonly title: string;
    readonly status: string;
    readonly deviated: boolean;
    /** The steady-state hypothesis held before, during and after. */
    readonly hypothesisHeld: boolean;
    readonly reason: string;
    /** The steps of the method with their times (ms since the demo started). */
    readonly steps: ReadonlyArray<{
      readonly name: string;
      readonly startMs: number;
      readonly endMs: number;
    }>;
    readonly journal: string;
  };
  readonly slos: ReadonlyArray<{
    readonly service: string;
    readonly name: string;
    readonly objective: number;
    readonly attainment: number;
    /** Budget left when traffic started and at the end (fractions of the budget). */
    readonly budgetAtStart: number;
    readonly budgetAtEnd: number;
    /** The lowest budget seen during the run. */
    readonly budgetLowest: number;
    /** The error budget policy's state at the end (`exhausted` freezes changes). */
    readonly policy: string;
  }>;
  readonly alerts: readonly AlertRecord[];
  readonly breakers: readonly BreakerChange[];
  /** Prices pricing served by where they came from (`live`, `cache`, `stale` = the fallback). */
  readonly prices: Readonly<Record<string, number>>;
  readonly traffic: TrafficView;
  /** The slowest trace that crossed orders, store and pricing, drawn as a waterfall. */
  readonly slowestTrace: null | {
    readonly traceId: string;
    readonly durationMs: number;
    readonly services: readonly string[];
    readonly waterfall: string;
  };
  /** Every process the demo started, how it ended, and whether its ports were freed. */
  readonly processes: ReadonlyArray<{
    readonly service: string;
    readonly pid: number;
    readonly exit: string;
  }>;
  readonly portsFreed: boolean;
  /** Folder holding each service's log (JSON lines) and the chaos journal. */
  readonly logs: string;
}
