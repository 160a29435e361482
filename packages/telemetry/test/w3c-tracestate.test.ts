import type { TraceState } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createTraceState,
  isValidTracestateKey,
  isValidTracestateValue,
  parseTracestate,
  TRACESTATE_MAX_LENGTH,
} from '../src/w3c/tracestate.js';

/** Parses and fails the test when the header is rejected. */
function parseOk(value: string | string[]): TraceState {
  const state = parseTracestate(value);
  if (state === null) throw new Error(`expected ${JSON.stringify(value)} to parse`);
  return state;
}

const range = (from: number, to: number): string =>
  String.fromCharCode(...Array.from({ length: to - from + 1 }, (_, i) => from + i));
const KEY_CHARS = `${range(0x61, 0x7a)}0123456789_-*/`;
const KEY_WITH_VENDOR = `${KEY_CHARS}@a-z0-9_-*/`;
const ALL_VALUE_CHARS = range(0x20, 0x2b) + range(0x2d, 0x3c) + range(0x3e, 0x7e);
const members32 = Array.from({ length: 32 }, (_, i) => {
  const n = String(i + 1).padStart(2, '0');
  return `bar${n}=${n}`;
});
const headers32 = [0, 8, 16, 24].map((at) => members32.slice(at, at + 8).join(','));

describe('parseTracestate: the official suite cases', () => {
  it('keeps members in order, across several headers', () => {
    const state = parseOk(['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3']);
    expect(state.serialize()).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    expect(state.get('rojo')).toBe('1');
  });

  it('reads values', () => {
    const state = parseOk('foo=1,bar=2');
    expect(state.get('foo')).toBe('1');
    expect(state.get('bar')).toBe('2');
    expect(state.get('baz')).toBeUndefined();
  });

  it('accepts an empty header alone, before or after a member', () => {
    expect(parseOk('').serialize()).toBe('');
    expect(parseOk(['']).serialize()).toBe('');
    expect(parseOk(['foo=1', '']).get('foo')).toBe('1');
    expect(parseOk(['', 'foo=1']).get('foo')).toBe('1');
    // What Node makes of the same two headers: `foo=1, ` and `, foo=1`.
    expect(parseOk('foo=1, ').serialize()).toBe('foo=1');
    expect(parseOk(', foo=1').serialize()).toBe('foo=1');
  });

  it.each([
    ['foo=1,foo=1', 'foo=1'],
    ['foo=1,foo=2', 'foo=1'],
    [['foo=1', 'foo=1'], 'foo=1'],
    [['foo=1', 'foo=2'], 'foo=1'],
    ['foo=1, bar=2, foo=3', 'foo=1,bar=2'],
    [['bar=2,foo=1', 'foo=2,baz=3'], 'bar=2,foo=1,baz=3'],
  ])('keeps the left-most member of a repeated key: %j', (header, expected) => {
    expect(parseOk(header).serialize()).toBe(expected);
  });

  it('counts repeated keys towards the 32 members', () => {
    expect(
      parseTracestate([
        ...headers32.slice(0, 3),
        'bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30,bar31=31,bar01=99,bar32=32',
      ]),
    ).toBeNull();
  });

  it('accepts every allowed character in keys and values', () => {
    for (const key of [KEY_CHARS, KEY_WITH_VENDOR]) {
      const state = parseOk(`${key}=${ALL_VALUE_CHARS}`);
      // The value starts with a space: it is part of the value, not OWS.
      expect(state.get(key)).toBe(ALL_VALUE_CHARS);
      expect(parseOk(state.serialize()).get(key)).toBe(ALL_VALUE_CHARS);
    }
  });

  it.each(['foo=1 \t , \t bar=2, \t baz=3', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3'])(
    'ignores OWS around commas: %j',
    (header) => {
      const state = parseOk(header);
      expect(state.serialize()).toBe('foo=1,bar=2,baz=3');
    },
  );

  it.each([' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t'])(
    'ignores leading and trailing OWS: %j',
    (header) => {
      expect(parseOk(header).serialize()).toBe('foo=1');
    },
  );

  it.each(['foo =1', 'FOO=1', 'foo.bar=1', 'foo =1,bar=2', 'bar=2,FOO=1', 'bar=2,foo.bar=1'])(
    'discards the whole header on an illegal key: %j',
    (header) => {
      expect(parseTracestate(header)).toBeNull();
    },
  );

  it('follows the current key grammar for `@`', () => {
    expect(parseOk('foo@=1,bar=2').get('foo@')).toBe('1');
    expect(parseOk('foo@@bar=1,bar=2').get('foo@@bar')).toBe('1');
    expect(parseOk('foo@bar@baz=1,bar=2').get('foo@bar@baz')).toBe('1');
    expect(parseTracestate('@foo=1,bar=2')).toBeNull();
  });

  it('keeps 32 members across 4 headers and discards 33', () => {
    const state = parseOk(headers32);
    expect(state.get('bar01')).toBe('01');
    expect(state.get('bar32')).toBe('32');
    expect(state.serialize()).toBe(members32.join(','));
    expect(parseTracestate([...headers32, 'bar33=33'])).toBeNull();
  });

  it('keeps a 256-character key and discards the header with a 257-character one', () => {
    expect(parseOk(['foo=1', `${'z'.repeat(256)}=1`]).get('foo')).toBe('1');
    expect(parseTracestate(['foo=1', `${'z'.repeat(257)}=1`])).toBeNull();
    for (const key of [
      `${'t'.repeat(241)}@${'v'.repeat(14)}`,
      `${'t'.repeat(242)}@v`,
      `t@${'v'.repeat(15)}`,
    ]) {
      const state = parseOk(['foo=1', `${key}=1`]);
      expect(state.get('foo')).toBe('1');
      expect(state.get(key)).toBe('1');
    }
  });

  it.each(['foo=bar=baz', 'foo=,bar=3'])(
    'discards the whole header on an illegal value: %j',
    (header) => {
      expect(parseTracestate(header)).toBeNull();
    },
  );
});

describe('parseTracestate: rules the suite does not test', () => {
  it('starts keys with a digit (current grammar)', () => {
    expect(parseOk('1foo=bar').get('1foo')).toBe('bar');
  });

  it('limits values to 256 characters', () => {
    expect(parseOk(`foo=${'v'.repeat(256)}`).get('foo')).toBe('v'.repeat(256));
    expect(parseTracestate(`foo=${'v'.repeat(257)}`)).toBeNull();
    // Trailing OWS does not count towards the limit.
    expect(parseOk(`foo=${'v'.repeat(256)}   `).get('foo')).toBe('v'.repeat(256));
  });

  it('keeps leading spaces of a value and drops trailing ones', () => {
    expect(parseOk('foo=  x  ,bar=1').get('foo')).toBe('  x');
  });

  it.each([
    ['an empty value at the end', 'foo='],
    ['a value of spaces only', 'foo=   ,bar=1'],
    ['a tab inside a value', 'foo=a\tb'],
    ['a control character', 'foo=a\u0001b'],
    ['DEL', 'foo=a\u007fb'],
    ['a non-ASCII character', 'foo=caf\u00e9'],
    ['a key without a value', 'foo'],
    ['a key without a value before another member', 'foo,bar=1'],
    ['an empty key', '=1'],
    ['a key starting with an underscore', '_foo=1'],
    ['a non-ASCII key', 'f\u00f6o=1'],
    ['a newline between members', 'foo=1\n,bar=2'],
  ])('discards the whole header with %s', (_name, header) => {
    expect(parseTracestate(header)).toBeNull();
  });

  it('accepts empty and whitespace-only members anywhere', () => {
    expect(parseOk(',,,').serialize()).toBe('');
    expect(parseOk(' \t ').serialize()).toBe('');
    expect(parseOk(',foo=1,, \t ,bar=2,').serialize()).toBe('foo=1,bar=2');
  });

  it('does not count empty members towards the 32', () => {
    expect(parseOk(`${members32.join(',,')},,`).get('bar32')).toBe('32');
  });

  it('gives null for a missing header and for values that are not strings', () => {
    expect(parseTracestate(undefined)).toBeNull();
    expect(parseTracestate([])).toBeNull();
    const odd: unknown[] = [null, 42, {}, [42], ['foo=1', null], Symbol('x')];
    for (const value of odd) expect(parseTracestate(value as string)).toBeNull();
  });

  it('accepts a header longer than 512 characters and shortens it on output', () => {
    const members = Array.from({ length: 8 }, (_, i) => `k${i}=${'v'.repeat(97)}`); // 100 each
    const state = parseOk(members.join(','));
    expect(state.get('k7')).toBe('v'.repeat(97));
    // 8 x 100 + 7 commas = 807: drop from the right until it fits: 5 x 100 + 4 = 504.
    expect(state.serialize()).toBe(members.slice(0, 5).join(','));
  });
});

describe('TraceState.set / unset / get', () => {
  const base = parseOk('a=1,b=2,c=3');

  it('adds a new key on the left', () => {
    expect(base.set('d', '4').serialize()).toBe('d=4,a=1,b=2,c=3');
  });

  it('moves an updated key to the left and keeps the others in order', () => {
    expect(base.set('b', '9').serialize()).toBe('b=9,a=1,c=3');
    expect(base.set('c', '3').serialize()).toBe('c=3,a=1,b=2');
  });

  it('is immutable: set and unset return new states', () => {
    const next = base.set('d', '4').unset('a');
    expect(next.serialize()).toBe('d=4,b=2,c=3');
    expect(base.serialize()).toBe('a=1,b=2,c=3');
    expect(base.get('d')).toBeUndefined();
    expect(next).not.toBe(base);
  });

  it('returns the same state for a key set to its value at the left already', () => {
    expect(base.set('a', '1')).toBe(base);
  });

  it.each([
    ['an uppercase key', 'Foo', '1'],
    ['an empty key', '', '1'],
    ['a key starting with @', '@foo', '1'],
    ['a 257-character key', 'k'.repeat(257), '1'],
    ['an empty value', 'foo', ''],
    ['a value with a comma', 'foo', 'a,b'],
    ['a value with =', 'foo', 'a=b'],
    ['a value ending with a space', 'foo', 'a '],
    ['a 257-character value', 'foo', 'v'.repeat(257)],
    ['a non-string key', 42, '1'],
    ['a non-string value', 'foo', undefined],
  ])('ignores %s on set (same state, no throw)', (_name, key, value) => {
    expect(base.set(key as string, value as string)).toBe(base);
  });

  it('keeps at most 32 members on set, dropping the right-most', () => {
    const full = parseOk(headers32);
    const next = full.set('new', 'x');
    expect(next.get('new')).toBe('x');
    expect(next.get('bar31')).toBe('31');
    expect(next.get('bar32')).toBeUndefined();
    expect(next.serialize().split(',')).toHaveLength(32);
    // Updating an existing key of a full state drops nothing.
    const moved = full.set('bar32', 'y');
    expect(moved.serialize().split(',')).toHaveLength(32);
    expect(moved.get('bar01')).toBe('01');
    expect(moved.serialize().startsWith('bar32=y,bar01=01')).toBe(true);
  });

  it('unsets a key, and returns the same state for an absent key', () => {
    expect(base.unset('b').serialize()).toBe('a=1,c=3');
    expect(base.unset('zz')).toBe(base);
    expect(parseOk('a=1').unset('a').serialize()).toBe('');
  });

  it('reads and writes a state parsed from OWS-laden headers the same way', () => {
    const state = parseOk(' a=1 , b=2\t');
    expect(state.get('b')).toBe('2');
    expect(state.set('c', '3').serialize()).toBe('c=3,a=1,b=2');
  });
});

describe('TraceState.serialize: the 512-character rule', () => {
  const member = (key: string, length: number): [string, string] => [
    key,
    'v'.repeat(length - key.length - 1),
  ];
  const text = (entries: [string, string][]): string =>
    entries.map(([k, v]) => `${k}=${v}`).join(',');

  it('keeps a header of exactly 512 characters', () => {
    const entries = [member('a', 255), member('b', 256)]; // 255 + 1 + 256 = 512
    expect(createTraceState(entries).serialize()).toBe(text(entries));
    expect(createTraceState(entries).serialize()).toHaveLength(512);
  });

  it('removes members longer than 128 characters before any other', () => {
    const entries = [member('a', 120), member('big', 200), member('b', 120), member('c', 120)];
    // 560 + 3 = 563: removing `big` (the only long one) is enough; `c` on the right stays.
    expect(createTraceState(entries).serialize()).toBe(
      text([entries[0]!, entries[2]!, entries[3]!]),
    );
  });

  it('removes long members from the right, and only as many as needed', () => {
    const entries = [member('big1', 200), member('a', 100), member('big2', 200), member('b', 100)];
    // 600 + 3 = 603: removing big2 gives 402.
    expect(createTraceState(entries).serialize()).toBe(
      text([entries[0]!, entries[1]!, entries[3]!]),
    );
  });

  it('then removes members from the right', () => {
    const small = Array.from({ length: 6 }, (_, i) => member(`s${i}`, 100));
    const entries = [member('big', 200), ...small];
    // 800 + 6: big goes (605), then s5 (504).
    expect(createTraceState(entries).serialize()).toBe(text(small.slice(0, 5)));
  });

  it('drops a single member that cannot fit at all', () => {
    const key = 'k'.repeat(256);
    const state = createTraceState([[key, 'v'.repeat(256)]]); // 513 characters
    expect(state.serialize()).toBe('');
    expect(state.get(key)).toBe('v'.repeat(256));
  });

  it('never writes more than 512 characters, and what it writes parses back', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 3, max: 300 }), { maxLength: 32 }), (lengths) => {
        const entries = lengths.map((n, i) => {
          const key = `k${i}`;
          // Between a one-character value and the longest (256).
          return member(key, Math.max(key.length + 2, Math.min(n, key.length + 257)));
        });
        const out = createTraceState(entries).serialize();
        expect(out.length).toBeLessThanOrEqual(TRACESTATE_MAX_LENGTH);
        const full = text(entries);
        if (full.length <= TRACESTATE_MAX_LENGTH) expect(out).toBe(full);
        const back = parseOk(out);
        for (const [k, v] of entries) {
          const got = back.get(k);
          if (got !== undefined) expect(got).toBe(v);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('createTraceState', () => {
  it('builds a state from entries, left-most first', () => {
    expect(createTraceState().serialize()).toBe('');
    expect(
      createTraceState(
        new Map([
          ['rojo', '00f067aa0ba902b7'],
          ['congo', 't61rcWkgMzE'],
        ]),
      ).serialize(),
    ).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  });

  it.each([
    ['not iterable', 42, /entries must be an iterable/],
    ['null', null, /entries must be an iterable/],
    ['a string', 'foo=1', /entries must be an iterable/],
    ['an entry that is not a pair', [['foo']], /entry 0 must be a \[key, value\] pair/],
    [
      'an invalid key',
      [
        ['ok', '1'],
        ['Bad', '1'],
      ],
      /entry 1 has an invalid key string "Bad"/,
    ],
    ['an invalid value', [['foo', 'a,b']], /entry 0 \(key "foo"\) has an invalid value/],
    [
      'a repeated key',
      [
        ['foo', '1'],
        ['foo', '2'],
      ],
      /key "foo" appears more than once/,
    ],
    [
      '33 entries',
      Array.from({ length: 33 }, (_, i) => [`k${i}`, '1']),
      /at most 32 entries are allowed/,
    ],
  ])('throws a TypeError for %s', (_name, entries, message) => {
    const call = () => createTraceState(entries as Iterable<[string, string]>);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(message);
  });
});

describe('isValidTracestateKey / isValidTracestateValue', () => {
  it('follow the grammar', () => {
    expect(isValidTracestateKey('a')).toBe(true);
    expect(isValidTracestateKey('0')).toBe(true);
    expect(isValidTracestateKey('a@b@c')).toBe(true);
    expect(isValidTracestateKey('k'.repeat(256))).toBe(true);
    expect(isValidTracestateKey('k'.repeat(257))).toBe(false);
    expect(isValidTracestateKey('-a')).toBe(false);
    expect(isValidTracestateKey('a b')).toBe(false);
    expect(isValidTracestateValue(' x')).toBe(true);
    expect(isValidTracestateValue('x ')).toBe(false);
    expect(isValidTracestateValue(' ')).toBe(false);
    expect(isValidTracestateValue('~!')).toBe(true);
    expect(isValidTracestateValue('a\tb')).toBe(false);
  });
});

/**
 * The grammar restated with a split and a regex, as a second opinion for the scanner. It is not
 * the scanner's algorithm: it trims and splits first, then matches whole members. A repeated key
 * keeps its first value; more than 32 members (repeats counted) is invalid.
 */
const MEMBER =
  /^([a-z0-9][a-z0-9_\-*/@]{0,255})=([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])$/;
function reference(header: string): [string, string][] | null {
  const out: [string, string][] = [];
  let members = 0;
  for (const raw of header.split(',')) {
    const member = raw.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
    if (member === '') continue;
    const m = MEMBER.exec(member);
    if (m === null) return null;
    const key = m[1] as string;
    members++;
    if (!out.some(([k]) => k === key)) out.push([key, m[2] as string]);
  }
  return members > 32 ? null : out;
}

const keyArb = fc
  .tuple(
    fc.constantFrom(...'abz019'.split('')),
    fc.string({ unit: fc.constantFrom(...'az09_-*/@'.split('')), maxLength: 6 }),
  )
  .map(([a, b]) => a + b);
const valueArb = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...ALL_VALUE_CHARS.split('')), maxLength: 6 }),
    fc.constantFrom(...ALL_VALUE_CHARS.slice(1).split('')),
  )
  .map(([a, b]) => a + b);
const ows = fc.constantFrom('', ' ', '\t', ' \t ');
const headerArb = fc
  .array(fc.tuple(ows, keyArb, valueArb, ows), { maxLength: 6 })
  .map((members) => members.map(([a, k, v, b]) => `${a}${k}=${v}${b}`).join(','));
const interesting = fc.constantFrom(...' \t,=@A._~\u007f\u00e9\n'.split(''));
const mutated = fc
  .tuple(headerArb, fc.array(fc.tuple(fc.nat(), interesting, fc.boolean()), { maxLength: 3 }))
  .map(([header, edits]) => {
    let s = header;
    for (const [at, ch, insert] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      s = s.slice(0, i) + ch + s.slice(insert ? i : i + 1);
    }
    return s;
  });

describe('parseTracestate: properties', () => {
  it('agrees with the restatement on arbitrary, valid and mutated headers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), headerArb, mutated), (header) => {
        const expected = reference(header);
        const state = parseTracestate(header);
        if (expected === null) {
          expect(state).toBeNull();
          return;
        }
        expect(state).not.toBeNull();
        expect(state!.serialize()).toBe(expected.map(([k, v]) => `${k}=${v}`).join(','));
        for (const [k, v] of expected) expect(state!.get(k)).toBe(v);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees on several headers joined in order', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(headerArb, mutated), { maxLength: 4 }), (headers) => {
        const state = parseTracestate(headers);
        if (headers.length === 0) expect(state).toBeNull();
        else
          expect(state?.serialize() ?? null).toBe(
            reference(headers.join(','))
              ?.map((e) => e.join('='))
              .join(',') ?? null,
          );
      }),
      { numRuns: 2000 },
    );
  });

  it('set and unset behave like a list with the newest key on the left', () => {
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), keyArb, valueArb),
      fc.tuple(fc.constant('unset' as const), keyArb, fc.constant('')),
    );
    fc.assert(
      fc.property(headerArb, fc.array(op, { maxLength: 40 }), (header, ops) => {
        let model = reference(header);
        fc.pre(model !== null);
        let state = parseOk(header);
        for (const [kind, key, value] of ops) {
          model = model!.filter(([k]) => k !== key);
          if (kind === 'set') {
            model.unshift([key, value]);
            model = model.slice(0, 32);
            state = state.set(key, value);
          } else {
            state = state.unset(key);
          }
          expect(state.serialize()).toBe(model.map((e) => e.join('=')).join(','));
        }
      }),
      { numRuns: 500 },
    );
  });
});
