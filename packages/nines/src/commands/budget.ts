import {
  type BudgetIncident,
  DEFAULT_ERROR_BUDGET_POLICY,
  type ErrorBudgetPolicy,
  type ErrorBudgetPolicyOptions,
  errorBudgetPolicy,
  evaluatePolicy,
  type PolicyDecision,
  type Slo,
} from '@nines/slo';
import { type Command, EXIT, type Io, parseOptions, UsageError } from '../command.js';
import { loadConfig } from '../config.js';
import { loadSpecs, parseAt, reportSpecError, restoreSlos, share, sloId } from './slo.js';

const checkHelp = `Usage: nines budget check --spec <file> --snapshot <file> [options]

Evaluates the error budget policy for each SLO of the spec that has a snapshot: its state
(healthy, at-risk, exhausted), the budget remaining, whether changes freeze, why, and which
incidents need a postmortem. Exits 1 when any SLO is frozen, so a CI/CD pipeline can gate a
deploy on it:

  nines budget check --spec slos/ --snapshot state/ || exit 1

The default policy is Google's example (SRE Workbook, appendix B): at risk below 25 % of the
budget remaining, exhausted at 0 % or below, changes freeze when exhausted except P0 and
security changes, and an incident that consumed more than 20 % of the budget needs a postmortem.

Options:
  --spec <path>        SLO spec file or directory (repeatable)
  --snapshot <path>    snapshot file, map of snapshots by "<service>/<name>", or directory
                       (repeatable; see "nines slo report --help")
  --policy <file>      policy options: .json, or an ES module (.js, .mjs) exporting them as
                       "policy" or as its default export, e.g.
                       { "atRiskBelow": 0.5, "freezeFrom": "at-risk", "exemptions": ["P0"] }
  --exemption <kind>   the change being gated is of this exempt kind (one of the policy's
                       exemptions, P0 or security by default): a freeze does not stop it
  --incidents <file>   .json (or module exporting "incidents") mapping "<service>/<name>" to
                       incidents: [{ "id": "INC-7", "budgetConsumed": 0.34 }]
  --at <time>          evaluate at this time ("now" or an ISO date) instead of the time each
                       snapshot was taken
  --json               print JSON
  -h, --help           show this help

Exit codes: 0 no SLO is frozen; 1 at least one SLO is frozen; 2 bad option, spec, snapshot,
policy or incidents file.
`;

/** What `nines budget check --json` prints for one SLO. */
interface BudgetCheck extends PolicyDecision {
  readonly slo: string;
  readonly remaining: number;
  readonly at: number;
}

async function loadPolicy(file: string | undefined, io: Io): Promise<ErrorBudgetPolicy> {
  if (file === undefined) return DEFAULT_ERROR_BUDGET_POLICY;
  const options = await loadConfig(file, io.cwd, 'policy');
  try {
    return errorBudgetPolicy(options as ErrorBudgetPolicyOptions);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

async function loadIncidents(
  file: string | undefined,
  slos: readonly Slo[],
  io: Io,
): Promise<Map<string, readonly BudgetIncident[]>> {
  const incidents = new Map<string, readonly BudgetIncident[]>();
  if (file === undefined) return incidents;
  const value = await loadConfig(file, io.cwd, 'incidents');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(
      `${file}: must map "<service>/<name>" to a list of { id, budgetConsumed }`,
    );
  }
  const ids = new Set(slos.map(sloId));
  for (const [key, list] of Object.entries(value)) {
    // A key that names no SLO is most likely a typo that would silently drop a postmortem.
    if (!ids.has(key)) {
      throw new UsageError(`${file}: "${key}" is not an SLO of the spec (${[...ids].join(', ')})`);
    }
    if (!Array.isArray(list)) {
      throw new UsageError(`${file}: "${key}" must be a list of { id, budgetConsumed }`);
    }
    incidents.set(key, list as BudgetIncident[]);
  }
  return incidents;
}

function printCheck(c: BudgetCheck): string {
  const verdict = c.freeze ? 'FROZEN' : c.exempted ? 'frozen, but this change is exempt' : 'open';
  const lines = [`${c.slo}: ${c.state}, ${share(c.remaining)} of the budget remaining, ${verdict}`];
  for (const reason of c.reasons) lines.push(`  - ${reason}`);
  return `${lines.join('\n')}\n`;
}

const check: Command = {
  name: 'check',
  summary: 'evaluate the error budget policy; exit 1 when changes are frozen',
  help: checkHelp,
  async run(args, io) {
    const { values } = parseOptions({
      args: [...args],
      options: {
        spec: { type: 'string', multiple: true },
        snapshot: { type: 'string', multiple: true },
        policy: { type: 'string' },
        exemption: { type: 'string' },
        incidents: { type: 'string' },
        at: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.out(checkHelp);
      return EXIT.ok;
    }
    if (!values.spec) throw new UsageError('--spec <file> is required');
    if (!values.snapshot) throw new UsageError('--snapshot <file> is required');
    const at = parseAt(values.at);
    const policy = await loadPolicy(values.policy, io);
    const exemption = values.exemption;
    if (exemption !== undefined && !policy.exemptions.includes(exemption)) {
      throw new UsageError(
        `--exemption must be one of the policy's exemptions (${policy.exemptions.join(', ') || 'none'}), got "${exemption}"`,
      );
    }
    let slos: Slo[];
    try {
      slos = await loadSpecs(values.spec, io);
    } catch (err) {
      return reportSpecError(err, io);
    }
    const incidents = await loadIncidents(values.incidents, slos, io);
    const { restored, missing } = await restoreSlos(slos, values.snapshot, io, at);
    const checks: BudgetCheck[] = restored.map(({ slo, tracker, at }) => {
      const id = sloId(slo);
      const remaining = tracker.budget().remaining;
      let decision: PolicyDecision;
      try {
        decision = evaluatePolicy(policy, {
          budgetRemaining: remaining,
          ...(incidents.has(id) ? { incidents: incidents.get(id)! } : {}),
          ...(exemption !== undefined ? { exemption } : {}),
        });
      } catch (err) {
        // Only the incidents can be wrong here: the policy and exemption were checked above.
        throw new UsageError(
          `${values.incidents}: "${id}": ${(err as Error).message.replace(/^evaluatePolicy: /, '')}`,
        );
      }
      return { slo: id, remaining, at, ...decision };
    });
    const frozen = checks.filter((c) => c.freeze).map((c) => c.slo);
    if (values.json) {
      io.out(
        `${JSON.stringify({ freeze: frozen.length > 0, slos: checks, withoutSnapshot: missing }, null, 2)}\n`,
      );
    } else {
      io.out(checks.map(printCheck).join(''));
      for (const id of missing) io.out(`${id}: no snapshot, not evaluated\n`);
      io.out(
        frozen.length > 0
          ? `\nchanges frozen by ${frozen.join(', ')}\n`
          : '\nno freeze: changes may proceed\n',
      );
    }
    return frozen.length > 0 ? EXIT.failure : EXIT.ok;
  },
};

/** `nines budget`: error budget policy as code. */
export const budget: Command = {
  name: 'budget',
  summary: 'error budget policy: gate changes on the budget left',
  help: `Usage: nines budget <command> [options]

Commands:
  check     ${check.summary}

Run "nines budget <command> --help" for a command's options.
`,
  commands: [check],
};
