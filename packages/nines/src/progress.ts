/**
 * A progress display for long work: on a terminal, a few status lines redrawn in place under the
 * scrolling log; elsewhere (CI, a pipe, a file), plain timestamped lines only.
 */

/** Where the display writes, and whether that is a terminal. */
export interface ProgressSink {
  readonly write: (text: string) => void;
  readonly tty: boolean;
}

/** A display of log lines plus, on a terminal, a live status block. */
export interface Progress {
  /** A line that stays (scrolls up on a terminal). */
  log(line: string): void;
  /** Replaces the live status block (ignored when not a terminal). */
  status(lines: readonly string[]): void;
  /** Removes the live block (before the final report). */
  done(): void;
}

const UP = (n: number) => `\x1b[${n}F`;
const CLEAR_DOWN = '\x1b[J';

/** Creates a display writing to `sink`. */
export function createProgress(sink: ProgressSink): Progress {
  let shown = 0;
  let block: readonly string[] = [];
  const erase = () => {
    if (shown > 0) sink.write(`${UP(shown)}${CLEAR_DOWN}`);
    shown = 0;
  };
  const draw = () => {
    if (!sink.tty || block.length === 0) return;
    sink.write(`${block.join('\n')}\n`);
    shown = block.length;
  };
  return {
    log(line) {
      if (sink.tty) erase();
      sink.write(`${line}\n`);
      draw();
    },
    status(lines) {
      if (!sink.tty) return;
      erase();
      block = lines;
      draw();
    },
    done() {
      if (sink.tty) erase();
      block = [];
    },
  };
}

/** `mm:ss` for elapsed milliseconds. */
export function clockText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
