import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, EXIT, parseOptions, UsageError } from '../command.js';
import type { DemoReport, DemoState } from '../demo/model.js';
import { renderDemoReport } from '../demo/report.js';
import { runDemo } from '../demo/run.js';
import { renderSummaryLine, renderView } from '../demo/view.js';
import { createProgress } from '../progress.js';

const help = `Usage: nines demo [options]

Runs the orders system of the repository (examples/orders) as real processes on loopback:
orders -> store (SQLite) and orders -> pricing -> an external price API, with the fault proxy in
front of the store and the external API. Drives steady traffic, shows a live view (RED per
service, SLOs and budgets, breakers, alerts), runs a chaos experiment (500 ms on the external API,
then the store blocked, then recovery) and ends with a report: the hypothesis, the budget spent,
the alerts fired and resolved, the breaker timeline and the slowest trace across the services.
Every process is stopped and every port freed at the end.

Options:
  --duration <time>   length of the run, e.g. 120s or 2m (default 2m; at least 20s); the chaos
                      schedule scales with it
  --follow            keep running (and serving traffic) after the scenario, until Ctrl-C
  --json              print the report as JSON, without the live view
  --no-chaos          traffic and the live view only
  --rate <n>          requests per second to orders (default 20)
  --logs <dir>        where the services' logs and the chaos journal go (default a new temp folder)
  --system <dir>      the orders system's folder (default examples/orders of this repository)
  -h, --help          show this help

Exit codes: 0 the demo ran and everything was stopped; 1 it failed, or a port was left open;
2 bad option.
`;

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m)
    throw new UsageError(
      `--duration must be a time such as 90s or 2m, got ${JSON.stringify(text)}`,
    );
  const unit = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 20_000) throw new UsageError(`--duration must be at least 20s, got ${text}`);
  return ms;
}

export const demo: Command = {
  name: 'demo',
  summary: 'run the orders system with traffic, a live view and a chaos experiment',
  help,
  async run(args, io) {
    const { values } = parse(args);
    if (values.help) {
      io.out(help);
      return EXIT.ok;
    }
    const durationMs = values.duration === undefined ? 120_000 : parseDuration(values.duration);
    let rate = 20;
    if (values.rate !== undefined) {
      rate = Number(values.rate);
      if (!Number.isFinite(rate) || rate <= 0 || rate > 500) {
        throw new UsageError(
          `--rate must be a number of requests per second in (0, 500], got ${values.rate}`,
        );
      }
    }
    const systemDir = values.system
      ? resolve(io.cwd, values.system)
      : fileURLToPath(new URL('../../../../examples/orders/', import.meta.url));

    const controller = new AbortController();
    const onSignal = (name: NodeJS.Signals) => {
      io.err(`nines demo: ${name}: stopping (rollbacks, then every process)\n`);
      controller.abort(name);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const live = !values.json;
    const progress = createProgress({ write: io.out, tty: io.tty === true });
    let lastLine = 0;
    const onState = (state: DemoState) => {
      if (!live) return;
      if (io.tty) {
        progress.status(renderView(state, { color: true }));
      } else if (state.elapsedMs - lastLine >= 5000) {
        lastLine = state.elapsedMs;
        progress.log(renderSummaryLine(state));
      }
    };
    let report: DemoReport;
    try {
      report = await runDemo({
        systemDir,
        durationMs,
        follow: values.follow === true,
        chaos: values['no-chaos'] !== true,
        rate,
        ...(values.logs ? { logsDir: resolve(io.cwd, values.logs) } : {}),
        signal: controller.signal,
        onState,
        onEvent: (line) => {
          if (live) progress.log(line);
        },
      });
    } finally {
      progress.done();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
    else io.out(`\n${renderDemoReport(report, { color: io.tty === true })}`);
    return report.portsFreed ? EXIT.ok : EXIT.failure;
  },
};

function parse(args: readonly string[]) {
  return parseOptions({
    args: [...args],
    options: {
      duration: { type: 'string' },
      follow: { type: 'boolean' },
      json: { type: 'boolean' },
      'no-chaos': { type: 'boolean' },
      rate: { type: 'string' },
      logs: { type: 'string' },
      system: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}
