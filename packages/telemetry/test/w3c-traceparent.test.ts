import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatTraceparent,
  isValidSpanId,
  isValidTraceId,
  parseTraceparent,
  TRACE_FLAG_RANDOM,
  TRACE_FLAG_SAMPLED,
  type Traceparent,
} from '../src/w3c/traceparent.js';

const TRACE = '12345678901234567890123456789012';
const PARENT = '1234567890123456';
const VALID = `00-${TRACE}-${PARENT}-01`;
const FUTURE = '-what-the-future-will-be-like';

function parsed(version: number, flags: number, traceId = TRACE, parentId = PARENT): Traceparent {
  return { version, traceId, parentId, flags };
}

describe('parseTraceparent: valid headers', () => {
  it.each([
    ['version 00, sampled', VALID, parsed(0, 1)],
    ['version 00, not sampled', `00-${TRACE}-${PARENT}-00`, parsed(0, 0)],
    ['version 00, random flag', `00-${TRACE}-${PARENT}-02`, parsed(0, 2)],
    ['unknown flag bits are reported as sent', `00-${TRACE}-${PARENT}-ff`, parsed(0, 255)],
    ['version cc', `cc-${TRACE}-${PARENT}-01`, parsed(0xcc, 1)],
    ['version cc with a future field', `cc-${TRACE}-${PARENT}-01${FUTURE}`, parsed(0xcc, 1)],
    ['version cc with a bare dash after the flags', `cc-${TRACE}-${PARENT}-01-`, parsed(0xcc, 1)],
    ['version fe (the highest valid)', `fe-${TRACE}-${PARENT}-09`, parsed(0xfe, 9)],
    ['leading space', ` ${VALID}`, parsed(0, 1)],
    ['leading tab', `\t${VALID}`, parsed(0, 1)],
    ['trailing space', `${VALID} `, parsed(0, 1)],
    ['trailing tab', `${VALID}\t`, parsed(0, 1)],
    ['tab and space at both ends', `\t ${VALID} \t`, parsed(0, 1)],
    ['several spaces', `   ${VALID}   `, parsed(0, 1)],
    ['a one-element array', [VALID], parsed(0, 1)],
    [
      'the spec example',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      parsed(0, 1, '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7'),
    ],
    [
      'ids with zeros but not all zero',
      `00-00000000000000000000000000000001-0000000000000001-00`,
      parsed(0, 0, '00000000000000000000000000000001', '0000000000000001'),
    ],
  ] as const)('%s', (_name, header, expected) => {
    expect(parseTraceparent(header)).toEqual(expected);
  });
});

describe('parseTraceparent: invalid headers give null', () => {
  it.each([
    // The official suite's cases.
    ['version 00 with a trailing dot', `${VALID}.`],
    ['version 00 with a future field', `${VALID}${FUTURE}`],
    [
      'version cc with a dot after the flags',
      `cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`,
    ],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['version .0', `.0-${TRACE}-${PARENT}-01`],
    ['version 0.', `0.-${TRACE}-${PARENT}-01`],
    ['version 000', `000-${TRACE}-${PARENT}-01`],
    ['version 0000', `0000-${TRACE}-${PARENT}-01`],
    ['version 0', `0-${TRACE}-${PARENT}-01`],
    ['trace-id all zero', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['trace-id starting with a dot', `00-.2345678901234567890123456789012-${PARENT}-01`],
    ['trace-id ending with a dot', `00-1234567890123456789012345678901.-${PARENT}-01`],
    ['trace-id of 33', `00-${TRACE}3-${PARENT}-01`],
    ['trace-id of 31', `00-${TRACE.slice(0, 31)}-${PARENT}-01`],
    ['parent-id all zero', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['parent-id starting with a dot', `00-${TRACE}-.234567890123456-01`],
    ['parent-id ending with a dot', `00-${TRACE}-123456789012345.-01`],
    ['parent-id of 17', `00-${TRACE}-${PARENT}7-01`],
    ['parent-id of 15', `00-${TRACE}-${PARENT.slice(0, 15)}-01`],
    ['flags .0', `00-${TRACE}-${PARENT}-.0`],
    ['flags 0.', `00-${TRACE}-${PARENT}-0.`],
    ['flags 001', `00-${TRACE}-${PARENT}-001`],
    ['flags 1', `00-${TRACE}-${PARENT}-1`],
    // Rules the suite does not test.
    ['uppercase trace-id', `00-${'ABCDEF'.padEnd(32, '1')}-${PARENT}-01`],
    ['uppercase parent-id', `00-${TRACE}-${'ABCDEF'.padEnd(16, '1')}-01`],
    ['uppercase flags', `00-${TRACE}-${PARENT}-0A`],
    ['uppercase version', `CC-${TRACE}-${PARENT}-01`],
    ['version 00 followed by a dash only', `${VALID}-`],
    ['version cc shorter than 55', `cc-${TRACE}-${PARENT}-1`],
    ['a higher version with data straight after the flags', `cc-${TRACE}-${PARENT}-01x`],
    ['a missing separator', `00-${TRACE}${PARENT}-01-00`],
    ['a separator other than a dash', `00_${TRACE}_${PARENT}_01`],
    ['whitespace inside', `00- ${TRACE}-${PARENT}-01`],
    ['a newline at the end (not OWS)', `${VALID}\n`],
    ['a non-breaking space at the start (not OWS)', `\u00a0${VALID}`],
    ['non-ASCII digits', `00-${TRACE.slice(0, 31)}\u0661-${PARENT}-01`],
    ['empty', ''],
    ['whitespace only', ' \t '],
    ['two values (a duplicated header)', [VALID, VALID]],
    ['an empty array', []],
  ] as const)('%s', (_name, header) => {
    expect(parseTraceparent(header)).toBeNull();
  });

  it('does not reuse either 32-character part of a 33-character trace-id', () => {
    // The suite checks the restarted trace differs from both substrings; the parser must not
    // return any trace for it.
    expect(parseTraceparent(`00-${TRACE}3-${PARENT}-01`)).toBeNull();
    expect(parseTraceparent(`cc-${TRACE}3-${PARENT}-01`)).toBeNull();
  });

  it('returns null for values that are not strings instead of throwing', () => {
    const odd: unknown[] = [undefined, null, 42, {}, [42], [null], [undefined], Symbol('x'), true];
    for (const value of odd) {
      expect(parseTraceparent(value as string)).toBeNull();
    }
  });
});

describe('formatTraceparent', () => {
  it('writes version 00 and the flags as two lowercase hex digits', () => {
    expect(formatTraceparent(TRACE, PARENT, 0)).toBe(`00-${TRACE}-${PARENT}-00`);
    expect(formatTraceparent(TRACE, PARENT, TRACE_FLAG_SAMPLED)).toBe(`00-${TRACE}-${PARENT}-01`);
    expect(formatTraceparent(TRACE, PARENT, TRACE_FLAG_RANDOM)).toBe(`00-${TRACE}-${PARENT}-02`);
    expect(formatTraceparent(TRACE, PARENT, 3)).toBe(`00-${TRACE}-${PARENT}-03`);
  });

  it('keeps only the known flag bits, and never writes three flag digits', () => {
    // OTel's `0${flags.toString(16)}` would write `-010` for 0x10.
    expect(formatTraceparent(TRACE, PARENT, 0x10)).toBe(`00-${TRACE}-${PARENT}-00`);
    expect(formatTraceparent(TRACE, PARENT, 0xff)).toBe(`00-${TRACE}-${PARENT}-03`);
    expect(formatTraceparent(TRACE, PARENT, 0x81)).toBe(`00-${TRACE}-${PARENT}-01`);
  });

  it.each([
    ['traceId', () => formatTraceparent(TRACE.toUpperCase().replace(/1/g, 'A'), PARENT, 1)],
    ['traceId', () => formatTraceparent('0'.repeat(32), PARENT, 1)],
    ['traceId', () => formatTraceparent(TRACE.slice(1), PARENT, 1)],
    ['traceId', () => formatTraceparent(undefined as unknown as string, PARENT, 1)],
    ['spanId', () => formatTraceparent(TRACE, 'ABCDEF1234567890', 1)],
    ['spanId', () => formatTraceparent(TRACE, '0'.repeat(16), 1)],
    ['spanId', () => formatTraceparent(TRACE, `${PARENT}0`, 1)],
    ['spanId', () => formatTraceparent(TRACE, 42 as unknown as string, 1)],
    ['flags', () => formatTraceparent(TRACE, PARENT, -1)],
    ['flags', () => formatTraceparent(TRACE, PARENT, 256)],
    ['flags', () => formatTraceparent(TRACE, PARENT, 1.5)],
    ['flags', () => formatTraceparent(TRACE, PARENT, Number.NaN)],
    ['flags', () => formatTraceparent(TRACE, PARENT, '1' as unknown as number)],
  ] as const)('throws a TypeError naming %s', (name, call) => {
    expect(call).toThrow(TypeError);
    expect(call).toThrow(new RegExp(`^formatTraceparent: ${name} must be`));
  });
});

describe('isValidTraceId / isValidSpanId', () => {
  it('accept lowercase non-zero hex of the right length only', () => {
    expect(isValidTraceId(TRACE)).toBe(true);
    expect(isValidTraceId('abcdef'.padEnd(32, '0'))).toBe(true);
    expect(isValidTraceId('ABCDEF'.padEnd(32, '0'))).toBe(false);
    expect(isValidTraceId('0'.repeat(32))).toBe(false);
    expect(isValidTraceId(TRACE.slice(1))).toBe(false);
    expect(isValidTraceId(`${TRACE}0`)).toBe(false);
    expect(isValidTraceId(42)).toBe(false);
    expect(isValidSpanId(PARENT)).toBe(true);
    expect(isValidSpanId('ABCDEF'.padEnd(16, '0'))).toBe(false);
    expect(isValidSpanId('0'.repeat(16))).toBe(false);
    expect(isValidSpanId(TRACE)).toBe(false);
    expect(isValidSpanId(null)).toBe(false);
  });
});

/**
 * The rules restated with a regex, as a second opinion for the scanner. (A regex with a `.*` tail is
 * fine in a test; the scanner exists so the per-request path has no backtracking.)
 */
const SHAPE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/s;
function reference(value: string): Traceparent | null {
  const trimmed = value.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  const m = SHAPE.exec(trimmed);
  if (m === null) return null;
  const [, version, traceId, parentId, flags, tail] = m as unknown as string[];
  if (version === 'ff' || (version === '00' && tail !== undefined)) return null;
  if (/^0+$/.test(traceId as string) || /^0+$/.test(parentId as string)) return null;
  return {
    version: Number.parseInt(version as string, 16),
    traceId: traceId as string,
    parentId: parentId as string,
    flags: Number.parseInt(flags as string, 16),
  };
}

const hexLower = fc.constantFrom(...'0123456789abcdef'.split(''));
const hexString = (n: number) => fc.string({ unit: hexLower, minLength: n, maxLength: n });
const validHeader = fc
  .tuple(
    fc.oneof(fc.constant('00'), hexString(2)),
    hexString(32),
    hexString(16),
    hexString(2),
    fc.oneof(
      fc.constant(''),
      fc.string({ maxLength: 8 }).map((s) => `-${s}`),
    ),
    fc.constantFrom('', ' ', '\t', ' \t'),
    fc.constantFrom('', ' ', '\t', '\t '),
  )
  .map(([v, t, p, f, tail, pre, post]) => `${pre}${v}-${t}-${p}-${f}${tail}${post}`);
/** Characters that matter to the grammar, and a few that must never pass. */
const interesting = fc.constantFrom(...'0123456789abcdefABCDEFgz-. \t\n\u00a0\u0661'.split(''));
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), ch: interesting }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), ch: interesting }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), ch: fc.constant('') }),
);
const mutatedHeader = fc
  .tuple(validHeader, fc.array(mutation, { maxLength: 3 }))
  .map(([header, edits]) => {
    let s = header;
    for (const e of edits) {
      const at = s.length === 0 ? 0 : e.at % s.length;
      if (e.kind === 'replace') s = s.slice(0, at) + e.ch + s.slice(at + 1);
      else if (e.kind === 'insert') s = s.slice(0, at) + e.ch + s.slice(at);
      else s = s.slice(0, at) + s.slice(at + 1);
    }
    return s;
  });

describe('parseTraceparent: properties', () => {
  it('agrees with the regex restatement on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        expect(parseTraceparent(s)).toEqual(reference(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the regex restatement on valid and mutated headers', () => {
    fc.assert(
      fc.property(fc.oneof(validHeader, mutatedHeader), (s) => {
        expect(parseTraceparent(s)).toEqual(reference(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads back what formatTraceparent writes, with only known flags', () => {
    const id = (n: number) => hexString(n).filter((s) => /[1-9a-f]/.test(s));
    fc.assert(
      fc.property(id(32), id(16), fc.integer({ min: 0, max: 255 }), (t, p, f) => {
        const header = formatTraceparent(t, p, f);
        expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/);
        expect(parseTraceparent(header)).toEqual({
          version: 0,
          traceId: t,
          parentId: p,
          flags: f & 0x03,
        });
      }),
      { numRuns: 1000 },
    );
  });
});
