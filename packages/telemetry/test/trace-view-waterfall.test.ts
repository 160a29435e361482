import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/trace-view/span-record.js';
import {
  formatDuration,
  MIN_WATERFALL_WIDTH,
  renderWaterfall,
  TraceViewError,
} from '../src/trace-view/waterfall.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const BASE = 1_700_000_000_000;

function span(
  spanId: string,
  parentSpanId: string | undefined,
  name: string,
  service: string,
  start: number,
  duration: number,
  extra: Partial<SpanRecord> = {},
): SpanRecord {
  return {
    traceId: TRACE,
    spanId,
    ...(parentSpanId === undefined ? {} : { parentSpanId }),
    name,
    kind: 'server',
    service,
    startMs: BASE + start,
    durationMs: duration,
    status: 'ok',
    attributes: {},
    events: [],
    ...extra,
  };
}

/** Service A calls B and C, as in the classic three-service diagram; C fails with a 503. */
const LESSON: SpanRecord[] = [
  span('a000000000000001', undefined, 'GET /orders', 'service-a', 0, 120),
  span('a000000000000002', 'a000000000000001', 'GET service-b', 'service-a', 5, 60),
  span('b000000000000001', 'a000000000000002', 'GET /inventory', 'service-b', 10, 50),
  span('b000000000000002', 'b000000000000001', 'SELECT inventory', 'service-b', 20, 30),
  span('a000000000000003', 'a000000000000001', 'POST service-c', 'service-a', 66, 50),
  span('c000000000000001', 'a000000000000003', 'POST /payments', 'service-c', 70, 42.5, {
    status: 'error',
    attributes: { 'http.response.status_code': 503 },
  }),
];

const GOLDEN = [
  'trace 4bf92f3577b34da6a3ce929d0e0e4736  120 ms  6 spans  3 services',
  '                                         │0                60.0 ms           120 ms│',
  'service-a GET /orders             120 ms │█████████████████████████████████████████│',
  'service-a ├ GET service-b        60.0 ms │ ▕████████████████████▎                  │',
  'service-b │ └ GET /inventory     50.0 ms │   ▐████████████████▌                    │',
  'service-b │   └ SELECT inventory 30.0 ms │      ▕██████████▏                       │',
  'service-a └ POST service-c       50.0 ms │                      ▐████████████████▋ │',
  'service-c   └ POST /payments     42.5 ms │                       ▕██████████████▌  │ ✗ 503',
  '',
].join('\n');

const GOLDEN_ASCII = [
  'trace 4bf92f3577b34da6a3ce929d0e0e4736  120 ms  6 spans  3 services',
  '                                         |0                60.0 ms           120 ms|',
  'service-a GET /orders             120 ms |#########################################|',
  'service-a + GET service-b        60.0 ms |  ####################                   |',
  'service-b | ` GET /inventory     50.0 ms |   ##################                    |',
  'service-b |   ` SELECT inventory 30.0 ms |       ##########                        |',
  'service-a ` POST service-c       50.0 ms |                       ################# |',
  'service-c   ` POST /payments     42.5 ms |                        ###############  | x 503',
  '',
].join('\n');

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function codePoints(text: string): number {
  return Array.from(text).length;
}

/** The span lines of a rendering: after the header and the time axis, before any legend. */
function spanLines(out: string): string[] {
  return out
    .split('\n')
    .slice(2)
    .filter((l) => l !== '' && !l.includes('parent span not in this trace'));
}

/**
 * Where the bars are: the time axis line is blank up to the left border and spans the track,
 * which is at the same column on every span line (names may contain border characters).
 */
function geometry(out: string): { left: number; cells: number } {
  const axis = Array.from(out.split('\n')[1]!);
  const left = axis.findIndex((c) => c !== ' ');
  return { left, cells: axis.length - left - 2 };
}

/** The bar track of a span line as an array of characters. */
function track(out: string, line: string): string[] {
  const { left, cells } = geometry(out);
  return Array.from(line).slice(left + 1, left + 1 + cells);
}

describe('renderWaterfall', () => {
  it('draws the three-service trace exactly', () => {
    expect(renderWaterfall(LESSON, { width: 90 })).toBe(GOLDEN);
  });

  it('draws it in plain ASCII for dumb terminals', () => {
    const out = renderWaterfall(LESSON, { width: 90, ascii: true });
    expect(out).toBe(GOLDEN_ASCII);
    expect(/^[\x20-\x7e\n]*$/.test(out)).toBe(true);
  });

  it('orders parent before children and siblings by start, whatever the input order', () => {
    const shuffled = [LESSON[5]!, LESSON[3]!, LESSON[0]!, LESSON[4]!, LESSON[2]!, LESSON[1]!];
    expect(renderWaterfall(shuffled, { width: 90 })).toBe(GOLDEN);
    const siblings = [
      span('1000000000000001', undefined, 'root', 'a', 0, 100),
      span('1000000000000004', '1000000000000001', 'third', 'a', 60, 10),
      span('1000000000000002', '1000000000000001', 'first', 'a', 10, 10),
      span('1000000000000003', '1000000000000001', 'second', 'a', 30, 10),
    ];
    const names = spanLines(renderWaterfall(siblings, { width: 80 })).map(
      (l) => /^a [├└ ]*(\w+)/.exec(l)?.[1],
    );
    expect(names).toEqual(['root', 'first', 'second', 'third']);
  });

  it('indents by depth with tree lines', () => {
    const lines = spanLines(renderWaterfall(LESSON, { width: 90 }));
    const nameColumn = (l: string) => l.slice(10, 32);
    expect(nameColumn(lines[0]!).startsWith('GET /orders')).toBe(true);
    expect(nameColumn(lines[1]!).startsWith('├ GET service-b')).toBe(true);
    expect(nameColumn(lines[2]!).startsWith('│ └ GET /inventory')).toBe(true);
    expect(nameColumn(lines[3]!).startsWith('│   └ SELECT inventory')).toBe(true);
    expect(nameColumn(lines[5]!).startsWith('  └ POST /payments')).toBe(true);
  });

  it('places bars proportionally to time on a shared axis', () => {
    const spans = [
      span('1000000000000001', undefined, 'root', 'a', 0, 1000),
      span('1000000000000002', '1000000000000001', 'quarter', 'a', 250, 250),
      span('1000000000000003', '1000000000000001', 'late', 'a', 900, 100),
    ];
    const out = renderWaterfall(spans, { width: 100 });
    const tracks = spanLines(out).map((l) => track(out, l));
    const cells = tracks[0]!.length;
    for (const t of tracks) expect(t).toHaveLength(cells);
    expect(tracks[0]!.every((c) => c === '█')).toBe(true);
    // A span over [f, g] of the trace covers cells floor(f * cells) .. ceil(g * cells) - 1.
    const covered = (t: string[]) => {
      const drawn = t.map((c, i) => (c === ' ' ? -1 : i)).filter((i) => i >= 0);
      return [drawn[0], drawn.at(-1)];
    };
    const [qs, qe] = covered(tracks[1]!);
    expect(Math.abs(qs! - 0.25 * cells)).toBeLessThanOrEqual(1);
    expect(Math.abs(qe! + 1 - 0.5 * cells)).toBeLessThanOrEqual(1);
    const [ls, le] = covered(tracks[2]!);
    expect(Math.abs(ls! - 0.9 * cells)).toBeLessThanOrEqual(1);
    expect(le).toBe(cells - 1);
    // Sub-character precision: the end of "quarter" at 0.5 is an eighth block when 0.5 * cells
    // is not a whole number of cells.
    const end8 = Math.round(0.5 * cells * 8);
    const expected = end8 % 8 === 0 ? ' ' : '▏▎▍▌▋▊▉'[(end8 % 8) - 1];
    expect(tracks[1]![Math.floor(end8 / 8)]).toBe(expected);
  });

  it('draws eighths: a bar ending three eighths into a cell ends in ▍', () => {
    // 8 cells wide track is not reachable, so compute from the real track width.
    const root = span('1000000000000001', undefined, 'root', 'a', 0, 1000);
    const { cells } = geometry(renderWaterfall([root], { width: 80 }));
    const child = span(
      '1000000000000002',
      '1000000000000001',
      'x',
      'a',
      0,
      (1000 * 3) / (cells * 8),
    );
    const out = renderWaterfall([root, child], { width: 80 });
    const bar = track(out, spanLines(out)[1]!);
    expect(bar[0]).toBe('▍');
    expect(bar.slice(1).every((c) => c === ' ')).toBe(true);
  });

  it('marks errors with ✗ and the HTTP status, or ERROR without one', () => {
    const spans = [
      span('1000000000000001', undefined, 'root', 'a', 0, 10, { status: 'error' }),
      span('1000000000000002', '1000000000000001', 'call', 'b', 1, 5, {
        status: 'error',
        attributes: { 'http.status_code': 500 },
      }),
      span('1000000000000003', '1000000000000001', 'fine', 'b', 6, 2),
    ];
    const lines = spanLines(renderWaterfall(spans, { width: 80 }));
    expect(lines[0]!.endsWith('│ ✗ ERROR')).toBe(true);
    expect(lines[1]!.endsWith('│ ✗ 500')).toBe(true);
    expect(lines[2]!.endsWith('│')).toBe(true);
    expect(lines[2]).not.toContain('✗');
  });

  it('truncates long names with … and keeps the columns aligned', () => {
    const long = 'GET /a/very/long/route/that/does/not/fit/in/the/name/column/at/all';
    const spans = [
      span('1000000000000001', undefined, long, 'a-service-with-a-long-name', 0, 10),
      span('1000000000000002', '1000000000000001', 'short', 'b', 1, 5),
    ];
    const out = renderWaterfall(spans, { width: 80 });
    const lines = spanLines(out);
    expect(lines[0]).toContain('…');
    expect(lines[0]).not.toContain(long);
    expect(lines[0]!.startsWith('a-service-with-…')).toBe(true);
    const borders = lines.map((l) => Array.from(l).indexOf('│'));
    expect(new Set(borders).size).toBe(1);
    for (const l of out.split('\n')) expect(codePoints(l)).toBeLessThanOrEqual(80);
  });

  it('fits every line in the width asked for, giving the bars the room', () => {
    for (const width of [60, 73, 100, 160]) {
      const out = renderWaterfall(LESSON, { width });
      for (const l of out.split('\n')) expect(codePoints(l)).toBeLessThanOrEqual(width);
      const flagged = spanLines(out).find((l) => l.includes('✗'))!;
      expect(codePoints(flagged)).toBe(width);
    }
    // Names that fit either way: the extra width all goes to the bars.
    const short = LESSON.map((s) => ({ ...s, name: s.name.slice(-6) }));
    // The header lists the services when they fit, else counts them.
    expect(renderWaterfall(LESSON, { width: 120 }).split('\n')[0]).toBe(
      'trace 4bf92f3577b34da6a3ce929d0e0e4736  120 ms  6 spans  services: service-a, service-b, service-c',
    );
    const narrow = geometry(renderWaterfall(short, { width: 80 })).cells;
    const wide = geometry(renderWaterfall(short, { width: 120 })).cells;
    expect(wide - narrow).toBe(40);
  });

  it('defaults the width to the terminal, or 100 when stdout is not one', () => {
    const stdout = process.stdout as { isTTY?: boolean; columns?: number };
    const saved = { isTTY: stdout.isTTY, columns: stdout.columns };
    try {
      stdout.isTTY = false;
      const plain = renderWaterfall(LESSON);
      expect(Math.max(...plain.split('\n').map(codePoints))).toBe(100);
      stdout.isTTY = true;
      stdout.columns = 132;
      expect(Math.max(...renderWaterfall(LESSON).split('\n').map(codePoints))).toBe(132);
      stdout.columns = 20; // too narrow to draw in: the minimum instead of an error
      expect(Math.max(...renderWaterfall(LESSON).split('\n').map(codePoints))).toBe(
        MIN_WATERFALL_WIDTH,
      );
    } finally {
      stdout.isTTY = saved.isTTY;
      stdout.columns = saved.columns;
    }
  });

  it('shows orphans at the root level, marked, with a legend', () => {
    const spans = [
      span('1000000000000001', undefined, 'root', 'a', 0, 100),
      span('1000000000000002', '1000000000000001', 'child', 'a', 10, 20),
      span('2000000000000001', 'ffffffffffffffff', 'lost', 'b', 40, 30),
      span('2000000000000002', '2000000000000001', 'lost child', 'b', 45, 10),
    ];
    const out = renderWaterfall(spans, { width: 80 });
    const lines = spanLines(out);
    expect(lines).toHaveLength(4);
    expect(lines[2]!.slice(2).startsWith('↑ lost ')).toBe(true);
    expect(lines[3]!.slice(2).startsWith('└ lost child')).toBe(true);
    expect(out.trimEnd().split('\n').at(-1)).toBe('↑ parent span not in this trace (orphan)');
    expect(renderWaterfall(spans.slice(0, 2), { width: 80 })).not.toContain('orphan');
  });

  it('draws spans caught in a parent cycle once each, as orphans', () => {
    const spans = [
      span('1000000000000001', '1000000000000002', 'ping', 'a', 0, 10),
      span('1000000000000002', '1000000000000001', 'pong', 'a', 5, 10),
      span('1000000000000003', '1000000000000003', 'self', 'a', 7, 1),
    ];
    const lines = spanLines(renderWaterfall(spans, { width: 80 }));
    expect(lines).toHaveLength(3);
    expect(lines.filter((l) => l.includes('ping'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('pong'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('↑ '))).not.toHaveLength(0);
  });

  it('renders the trace chosen by traceId among several, and refuses to guess', () => {
    const other = span('9000000000000001', undefined, 'other root', 'z', 0, 5, {
      traceId: 'ABCDEF0123456789ABCDEF0123456789',
    });
    const mixed = [...LESSON, other];
    expect(renderWaterfall(mixed, { width: 90, traceId: TRACE.toUpperCase() })).toBe(GOLDEN);
    expect(renderWaterfall(mixed, { width: 80, traceId: other.traceId })).toContain('other root');
    try {
      renderWaterfall(mixed, { width: 90 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TraceViewError);
      expect((err as TraceViewError).code).toBe('EMULTITRACE');
      expect((err as Error).message).toContain(TRACE);
      expect((err as Error).message).toContain('abcdef0123456789abcdef0123456789');
      expect((err as Error).message).toContain('options.traceId');
    }
    expect(() => renderWaterfall(mixed, { traceId: 'f'.repeat(32) })).toThrow(
      expect.objectContaining({ code: 'ENOTRACE' }),
    );
  });

  it('refuses empty input with a clear error', () => {
    expect(() => renderWaterfall([])).toThrow(
      expect.objectContaining({ code: 'ENOSPANS', message: 'renderWaterfall: no spans to draw' }),
    );
  });

  it('rejects bad spans and options, naming what is wrong', () => {
    expect(() => renderWaterfall('spans' as never)).toThrow(/spans must be an array/);
    expect(() => renderWaterfall([null as never])).toThrow(TypeError);
    const bad = { ...LESSON[1]!, startMs: Number.NaN };
    expect(() => renderWaterfall([LESSON[0]!, bad])).toThrow(/spans\[1\]\.startMs is invalid: NaN/);
    expect(() => renderWaterfall([{ ...LESSON[0]!, durationMs: -1 }])).toThrow(/durationMs/);
    expect(() => renderWaterfall([{ ...LESSON[0]!, traceId: 7 as never }])).toThrow(/traceId/);
    expect(() => renderWaterfall(LESSON, { width: 59 })).toThrow(
      /renderWaterfall: option "width" must be >= 60/,
    );
    expect(() => renderWaterfall(LESSON, { width: 80.5 })).toThrow(/"width" must be an integer/);
    expect(() => renderWaterfall(LESSON, { color: 'yes' as never })).toThrow(/"color"/);
    expect(() => renderWaterfall(LESSON, { ascii: 1 as never })).toThrow(/"ascii"/);
    expect(() => renderWaterfall(LESSON, { traceId: '' })).toThrow(/"traceId"/);
    expect(() => renderWaterfall(LESSON, { colour: true } as never)).toThrow(
      /unknown option "colour"/,
    );
  });

  it('colours with ANSI only when asked, without moving anything', () => {
    const plain = renderWaterfall(LESSON, { width: 90 });
    expect(plain).not.toMatch(ANSI);
    const colored = renderWaterfall(LESSON, { width: 90, color: true });
    expect(colored).toMatch(ANSI);
    expect(colored).toContain('\x1b[31m'); // the failing span
    expect(colored.replace(ANSI, '')).toBe(plain);
  });

  it('neutralises control characters in names so spans cannot drive the terminal', () => {
    const out = renderWaterfall(
      [span('1000000000000001', undefined, 'evil\x1b[2J\nname', 'svc\r', 0, 1)],
      { width: 80 },
    );
    expect(out).not.toContain('\x1b');
    expect(out).not.toContain('\r');
    expect(out).toContain('evil?[2J?name');
    expect(out.split('\n')).toHaveLength(4);
  });

  it('keeps deep chains readable and large traces drawable', () => {
    const chain = Array.from({ length: 300 }, (_, i) =>
      span(
        (i + 1).toString(16).padStart(16, '0'),
        i === 0 ? undefined : i.toString(16).padStart(16, '0'),
        `level${i}`,
        'deep',
        i,
        1000 - 2 * i,
      ),
    );
    const out = renderWaterfall(chain.slice().reverse(), { width: 100 });
    const lines = spanLines(out);
    expect(lines).toHaveLength(300);
    for (const [i, l] of lines.entries()) expect(l).toContain(`level${i}`);
    for (const l of out.split('\n')) expect(codePoints(l)).toBeLessThanOrEqual(100);
    // Past a depth the tree lines are cut on the left, marked with …, and stop growing.
    expect(lines[299]).toMatch(/^deep +… /);
    expect(lines[299]!.indexOf('level299')).toBe(lines[200]!.indexOf('level200'));

    const wide = Array.from({ length: 20_000 }, (_, i) =>
      span(
        (i + 1).toString(16).padStart(16, '0'),
        i === 0 ? undefined : '0000000000000001',
        `s${i}`,
        'flat',
        i,
        1,
      ),
    );
    expect(spanLines(renderWaterfall(wide, { width: 80 }))).toHaveLength(20_000);
  });

  it('draws a trace of zero duration with a mark per span', () => {
    const spans = [
      span('1000000000000001', undefined, 'a', 'x', 0, 0),
      span('1000000000000002', '1000000000000001', 'b', 'x', 0, 0),
    ];
    const out = renderWaterfall(spans, { width: 60 });
    for (const l of spanLines(out)) expect(track(out, l)[0]).toBe('▏');
  });
});

describe('formatDuration', () => {
  it('keeps about three significant digits', () => {
    expect(formatDuration(0)).toBe('0.000 ms');
    expect(formatDuration(0.0421)).toBe('0.042 ms');
    expect(formatDuration(3.1)).toBe('3.10 ms');
    expect(formatDuration(45.25)).toBe('45.3 ms');
    expect(formatDuration(120)).toBe('120 ms');
    expect(formatDuration(9999)).toBe('9999 ms');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(4_000_000)).toBe('4000 s');
  });
});

describe('renderWaterfall properties', () => {
  /** A random tree: span i's parent is one of the spans before it (or none). */
  const treeArb = fc
    .array(
      fc.record({
        parentPick: fc.option(fc.nat(), { nil: undefined }),
        start: fc.double({ min: 0, max: 10_000, noNaN: true }),
        duration: fc.double({ min: 0, max: 10_000, noNaN: true }),
        service: fc.constantFrom('a', 'b', 'checkout-service', 'x'.repeat(30)),
        error: fc.boolean(),
        httpStatus: fc.option(fc.oneof(fc.integer(), fc.string({ maxLength: 50 })), {
          nil: undefined,
        }),
        nameTail: fc.string({ maxLength: 40 }),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .map((specs) =>
      specs.map((s, i) => {
        const parent = i === 0 || s.parentPick === undefined ? undefined : s.parentPick % i;
        return span(
          (i + 1).toString(16).padStart(16, '0'),
          parent === undefined ? undefined : (parent + 1).toString(16).padStart(16, '0'),
          `n${i}#${s.nameTail}`,
          s.service,
          s.start,
          s.duration,
          {
            status: s.error ? 'error' : 'ok',
            attributes:
              s.httpStatus === undefined ? {} : { 'http.response.status_code': s.httpStatus },
          },
        );
      }),
    );

  it('draws every span exactly once, each bar inside the track, each line inside the width', () => {
    fc.assert(
      fc.property(
        treeArb,
        fc.integer({ min: MIN_WATERFALL_WIDTH, max: 200 }),
        fc.boolean(),
        (spans, width, ascii) => {
          const border = ascii ? '|' : '│';
          const out = renderWaterfall(spans, { width, ascii });
          const lines = out.split('\n');
          for (const l of lines) expect(codePoints(l)).toBeLessThanOrEqual(width);
          const rows = spanLines(out);
          expect(rows).toHaveLength(spans.length);
          const { left, cells } = geometry(out);
          expect(cells).toBeGreaterThan(0);
          for (const r of rows) {
            const chars = Array.from(r);
            expect(chars[left]).toBe(border);
            expect(chars[left + cells + 1]).toBe(border);
            const t = track(out, r);
            expect(t).toHaveLength(cells);
            const drawn = t.filter((c) => c !== ' ');
            expect(drawn.length).toBeGreaterThan(0);
            // One contiguous run of blocks, within the track.
            const text = t.join('');
            expect(text.trim()).not.toMatch(/ /);
          }
          // Every span once: the rows' names (n<i>#…, possibly truncated) name each index once.
          const seen = rows.map((r) => {
            const m = /n(\d+)#/.exec(r);
            return m === null ? -1 : Number(m[1]);
          });
          const named = seen.filter((i) => i >= 0);
          expect(new Set(named).size).toBe(named.length);
          // Parents come before their children.
          const position = new Map(seen.map((id, row) => [id, row]));
          for (let i = 0; i < spans.length; i++) {
            const p = spans[i]!.parentSpanId;
            if (p === undefined || !position.has(i)) continue;
            const parentIndex = Number.parseInt(p, 16) - 1;
            if (position.has(parentIndex)) {
              expect(position.get(parentIndex)!).toBeLessThan(position.get(i)!);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('puts each bar where its span starts and ends, to the cell', () => {
    fc.assert(
      fc.property(treeArb, (spans) => {
        const out = renderWaterfall(spans, { width: 120, ascii: true });
        const rows = spanLines(out);
        const t0 = Math.min(...spans.map((s) => s.startMs));
        const t1 = Math.max(...spans.map((s) => s.startMs + s.durationMs));
        const byIndex = new Map<number, string>();
        for (const r of rows) {
          const m = /n(\d+)#/.exec(r);
          if (m !== null) byIndex.set(Number(m[1]), r);
        }
        for (const [i, row] of byIndex) {
          const t = track(out, row);
          const cells = t.length;
          if (t1 === t0) continue;
          const s = spans[i]!;
          const first = t.indexOf('#');
          const last = t.lastIndexOf('#');
          const from = ((s.startMs - t0) / (t1 - t0)) * cells;
          const to = ((s.startMs + s.durationMs - t0) / (t1 - t0)) * cells;
          expect(Math.abs(first - from)).toBeLessThanOrEqual(1);
          // A span too short to see still gets one cell.
          expect(Math.abs(last + 1 - Math.max(to, first + 1))).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 200 },
    );
  });
});
