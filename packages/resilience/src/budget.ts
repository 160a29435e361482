/**
 * A retry budget shared by many callers (and by hedges): it lets extra attempts through only
 * while they stay a bounded share of first attempts, so a fleet of clients cannot multiply the
 * load on a service that is already failing.
 */
export interface RetryBudget {
  /** Records a first attempt (a deposit). */
  recordAttempt(): void;
  /** Asks to make one extra attempt (retry or hedge); false when the budget is spent. */
  tryWithdraw(): boolean;
}
