/**
 * A spec that cannot be loaded: invalid YAML, a wrong type, a missing or unknown field, or a value
 * outside what the model accepts. The message reads `file:line:column: field: problem`, so an
 * editor or a CI log jumps straight to it.
 */
export class SpecError extends Error {
  /** Stable code to branch on. */
  readonly code = 'ESPEC';
  /** The file the spec came from (or the name given to `loadSlos`). */
  readonly file: string;
  /** 1-based line of the offending node (of its parent map when a field is missing). */
  readonly line: number;
  /** 1-based column of the offending node. */
  readonly column: number;
  /** Path of the field inside the document, e.g. `slos[1].objective`; empty for the whole document. */
  readonly field: string;
  /** The problem alone, without the location prefix. */
  readonly reason: string;

  constructor(file: string, line: number, column: number, field: string, reason: string) {
    super(`${file}:${line}:${column}: ${field ? `${field}: ` : ''}${reason}`);
    this.name = 'SpecError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.field = field;
    this.reason = reason;
  }
}
