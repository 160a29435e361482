import { isAbsolute, resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Exit codes every `nines` command uses. */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** The command ran and found a problem (a failed check, a frozen budget). */
  failure: 1,
  /** The command line or a configuration file is wrong; nothing was done. */
  usage: 2,
} as const;

/** Where a command writes: injectable so tests and embedders capture output. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
  /** Whether `out` is a terminal (live progress displays redraw in place only then). */
  readonly tty?: boolean;
}

/** A leaf command (`nines k8s probes`) or a group of commands (`nines k8s`). */
export interface Command {
  readonly name: string;
  /** One line for the parent's help. */
  readonly summary: string;
  /** Full help text: usage, options, examples, exit codes. */
  readonly help: string;
  /** Sub-commands of a group. */
  readonly commands?: readonly Command[];
  /** Runs a leaf command with the arguments after its name; resolves with the exit code. */
  readonly run?: (args: readonly string[], io: Io) => Promise<number>;
}

/** An error in the command line or a configuration file: reported with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses options with `parseArgs`, turning its errors into usage errors (exit code 2). */
export function parseOptions<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A path as given when the process runs where the command was asked to, so messages echo it. */
export function userPath(path: string, io: Io): string {
  return isAbsolute(path) || io.cwd === process.cwd() ? path : resolve(io.cwd, path);
}
