import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileStore, loadSloFile, loadSloFiles, SpecError, sloTracker } from '@nines/slo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nines, type Snapshots, sloFixtures, T, writeSnapshots } from './slo-fixtures.js';

const slothExample = fileURLToPath(
  new URL('../../slo/examples/orders.sloth.yaml', import.meta.url),
);
const DAY = 86_400_000;

let s: Snapshots;
beforeAll(async () => {
  s = await writeSnapshots();
});
afterAll(async () => {
  await rm(s.dir, { recursive: true, force: true });
});

describe('nines slo --help', () => {
  it('answers at the top, on the group and on every command', async () => {
    const top = await nines('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/^ {2}slo {11}validate SLO specs/m);
    expect(top.out).toMatch(/^ {2}budget {8}error budget policy/m);
    expect(top.out).toMatch(/^ {2}availability {2}the nines table/m);
    const group = await nines('slo', '--help');
    expect(group.code).toBe(0);
    expect(group.out).toMatch(/Usage: nines slo <command>/);
    expect(group.out).toMatch(/validate/);
    expect(group.out).toMatch(/report/);
    const validate = await nines('slo', 'validate', '--help');
    expect(validate.code).toBe(0);
    expect(validate.out).toMatch(/Usage: nines slo validate <file or directory>/);
    expect(validate.out).toMatch(/Exit codes: 0/);
    const report = await nines('slo', 'report', '-h');
    expect(report.code).toBe(0);
    expect(report.out).toMatch(/--snapshot <path>/);
    expect(report.out).toMatch(/"<service>\/<name>"/);
  });

  it('a bare group or an unknown command exits 2 with the usage', async () => {
    const bare = await nines('slo');
    expect(bare.code).toBe(2);
    expect(bare.err).toMatch(/Usage: nines slo <command>/);
    const unknown = await nines('slo', 'lint');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/nines slo: unknown command "lint"/);
  });
});

describe('nines slo validate', () => {
  it('prints one line per SLO with objective, window and SLI', async () => {
    const { code, out, err } = await nines('slo', 'validate', 'orders.yaml');
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SLO\s+objective\s+window\s+SLI$/);
    expect(lines[1]).toMatch(/^orders\/availability\s+99\.9%\s+30d\s+availability$/);
    expect(lines[2]).toMatch(/^orders\/checkout\s+99\.9%\s+30d\s+availability$/);
    expect(lines[3]).toMatch(/^orders\/latency\s+99%\s+28d\s+latency <= 200 ms$/);
    expect(lines[4]).toBe('3 SLOs valid');
  });

  it('loads several formats and directories together; --json prints the model', async () => {
    const { code, out } = await nines('slo', 'validate', '--json', 'orders.yaml', slothExample);
    expect(code).toBe(0);
    const expected = await loadSloFiles([join(sloFixtures, 'orders.yaml'), slothExample]);
    const printed = JSON.parse(out) as { service: string; name: string }[];
    expect(printed.map((p) => `${p.service}/${p.name}`)).toEqual([
      'orders/availability',
      'orders/checkout',
      'orders/latency',
      'orders/requests-availability',
    ]);
    // Same model, apart from the origin's file, which is the path as given.
    const strip = (v: unknown) =>
      (JSON.parse(JSON.stringify(v)) as Record<string, unknown>[]).map(
        ({ origin, ...rest }) => rest,
      );
    expect(strip(printed)).toEqual(strip(expected));
    const dir = await nines('slo', 'validate', s.dir, 'orders.yaml');
    // A directory without specs adds nothing; the spec still loads.
    expect(dir.code).toBe(0);
    expect(dir.out).toMatch(/3 SLOs valid/);
  });

  it('prints a spec error exactly as file:line:col: field: reason and exits 2', async () => {
    const { code, out, err } = await nines('slo', 'validate', 'orders.yaml', 'bad-objective.yaml');
    expect(code).toBe(2);
    expect(out).toBe('');
    // The library's own error for the same file, which names it by the path it was given.
    const expected = await loadSloFile(join(sloFixtures, 'bad-objective.yaml')).catch(
      (e: unknown) => e,
    );
    expect(expected).toBeInstanceOf(SpecError);
    const { line, column, field, reason } = expected as SpecError;
    expect(err).toBe(`bad-objective.yaml:${line}:${column}: ${field}: ${reason}\n`);
    expect(line).toBe(4);
    expect(err).toMatch(/100% is not a valid objective/);
  });

  it('exits 2 naming the problem for a missing file, no file, or a bad --format', async () => {
    const missing = await nines('slo', 'validate', 'nope.yaml');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read nope\.yaml: ENOENT/);
    const none = await nines('slo', 'validate');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/give at least one spec file or directory/);
    const format = await nines('slo', 'validate', '--format', 'yaml', 'orders.yaml');
    expect(format.code).toBe(2);
    expect(format.err).toMatch(/--format must be one of nines, openslo, sloth, got "yaml"/);
    const forced = await nines('slo', 'validate', '--format', 'sloth', 'orders.yaml');
    expect(forced.code).toBe(2);
    expect(forced.err).toMatch(/^orders\.yaml:\d+:\d+: /);
  });
});

describe('nines slo report', () => {
  it('counts the budget of a timeslices SLO in bad slices', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nines-slices-'));
    const spec = join(dir, 'slices.yaml');
    await writeFile(
      spec,
      [
        'service: shop',
        'slos:',
        '  - name: minutes',
        '    objective: 99%',
        '    budgeting: { timeslices: { slice: 1m, target: 95% } }',
        '    sli: availability',
        '',
      ].join('\n'),
    );
    const [slo] = await loadSloFile(spec);
    let now = T - 60 * 60_000;
    const tracker = sloTracker(slo!, { clock: { now: () => now } });
    tracker.record({ good: 50, bad: 50 }); // one bad slice
    now = T;
    const snapshot = join(dir, 'snapshot.json');
    await fileStore(snapshot).save(tracker.snapshot());
    const { code, out, err } = await nines('slo', 'report', '--spec', spec, '--snapshot', snapshot);
    expect(err).toBe('');
    expect(code).toBe(0);
    const b = tracker.budget();
    expect(b.slices).not.toBeNull();
    expect(out).toContain(`of ${Number(b.slices!.allowedBad.toFixed(1))} bad slices`);
    expect(out).not.toContain('bad events');
  });

  it('reports each SLO from its snapshot as the library computes it (--json)', async () => {
    const { code, out, err } = await nines(
      'slo',
      'report',
      '--spec',
      'orders.yaml',
      '--snapshot',
      s.mapFile,
      '--json',
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.withoutSnapshot).toEqual(['orders/latency']);
    expect(report.slos.map((r: { slo: string }) => r.slo)).toEqual([
      'orders/availability',
      'orders/checkout',
    ]);
    const [healthy, exhausted] = report.slos;
    expect(healthy.at).toBe(T);
    expect(healthy.attainment).toBe(s.healthy.attainment());
    expect(healthy.budget).toEqual(s.healthy.budget());
    expect(healthy.budget.remaining).toBeCloseTo(0.8, 3);
    expect(healthy.forecast).toEqual(s.healthy.forecast());
    expect(healthy.burnRates).toEqual({
      '5m': s.healthy.burnRate(5 * 60_000),
      '1h': s.healthy.burnRate(3_600_000),
      '6h': s.healthy.burnRate(6 * 3_600_000),
      '1d': s.healthy.burnRate(DAY),
      '3d': s.healthy.burnRate(3 * DAY),
    });
    expect(healthy.burnRates['3d']).toBeGreaterThan(0);
    expect(healthy.alerts.page).toEqual({ enabled: true, firing: false, since: null });
    expect(exhausted.budget).toEqual(s.exhausted.budget());
    expect(exhausted.budget.remaining).toBeLessThan(0);
    expect(exhausted.alerts.page.firing).toBe(true);
    expect(exhausted.alerts.page.since).toBe(T);
  });

  it('prints attainment, budget, burn rates, forecast and alerts for people', async () => {
    const { code, out } = await nines(
      'slo',
      'report',
      '--spec',
      'orders.yaml',
      '--snapshot',
      s.stateDir,
    );
    expect(code).toBe(0);
    expect(out).toMatch(/^orders\/availability: 99\.9% over 30d, availability$/m);
    expect(out).toMatch(/attainment {2}99\.98% \(100020 events, 20 bad\)/);
    expect(out).toMatch(/budget {6}80% remaining: 34\.6 min of 43\.2 min, 80 of 100 bad events$/m);
    expect(out).toMatch(/burn rate {3}5m 0 {2}1h 0 {2}6h 0 {2}1d 0 {2}3d 0\.2\b/);
    expect(out).toMatch(/alerts {6}page ok, ticket ok/);
    expect(out).toMatch(/^orders\/checkout: /m);
    expect(out).toMatch(
      /budget {6}overspent: -9900% remaining, 2\.97 d and 108\.9 bad events beyond a budget of 43\.2 min, 1\.1 bad events$/m,
    );
    expect(out).toMatch(/forecast {4}the budget is spent/);
    expect(out).toMatch(
      /alerts {6}page FIRING since 2026-11-01T00:00:00\.000Z, ticket FIRING since/,
    );
    expect(out).toMatch(/^orders\/latency: no snapshot$/m);
  });

  it('forecasts when a burning budget runs out', async () => {
    const latency = s.slos.find((x) => x.name === 'latency')!;
    let now = T - 10 * DAY;
    const tracker = sloTracker(latency, { clock: { now: () => now } });
    tracker.record({ good: 9_900, bad: 10 });
    now = T - 30 * 60_000;
    tracker.record({ good: 990, bad: 10 }); // 1 % errors: a burn rate of 1 for a 99 % SLO
    now = T;
    const file = join(s.dir, 'latency.json');
    await fileStore(file).save(tracker.snapshot());
    const f = tracker.forecast();
    expect(f.msLeft).toBeGreaterThan(0);
    const { code, out } = await nines('slo', 'report', '--spec', 'orders.yaml', '--snapshot', file);
    expect(code).toBe(0);
    expect(out).toMatch(/^orders\/latency: 99% over 28d, latency <= 200 ms$/m);
    expect(out).toContain(
      `forecast    spent in 22.9 d (${new Date(f.exhaustedAt!).toISOString()}) at the last hour's burn rate (1)`,
    );
    expect(out).toMatch(/^orders\/availability: no snapshot$/m);
  });

  it('--at evaluates later: old events age out of the window', async () => {
    const later = new Date(T + 40 * DAY).toISOString();
    const { code, out } = await nines(
      'slo',
      'report',
      '--spec',
      'orders.yaml',
      '--snapshot',
      s.healthyFile,
      '--at',
      later,
      '--json',
    );
    expect(code).toBe(0);
    const [r] = JSON.parse(out).slos;
    expect(r.at).toBe(T + 40 * DAY);
    expect(r.budget.total).toBe(0);
    expect(r.budget.remaining).toBe(1);
  });

  it('exits 2 naming the problem for bad options, snapshots and specs', async () => {
    const spec = ['slo', 'report', '--spec', 'orders.yaml'];
    const noSnapshot = await nines(...spec);
    expect(noSnapshot.code).toBe(2);
    expect(noSnapshot.err).toMatch(/--snapshot <file> is required/);
    const noSpec = await nines('slo', 'report', '--snapshot', s.healthyFile);
    expect(noSpec.code).toBe(2);
    expect(noSpec.err).toMatch(/--spec <file> is required/);
    const at = await nines(...spec, '--snapshot', s.healthyFile, '--at', 'yesterday');
    expect(at.code).toBe(2);
    expect(at.err).toMatch(/--at must be "now" or a date and time/);

    const corrupt = join(s.dir, 'corrupt.json');
    const snap = s.healthy.snapshot();
    await writeFile(corrupt, JSON.stringify({ ...snap, coarse: [[snap.coarse[0]![0], -1, 0]] }));
    const negative = await nines(...spec, '--snapshot', corrupt);
    expect(negative.code).toBe(2);
    expect(negative.err).toMatch(/corrupt\.json: snapshot\.coarse\[0\]\[1\] must be >= 0, got -1/);

    const notJson = join(s.dir, 'not.json');
    await writeFile(notJson, '{ "version": 1,');
    const syntax = await nines(...spec, '--snapshot', notJson);
    expect(syntax.code).toBe(2);
    expect(syntax.err).toMatch(/not\.json is not valid JSON/);

    const other = join(s.dir, 'other.json');
    await writeFile(other, JSON.stringify({ ...snap, slo: 'search' }));
    const unknown = await nines(...spec, '--snapshot', other);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /other\.json: snapshot of SLO "search", which the spec does not define/,
    );

    const wrongKey = join(s.dir, 'wrong-key.json');
    await writeFile(wrongKey, JSON.stringify({ 'orders/checkout': snap }));
    const mismatch = await nines(...spec, '--snapshot', wrongKey);
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toMatch(
      /wrong-key\.json \["orders\/checkout"\]: is a snapshot of SLO "availability", not "checkout"/,
    );

    const twice = await nines(...spec, '--snapshot', s.healthyFile, '--snapshot', s.mapFile);
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/a second snapshot of orders\/availability/);

    const none = join(s.dir, 'none.json');
    await writeFile(none, JSON.stringify({ 'payments/availability': snap }));
    const nothing = await nines(...spec, '--snapshot', none);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toMatch(/no snapshot matches an SLO of the spec/);

    const missing = await nines(...spec, '--snapshot', 'nope.json');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read nope\.json: ENOENT/);

    const badSpec = await nines(
      'slo',
      'report',
      '--spec',
      'bad-objective.yaml',
      '--snapshot',
      s.healthyFile,
    );
    expect(badSpec.code).toBe(2);
    expect(badSpec.err).toMatch(/^bad-objective\.yaml:4:16: slos\[0\]\.objective: /);
  });
});
