import { booleanOption, describe, numberOption, optionsObject } from '@nines/resilience/options';
import type { SpanRecord } from './span-record.js';

/** Options of {@link renderWaterfall}. */
export interface WaterfallOptions {
  /**
   * Total line width in columns (>= 60). Default: the terminal's width (`process.stdout.columns`)
   * when stdout is a terminal, else 100.
   */
  readonly width?: number;
  /** Colour with ANSI escapes (a colour per service, errors in red). Default false. */
  readonly color?: boolean;
  /** Plain ASCII only (`#` bars, `|` and `` ` `` tree lines) for dumb terminals. Default false. */
  readonly ascii?: boolean;
  /** The trace to draw when `spans` holds several. */
  readonly traceId?: string;
}

/** Why {@link renderWaterfall} cannot draw: `ENOSPANS`, `EMULTITRACE` or `ENOTRACE`. */
export class TraceViewError extends Error {
  readonly code: 'ENOSPANS' | 'EMULTITRACE' | 'ENOTRACE';
  constructor(code: TraceViewError['code'], message: string) {
    super(message);
    this.name = 'TraceViewError';
    this.code = code;
  }
}

const OWNER = 'renderWaterfall';
/** Narrower than this and the bars have no room left to show anything. */
export const MIN_WATERFALL_WIDTH = 60;
const MAX_WIDTH = 1000;
const DEFAULT_WIDTH = 100;
const MAX_SERVICE_WIDTH = 16;
const MIN_NAME_WIDTH = 12;
const MAX_FLAG_WIDTH = 9;

/** Left-aligned eighth blocks: LEFT_EIGHTHS[k] fills k/8 of a cell from the left. */
const LEFT_EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'] as const;

interface Glyphs {
  readonly border: string;
  readonly branch: string;
  readonly last: string;
  readonly pipe: string;
  readonly orphan: string;
  readonly error: string;
  readonly ellipsis: string;
}

const UNICODE: Glyphs = {
  border: '│',
  branch: '├ ',
  last: '└ ',
  pipe: '│ ',
  orphan: '↑ ',
  error: '✗',
  ellipsis: '…',
};

const ASCII: Glyphs = {
  border: '|',
  branch: '+ ',
  last: '` ',
  pipe: '| ',
  orphan: '^ ',
  error: 'x',
  ellipsis: '~',
};

const RESET = '\x1b[0m';
const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const SERVICE_COLORS = ['\x1b[36m', '\x1b[33m', '\x1b[35m', '\x1b[32m', '\x1b[34m', '\x1b[96m'];

/** One line of the tree: the span, its tree-line prefix, and whether its parent is missing. */
interface Row {
  readonly span: SpanRecord;
  readonly prefix: string;
  readonly orphan: boolean;
}

/**
 * Formats a duration with about three significant digits: `0.042 ms`, `3.10 ms`, `45.2 ms`,
 * `120 ms`, `12.3 s`.
 */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${ms.toFixed(0)} ms`;
  const s = ms / 1000;
  return s < 1000 ? `${s.toFixed(1)} s` : `${s.toFixed(0)} s`;
}

// C0 and C1 controls, DEL: a span name is untrusted text and must not move the cursor or
// start an escape sequence in the user's terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function clean(text: string): string {
  return text.replace(CONTROL, '?');
}

/** Cuts `text` to `width` code points, ending in `ellipsis` when cut; pads with spaces. */
function fit(text: string, width: number, ellipsis: string): string {
  const points = Array.from(text);
  if (points.length <= width) return text + ' '.repeat(width - points.length);
  return points.slice(0, width - ellipsis.length).join('') + ellipsis;
}

function length(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The longest text's length in code points (a loop: spreading 100k values would overflow). */
function longest(texts: readonly string[]): number {
  let max = 0;
  for (const t of texts) {
    const n = length(t);
    if (n > max) max = n;
  }
  return max;
}

function checkSpans(spans: unknown): readonly SpanRecord[] {
  if (!Array.isArray(spans)) {
    throw new TypeError(`${OWNER}: spans must be an array of SpanRecord, got ${describe(spans)}`);
  }
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Partial<SpanRecord> | null;
    const bad = (field: string, value: unknown): never => {
      throw new TypeError(`${OWNER}: spans[${i}].${field} is invalid: ${describe(value)}`);
    };
    if (s === null || typeof s !== 'object') bad('(span)', s);
    else {
      if (typeof s.traceId !== 'string' || s.traceId === '') bad('traceId', s.traceId);
      if (typeof s.spanId !== 'string' || s.spanId === '') bad('spanId', s.spanId);
      if (s.parentSpanId !== undefined && typeof s.parentSpanId !== 'string') {
        bad('parentSpanId', s.parentSpanId);
      }
      if (typeof s.name !== 'string') bad('name', s.name);
      if (typeof s.service !== 'string') bad('service', s.service);
      if (typeof s.startMs !== 'number' || !Number.isFinite(s.startMs)) bad('startMs', s.startMs);
      if (typeof s.durationMs !== 'number' || !Number.isFinite(s.durationMs) || s.durationMs < 0) {
        bad('durationMs', s.durationMs);
      }
    }
  }
  return spans as readonly SpanRecord[];
}

/** Picks the spans of one trace, or says why it cannot. */
function selectTrace(spans: readonly SpanRecord[], wanted: string | undefined): SpanRecord[] {
  if (wanted !== undefined) {
    const id = wanted.toLowerCase();
    const found = spans.filter((s) => s.traceId.toLowerCase() === id);
    if (found.length === 0) {
      throw new TraceViewError(
        'ENOTRACE',
        `${OWNER}: no span of trace ${wanted} among the ${spans.length} given (traces: ${traceList(spans)})`,
      );
    }
    return found;
  }
  const first = spans[0]!.traceId.toLowerCase();
  for (const s of spans) {
    if (s.traceId.toLowerCase() !== first) {
      throw new TraceViewError(
        'EMULTITRACE',
        `${OWNER}: the spans belong to several traces (${traceList(spans)}); pass options.traceId to choose one`,
      );
    }
  }
  return spans.slice();
}

function traceList(spans: readonly SpanRecord[]): string {
  const ids = [...new Set(spans.map((s) => s.traceId.toLowerCase()))];
  return ids.length > 5
    ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more`
    : ids.join(', ');
}

function byStart(a: SpanRecord, b: SpanRecord): number {
  return a.startMs - b.startMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

/**
 * Parent before children, siblings by start time. Spans whose parent is missing are drawn at the
 * root level and marked; so are spans caught in a parent cycle (corrupt data), so that every span
 * given appears exactly once.
 */
function treeOrder(spans: SpanRecord[], glyphs: Glyphs, maxIndent: number): Row[] {
  const ids = new Set<string>();
  for (const s of spans) ids.add(s.spanId);
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const s of spans) {
    const parent = s.parentSpanId;
    if (parent === undefined || parent === '' || !ids.has(parent) || parent === s.spanId) {
      roots.push(s);
      continue;
    }
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [s]);
    else list.push(s);
  }
  for (const list of children.values()) list.sort(byStart);
  roots.sort(byStart);

  const rows: Row[] = [];
  const visited = new Set<SpanRecord>();
  // An explicit stack: a chain of thousands of spans must not overflow the call stack.
  const stack: { span: SpanRecord; prefix: string; childPrefix: string; orphan: boolean }[] = [];
  const walk = (root: SpanRecord, orphan: boolean): void => {
    stack.push({ span: root, prefix: '', childPrefix: '', orphan });
    while (stack.length > 0) {
      const item = stack.pop()!;
      if (visited.has(item.span)) continue;
      visited.add(item.span);
      rows.push({
        span: item.span,
        prefix: clampIndent(item.prefix, maxIndent, glyphs),
        orphan: item.orphan,
      });
      const kids = children.get(item.span.spanId);
      if (kids === undefined) continue;
      // Spans sharing an id (corrupt data) share one child list: draw it once.
      children.delete(item.span.spanId);
      for (let k = kids.length - 1; k >= 0; k--) {
        const isLast = k === kids.length - 1;
        stack.push({
          span: kids[k]!,
          prefix: item.childPrefix + (isLast ? glyphs.last : glyphs.branch),
          childPrefix: item.childPrefix + (isLast ? '  ' : glyphs.pipe),
          orphan: false,
        });
      }
    }
  };
  for (const r of roots) {
    const parent = r.parentSpanId;
    walk(r, parent !== undefined && parent !== '');
  }
  if (visited.size < spans.length) {
    // Only a parent cycle leaves spans unvisited; start from the earliest of each.
    const rest = spans.filter((s) => !visited.has(s)).sort(byStart);
    for (const s of rest) if (!visited.has(s)) walk(s, true);
  }
  return rows;
}

/** Keeps deep trees readable: the innermost levels of the tree lines, after an ellipsis. */
function clampIndent(prefix: string, maxIndent: number, glyphs: Glyphs): string {
  if (prefix.length <= maxIndent) return prefix;
  const keep = Math.max(0, maxIndent - 2);
  return `${glyphs.ellipsis} ${prefix.slice(prefix.length - keep)}`;
}

/**
 * The bar of a span from eighth `s8` to eighth `e8` of a `cells`-wide track: whole blocks, a
 * left-aligned eighth block at the end, and at the start the right-aligned block (full, half,
 * eighth) nearest to where the span begins inside its first cell.
 */
function unicodeBar(s8: number, e8: number, cells: number): string {
  const startCell = s8 >> 3;
  const startFrac = s8 & 7;
  const endCell = e8 >> 3;
  const endFrac = e8 & 7;
  let out = ' '.repeat(startCell);
  if (startCell === endCell) {
    out += startFrac >= 4 ? '▕' : LEFT_EIGHTHS[Math.max(1, endFrac - startFrac)];
    return out + ' '.repeat(cells - startCell - 1);
  }
  out += startFrac <= 2 ? '█' : startFrac <= 5 ? '▐' : '▕';
  out += '█'.repeat(endCell - startCell - 1);
  if (endFrac > 0) out += LEFT_EIGHTHS[endFrac];
  return out + ' '.repeat(cells - endCell - (endFrac > 0 ? 1 : 0));
}

function asciiBar(s8: number, e8: number, cells: number): string {
  let start = Math.round(s8 / 8);
  let end = Math.round(e8 / 8);
  if (end <= start) {
    if (start >= cells) start = cells - 1;
    end = start + 1;
  }
  return ' '.repeat(start) + '#'.repeat(end - start) + ' '.repeat(cells - end);
}

/**
 * The flag of a failed span: `✗` and its HTTP status when it has one, else `✗ ERROR`. The
 * attribute is untrusted: cleaned and cut to {@link MAX_FLAG_WIDTH} so that it cannot push the
 * bars off the line.
 */
function errorFlag(span: SpanRecord, glyphs: Glyphs): string {
  if (span.status !== 'error') return '';
  const a = span.attributes;
  const http = a['http.response.status_code'] ?? a['http.status_code'];
  const code =
    typeof http === 'number' || (typeof http === 'string' && http !== '')
      ? clean(String(http))
      : 'ERROR';
  const flag = `${glyphs.error} ${code}`;
  return length(flag) > MAX_FLAG_WIDTH ? fit(flag, MAX_FLAG_WIDTH, glyphs.ellipsis) : flag;
}

function defaultWidth(): number {
  const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
  return typeof columns === 'number' && columns > 0
    ? Math.min(MAX_WIDTH, Math.max(MIN_WATERFALL_WIDTH, columns))
    : DEFAULT_WIDTH;
}

/**
 * Draws one trace as a terminal waterfall: a header (trace id, total duration, span count,
 * services), a time axis, then one line per span in tree order (parent before children, siblings
 * by start time) with its service, its name indented under its parent, its duration, and a bar
 * on a shared time axis drawn to an eighth of a character. Failed spans are flagged `✗` with their
 * HTTP status (or `ERROR`); spans whose parent is missing are drawn at the root, marked `↑`.
 *
 * Throws {@link TraceViewError} for no spans (`ENOSPANS`), spans of several traces without
 * `options.traceId` (`EMULTITRACE`) or a `traceId` not among them (`ENOTRACE`).
 *
 * @example
 * console.log(renderWaterfall(receiver.trace(receiver.slowest()!), { width: 92 }));
 * // trace 4bf92f3577b34da6a3ce929d0e0e4736  120 ms  3 spans  services: orders, stock, payments
 * //                                 │0                      60.0 ms                120 ms│
 * // orders   GET /orders     120 ms │████████████████████████████████████████████████████│
 * // stock    ├ GET /stock   50.0 ms │    ▐█████████████████████                          │
 * // payments └ POST /charge 52.5 ms │                            ██████████████████████▉ │ ✗ 503
 */
export function renderWaterfall(spans: readonly SpanRecord[], options?: WaterfallOptions): string {
  const o = optionsObject<WaterfallOptions>(OWNER, options, ['width', 'color', 'ascii', 'traceId']);
  const width =
    o.width === undefined
      ? defaultWidth()
      : numberOption(OWNER, 'width', o.width, DEFAULT_WIDTH, {
          min: MIN_WATERFALL_WIDTH,
          max: MAX_WIDTH,
          integer: true,
        });
  const color = booleanOption(OWNER, 'color', o.color, false);
  const ascii = booleanOption(OWNER, 'ascii', o.ascii, false);
  if (o.traceId !== undefined && (typeof o.traceId !== 'string' || o.traceId === '')) {
    throw new TypeError(
      `${OWNER}: option "traceId" must be a non-empty string, got ${describe(o.traceId)}`,
    );
  }
  const all = checkSpans(spans);
  if (all.length === 0) throw new TraceViewError('ENOSPANS', `${OWNER}: no spans to draw`);
  const trace = selectTrace(all, o.traceId);
  const glyphs = ascii ? ASCII : UNICODE;

  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  for (const s of trace) {
    if (s.startMs < t0) t0 = s.startMs;
    if (s.startMs + s.durationMs > t1) t1 = s.startMs + s.durationMs;
  }
  const total = t1 - t0;

  // Column widths. The name column gets what it needs up to 40 % of the room left after the
  // fixed columns; the bars get the rest.
  const serviceWidth = Math.min(MAX_SERVICE_WIDTH, longest(trace.map((s) => clean(s.service))));
  const durations = trace.map((s) => formatDuration(s.durationMs));
  const durationWidth = longest(durations);
  const flags = trace.map((s) => errorFlag(s, glyphs));
  const flagWidth = longest(flags);
  const fixed =
    serviceWidth +
    1 +
    1 +
    durationWidth +
    1 +
    2 * glyphs.border.length +
    (flagWidth > 0 ? flagWidth + 1 : 0);
  const room = width - fixed;
  const nameRoom = Math.max(MIN_NAME_WIDTH, Math.floor(room * 0.4));
  const maxIndent = Math.max(4, Math.floor(nameRoom / 2) & ~1);
  const rows = treeOrder(trace, glyphs, maxIndent);
  const nameCells = rows.map(
    (r) => r.prefix + (r.orphan ? glyphs.orphan : '') + clean(r.span.name),
  );
  const nameWidth = Math.min(nameRoom, longest(nameCells));
  const cells = room - nameWidth;
  const eighths = cells * 8;
  const scale = total > 0 ? eighths / total : 0;

  const services: string[] = [];
  for (const r of rows) if (!services.includes(r.span.service)) services.push(r.span.service);
  const serviceColor = (service: string): string =>
    SERVICE_COLORS[services.indexOf(service) % SERVICE_COLORS.length]!;
  const paint = (code: string, text: string): string => (color ? code + text + RESET : text);

  const lines: string[] = [];
  const head = `trace ${clean(trace[0]!.traceId.toLowerCase())}  ${formatDuration(total)}  ${rows.length} span${rows.length === 1 ? '' : 's'}  `;
  const plural = services.length === 1 ? 'service' : 'services';
  let header = `${head}${plural}: ${services.map(clean).join(', ')}`;
  // A list cut in the middle helps nobody: say how many services instead.
  if (length(header) > width) header = `${head}${services.length} ${plural}`;
  lines.push(paint(BOLD, fit(header, width, glyphs.ellipsis).trimEnd()));

  // The time axis above the bars: 0 at the left edge, the total at the right and the middle
  // when there is room. Always drawn, so that the spans start on the third line.
  const barColumn = serviceWidth + 1 + nameWidth + 1 + durationWidth + 1;
  const axis = Array.from({ length: cells }, () => ' ');
  const right = formatDuration(total);
  if (cells >= right.length + 2) {
    axis[0] = '0';
    for (let i = 0; i < right.length; i++) axis[cells - right.length + i] = right[i]!;
    const middle = formatDuration(total / 2);
    const at = Math.round(cells / 2 - middle.length / 2);
    if (at >= 3 && at + middle.length <= cells - right.length - 2) {
      for (let i = 0; i < middle.length; i++) axis[at + i] = middle[i]!;
    }
  }
  lines.push(
    paint(DIM, `${' '.repeat(barColumn)}${glyphs.border}${axis.join('')}${glyphs.border}`),
  );

  const traceIndex = new Map<SpanRecord, number>();
  for (let i = 0; i < trace.length; i++) traceIndex.set(trace[i]!, i);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const s = row.span;
    const i = traceIndex.get(s)!;
    let s8 = Math.min(eighths, Math.max(0, Math.round((s.startMs - t0) * scale)));
    let e8 = Math.min(eighths, Math.max(0, Math.round((s.startMs + s.durationMs - t0) * scale)));
    if (e8 <= s8) {
      // Too short to see: one eighth, so that every span has a mark on the axis.
      if (s8 >= eighths) s8 = eighths - 1;
      e8 = s8 + 1;
    }
    const bar = ascii ? asciiBar(s8, e8, cells) : unicodeBar(s8, e8, cells);
    const failed = s.status === 'error';
    const service = fit(clean(s.service), serviceWidth, glyphs.ellipsis);
    const name = fit(nameCells[r]!, nameWidth, glyphs.ellipsis);
    let line =
      paint(serviceColor(s.service), service) +
      ' ' +
      (color && row.orphan ? name.replace(glyphs.orphan, paint(YELLOW, glyphs.orphan)) : name) +
      ' ' +
      durations[i]!.padStart(durationWidth) +
      ' ' +
      glyphs.border +
      (color ? colorBar(bar, failed ? RED : serviceColor(s.service)) : bar) +
      glyphs.border;
    if (failed) line += ` ${paint(BOLD + RED, flags[i]!)}`;
    lines.push(line.trimEnd());
  }
  if (rows.some((r) => r.orphan)) {
    lines.push(`${glyphs.orphan}parent span not in this trace (orphan)`);
  }
  return `${lines.join('\n')}\n`;
}

/** Colours the drawn part of a bar, leaving the blank track around it alone. */
function colorBar(bar: string, code: string): string {
  const start = bar.search(/\S/);
  const end = bar.trimEnd().length;
  return bar.slice(0, start) + code + bar.slice(start, end) + RESET + bar.slice(end);
}
