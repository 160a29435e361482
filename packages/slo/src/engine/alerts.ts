/**
 * Multi-window, multi-burn-rate alerts (SRE Workbook ch. 5, Table 5-8 plus its 1 d / 2 h ticket
 * pair). Each pair fires when the error ratio over both its long and its short window exceeds
 * `factor x (1 - objective)`; a severity fires when any of its pairs does.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Alert severities: a page wakes someone, a ticket waits for working hours. */
export type AlertSeverity = 'page' | 'ticket';

/** One long/short window pair, defined by the share of the budget it lets burn before firing. */
export interface AlertWindowPair {
  readonly severity: AlertSeverity;
  /** Share of the period's budget (percent) consumed over `longWindowMs` when the pair fires. */
  readonly budgetPercent: number;
  readonly longWindowMs: number;
  readonly shortWindowMs: number;
}

/**
 * The Workbook's pairs for a 30-day SLO, as Sloth's `google-30d` catalog: page 2 % over 1 h / 5 m
 * and 5 % over 6 h / 30 m; ticket 10 % over 1 d / 2 h and 10 % over 3 d / 6 h.
 */
export const DEFAULT_ALERT_WINDOWS: readonly AlertWindowPair[] = [
  { severity: 'page', budgetPercent: 2, longWindowMs: HOUR, shortWindowMs: 5 * MINUTE },
  { severity: 'page', budgetPercent: 5, longWindowMs: 6 * HOUR, shortWindowMs: 30 * MINUTE },
  { severity: 'ticket', budgetPercent: 10, longWindowMs: 24 * HOUR, shortWindowMs: 2 * HOUR },
  { severity: 'ticket', budgetPercent: 10, longWindowMs: 72 * HOUR, shortWindowMs: 6 * HOUR },
];

/**
 * The burn-rate factor of a pair for a period (Sloth's `getBurnRateFactor`):
 * `budgetPercent / 100 x periodMs / longWindowMs`. For 30 days: 14.4, 6, 3 and 1; for 28 days:
 * 13.44, 5.6, 2.8, 0.933; for 7 days: 3.36, 1.4, 0.7, 0.233.
 */
export function burnRateFactor(pair: AlertWindowPair, periodMs: number): number {
  return ((pair.budgetPercent / 100) * periodMs) / pair.longWindowMs;
}

/** One pair's state at an evaluation. */
export interface AlertPairStatus {
  readonly severity: AlertSeverity;
  readonly longWindowMs: number;
  readonly shortWindowMs: number;
  /** Burn rate both windows must exceed. */
  readonly factor: number;
  /** Error ratio both windows must exceed: `factor x (1 - objective)`. */
  readonly threshold: number;
  readonly longErrorRatio: number;
  readonly shortErrorRatio: number;
  readonly longBurnRate: number;
  readonly shortBurnRate: number;
  readonly longEvents: number;
  readonly shortEvents: number;
  /**
   * False when a window holds fewer than `minEvents` events: the pair may not fire then (the
   * low-traffic guard).
   */
  readonly enoughEvents: boolean;
  readonly firing: boolean;
}

/** One severity's state at an evaluation. */
export interface SeverityStatus {
  /** False when the SLO's `alerting` switches the severity off; it never fires then. */
  readonly enabled: boolean;
  readonly firing: boolean;
  /** When the current firing started (ms since the epoch), or null. */
  readonly since: number | null;
  readonly pairs: readonly AlertPairStatus[];
}

/** The result of {@link SloTracker.evaluateAlerts}. */
export interface AlertEvaluation {
  readonly slo: string;
  readonly at: number;
  readonly page: SeverityStatus;
  readonly ticket: SeverityStatus;
}

/** Emitted once when a severity starts firing. */
export interface AlertFiredEvent {
  readonly type: 'fired';
  readonly slo: string;
  readonly severity: AlertSeverity;
  readonly at: number;
  /** The pairs over their threshold at that evaluation. */
  readonly pairs: readonly AlertPairStatus[];
}

/** Emitted once when a firing severity stops firing. */
export interface AlertResolvedEvent {
  readonly type: 'resolved';
  readonly slo: string;
  readonly severity: AlertSeverity;
  readonly at: number;
  readonly firedAt: number;
  readonly durationMs: number;
}
