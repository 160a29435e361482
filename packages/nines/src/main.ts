import { type Command, EXIT, type Io, UsageError } from './command.js';
import { availability } from './commands/availability.js';
import { budget } from './commands/budget.js';
import { chaos } from './commands/chaos.js';
import { demo } from './commands/demo.js';
import { k8s } from './commands/k8s.js';
import { proxy } from './commands/proxy.js';
import { slo } from './commands/slo.js';

const root: Command = {
  name: 'nines',
  summary: 'reliability toolkit for Node.js services',
  help: `Usage: nines <command> [options]

Commands:
  slo           ${slo.summary}
  budget        ${budget.summary}
  availability  ${availability.summary}
  chaos         ${chaos.summary}
  demo          ${demo.summary}
  k8s           ${k8s.summary}
  proxy         ${proxy.summary}

Options:
  -h, --help   show help (also after any command: "nines k8s probes --help")

Exit codes (every command):
  0  success
  1  the command ran and found a problem
  2  bad command line or configuration; nothing was done
`,
  commands: [slo, budget, availability, chaos, demo, k8s, proxy],
};

/**
 * Runs the `nines` command line with `args` (without the node and script paths) and resolves with
 * the exit code. Output goes through `io`, so tests and embedders capture it.
 *
 * @example
 * const code = await main(['k8s', 'probes', '--json'], { out: console.log, err: console.error, cwd: process.cwd() });
 */
export async function main(args: readonly string[], io: Io): Promise<number> {
  let command = root;
  let i = 0;
  while (command.commands && i < args.length && !args[i]!.startsWith('-')) {
    const name = args[i]!;
    const next = command.commands.find((c) => c.name === name);
    if (!next) {
      io.err(`${path(args, i)}: unknown command "${name}"\n\n${command.help}`);
      return EXIT.usage;
    }
    command = next;
    i++;
  }
  const rest = args.slice(i);
  if (!command.run) {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(command.help);
      return EXIT.ok;
    }
    io.err(rest.length > 0 ? `unknown option ${rest[0]}\n\n${command.help}` : command.help);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`nines: ${err.message}\n(see "${path(args, i)} --help")\n`);
      return EXIT.usage;
    }
    io.err(`nines: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failure;
  }
}

function path(args: readonly string[], end: number): string {
  return ['nines', ...args.slice(0, end)].join(' ');
}
