import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSloFile, loadSlos, SpecError } from '../src/index.js';
import { catchSpec, rejectsSpec } from './spec-helpers.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A nines file with one SLO whose body is `body` (indented under `- `). */
const nines = (body: string, head = 'service: orders\n') =>
  `${head}slos:\n  - ${body.trim().replace(/\n/g, '\n    ')}\n`;
const load = (text: string) => catchSpec(() => loadSlos(text, { file: 'orders.yaml' }));

describe('bad specs fail on load with file, line, column and field', () => {
  it('a target of 100 %', async () => {
    const err = await rejectsSpec(loadSloFile(`${fixtures}objective-100.nines.yaml`));
    expect(err.message).toBe(
      `${fixtures}objective-100.nines.yaml:7:16: slos[1].objective: 100% is not a valid objective (must be below 100 %)`,
    );
    expect(err).toMatchObject({ code: 'ESPEC', line: 7, column: 16, field: 'slos[1].objective' });
    expect(err.file).toBe(`${fixtures}objective-100.nines.yaml`);
  });

  it('a target above 100 %, and 1 written as a fraction', () => {
    expect(load(nines('name: a\nobjective: 100.5%\nsli: availability')).reason).toBe(
      '100.5% is not a valid objective (must be below 100 %)',
    );
    const one = load(nines('name: a\nobjective: 1\nsli: availability'));
    expect(one.message).toBe(
      'orders.yaml:4:16: slos[0].objective: 1 is not a valid objective (1 is 100 %; must be below 100 %)',
    );
  });

  it('a target of 0 % or below', () => {
    expect(load(nines('name: a\nobjective: 0%\nsli: availability')).reason).toBe(
      '0% is not a valid objective (must be above 0 %)',
    );
    expect(load(nines('name: a\nobjective: -0.5\nsli: availability')).reason).toMatch(
      'must be above 0 %',
    );
  });

  it('a bare percentage, which would otherwise be read as a fraction above 1', () => {
    expect(load(nines('name: a\nobjective: 99.9\nsli: availability')).reason).toBe(
      '99.9 is not a valid objective: a bare number is a fraction (0.999); write 99.9% for a percentage',
    );
  });

  it('a month written 1m (a minute) in OpenSLO', async () => {
    const err = await rejectsSpec(loadSloFile(`${fixtures}month-as-minute.openslo.yaml`));
    expect(err.message).toBe(
      `${fixtures}month-as-minute.openslo.yaml:14:17: spec.timeWindow[0].duration: 1m is one minute, shorter than a day; did you mean 1M (a month)?`,
    );
  });

  it('a window of minutes in nines, with the same hint', () => {
    const err = load(nines('name: a\nobjective: 99%\nwindow: 1m\nsli: availability'));
    expect(err).toMatchObject({ line: 5, column: 13, field: 'slos[0].window' });
    expect(err.reason).toMatch(
      /^"1m" is not a valid window: write whole days .*; did you mean 1M \(a month\)\?$/,
    );
  });

  it('a window that is not whole days or a calendar unit', () => {
    for (const window of ['24h', '2M', '1Y', '0d', '30']) {
      const err = load(nines(`name: a\nobjective: 99%\nwindow: "${window}"\nsli: availability`));
      expect(err.field).toBe('slos[0].window');
      expect(err.reason).toMatch(`"${window}" is not a valid window`);
    }
  });

  it('a latency threshold that is not a bucket boundary', async () => {
    const err = await rejectsSpec(loadSloFile(`${fixtures}latency-not-boundary.nines.yaml`));
    expect(err.message).toBe(
      `${fixtures}latency-not-boundary.nines.yaml:7:20: slos[0].sli.latency.threshold: 200ms is not a bucket boundary (buckets: 0.05, 0.1, 0.25, 0.5, 1); a latency threshold must be one, so add 0.2 to the buckets or pick a boundary`,
    );
  });

  it('bucket lists out of order or not positive', () => {
    const sli = (buckets: string) =>
      load(
        nines(`name: a\nobjective: 99%\nsli: { latency: { threshold: 1s, buckets: ${buckets} } }`),
      );
    expect(sli('[1, 0.5]').reason).toBe(
      'bucket boundaries must be in increasing order without repeats',
    );
    expect(sli('[0, 1]').reason).toBe('bucket boundaries must be above 0, got 0');
    expect(sli('[]').reason).toBe('must list at least one boundary');
  });

  it('an unknown field, with a suggestion when it is close', async () => {
    const err = await rejectsSpec(loadSloFile(`${fixtures}unknown-field.nines.yaml`));
    expect(err.message).toBe(
      `${fixtures}unknown-field.nines.yaml:4:5: slos[0].objectve: unknown field "objectve"; did you mean "objective"?`,
    );
  });

  it('unknown fields at every level', () => {
    expect(load('service: orders\nslo: []\n').message).toBe(
      'orders.yaml:2:1: slo: unknown field "slo"; did you mean "slos"?',
    );
    const zone = load(
      nines(
        'name: a\nobjective: 99%\nwindow: { calendar: month, time_zone: UTC }\nsli: availability',
      ),
    );
    expect(zone.message).toBe(
      'orders.yaml:5:32: slos[0].window.time_zone: unknown field "time_zone"; did you mean "timeZone"?',
    );
    const kind = load(nines('name: a\nobjective: 99%\nsli: { latncy: { threshold: 1s } }'));
    expect(kind.reason).toBe('unknown field "latncy"; did you mean "latency"?');
    const far = load(
      nines('name: a\nobjective: 99%\nsli: availability\nalerting: { pager: true, sms: true }'),
    );
    expect(far.field).toBe('slos[0].alerting.pager');
    const none = load(nines('name: a\nobjective: 99%\nsli: availability\nalerting: { sms: true }'));
    expect(none.reason).toBe('unknown field "sms" (known fields: page, ticket)');
  });

  it('wrong types', () => {
    const page = load(nines('name: a\nobjective: 99%\nsli: availability\nalerting: { page: yes }'));
    expect(page.message).toBe(
      'orders.yaml:6:23: slos[0].alerting.page: must be true or false, got the string "yes"',
    );
    expect(load('service: [orders]\nslos: []\n').reason).toBe('must be a string, got a list');
    expect(load('service: orders\nslos: { a: 1 }\n').reason).toBe('must be a list, got a map');
    expect(load('- a\n').reason).toBe('must be a map, got a list');
    const threshold = load(nines('name: a\nobjective: 99%\nsli: { latency: { threshold: fast } }'));
    expect(threshold.reason).toBe(
      '"fast" is not a duration (e.g. 200ms, 0.2s, or a number of seconds)',
    );
    const budgeting = load(
      nines('name: a\nobjective: 99%\nsli: availability\nbudgeting: ocurrences'),
    );
    expect(budgeting.reason).toMatch(/got ocurrences; did you mean occurrences\?$/);
  });

  it('missing required fields, located at the map that lacks them', () => {
    expect(load(nines('name: a\nsli: availability')).message).toBe(
      'orders.yaml:3:5: slos[0].objective: is required (e.g. 99.9% or 0.999)',
    );
    expect(load('slos: []\n').message).toBe('orders.yaml:1:1: service: is required');
    expect(load(nines('name: a\nobjective: 99%')).field).toBe('slos[0].sli');
    const total = load(nines('name: a\nobjective: 99%\nsli: { availability: { bad: x } }'));
    expect(total.reason).toBe('is required (the counter of all events)');
    expect(load(nines('name: a\nobjective: 99%\nsli: latency')).reason).toMatch(
      'needs a threshold',
    );
    expect(load('service: orders\nslos: []\n').reason).toBe('must list at least one SLO');
  });

  it('a field with no value', () => {
    const err = load(nines('name: a\nobjective:\nsli: availability'));
    expect(err).toMatchObject({ line: 4, field: 'slos[0].objective' });
    expect(err.reason).toBe('must be a number or a string, got nothing (null)');
  });

  it('duplicate SLO names', () => {
    const err = load(
      'service: orders\nslos:\n  - name: a\n    objective: 99%\n    sli: availability\n  - name: a\n    objective: 99.9%\n    sli: availability\n',
    );
    expect(err.message).toBe(
      'orders.yaml:6:11: slos[1].name: duplicate SLO name "a" in service "orders" (first defined at line 3)',
    );
  });

  it('names the model cannot hold', () => {
    expect(load(nines('name: Checkout API\nobjective: 99%\nsli: availability')).reason).toBe(
      '"Checkout API" is not a valid SLO name (lower-case letters, digits, "-" and "_", starting with a letter or digit)',
    );
    expect(load('service: "orders api"\nslos: []\n').field).toBe('service');
    expect(
      load(nines('name: a\nobjective: 99%\nsli: availability', 'service: o\nlabels: { a-b: x }\n'))
        .reason,
    ).toBe('"a-b" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)');
  });

  it('an unknown time zone and an unknown calendar unit', () => {
    const zone = load(
      nines(
        'name: a\nobjective: 99%\nwindow: { calendar: month, timeZone: Europe/Pariss }\nsli: availability',
      ),
    );
    expect(zone.reason).toBe('"Europe/Pariss" is not an IANA time zone (e.g. Europe/Paris, UTC)');
    const unit = load(
      nines('name: a\nobjective: 99%\nwindow: { calendar: year }\nsli: availability'),
    );
    expect(unit.reason).toBe('"year" is not a calendar window (month or quarter)');
  });

  it('invalid timeslices', () => {
    const ts = (body: string) =>
      load(nines(`name: a\nobjective: 99%\nsli: availability\nbudgeting: ${body}`)).reason;
    expect(ts('{ timeslices: { slice: 1m, target: 120% } }')).toMatch(
      'is not a valid slice target',
    );
    expect(ts('{ timeslices: { slice: 500ms, target: 0.9 } }')).toMatch(
      'a slice must be a whole number of seconds',
    );
    expect(ts('timeslices')).toMatch('timeslices needs a slice and a target');
  });

  it('invalid YAML syntax, at the line the parser reports', () => {
    const flow = load('service: orders\nslos:\n  - name: a\n    objective: [99.9%\n');
    expect(flow).toMatchObject({ line: 5, column: 1, field: '' });
    expect(flow.message).toMatch(
      /^orders\.yaml:5:1: invalid YAML: Flow sequence .* must .*end with a \]$/,
    );
    expect(load('service: orders\nservice: x\nslos: []\n').message).toBe(
      'orders.yaml:2:1: invalid YAML: Map keys must be unique',
    );
    expect(load('service: orders\nslos:\n\t- name: a\n').message).toBe(
      'orders.yaml:3:1: invalid YAML: Tabs are not allowed as indentation',
    );
    expect(load('').message).toBe('orders.yaml:1:1: the file holds no spec');
  });

  it('reports a missing file with the file system error, not a SpecError', async () => {
    const err = await loadSloFile(`${fixtures}no-such-file.yaml`).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(SpecError);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
