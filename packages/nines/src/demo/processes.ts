/**
 * The demo's child processes: each service runs as its own `node` process, its stdout (the ready
 * line, then JSON logs) kept in a log file and handed to listeners line by line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

/** A running service process. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Calls `listener` with each line the process writes from now on. */
  onLine(listener: (line: string) => void): () => void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves how it ended (`exit 0`, `SIGKILL`...). */
  stop(graceMs?: number): Promise<string>;
  /** How it ended, once it has. */
  readonly exit: string | null;
}

/** Starts `node script` and resolves once it prints its `{"ready":true,...}` line. */
export function startService(options: {
  readonly name: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
  readonly timeoutMs?: number;
}): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, [options.script], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: WriteStream = createWriteStream(options.logFile);
  const listeners = new Set<(line: string) => void>();
  let exit: string | null = null;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ?? `exit ${code}`;
      resolve(exit);
    });
  });
  let rest = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) for (const l of listeners) l(line);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  child.once('exit', () => log.end());

  return new Promise<ServiceProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    const onReady = (line: string) => {
      if (!line.startsWith('{"ready":true')) return;
      listeners.delete(onReady);
      clearTimeout(timer);
      const ready = JSON.parse(line) as { port: number };
      resolve({
        name: options.name,
        pid: child.pid ?? -1,
        port: ready.port,
        onLine(listener) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        get exit() {
          return exit;
        },
        async stop(graceMs = 10_000) {
          if (exit !== null) return exit;
          child.kill('SIGTERM');
          const late = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const how = await exited;
          clearTimeout(late);
          return how;
        },
      });
    };
    listeners.add(onReady);
    void exited.then((how) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${options.name} ended before it was ready (${how})${stderr ? `: ${stderr.trim()}` : ''}`,
        ),
      );
    });
  });
}
