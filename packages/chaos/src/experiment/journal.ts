/**
 * The journal of a run: what was checked, done and undone, with times. Its shape follows Chaos
 * Toolkit's journal (status, deviated, steady_states, run, rollbacks) so tools that read one can
 * read the other; nines adds stages, the abort that stopped a run and the reason in words.
 */

/** How a run ended. */
export type RunStatus =
  /** The method ran to its end (or stopped at a deviation with fail-fast); see `deviated`. */
  | 'completed'
  /** The steady state did not hold before the method, so nothing was injected. */
  | 'failed'
  /** An abort condition tripped or an action of the method failed. */
  | 'aborted'
  /** SIGINT or SIGTERM (or the caller's signal) stopped the run. */
  | 'interrupted';

/** One probe's outcome. */
export interface ProbeResult {
  readonly name: string;
  /** The probe's tolerance held (for an abort condition: the run may go on). */
  readonly met: boolean;
  /** The measured value (a number for metrics, the status or exit code otherwise). */
  readonly value: number | null;
  /** What the value was compared with, in words (`below 2`, `status 200`). */
  readonly expected: string;
  /** One line for people: the value with its unit and the window it covers. */
  readonly detail: string;
  /** True when a metrics window held no requests: nothing to judge, so it counts as met. */
  readonly noData?: boolean;
  readonly error?: string;
  readonly durationMs: number;
}

/** One evaluation of a set of probes. */
export interface CheckRun {
  readonly at: string;
  readonly elapsedMs: number;
  readonly met: boolean;
  readonly probes: readonly ProbeResult[];
}

/** One step (action or pause) that ran, or one change undone. */
export interface ActivityRecord {
  readonly name: string;
  /** The action kind, `pause`, or `undo <kind>` for an automatic rollback. */
  readonly type: string;
  readonly start: string;
  readonly end: string;
  readonly durationMs: number;
  readonly status: 'succeeded' | 'failed' | 'interrupted';
  /** What the action did: ids of faults and toxics, pids killed, bytes written, a status. */
  readonly output?: unknown;
  readonly error?: string;
  /** The blast-radius stage (share) the step ran in, when the experiment has stages. */
  readonly stage?: number;
}

/** One stage of a staged blast radius. */
export interface StageRecord {
  readonly share: number;
  readonly start: string;
  readonly end: string;
  readonly deviated: boolean;
}

/** The whole record of a run, written as JSON. */
export interface Journal {
  readonly nines: { readonly chaos: string };
  readonly experiment: {
    readonly title: string;
    readonly description?: string;
    readonly file: string;
    readonly tags: readonly string[];
  };
  readonly start: string;
  readonly end: string;
  /** Seconds, as Chaos Toolkit writes it. */
  readonly duration: number;
  readonly status: RunStatus;
  /** The hypothesis did not hold during or after the method. */
  readonly deviated: boolean;
  /** Why the run ended as it did, in one sentence. */
  readonly reason: string;
  readonly steady_states: {
    readonly before: CheckRun | null;
    readonly during: readonly CheckRun[];
    readonly after: CheckRun | null;
  };
  readonly stages: readonly StageRecord[];
  /** The abort condition that stopped the run, if one did. */
  readonly aborted_by: ProbeResult | null;
  /** How many times the abort conditions were checked. */
  readonly abort_checks: number;
  readonly run: readonly ActivityRecord[];
  readonly rollbacks: readonly ActivityRecord[];
  /** Scrapes of each metrics URL: how many worked, how many failed and the last failure. */
  readonly scrapes: Readonly<Record<string, ScrapeHealth>>;
}

/** How the scrapes of one metrics URL went. */
export interface ScrapeHealth {
  readonly ok: number;
  readonly failed: number;
  readonly lastError?: string;
}

/**
 * The exit code `nines chaos run` uses for a journal: 0 the hypothesis held; 1 it did not (or
 * was not met before the method); 3 aborted; 130 interrupted.
 */
export function exitCodeOf(journal: Pick<Journal, 'status' | 'deviated'>): number {
  switch (journal?.status) {
    case 'completed':
      return journal.deviated ? 1 : 0;
    case 'failed':
      return 1;
    case 'aborted':
      return 3;
    case 'interrupted':
      return 130;
    default:
      throw new TypeError(
        `exitCodeOf: expected a journal with a status (completed, failed, aborted, interrupted), got ${String(journal?.status)}`,
      );
  }
}
