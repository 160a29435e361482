/**
 * A parser for the Prometheus text exposition format 0.0.4, the format services built with
 * @nines/telemetry (and most others) serve on `/metrics`. Hand-written scanner: a scrape of a busy
 * service has thousands of lines, and one regular expression per line would cost more than the
 * whole scan.
 */

import { describe } from '@nines/resilience/options';

/** One sample line: metric name, labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Milliseconds since the epoch, present only when the line carried a timestamp. */
  readonly timestampMs?: number;
}

/**
 * Text that is not valid exposition format. `line` is 1-based; the message names the line and
 * what is wrong with it.
 */
export class MetricsParseError extends Error {
  readonly code = 'EMETRICSPARSE';
  readonly line: number;
  constructor(line: number, detail: string, text: string) {
    super(`metrics text line ${line}: ${detail} in ${JSON.stringify(clip(text))}`);
    this.name = 'MetricsParseError';
    this.line = line;
  }
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?\d+$/;

/** Parses a sample value: a decimal float, `NaN`, `+Inf`, `-Inf` (Go's ParseFloat spellings). */
function parseValue(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  switch (token.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return Number.NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Number.POSITIVE_INFINITY;
    case '-inf':
    case '-infinity':
      return Number.NEGATIVE_INFINITY;
    default:
      return undefined;
  }
}

function isNameStart(c: number, colon: boolean): boolean {
  // a-z, A-Z, _, and : for metric names
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === 58);
}

function isNameChar(c: number, colon: boolean): boolean {
  return isNameStart(c, colon) || (c >= 48 && c <= 57);
}

/** Line scanner state; one per parse, reused for every line. */
class Scanner {
  text = '';
  pos = 0;
  end = 0;
  line = 0;
  start = 0;

  fail(detail: string): never {
    throw new MetricsParseError(this.line, detail, this.text.slice(this.start, this.end));
  }

  blanks(): void {
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 32 && c !== 9) return;
      this.pos++;
    }
  }

  /** Reads a metric name (`colon`) or label name; '' when none starts here. */
  name(colon: boolean): string {
    const from = this.pos;
    if (this.pos >= this.end || !isNameStart(this.text.charCodeAt(this.pos), colon)) return '';
    this.pos++;
    while (this.pos < this.end && isNameChar(this.text.charCodeAt(this.pos), colon)) this.pos++;
    return this.text.slice(from, this.pos);
  }

  /** Reads up to the next blank or the end of the line. */
  token(): string {
    const from = this.pos;
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 32 || c === 9) break;
      this.pos++;
    }
    return this.text.slice(from, this.pos);
  }

  /** Reads a quoted label value after its opening quote, resolving \\, \" and \n. */
  labelValue(label: string): string {
    let out = '';
    let from = this.pos;
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 34) {
        out += this.text.slice(from, this.pos);
        this.pos++;
        return out;
      }
      if (c === 92) {
        out += this.text.slice(from, this.pos);
        const e = this.text[this.pos + 1];
        if (this.pos + 1 >= this.end || e === undefined) break;
        if (e === '\\' || e === '"') out += e;
        else if (e === 'n') out += '\n';
        else this.fail(`invalid escape "\\${e}" in the value of label "${label}"`);
        this.pos += 2;
        from = this.pos;
        continue;
      }
      this.pos++;
    }
    return this.fail(`unterminated value of label "${label}"`);
  }
}

function parseComment(s: Scanner): void {
  s.pos++; // '#'
  s.blanks();
  const keyword = s.token();
  if (keyword !== 'HELP' && keyword !== 'TYPE') return; // a plain comment
  s.blanks();
  const metric = s.name(true);
  if (metric === '') s.fail(`${keyword} without a valid metric name`);
  if (s.pos < s.end) {
    const c = s.text.charCodeAt(s.pos);
    if (c !== 32 && c !== 9) s.fail(`${keyword} with an invalid metric name`);
  }
  if (keyword === 'HELP') return; // the docstring is free text
  s.blanks();
  const type = s.token();
  if (!TYPES.has(type)) {
    s.fail(
      `TYPE of "${metric}" must be one of counter, gauge, histogram, summary, untyped, got ${JSON.stringify(type)}`,
    );
  }
  s.blanks();
  if (s.pos < s.end) s.fail(`unexpected text after the TYPE of "${metric}"`);
}

function parseSample(s: Scanner, out: Sample[]): void {
  const name = s.name(true);
  if (name === '') s.fail('expected a metric name');
  const labels: Record<string, string> = {};
  const afterName = s.pos;
  s.blanks();
  if (s.text.charCodeAt(s.pos) === 123 && s.pos < s.end) {
    s.pos++; // '{'
    for (;;) {
      s.blanks();
      if (s.pos >= s.end) s.fail(`unterminated label set of "${name}"`);
      if (s.text.charCodeAt(s.pos) === 125) {
        s.pos++;
        break;
      }
      const label = s.name(false);
      if (label === '') s.fail(`expected a label name in "${name}"`);
      if (Object.hasOwn(labels, label)) s.fail(`duplicate label "${label}" in "${name}"`);
      s.blanks();
      if (s.pos >= s.end) s.fail(`unterminated label set of "${name}"`);
      if (s.text.charCodeAt(s.pos) !== 61) {
        s.fail(`expected "=" after label "${label}"`);
      }
      s.pos++;
      s.blanks();
      if (s.text.charCodeAt(s.pos) !== 34 || s.pos >= s.end) {
        s.fail(`expected a quoted value for label "${label}"`);
      }
      s.pos++;
      const value = s.labelValue(label);
      // "__proto__" is a valid label name; a plain assignment would change the prototype instead.
      if (label === '__proto__') {
        Object.defineProperty(labels, label, { value, enumerable: true, writable: true });
      } else labels[label] = value;
      s.blanks();
      if (s.pos >= s.end) s.fail(`unterminated label set of "${name}"`);
      const c = s.text.charCodeAt(s.pos);
      if (c === 44) s.pos++;
      else if (c !== 125) s.fail(`expected "," or "}" after label "${label}"`);
    }
    s.blanks();
  } else if (s.pos === afterName && s.pos < s.end) {
    s.fail(`invalid character in metric name "${name}${s.text[s.pos] ?? ''}"`);
  }
  if (s.pos >= s.end) s.fail(`missing value of "${name}"`);
  const token = s.token();
  const value = parseValue(token);
  if (value === undefined) s.fail(`invalid value ${JSON.stringify(token)} of "${name}"`);
  s.blanks();
  if (s.pos < s.end) {
    const ts = s.token();
    if (!INTEGER.test(ts) || !Number.isSafeInteger(Number(ts))) {
      s.fail(`invalid timestamp ${JSON.stringify(ts)} of "${name}" (integer milliseconds)`);
    }
    s.blanks();
    if (s.pos < s.end) s.fail(`unexpected text after the timestamp of "${name}"`);
    out.push({ name, labels, value, timestampMs: Number(ts) });
    return;
  }
  out.push({ name, labels, value });
}

/**
 * Parses the Prometheus text exposition format 0.0.4: comments, `# HELP` and `# TYPE` lines (the
 * type is checked, the docstring ignored), label values with the escapes `\\`, `\"` and `\n`,
 * values `NaN`, `+Inf` and `-Inf`, and optional millisecond timestamps. Blank lines and CRLF line
 * ends are accepted. Throws {@link MetricsParseError} naming the first bad line.
 *
 * @example
 * const samples = parsePrometheusText(await (await fetch('http://127.0.0.1:8080/metrics')).text());
 * const count = samples.find((s) => s.name === 'http_server_request_duration_seconds_count');
 */
export function parsePrometheusText(text: string): Sample[] {
  if (typeof text !== 'string') {
    throw new TypeError(
      `parsePrometheusText: argument "text" must be a string, got ${describe(text)}`,
    );
  }
  const out: Sample[] = [];
  const s = new Scanner();
  s.text = text;
  const n = text.length;
  let pos = 0;
  while (pos <= n) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = n;
    s.line++;
    s.start = pos;
    s.pos = pos;
    s.end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    s.blanks();
    if (s.pos < s.end) {
      if (text.charCodeAt(s.pos) === 35) parseComment(s);
      else parseSample(s, out);
    }
    pos = nl + 1;
  }
  return out;
}
