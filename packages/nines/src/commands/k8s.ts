import { type HealthOptions, kubernetesProbes, toYaml } from '@nines/health';
import { type Command, EXIT, parseOptions, UsageError } from '../command.js';
import { loadConfig } from '../config.js';

const probesHelp = `Usage: nines k8s probes [options]

Prints the livenessProbe, readinessProbe and startupProbe blocks, the preStop hook and the
terminationGracePeriodSeconds that match a service's health configuration (the lesson's probe
timing by default: liveness every 15 s, restart after 3 failures; readiness every 5 s, out of
rotation after 2; startup up to 30 x 10 s).

Options:
  --config <file>    the service's health configuration: .json, or an ES module (.js, .mjs)
                     exporting it as "health" or as its default export
  --port <port>      container port number or name the probes are reached on
                     (default: the probe server's port, else "http")
  --hooks <n>        cleanup hooks the service registers (default 2)
  --json             print JSON instead of YAML
  -h, --help         show this help

Exit codes: 0 printed; 2 bad option or configuration.

Example:
  nines k8s probes --config ./health.config.js --port 9000
`;

const probes: Command = {
  name: 'probes',
  summary: 'print Kubernetes probes, preStop and grace period for a health configuration',
  help: probesHelp,
  async run(args, io) {
    const parsed = parse(args);
    const { values } = parsed;
    if (values.help) {
      io.out(probesHelp);
      return EXIT.ok;
    }
    const health = (
      values.config ? await loadConfig(values.config, io.cwd, 'health') : {}
    ) as HealthOptions;
    let port: number | string | undefined;
    if (values.port !== undefined)
      port = /^\d+$/.test(values.port) ? Number(values.port) : values.port;
    let hooks: number | undefined;
    if (values.hooks !== undefined) {
      hooks = Number(values.hooks);
      if (!/^\d+$/.test(values.hooks))
        throw new UsageError(`--hooks must be a whole number, got ${values.hooks}`);
    }
    let config: ReturnType<typeof kubernetesProbes>;
    try {
      config = kubernetesProbes(health, {
        ...(port !== undefined ? { port } : {}),
        ...(hooks !== undefined ? { hooks } : {}),
      });
    } catch (err) {
      throw new UsageError(
        `${values.config ?? 'configuration'}: ${(err as Error).message.replace(/^kubernetesProbes: /, '')}`,
      );
    }
    io.out(values.json ? `${JSON.stringify(config, null, 2)}\n` : toYaml(config));
    return EXIT.ok;
  },
};

function parse(args: readonly string[]) {
  return parseOptions({
    args: [...args],
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      hooks: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

/** `nines k8s`: Kubernetes settings derived from the service's own configuration. */
export const k8s: Command = {
  name: 'k8s',
  summary: 'Kubernetes settings derived from the service configuration',
  help: `Usage: nines k8s <command> [options]

Commands:
  probes    ${probes.summary}

Run "nines k8s <command> --help" for a command's options.
`,
  commands: [probes],
};
