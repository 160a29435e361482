/**
 * Runs a command for a probe or an action: bounded in time and in captured output, stopped by a
 * signal, never through a shell unless the experiment asked for one (`run: "a string"`).
 */
import { spawn } from 'node:child_process';

/** What a command did. */
export interface CommandResult {
  /** The exit code; null when it did not exit by itself (spawn failure, timeout, signal). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the command could not run or was stopped. */
  readonly error?: string;
}

const MAX_OUTPUT = 64 * 1024;

/** Runs `argv` and resolves when it exits, times out or is aborted (never rejects). */
export function runCommand(
  argv: readonly string[],
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal; readonly cwd?: string },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    let stdout = '';
    let stderr = '';
    let error: string | undefined;
    const child = spawn(file!, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const keep = (sofar: string, chunk: Buffer) =>
      sofar.length >= MAX_OUTPUT ? sofar : (sofar + chunk.toString('utf8')).slice(0, MAX_OUTPUT);
    child.stdout.on('data', (c: Buffer) => {
      stdout = keep(stdout, c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr = keep(stderr, c);
    });
    const stop = (why: string) => {
      error ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => stop(`timed out after ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    const onAbort = () => stop('stopped: the run was interrupted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    child.on('error', (err) => {
      error ??= `cannot run ${file}: ${err.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        code: error ? null : code,
        stdout,
        stderr,
        ...(error ? { error } : {}),
      });
    });
  });
}
