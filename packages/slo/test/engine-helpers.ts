import type { Slo } from '../src/index.js';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export function availabilitySlo(overrides: Partial<Slo> = {}): Slo {
  return {
    name: 'orders-availability',
    service: 'orders',
    objective: 0.999,
    window: { type: 'rolling', days: 30 },
    sli: { type: 'availability' },
    budgeting: { type: 'occurrences' },
    alerting: { page: true, ticket: true },
    labels: {},
    ...overrides,
  };
}

export function latencySlo(overrides: Partial<Slo> = {}): Slo {
  return availabilitySlo({
    name: 'orders-latency',
    sli: { type: 'latency', thresholdSeconds: 0.2, buckets: [0.1, 0.2, 0.5] },
    ...overrides,
  });
}
