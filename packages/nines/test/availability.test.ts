import { ninesTable, PERIODS, parseTarget, targetForDowntime } from '@nines/slo';
import { describe, expect, it } from 'vitest';
import { nines } from './slo-fixtures.js';

const HOUR = 3_600_000;

describe('nines availability', () => {
  it('answers --help', async () => {
    const { code, out } = await nines('availability', '--help');
    expect(code).toBe(0);
    expect(out).toMatch(/Usage: nines availability <target>/);
    expect(out).toMatch(/--downtime <d>/);
    expect(out).toMatch(/Exit codes: 0 printed; 2/);
  });

  it('prints the nines table for each target', async () => {
    const { code, out, err } = await nines('availability', '99.9', '99.95%', '0.9999');
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^target\s+nines\s+year\s+quarter\s+month\s+week\s+day$/);
    expect(lines[1]).toMatch(
      /^99\.9%\s+3\s+8\.76 h\s+2\.19 h\s+43\.8 min\s+10\.1 min\s+1\.44 min$/,
    );
    expect(lines[2]).toMatch(
      /^99\.95%\s+3\.3\s+4\.38 h\s+1\.09 h\s+21\.9 min\s+5\.04 min\s+43\.2 s$/,
    );
    expect(lines[3]).toMatch(
      /^99\.99%\s+4\s+52\.6 min\s+13\.1 min\s+4\.38 min\s+1\.01 min\s+8\.64 s$/,
    );
    expect(lines).toHaveLength(4);
  });

  it('reads 99.95, 99.95% and 0.9995 as the same target; --json matches ninesTable', async () => {
    const results = await Promise.all(
      ['99.95', '99.95%', '0.9995'].map((t) => nines('availability', t, '--json')),
    );
    const expected = ninesTable(parseTarget('99.95%'));
    for (const { code, out } of results) {
      expect(code).toBe(0);
      const [table] = JSON.parse(out);
      expect(table.target).toBe(0.9995);
      expect(table.percent).toBe('99.95%');
      expect(table.nines).toBe(expected.nines);
      for (const p of PERIODS) {
        expect(table.downtime[p]).toEqual({ ms: expected[p].ms, text: expected[p].text });
      }
    }
  });

  it('--downtime --per gives the target for an allowed downtime', async () => {
    const { code, out } = await nines('availability', '--downtime', '1h', '--per', 'month');
    expect(code).toBe(0);
    expect(out).toMatch(/^1 h per month is a target of 99\.863% \(2\.9 nines\)$/m);
    expect(out).toMatch(/^99\.863%\s+2\.9\s+12 h\s+3 h\s+1 h\s/m);
    const json = await nines('availability', '--downtime', '43.8min', '--per', 'year', '--json');
    expect(json.code).toBe(0);
    const r = JSON.parse(json.out);
    expect(r.downtimeMs).toBe(43.8 * 60_000);
    expect(r.per).toBe('year');
    expect(r.target).toBe(targetForDowntime(43.8 * 60_000, 'year'));
    const days = await nines('availability', '--downtime', '40.32 min', '--per', '28d', '--json');
    expect(days.code).toBe(0);
    expect(JSON.parse(days.out).target).toBeCloseTo(0.999, 12);
    const byDefault = await nines('availability', '--downtime', '1h', '--json');
    expect(JSON.parse(byDefault.out).target).toBe(targetForDowntime(HOUR, 'month'));
  });

  it('bad input exits 2 with a message naming the problem', async () => {
    const hundred = await nines('availability', '100');
    expect(hundred.code).toBe(2);
    expect(hundred.err).toMatch(/target "100": .*100 % leaves no error budget/);
    const word = await nines('availability', '99.9', 'high');
    expect(word.code).toBe(2);
    expect(word.err).toMatch(/target "high": "target" must be a percent such as "99\.9%"/);
    expect(word.out).toBe('');
    const one = await nines('availability', '1');
    expect(one.code).toBe(2);
    expect(one.err).toMatch(/target "1"/);
    const none = await nines('availability');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/give at least one target/);
    const unit = await nines('availability', '--downtime', '1 fortnight');
    expect(unit.code).toBe(2);
    expect(unit.err).toMatch(/--downtime must be a number and a unit .* got "1 fortnight"/);
    const per = await nines('availability', '--downtime', '1h', '--per', 'decade');
    expect(per.code).toBe(2);
    expect(per.err).toMatch(/--per must be one of year, quarter, month, week, day .* got "decade"/);
    const tooLong = await nines('availability', '--downtime', '2d', '--per', 'day');
    expect(tooLong.code).toBe(2);
    expect(tooLong.err).toMatch(/--downtime must be above 0 and shorter than the period \(1 d\)/);
    const both = await nines('availability', '99.9', '--downtime', '1h');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/either targets or --downtime, not both/);
    const perAlone = await nines('availability', '99.9', '--per', 'year');
    expect(perAlone.code).toBe(2);
    expect(perAlone.err).toMatch(/--per needs --downtime/);
  });
});
