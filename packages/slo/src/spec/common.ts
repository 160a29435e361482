/**
 * Checks shared by every spec format, so an objective, a name or a latency threshold is judged
 * the same way whichever format it was written in.
 *
 * @internal
 */
import { DEFAULT_DURATION_BUCKETS, type Sli, type Slo } from '../model.js';
import { formatSeconds } from './duration.js';
import type { Value } from './reader.js';

/** The model's SLO name rule; also what Prometheus label values and rule names handle well. */
export const NAME = /^[a-z0-9][a-z0-9-_]*$/;

/** Checks a name against the model's rule. */
export function checkName(value: Value, name: string, what = 'SLO name'): string {
  if (!NAME.test(name)) {
    throw value.error(
      `"${name}" is not a valid ${what} (lower-case letters, digits, "-" and "_", starting with a letter or digit)`,
    );
  }
  return name;
}

/** Checks a service name: free text would break rule names and labels. */
export function checkService(value: Value, name: string): string {
  if (!/^[A-Za-z0-9][-A-Za-z0-9_.]*$/.test(name)) {
    throw value.error(`"${name}" is not a valid service name (letters, digits, "-", "_" and ".")`);
  }
  return name;
}

/**
 * Checks an objective given as a fraction. 100 % leaves no error budget (every burn rate is a
 * division by zero), so the target must stay below it.
 */
export function checkFraction(value: Value, fraction: number, written: string): number {
  if (fraction >= 1) {
    const note = written === '1' ? '1 is 100 %; ' : '';
    throw value.error(`${written} is not a valid objective (${note}must be below 100 %)`);
  }
  if (fraction <= 0) throw value.error(`${written} is not a valid objective (must be above 0 %)`);
  return fraction;
}

/**
 * Builds a latency SLI. With explicit `buckets`, the threshold must be one of them, since a
 * histogram can only count "under X" at a boundary; without, the default buckets gain the
 * threshold, as the telemetry package adds every SLO threshold to the histogram it exports.
 */
export function latencySli(
  thresholdValue: Value,
  thresholdSeconds: number,
  buckets: { value: Value; list: readonly number[] } | undefined,
  prometheus: { histogram: string; selector?: string } | undefined,
): Sli {
  if (!(thresholdSeconds > 0)) throw thresholdValue.error('the latency threshold must be above 0');
  let list: number[];
  if (buckets) {
    list = [...buckets.list];
    for (let i = 0; i < list.length; i++) {
      if (!(list[i]! > 0))
        throw buckets.value.error(`bucket boundaries must be above 0, got ${list[i]}`);
      if (i > 0 && list[i]! <= list[i - 1]!) {
        throw buckets.value.error('bucket boundaries must be in increasing order without repeats');
      }
    }
    const match = list.find((b) => Math.abs(b - thresholdSeconds) <= 1e-12 * b);
    if (match === undefined) {
      throw thresholdValue.error(
        `${formatSeconds(thresholdSeconds)} is not a bucket boundary (buckets: ${list.join(', ')}); a latency threshold must be one, so add ${thresholdSeconds} to the buckets or pick a boundary`,
      );
    }
    thresholdSeconds = match;
  } else {
    list = DEFAULT_DURATION_BUCKETS.includes(thresholdSeconds)
      ? [...DEFAULT_DURATION_BUCKETS]
      : [...DEFAULT_DURATION_BUCKETS, thresholdSeconds].sort((a, b) => a - b);
  }
  return prometheus
    ? { type: 'latency', thresholdSeconds, buckets: list, prometheus }
    : { type: 'latency', thresholdSeconds, buckets: list };
}

/** A loaded SLO with the node that names it, to point at when a later check fails. */
export interface Loaded {
  readonly slo: Slo;
  readonly at: Value;
}

/** Fails on a second SLO with the same service and name. */
export function checkDuplicates(entries: readonly Loaded[]): void {
  const seen = new Map<string, Value>();
  for (const { slo, at } of entries) {
    const key = `${slo.service}\u0000${slo.name}`;
    const first = seen.get(key);
    if (first) {
      const line = first.src.lines.linePos(first.node?.range?.[0] ?? 0).line;
      const where = first.src.file === at.src.file ? `line ${line}` : `${first.src.file}:${line}`;
      throw at.error(
        `duplicate SLO name "${slo.name}" in service "${slo.service}" (first defined at ${where})`,
      );
    }
    seen.set(key, at);
  }
}
