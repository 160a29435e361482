import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  allowedDowntime,
  compose,
  formatDuration,
  formatPercent,
  inParallel,
  inSeries,
  kOfN,
  ninesCount,
  ninesTable,
  PERIOD_MS,
  PERIODS,
  parseTarget,
  periodMs,
  redundant,
  targetForDowntime,
} from '../src/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('ninesTable', () => {
  it("reproduces the lesson's table to the precision it shows", () => {
    const rows = [0.99, 0.999, 0.9999, 0.99999].map((t) => {
      const table = ninesTable(t);
      return [table.percent, table.year.text, table.month.text];
    });
    expect(rows).toEqual([
      ['99%', '3.65 d', '7.3 h'],
      ['99.9%', '8.76 h', '43.8 min'],
      ['99.99%', '52.6 min', '4.38 min'],
      ['99.999%', '5.26 min', '26.3 s'],
    ]);
  });

  it('gives every period, in ms and text, for the Workbook 99.9 % example', () => {
    const t = ninesTable(0.999);
    expect(PERIODS.map((p) => t[p].text)).toEqual([
      '8.76 h',
      '2.19 h',
      '43.8 min',
      '10.1 min',
      '1.44 min',
    ]);
    expect(t.month.ms).toBeCloseTo(43.8 * 60_000, 6);
    expect(t.day.ms).toBeCloseTo(86_400, 6);
    expect(t.week.periodMs).toBe(7 * DAY);
    expect(t.nines).toBe(3);
    expect(t.target).toBe(0.999);
    expect(Object.isFrozen(t) && Object.isFrozen(t.year)).toBe(true);
  });

  it('matches the table in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.split('## Availability math')[1]!.split('\n## ')[0]!;
    const rows = section
      .split('\n')
      .filter((line) => /^\| 99/.test(line))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    expect(rows.length).toBe(6);
    for (const [percent, nines, ...texts] of rows) {
      const t = ninesTable(parseTarget(percent!));
      expect([t.percent, Number(t.nines.toFixed(1)), ...PERIODS.map((p) => t[p].text)]).toEqual([
        percent,
        Number(nines),
        ...texts,
      ]);
    }
  });

  it('works for any target in (0, 1), not only whole nines', () => {
    const t = ninesTable(0.9995);
    expect(t.percent).toBe('99.95%');
    expect(t.month.text).toBe('21.9 min');
    expect(ninesTable(0.5).year.text).toBe('183 d');
    expect(ninesTable(0.9999999).day.text).toBe('8.64 ms');
  });

  it('rejects 1, 0, NaN, above 1 and non-numbers, naming the target', () => {
    expect(() => ninesTable(1)).toThrow(/"target" must be a fraction in \(0, 1\).*no error budget/);
    expect(() => ninesTable(0)).toThrow(TypeError);
    expect(() => ninesTable(Number.NaN)).toThrow(/ninesTable: "target".*NaN/);
    expect(() => ninesTable(99.9)).toThrow(/a percent\? write 0.999 or "99.9%"/);
    expect(() => ninesTable(-0.5)).toThrow(/"target"/);
    expect(() => ninesTable('0.999' as unknown as number)).toThrow(/string "0.999"/);
  });
});

describe('periods', () => {
  it('a year is 365 days and a month a twelfth of it', () => {
    expect(PERIOD_MS.year).toBe(365 * DAY);
    expect(PERIOD_MS.month).toBe((365 * DAY) / 12);
    expect(PERIOD_MS.quarter).toBe((365 * DAY) / 4);
    expect(periodMs({ days: 28 })).toBe(28 * DAY);
    expect(periodMs('week')).toBe(7 * DAY);
  });

  it('rejects unknown periods and bad day counts', () => {
    expect(() => periodMs('fortnight' as 'week')).toThrow(/"period" must be one of year/);
    expect(() => periodMs({ days: 0 })).toThrow(/"period.days"/);
    expect(() => periodMs({ days: Number.POSITIVE_INFINITY })).toThrow(/"period.days"/);
    expect(() => periodMs('toString' as 'week')).toThrow(/"period"/);
    expect(() => allowedDowntime(0.999, null as unknown as 'day')).toThrow(/"period"/);
  });
});

describe('allowedDowntime and targetForDowntime', () => {
  it('allowed downtime defaults to a month', () => {
    expect(allowedDowntime(0.999)).toBeCloseTo(0.73 * HOUR, 3);
    expect(allowedDowntime(0.999, { days: 30 })).toBeCloseTo(43.2 * 60_000, 3);
    expect(() => allowedDowntime(1)).toThrow(/allowedDowntime: "target"/);
  });

  it('one hour a month is 99.863 %', () => {
    const t = targetForDowntime(HOUR, 'month');
    expect(formatPercent(t, 3)).toBe('99.863%');
    expect(t).toBeCloseTo(1 - 1 / 730, 12);
    expect(targetForDowntime(8.76 * HOUR, 'year')).toBeCloseTo(0.999, 12);
  });

  it('refuses downtime of zero, negative, or the whole period', () => {
    expect(() => targetForDowntime(0)).toThrow(/"downtimeMs" must be in \(0, /);
    expect(() => targetForDowntime(-1)).toThrow(/"downtimeMs"/);
    expect(() => targetForDowntime(DAY, 'day')).toThrow(/"downtimeMs"/);
    expect(() => targetForDowntime(Number.NaN)).toThrow(/"downtimeMs".*NaN/);
    expect(() => targetForDowntime(HOUR, { days: -1 })).toThrow(/"period.days"/);
  });
});

describe('ninesCount', () => {
  it('counts nines, fractional between them', () => {
    expect(ninesCount(0.9)).toBe(1);
    expect(ninesCount(0.99)).toBe(2);
    expect(ninesCount(0.999)).toBe(3);
    expect(ninesCount(0.99999)).toBe(5);
    expect(Number(ninesCount(0.9995).toFixed(1))).toBe(3.3);
    expect(ninesCount(0.5)).toBeCloseTo(0.301, 3);
    expect(() => ninesCount(1)).toThrow(/ninesCount: "target"/);
  });
});

describe('parseTarget', () => {
  it('accepts a fraction, a percent string and a bare percent string', () => {
    expect(parseTarget(0.9995)).toBe(0.9995);
    expect(parseTarget('99.95%')).toBe(0.9995);
    expect(parseTarget('99.95 %')).toBe(0.9995);
    expect(parseTarget('99.95')).toBe(0.9995);
    expect(parseTarget(' 99.9% ')).toBe(0.999);
    expect(parseTarget('90')).toBe(0.9);
    expect(parseTarget('0.5%')).toBe(0.005);
  });

  it('gives exactly the double of the written decimal (no 0.9990000000000001)', () => {
    expect(99.9 / 100).not.toBe(0.999); // why parseTarget shifts the decimal point in text
    expect(parseTarget('99.9')).toBe(0.999);
    expect(parseTarget('99.99%')).toBe(0.9999);
  });

  it('is strict', () => {
    expect(() => parseTarget('100%')).toThrow(/below 100 %.*no error budget/);
    expect(() => parseTarget('100')).toThrow(/"target"/);
    expect(() => parseTarget('0%')).toThrow(/above 0 %/);
    expect(() => parseTarget('0.999')).toThrow(/ambiguous: pass the number 0.999/);
    expect(() => parseTarget('1')).toThrow(/ambiguous/);
    expect(() => parseTarget('-99%')).toThrow(/"target" must be a percent/);
    expect(() => parseTarget('99.9%%')).toThrow(/"target"/);
    expect(() => parseTarget('9e1')).toThrow(/"target"/);
    expect(() => parseTarget('99,9')).toThrow(/"target"/);
    expect(() => parseTarget('')).toThrow(/"target"/);
    expect(() => parseTarget('three nines')).toThrow(/"target"/);
    expect(() => parseTarget(1)).toThrow(/"target".*no error budget/);
    expect(() => parseTarget(99.95)).toThrow(/write 0.9995 or "99.95%"/);
    expect(() => parseTarget(Number.NaN)).toThrow(/NaN/);
    expect(() => parseTarget(null as unknown as number)).toThrow(/got null/);
  });
});

describe('formatDuration', () => {
  it('picks the largest unit with a value of at least 1 and three significant digits', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(0.5)).toBe('0.5 ms');
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1_000)).toBe('1 s');
    expect(formatDuration(26_280)).toBe('26.3 s');
    expect(formatDuration(90 * 60_000)).toBe('1.5 h');
    expect(formatDuration(3.65 * DAY)).toBe('3.65 d');
    expect(formatDuration(1234 * DAY)).toBe('1234 d');
  });

  it('moves up a unit when rounding reaches it', () => {
    expect(formatDuration(59_970)).toBe('1 min');
    expect(formatDuration(59_940)).toBe('59.9 s');
    expect(formatDuration(DAY - 60_000)).toBe('1 d');
  });

  it('takes the number of significant digits', () => {
    expect(formatDuration(26_280, 2)).toBe('26 s');
    expect(formatDuration(26_280, 4)).toBe('26.28 s');
    expect(() => formatDuration(1, 0)).toThrow(/"significantDigits"/);
    expect(() => formatDuration(1, 2.5)).toThrow(/"significantDigits" must be an integer/);
  });

  it('rejects negative and non-finite durations', () => {
    expect(() => formatDuration(-1)).toThrow(/formatDuration: "ms"/);
    expect(() => formatDuration(Number.POSITIVE_INFINITY)).toThrow(/"ms"/);
    expect(() => formatDuration(Number.NaN)).toThrow(/"ms"/);
  });
});

describe('formatPercent', () => {
  it('drops binary noise and rounds without reaching 100 % or 0 %', () => {
    expect(formatPercent(0.9995)).toBe('99.95%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.99999, 2)).toBe('99.999%');
    expect(formatPercent(0.00001, 2)).toBe('0.001%');
    expect(formatPercent(0.5, 0)).toBe('50%');
    expect(() => formatPercent(1.5)).toThrow(/"fraction"/);
    expect(() => formatPercent(0.5, 13)).toThrow(/"fractionDigits"/);
    expect(() => formatPercent(0.5, 1.5)).toThrow(/"fractionDigits" must be an integer/);
  });
});

describe('composition', () => {
  it('in series multiplies, in parallel multiplies the unavailabilities', () => {
    expect(inSeries(0.999, 0.999)).toBeCloseTo(0.998001, 12);
    expect(inSeries(0.99)).toBe(0.99);
    expect(inParallel(0.99, 0.99)).toBeCloseTo(0.9999, 12);
    expect(inParallel(0.9, 0.8, 0.5)).toBeCloseTo(1 - 0.1 * 0.2 * 0.5, 12);
  });

  it('redundant(a, n) and k-of-n quorums', () => {
    expect(redundant(0.99, 1)).toBe(0.99);
    expect(redundant(0.99, 3)).toBeCloseTo(0.999999, 12);
    // 2 of 3 at 0.99: 3·0.99²·0.01 + 0.99³
    expect(kOfN(0.99, 2, 3)).toBeCloseTo(3 * 0.99 ** 2 * 0.01 + 0.99 ** 3, 12);
    expect(kOfN(0.99, 1, 3)).toBeCloseTo(redundant(0.99, 3), 12);
    expect(kOfN(0.99, 3, 3)).toBeCloseTo(0.99 ** 3, 12);
    expect(kOfN(0, 1, 3)).toBe(0);
    expect(kOfN(1, 3, 3)).toBe(1);
    // a fair coin, 1000 replicas, majority: about one half, no overflow of C(1000, 500)
    expect(kOfN(0.5, 501, 1000)).toBeCloseTo(0.487, 3);
  });

  it('composes nested systems described as data', () => {
    const api = 0.999;
    const db = inParallel(0.99, 0.99);
    const cache = kOfN(0.99, 2, 3);
    expect(
      compose({ series: [api, { parallel: [0.99, 0.99] }, { quorum: 0.99, k: 2, n: 3 }] }),
    ).toBe(inSeries(api, db, cache));
    expect(compose({ redundant: { series: [0.99, 0.99] }, n: 2 })).toBe(
      redundant(inSeries(0.99, 0.99), 2),
    );
    expect(compose(0.5)).toBe(0.5);
  });

  it('rejects bad parts, naming them', () => {
    expect(() => inSeries()).toThrow(/inSeries: needs at least one/);
    expect(() => inParallel()).toThrow(/inParallel: needs at least one/);
    expect(() => inSeries(0.9, 1.1)).toThrow(/"availabilities\[1\]" must be in \[0, 1\]/);
    expect(() => inParallel(Number.NaN)).toThrow(/"availabilities\[0\]".*NaN/);
    expect(() => redundant(0.9, 0)).toThrow(/redundant: "n"/);
    expect(() => redundant(0.9, 1.5)).toThrow(/"n" must be an integer/);
    expect(() => redundant(2, 2)).toThrow(/redundant: "a"/);
    expect(() => kOfN(0.9, 4, 3)).toThrow(/"k" must be <= n/);
    expect(() => kOfN(0.9, 0, 3)).toThrow(/kOfN: "k"/);
    expect(() => compose({ series: [0.9, { parallel: [0.9, 2] }] })).toThrow(
      /"component.series\[1\].parallel\[1\]"/,
    );
    expect(() => compose({ series: [] })).toThrow(/"component.series" must be a non-empty array/);
    expect(() => compose({ series: [0.9], parallel: [0.9] } as never)).toThrow(
      /exactly one of .*got series and parallel/,
    );
    expect(() => compose({} as never)).toThrow(/got none/);
    expect(() => compose({ quorum: 0.9, k: 3, n: 2 })).toThrow(/"component.k" must be <= n/);
    expect(() => compose({ redundant: 0.9 } as never)).toThrow(/"component.n"/);
    expect(() => compose('0.9' as never)).toThrow(/"component"/);
  });
});
