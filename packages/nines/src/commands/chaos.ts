import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type CheckRun,
  exitCodeOf,
  type Journal,
  loadExperimentFile,
  parseByteSize,
  type RunEvent,
  renderPlan,
  renderReport,
  runExperiment,
} from '@nines/chaos';
import { SpecError } from '@nines/slo';
import { type Command, EXIT, type Io, parseOptions, UsageError, userPath } from '../command.js';
import { clockText, createProgress } from '../progress.js';

const runHelp = `Usage: nines chaos run <experiment.yaml> [options]

Runs a chaos experiment: checks the steady-state hypothesis (SLO burn rates, latency, HTTP and
command probes), runs the method (latency, blocked dependencies, errors, clock skew, killed
instances, disk fill, HTTP calls, commands) while checking the hypothesis and the abort
conditions, always runs the rollbacks, checks the hypothesis again, and writes a journal.
Progress is shown live on a terminal, as plain lines otherwise.

Options:
  --dry-run             validate the file and print the plan; contact nothing
  --journal <file>      where to write the journal (default journal.json)
  --report <file>       also write the report to this file
  --json                print the journal as JSON instead of the live view and the report
  --var <NAME=VALUE>    a value for \${env:NAME} in the file (repeatable; wins over the environment)
  --max-fill <size>     the most a fill-disk action may write, whatever the file says
                        (default 1GiB; e.g. 64MiB)
  --fill-root <dir>     the folder fill-disk quota directories must be inside, whatever the
                        file says (default: the experiment file's folder)
  -h, --help            show this help

SIGINT or SIGTERM stops the method and runs the rollbacks; a second one quits at once (faults
injected into services still expire by their TTL).

Exit codes: 0 the hypothesis held; 1 it did not hold (during or after the method, or already
before it: then nothing was injected); 2 bad command line or experiment file; 3 aborted (an abort
condition tripped or an action failed); 130 interrupted.

Example:
  nines chaos run --dry-run store-latency.yaml
  nines chaos run store-latency.yaml --journal out/journal.json
`;

const run: Command = {
  name: 'run',
  summary: 'run a chaos experiment (or --dry-run it)',
  help: runHelp,
  async run(args, io) {
    const parsed = parse(args);
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(runHelp);
      return EXIT.ok;
    }
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length
          ? `one experiment file at a time, got ${positionals.length}`
          : 'name the experiment file',
      );
    }
    const env: Record<string, string | undefined> = { ...process.env };
    for (const v of values.var ?? []) {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new UsageError(`--var must be NAME=VALUE, got ${JSON.stringify(v)}`);
      env[v.slice(0, eq)] = v.slice(eq + 1);
    }
    const maxFillBytes =
      values['max-fill'] === undefined ? undefined : parseSize(values['max-fill']);
    let experiment: Awaited<ReturnType<typeof loadExperimentFile>>;
    try {
      experiment = await loadExperimentFile(userPath(positionals[0]!, io), { env });
    } catch (err) {
      if (err instanceof SpecError) throw new UsageError(err.message);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
        throw new UsageError(`cannot read ${positionals[0]}: ${(err as Error).message}`);
      }
      throw err;
    }
    if (values['dry-run']) {
      io.out(renderPlan(experiment));
      io.out('Dry run: the file is valid; nothing was contacted.\n');
      return EXIT.ok;
    }

    const controller = new AbortController();
    let signals = 0;
    const onSignal = (name: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        io.err(
          `nines chaos: ${name}: stopping the method and running the rollbacks (again to quit at once)\n`,
        );
        controller.abort(name);
      } else {
        io.err(`nines chaos: ${name} again: quitting without waiting for the rollbacks\n`);
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const view = values.json ? undefined : liveView(io, experiment.title);
    let journal: Journal;
    try {
      journal = await runExperiment(experiment, {
        signal: controller.signal,
        ...(view ? { onEvent: view.onEvent } : {}),
        ...(maxFillBytes !== undefined ? { maxFillBytes } : {}),
        ...(values['fill-root'] !== undefined
          ? { fillRoot: resolve(io.cwd, values['fill-root']) }
          : {}),
      });
    } finally {
      view?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const journalPath = resolve(io.cwd, values.journal ?? 'journal.json');
    await writeFile(journalPath, `${JSON.stringify(journal, null, 2)}\n`);
    const report = renderReport(journal);
    if (values.report) await writeFile(resolve(io.cwd, values.report), report);
    if (values.json) io.out(`${JSON.stringify(journal, null, 2)}\n`);
    else io.out(`\n${report}\nJournal: ${journalPath}\n`);
    return exitCodeOf(journal);
  },
};

/** `nines chaos`: the experiment runner. */
export const chaos: Command = {
  name: 'chaos',
  summary: 'run chaos experiments whose steady state is an SLO',
  help: `Usage: nines chaos <command> [options]

Commands:
  run   ${run.summary}

See "nines chaos run --help" for the experiment file and the exit codes.
`,
  commands: [run],
};

function parse(args: readonly string[]) {
  return parseOptions({
    args: [...args],
    options: {
      'dry-run': { type: 'boolean' },
      journal: { type: 'string' },
      report: { type: 'string' },
      json: { type: 'boolean' },
      var: { type: 'string', multiple: true },
      'max-fill': { type: 'string' },
      'fill-root': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
}

function parseSize(text: string): number {
  try {
    return parseByteSize(text);
  } catch {
    throw new UsageError(
      `--max-fill must be a size such as 64MiB or 1GB, got ${JSON.stringify(text)}`,
    );
  }
}

function summary(c: CheckRun): string {
  const ok = c.probes.filter((p) => p.met).length;
  const miss = c.probes.find((p) => !p.met);
  return `${c.met ? 'met' : 'NOT met'} (${ok}/${c.probes.length})${miss ? ` — ${miss.name}: ${miss.detail}` : ''}`;
}

/** The live view of a run: scrolling lines for what happened, a status block for where it is. */
function liveView(io: Io, title: string) {
  const progress = createProgress({ write: io.out, tty: io.tty === true });
  const started = Date.now();
  let phase = 'starting';
  let step = '';
  let lastCheck = '';
  let checks = 0;
  let misses = 0;
  let abortChecks = 0;
  const at = (ms: number) => `[${clockText(ms)}]`;
  const redraw = () =>
    progress.status([
      `nines chaos · ${title}`,
      `  phase ${phase} · elapsed ${clockText(Date.now() - started)}${step ? ` · step ${step}` : ''}`,
      `  hypothesis: ${checks} checks, ${misses} not met${lastCheck ? ` · last: ${lastCheck}` : ''}`,
      `  abort conditions: ${abortChecks} checks`,
    ]);
  // Only the elapsed time changes between events; a timer keeps it honest on a terminal.
  const timer = io.tty ? setInterval(redraw, 1000) : undefined;
  timer?.unref();
  const onEvent = (e: RunEvent) => {
    switch (e.type) {
      case 'phase':
        phase = e.stage !== undefined ? `${e.phase} (${Math.round(e.stage * 100)} %)` : e.phase;
        if (e.phase !== 'done') progress.log(`${at(e.elapsedMs)} phase ${phase}`);
        break;
      case 'check':
        checks++;
        if (!e.run.met) misses++;
        lastCheck = summary(e.run);
        // During the method, only changes of verdict scroll; every check shows in the block.
        if (e.when !== 'during' || !e.run.met)
          progress.log(`${at(e.run.elapsedMs)} hypothesis ${e.when}: ${lastCheck}`);
        break;
      case 'abort-check':
        abortChecks++;
        break;
      case 'step':
        step = `${e.step} (${e.kind})`;
        progress.log(`${at(e.elapsedMs)} step ${step}`);
        break;
      case 'activity': {
        const r = e.record;
        const mark = r.status === 'succeeded' ? 'done' : r.status;
        progress.log(
          `${at(Date.now() - started)} ${e.rollback ? 'rollback ' : ''}${r.name} (${r.type}) ${mark}${r.error ? `: ${r.error}` : ''}`,
        );
        break;
      }
      case 'scrape':
        progress.log(
          `${at(e.elapsedMs)} metrics ${e.url} ${e.up ? 'answers again' : `unreachable: ${e.error}`}`,
        );
        break;
      case 'stopping':
        progress.log(`${at(Date.now() - started)} stopping: ${e.reason}`);
        break;
      case 'end':
        step = '';
        break;
    }
    redraw();
  };
  return {
    onEvent,
    stop() {
      if (timer) clearInterval(timer);
      progress.done();
    },
  };
}
