/**
 * Runs an experiment: steady state before, the method (once, or once per blast-radius stage) with
 * the hypothesis and the abort conditions checked all along, rollbacks that always run, the
 * steady state after, and a journal.
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { type Clock, systemClock, type TimerHandle } from '@nines/resilience';
import {
  clockOption,
  functionOption,
  numberOption,
  optionsObject,
} from '@nines/resilience/options';
import { type ActionContext, performAction } from './actions.js';
import { DEFAULT_DISK_FILL_MAX_BYTES } from './disk-fill.js';
import type {
  ActivityRecord,
  CheckRun,
  Journal,
  ProbeResult,
  RunStatus,
  StageRecord,
} from './journal.js';
import { createMetricsRecorder, type MetricsRecorder } from './metrics/recorder.js';
import type { Experiment, Probe, Step } from './model.js';
import { evaluateProbe, type ProbeContext } from './probes.js';

/** Where a run is. */
export type RunPhase = 'warmup' | 'before' | 'method' | 'rollbacks' | 'after' | 'done';

/** What a run reports as it goes, for a live view. */
export type RunEvent =
  | {
      readonly type: 'phase';
      readonly phase: RunPhase;
      readonly elapsedMs: number;
      readonly stage?: number;
    }
  | {
      readonly type: 'check';
      readonly when: 'before' | 'during' | 'after' | 'stage';
      readonly run: CheckRun;
    }
  | {
      readonly type: 'abort-check';
      readonly elapsedMs: number;
      readonly results: readonly ProbeResult[];
    }
  | {
      readonly type: 'step';
      readonly step: string;
      readonly kind: string;
      readonly elapsedMs: number;
    }
  | { readonly type: 'activity'; readonly record: ActivityRecord; readonly rollback: boolean }
  | {
      readonly type: 'stopping';
      readonly why: 'interrupt' | 'abort' | 'deviation' | 'failure';
      readonly reason: string;
    }
  | {
      readonly type: 'scrape';
      readonly url: string;
      readonly up: boolean;
      readonly error?: string;
      readonly elapsedMs: number;
    }
  | { readonly type: 'end'; readonly journal: Journal };

/** Options of {@link runExperiment}. */
export interface RunOptions {
  /** Stops the run (status `interrupted`); rollbacks still run. The CLI aborts it on SIGINT/SIGTERM. */
  readonly signal?: AbortSignal;
  /** Receives progress as the run goes. Errors thrown by it are ignored. */
  readonly onEvent?: (event: RunEvent) => void;
  readonly fetch?: typeof fetch;
  /** Chooses instances to kill. Default `Math.random`. */
  readonly random?: () => number;
  /** Time for pauses, checks and the journal (epoch milliseconds). Default the system clock. */
  readonly clock?: Clock;
  /** How often the metrics are scraped. Default 1000 ms (or the fastest check period, if faster). */
  readonly scrapeEveryMs?: number;
  /** The most bytes a disk fill may write, whatever the file says. Default 1 GiB. */
  readonly maxFillBytes?: number;
  /**
   * The folder every disk-fill quota directory must be inside, whatever the file says. Default:
   * the experiment file's folder.
   */
  readonly fillRoot?: string;
  /** A recorder to read metrics from (default: one scraping the experiment's `metrics`). */
  readonly recorder?: MetricsRecorder;
}

const OWNER = 'runExperiment';
const VERSION = '0.1.0';

interface Change {
  readonly step: string;
  readonly type: string;
  readonly undo: () => Promise<unknown>;
  timer?: TimerHandle;
  done: boolean;
  pending?: Promise<void>;
  readonly stage?: number;
}

type StopCause = 'interrupt' | 'abort' | 'deviation' | 'failure';

/**
 * Runs `experiment` and resolves with its journal (it never rejects for what happens in the
 * run: failures are in the journal). See {@link exitCodeOf} for the verdict as an exit code.
 *
 * @example
 * const journal = await runExperiment(await loadExperimentFile('store-latency.yaml'));
 * console.log(renderReport(journal));
 */
export async function runExperiment(
  experiment: Experiment,
  options: RunOptions = {},
): Promise<Journal> {
  const o = optionsObject<RunOptions>(OWNER, options, [
    'signal',
    'onEvent',
    'fetch',
    'random',
    'clock',
    'scrapeEveryMs',
    'maxFillBytes',
    'fillRoot',
    'recorder',
  ]);
  if (experiment === null || typeof experiment !== 'object' || !Array.isArray(experiment.method)) {
    throw new TypeError(`${OWNER}: experiment must be a loaded experiment (see loadExperiment)`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`${OWNER}: option "signal" must be an AbortSignal`);
  }
  const clock = clockOption<Clock>(OWNER, o.clock, systemClock);
  const doFetch = functionOption<typeof fetch>(OWNER, 'fetch', o.fetch, globalThis.fetch);
  const random = functionOption<() => number>(OWNER, 'random', o.random, Math.random);
  const onEvent = functionOption<((e: RunEvent) => void) | undefined>(
    OWNER,
    'onEvent',
    o.onEvent,
    undefined,
  );
  const maxFillBytes = numberOption(
    OWNER,
    'maxFillBytes',
    o.maxFillBytes,
    DEFAULT_DISK_FILL_MAX_BYTES,
    { min: 0, integer: true },
  );
  if (o.fillRoot !== undefined && (typeof o.fillRoot !== 'string' || o.fillRoot === '')) {
    throw new TypeError(`${OWNER}: option "fillRoot" must be a non-empty path`);
  }
  const fillRoot =
    o.fillRoot ??
    (experiment.file === '<input>' ? process.cwd() : dirname(resolve(experiment.file)));
  const exp = experiment;
  const hypothesis = exp.hypothesis;
  const conditions = exp.abort.conditions;
  const tickMs = numberOption(
    OWNER,
    'scrapeEveryMs',
    o.scrapeEveryMs,
    Math.min(1000, exp.abort.everyMs, hypothesis?.everyMs ?? 1000),
    { min: 10 },
  );

  const runId = randomBytes(3).toString('hex');
  const t0 = clock.now();
  const iso = (t = clock.now()) => new Date(t).toISOString();
  const elapsed = () => Math.round(clock.now() - t0);
  const emit = (e: RunEvent) => {
    try {
      onEvent?.(e);
    } catch {
      // A broken progress display must not break the run (or its rollbacks).
    }
  };
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clock.clearTimeout(handle);
        reject(signal!.reason);
      };
      const handle = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  const metricKinds = new Set(['burn-rate', 'latency', 'error-ratio']);
  const usesMetrics = [...(hypothesis?.probes ?? []), ...conditions].some((p) =>
    metricKinds.has(p.measure.kind),
  );
  const targets = Object.entries(exp.metrics).map(([name, urls]) => ({ name, urls }));
  // Metrics are scraped only when a probe reads them (the loader checks the names exist).
  const recorder =
    o.recorder ??
    (usesMetrics ? createMetricsRecorder({ targets, clock, fetch: doFetch }) : undefined);
  const probeCtx: ProbeContext = {
    ...(recorder ? { recorder } : {}),
    fetch: doFetch,
    now: () => clock.now(),
    sleep,
  };

  // One controller stops the method: an interrupt, a tripped abort condition, a deviation with
  // fail-fast, or a failed action. Rollbacks never use it.
  const methodCtl = new AbortController();
  let stopCause: StopCause | undefined;
  let stopReason = '';
  const stop = (cause: StopCause, reason: string) => {
    if (stopCause) return;
    stopCause = cause;
    stopReason = reason;
    emit({ type: 'stopping', why: cause, reason });
    methodCtl.abort(new Error(reason));
  };
  const onInterrupt = () => {
    const r = o.signal?.reason;
    stop('interrupt', `interrupted${typeof r === 'string' ? ` by ${r}` : ''}`);
  };
  if (o.signal?.aborted) onInterrupt();
  else o.signal?.addEventListener('abort', onInterrupt, { once: true });

  const during: CheckRun[] = [];
  const run: ActivityRecord[] = [];
  const rollbacks: ActivityRecord[] = [];
  const stages: StageRecord[] = [];
  const changes: Change[] = [];
  let before: CheckRun | null = null;
  let after: CheckRun | null = null;
  let beforeMet = true;
  let deviated = false;
  let deviation = '';
  let abortedBy: ProbeResult | null = null;
  let abortChecks = 0;
  let inMethod = false;

  const check = async (probes: readonly Probe[], signal?: AbortSignal): Promise<CheckRun> => {
    const at = clock.now();
    const results = await Promise.all(
      probes.map((p) => evaluateProbe(p, probeCtx, signal ? { signal } : {})),
    );
    return {
      at: iso(at),
      elapsedMs: Math.round(at - t0),
      met: results.every((r) => r.met),
      probes: results,
    };
  };
  const firstMiss = (c: CheckRun) => c.probes.find((p) => !p.met);
  const noteDeviation = (c: CheckRun, when: string) => {
    if (c.met) return;
    const miss = firstMiss(c)!;
    if (!deviated) deviation = `"${miss.name}" did not hold ${when}: ${miss.detail}`;
    deviated = true;
  };

  // The ticker scrapes metrics and, while the method runs, checks the abort conditions and the
  // hypothesis on their own periods. Ticks never overlap.
  const tickCtl = new AbortController();
  let nextAbort = 0;
  let nextDuring = 0;
  const scrapes: Record<string, { ok: number; failed: number; lastError?: string }> = {};
  const scrape = async () => {
    if (!recorder) return;
    for (const r of await recorder.scrape()) {
      scrapes[r.url] ??= { ok: 0, failed: 0 };
      const h = scrapes[r.url]!;
      // lastError is set exactly while the URL is down: announce each change, not every scrape.
      if (r.ok) {
        h.ok++;
        if (h.lastError !== undefined) {
          emit({ type: 'scrape', url: r.url, up: true, elapsedMs: elapsed() });
          delete h.lastError;
        }
      } else {
        h.failed++;
        if (h.lastError === undefined) {
          emit({
            type: 'scrape',
            url: r.url,
            up: false,
            error: r.error ?? 'failed',
            elapsedMs: elapsed(),
          });
        }
        h.lastError = r.error ?? 'failed';
      }
    }
  };
  const tick = async () => {
    if (usesMetrics) await scrape();
    if (!inMethod || methodCtl.signal.aborted) return;
    const now = clock.now();
    if (conditions.length && now >= nextAbort) {
      nextAbort = now + exp.abort.everyMs;
      abortChecks++;
      const results = await Promise.all(
        conditions.map((c) => evaluateProbe(c, probeCtx, { signal: methodCtl.signal })),
      );
      emit({ type: 'abort-check', elapsedMs: elapsed(), results });
      const tripped = results.find((r) => !r.met);
      if (tripped && !methodCtl.signal.aborted) {
        abortedBy = tripped;
        stop('abort', `abort condition "${tripped.name}" no longer held: ${tripped.detail}`);
        return;
      }
    }
    if (hypothesis && now >= nextDuring && !methodCtl.signal.aborted) {
      nextDuring = now + hypothesis.everyMs;
      const c = await check(hypothesis.probes, methodCtl.signal);
      if (methodCtl.signal.aborted && stopCause !== undefined && stopCause !== 'deviation') return;
      during.push(c);
      emit({ type: 'check', when: 'during', run: c });
      noteDeviation(c, 'during the method');
      if (!c.met && hypothesis.failFast) stop('deviation', deviation);
    }
  };
  const ticker = (async () => {
    while (!tickCtl.signal.aborted) {
      try {
        await tick();
      } catch {
        // A failed scrape or probe is recorded in its result; the ticker keeps going.
      }
      await sleep(tickMs, tickCtl.signal).catch(() => {});
    }
  })();

  const record = (
    list: ActivityRecord[],
    name: string,
    type: string,
    start: number,
    status: ActivityRecord['status'],
    extra: { output?: unknown; error?: string; stage?: number },
  ): ActivityRecord => {
    const end = clock.now();
    const rec: ActivityRecord = {
      name,
      type,
      start: iso(start),
      end: iso(end),
      durationMs: Math.round(end - start),
      status,
      ...(extra.output !== undefined ? { output: extra.output } : {}),
      ...(extra.error !== undefined ? { error: extra.error } : {}),
      ...(extra.stage !== undefined ? { stage: extra.stage } : {}),
    };
    list.push(rec);
    emit({ type: 'activity', record: rec, rollback: list === rollbacks });
    return rec;
  };

  const undoChange = (c: Change, list: ActivityRecord[]): Promise<void> => {
    if (c.done) return c.pending ?? Promise.resolve();
    c.done = true;
    if (c.timer !== undefined) clock.clearTimeout(c.timer);
    const start = clock.now();
    c.pending = c.undo().then(
      (output) => {
        record(list, c.step, `undo ${c.type}`, start, 'succeeded', { output, ...stageOf(c) });
      },
      (err: Error) => {
        record(list, c.step, `undo ${c.type}`, start, 'failed', {
          error: err.message,
          ...stageOf(c),
        });
      },
    );
    return c.pending;
  };
  const stageOf = (c: Change) => (c.stage !== undefined ? { stage: c.stage } : {});

  const actionContext = (
    stepName: string,
    signal: AbortSignal,
    shares: Pick<ActionContext, 'requestShare' | 'instanceShare'> = {},
  ): ActionContext => ({
    experiment: exp,
    fetch: doFetch,
    random,
    ...shares,
    maxFillBytes,
    fillRoot,
    runId,
    stepName,
    signal,
  });

  const runSteps = async (steps: readonly Step[], stage: number | undefined) => {
    const requestShare = stage ?? exp.blastRadius.requests;
    const instanceShare = stage ?? exp.blastRadius.instances;
    const shares = {
      ...(requestShare !== undefined ? { requestShare } : {}),
      ...(instanceShare !== undefined ? { instanceShare } : {}),
    };
    const st = stage !== undefined ? { stage } : {};
    for (const step of steps) {
      if (methodCtl.signal.aborted) return;
      const start = clock.now();
      emit({
        type: 'step',
        step: step.name,
        kind: step.type === 'pause' ? 'pause' : step.action.kind,
        elapsedMs: elapsed(),
      });
      if (step.type === 'pause') {
        try {
          await sleep(step.ms, methodCtl.signal);
          record(run, step.name, 'pause', start, 'succeeded', { output: { ms: step.ms }, ...st });
        } catch {
          record(run, step.name, 'pause', start, 'interrupted', { ...st });
          return;
        }
        continue;
      }
      const action = step.action;
      if (action.kind === 'undo') {
        const targets = changes.filter((c) => c.step === action.step);
        await Promise.all(targets.map((c) => undoChange(c, run)));
        record(run, step.name, 'undo', start, 'succeeded', {
          output: { step: action.step, changes: targets.length },
          ...st,
        });
        continue;
      }
      try {
        const performed = await performAction(
          action,
          actionContext(step.name, methodCtl.signal, shares),
        );
        if (performed.undo) {
          const change: Change = {
            step: step.name,
            type: action.kind,
            undo: performed.undo,
            done: false,
            ...st,
          };
          changes.push(change);
          const duration = 'durationMs' in action ? action.durationMs : undefined;
          if (duration !== undefined) {
            change.timer = clock.setTimeout(() => void undoChange(change, run), duration);
          }
          // Interrupted while the action was in flight: its change is recorded, so it is undone.
        }
        record(run, step.name, action.kind, start, 'succeeded', {
          output: performed.output,
          ...st,
        });
      } catch (err) {
        const message = (err as Error).message;
        if (methodCtl.signal.aborted) {
          record(run, step.name, action.kind, start, 'interrupted', { error: message, ...st });
          return;
        }
        record(run, step.name, action.kind, start, 'failed', { error: message, ...st });
        stop('failure', `step "${step.name}" failed: ${message}`);
        return;
      }
    }
  };

  const phase = (p: RunPhase, stage?: number) =>
    emit({
      type: 'phase',
      phase: p,
      elapsedMs: elapsed(),
      ...(stage !== undefined ? { stage } : {}),
    });

  try {
    if (exp.warmupMs > 0 && !methodCtl.signal.aborted) {
      phase('warmup');
      await sleep(exp.warmupMs, methodCtl.signal).catch(() => {});
    }
    if (usesMetrics && !methodCtl.signal.aborted) await scrape().catch(() => {});

    if (hypothesis && !methodCtl.signal.aborted) {
      phase('before');
      before = await check(hypothesis.probes, methodCtl.signal);
      emit({ type: 'check', when: 'before', run: before });
      if (!before.met && !methodCtl.signal.aborted) beforeMet = false;
    }

    if (beforeMet && !methodCtl.signal.aborted) {
      inMethod = true;
      const now = clock.now();
      nextAbort = now;
      nextDuring = now + (hypothesis?.everyMs ?? 0);
      if (exp.blastRadius.stages.length === 0) {
        phase('method');
        await runSteps(exp.method, undefined);
      } else {
        for (const share of exp.blastRadius.stages) {
          if (methodCtl.signal.aborted) break;
          phase('method', share);
          const start = clock.now();
          const wasDeviated = deviated;
          await runSteps(exp.method, share);
          // A stage ends with its changes undone, so the next stage starts from steady state.
          await Promise.all(
            changes.filter((c) => c.stage === share).map((c) => undoChange(c, run)),
          );
          let stageDeviated = deviated && !wasDeviated;
          if (hypothesis && !methodCtl.signal.aborted) {
            const c = await check(hypothesis.probes, methodCtl.signal);
            during.push(c);
            emit({ type: 'check', when: 'stage', run: c });
            noteDeviation(c, `after the ${Math.round(share * 100)} % stage`);
            if (!c.met) stageDeviated = true;
          }
          stages.push({ share, start: iso(start), end: iso(), deviated: stageDeviated });
          if (stageDeviated) break;
        }
      }
      inMethod = false;
    }
  } finally {
    inMethod = false;
    // Rollbacks run whatever happened: our own undos first (newest first), then the file's.
    phase('rollbacks');
    const open = changes.filter((c) => !c.done).reverse();
    for (const c of open) await undoChange(c, rollbacks);
    await Promise.all(changes.map((c) => c.pending));
    const rollbackCtl = new AbortController();
    for (const step of exp.rollbacks) {
      const start = clock.now();
      if (step.type === 'pause') {
        await sleep(step.ms);
        record(rollbacks, step.name, 'pause', start, 'succeeded', { output: { ms: step.ms } });
        continue;
      }
      try {
        const performed = await performAction(
          step.action,
          actionContext(step.name, rollbackCtl.signal),
        );
        record(rollbacks, step.name, step.action.kind, start, 'succeeded', {
          output: performed.output,
        });
        // A rollback that itself changes something (rare) is undone at once: nothing stays behind.
        if (performed.undo) await performed.undo().catch(() => {});
      } catch (err) {
        // A failed rollback never stops the others.
        record(rollbacks, step.name, step.action.kind, start, 'failed', {
          error: (err as Error).message,
        });
      }
    }
  }

  const status: RunStatus =
    stopCause === 'interrupt'
      ? 'interrupted'
      : !beforeMet
        ? 'failed'
        : stopCause === 'abort' || stopCause === 'failure'
          ? 'aborted'
          : 'completed';

  if (hypothesis && status === 'completed') {
    phase('after');
    after = await check(hypothesis.probes, o.signal);
    emit({ type: 'check', when: 'after', run: after });
    noteDeviation(after, 'after the method');
  }
  tickCtl.abort();
  await ticker;
  o.signal?.removeEventListener('abort', onInterrupt);

  let reason: string;
  if (status === 'failed') {
    const miss = before ? firstMiss(before) : undefined;
    reason = `the steady state did not hold before the method, so nothing was injected${miss ? `: "${miss.name}": ${miss.detail}` : ''}`;
  } else if (status !== 'completed') {
    reason = stopReason;
  } else if (deviated) {
    reason = `the hypothesis did not hold: ${deviation}`;
  } else {
    reason = hypothesis
      ? 'the hypothesis held before, during and after the method'
      : 'the method ran to its end (no hypothesis to check)';
  }

  const end = clock.now();
  const journal: Journal = {
    nines: { chaos: VERSION },
    experiment: {
      title: exp.title,
      ...(exp.description !== undefined ? { description: exp.description } : {}),
      file: exp.file,
      tags: exp.tags,
    },
    start: iso(t0),
    end: iso(end),
    duration: Math.round(end - t0) / 1000,
    status,
    deviated,
    reason,
    steady_states: { before, during, after },
    stages,
    aborted_by: abortedBy,
    abort_checks: abortChecks,
    run,
    rollbacks,
    scrapes,
  };
  phase('done');
  emit({ type: 'end', journal });
  return journal;
}
