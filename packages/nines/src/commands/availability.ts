import {
  formatDuration,
  formatPercent,
  type NinesTable,
  ninesTable,
  PERIODS,
  type Period,
  type PeriodName,
  parseTarget,
  periodMs,
  targetForDowntime,
} from '@nines/slo';
import { type Command, EXIT, parseOptions, UsageError } from '../command.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const help = `Usage: nines availability <target>... [options]
       nines availability --downtime <duration> [--per <period>] [options]

Prints the nines table: the downtime each target allows per year, quarter, month, week and
day (a year is 365 days, a month a twelfth of it). A target is a percent ("99.95" or "99.95%")
or a fraction below 1 ("0.9995"); 100 % leaves no budget and is refused.

With --downtime, the inverse: the target that allows exactly that much downtime per period,
and its table.

Options:
  --downtime <d>   allowed downtime: a number and a unit, ms, s, m (or min), h, d or w
                   (e.g. 1h, 43.8min, 90s)
  --per <period>   year, quarter, month, week, day, or a number of days such as 28d
                   (default month)
  --json           print JSON (downtime in ms)
  -h, --help       show this help

Exit codes: 0 printed; 2 bad target, duration or option.

Examples:
  nines availability 99.9 99.95% 0.9999
  nines availability --downtime 1h --per month
`;

/**
 * Reads a target as typed on a command line. A bare number below 1 is a fraction (0.9995); any
 * other bare number is a percent (99.95). The library refuses a bare "0.999" string as
 * ambiguous, but on a command line nobody means a 0.999 % target, so the CLI takes it as the
 * fraction.
 */
function target(text: string): number {
  try {
    if (/^\s*(0?\.\d+|0|1(\.0*)?)\s*$/.test(text)) return parseTarget(Number(text));
    return parseTarget(text);
  } catch (err) {
    throw new UsageError(
      `target "${text}": ${(err as Error).message.replace(/^parseTarget: /, '')}`,
    );
  }
}

function duration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|min|m|h|d|w)\s*$/.exec(text);
  if (!match) {
    throw new UsageError(
      `--downtime must be a number and a unit (ms, s, m, min, h, d, w) such as 1h or 43.8min, got "${text}"`,
    );
  }
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

function period(text: string): Period {
  if ((PERIODS as readonly string[]).includes(text)) return text as PeriodName;
  const days = /^(\d+(?:\.\d+)?)d$/.exec(text);
  if (days && Number(days[1]) > 0) return { days: Number(days[1]) };
  throw new UsageError(
    `--per must be one of ${PERIODS.join(', ')} or a number of days such as 28d, got "${text}"`,
  );
}

/** Nines to one decimal, as people say them: 99.95 % is 3.3 nines. */
function nines(table: NinesTable): string {
  return String(Number(table.nines.toFixed(1)));
}

function printTables(tables: readonly NinesTable[]): string {
  const rows = [
    ['target', 'nines', ...PERIODS],
    ...tables.map((t) => [t.percent, nines(t), ...PERIODS.map((p) => t[p].text)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function tableJson(t: NinesTable) {
  return {
    target: t.target,
    percent: t.percent,
    nines: t.nines,
    downtime: Object.fromEntries(PERIODS.map((p) => [p, { ms: t[p].ms, text: t[p].text }])),
  };
}

/** `nines availability`: the nines table, and allowed downtime back to a target. */
export const availability: Command = {
  name: 'availability',
  summary: 'the nines table for targets, or the target for an allowed downtime',
  help,
  async run(args, io) {
    const { values, positionals } = parseOptions({
      args: [...args],
      options: {
        downtime: { type: 'string' },
        per: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      io.out(help);
      return EXIT.ok;
    }
    if (values.downtime === undefined) {
      if (values.per !== undefined) throw new UsageError('--per needs --downtime');
      if (positionals.length === 0) {
        throw new UsageError('give at least one target (e.g. 99.95) or --downtime <duration>');
      }
      const tables = positionals.map((p) => ninesTable(target(p)));
      io.out(
        values.json ? `${JSON.stringify(tables.map(tableJson), null, 2)}\n` : printTables(tables),
      );
      return EXIT.ok;
    }
    if (positionals.length > 0) {
      throw new UsageError('give either targets or --downtime, not both');
    }
    const downtimeMs = duration(values.downtime);
    const per = period(values.per ?? 'month');
    const length = periodMs(per);
    if (!(downtimeMs > 0 && downtimeMs < length)) {
      throw new UsageError(
        `--downtime must be above 0 and shorter than the period (${formatDuration(length)}), got ${values.downtime}`,
      );
    }
    const t = targetForDowntime(downtimeMs, per);
    const perText = values.per ?? 'month';
    if (values.json) {
      io.out(
        `${JSON.stringify({ downtimeMs, per: perText, periodMs: length, ...tableJson(ninesTable(t)) }, null, 2)}\n`,
      );
      return EXIT.ok;
    }
    // Three decimals are what people quote (99.863 %); formatPercent adds more only where three
    // would round up to the next nine.
    io.out(
      `${formatDuration(downtimeMs)} per ${perText} is a target of ${formatPercent(t, 3)} (${String(Number(ninesTable(t).nines.toFixed(1)))} nines)\n\n`,
    );
    io.out(printTables([{ ...ninesTable(t), percent: formatPercent(t, 3) }]));
    return EXIT.ok;
  },
};
