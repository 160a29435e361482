import { rm } from 'node:fs/promises';
import { DEFAULT_ERROR_BUDGET_POLICY, evaluatePolicy } from '@nines/slo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nines, type Snapshots, writeSnapshots } from './slo-fixtures.js';

let s: Snapshots;
beforeAll(async () => {
  s = await writeSnapshots();
});
afterAll(async () => {
  await rm(s.dir, { recursive: true, force: true });
});

const check = (...args: string[]) => nines('budget', 'check', '--spec', 'orders.yaml', ...args);

describe('nines budget check', () => {
  it('answers --help on the group and the command', async () => {
    const group = await nines('budget', '--help');
    expect(group.code).toBe(0);
    expect(group.out).toMatch(/Usage: nines budget <command>/);
    expect(group.out).toMatch(/check/);
    const leaf = await nines('budget', 'check', '--help');
    expect(leaf.code).toBe(0);
    expect(leaf.out).toMatch(/--exemption <kind>/);
    expect(leaf.out).toMatch(/1 at least one SLO is frozen/);
    const bare = await nines('budget');
    expect(bare.code).toBe(2);
    expect(bare.err).toMatch(/Usage: nines budget <command>/);
  });

  it('exits 0 when every SLO with a snapshot is healthy', async () => {
    const { code, out, err } = await check('--snapshot', s.healthyFile);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^orders\/availability: healthy, 80% of the budget remaining, open$/m);
    expect(out).toMatch(/ {2}- error budget healthy: 80% remaining; releases proceed/);
    expect(out).toMatch(/^orders\/checkout: no snapshot, not evaluated$/m);
    expect(out).toMatch(/no freeze: changes may proceed/);
  });

  it('exits 1 under a freeze, naming the frozen SLO', async () => {
    const { code, out } = await check('--snapshot', s.stateDir);
    expect(code).toBe(1);
    expect(out).toMatch(/^orders\/availability: healthy/m);
    expect(out).toMatch(/^orders\/checkout: exhausted, -9900% of the budget remaining, FROZEN$/m);
    expect(out).toMatch(/changes frozen except P0, security changes until the budget recovers/);
    expect(out).toMatch(/changes frozen by orders\/checkout$/m);
  });

  it('--json gives the policy decision of each SLO, equal to evaluatePolicy', async () => {
    const { code, out } = await check(
      '--snapshot',
      s.mapFile,
      '--incidents',
      'incidents.json',
      '--json',
    );
    expect(code).toBe(1);
    const result = JSON.parse(out);
    expect(result.freeze).toBe(true);
    expect(result.withoutSnapshot).toEqual(['orders/latency']);
    const [healthy, exhausted] = result.slos;
    expect(healthy).toEqual({
      slo: 'orders/availability',
      remaining: s.healthy.budget().remaining,
      at: s.healthy.snapshot().at,
      ...JSON.parse(
        JSON.stringify(
          evaluatePolicy(DEFAULT_ERROR_BUDGET_POLICY, {
            budgetRemaining: s.healthy.budget().remaining,
          }),
        ),
      ),
    });
    expect(exhausted.state).toBe('exhausted');
    expect(exhausted.freeze).toBe(true);
    expect(exhausted.postmortems).toEqual([{ id: 'INC-7', budgetConsumed: 0.34 }]);
    expect(exhausted.reasons).toContain(
      'incident INC-7 consumed 34% of the budget, more than 20%: postmortem required',
    );
  });

  it('an exempt change passes the freeze with exit 0', async () => {
    const { code, out } = await check('--snapshot', s.mapFile, '--exemption', 'security');
    expect(code).toBe(0);
    expect(out).toMatch(/^orders\/checkout: exhausted, .*frozen, but this change is exempt$/m);
    expect(out).toMatch(/freeze lifted for this change: it is a "security" change/);
  });

  it('a stricter policy file freezes at risk', async () => {
    const { code, out } = await check(
      '--snapshot',
      s.healthyFile,
      '--policy',
      'strict-policy.json',
    );
    expect(code).toBe(1);
    expect(out).toMatch(/^orders\/availability: at-risk, 80% of the budget remaining, FROZEN$/m);
  });

  it('--at later than the period: the bad events aged out and the freeze lifts', async () => {
    const { code, out } = await check('--snapshot', s.mapFile, '--at', '2026-12-15T00:00:00Z');
    expect(code).toBe(0);
    expect(out).toMatch(/^orders\/checkout: healthy, 100% of the budget remaining, open$/m);
  });

  it('bad input exits 2 with a message naming the problem', async () => {
    const policy = await check('--snapshot', s.healthyFile, '--policy', 'bad-policy.json');
    expect(policy.code).toBe(2);
    expect(policy.err).toMatch(/bad-policy\.json: .*atRiskBelow/);
    const exemption = await check('--snapshot', s.mapFile, '--exemption', 'hotfix');
    expect(exemption.code).toBe(2);
    expect(exemption.err).toMatch(
      /--exemption must be one of the policy's exemptions \(P0, security\), got "hotfix"/,
    );
    const incidents = await check('--snapshot', s.mapFile, '--incidents', 'bad-incidents.json');
    expect(incidents.code).toBe(2);
    expect(incidents.err).toMatch(
      /bad-incidents\.json: "orders\/checkuot" is not an SLO of the spec/,
    );
    const missing = await check('--snapshot', s.mapFile, '--policy', 'nope.json');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read nope\.json: ENOENT/);
    const noSnapshot = await check();
    expect(noSnapshot.code).toBe(2);
    expect(noSnapshot.err).toMatch(/--snapshot <file> is required/);
    const option = await check('--snapshot', s.mapFile, '--polcy', 'x.json');
    expect(option.code).toBe(2);
    expect(option.err).toMatch(/--polcy/);
    const spec = await nines(
      'budget',
      'check',
      '--spec',
      'bad-objective.yaml',
      '--snapshot',
      s.mapFile,
    );
    expect(spec.code).toBe(2);
    expect(spec.err).toMatch(/^bad-objective\.yaml:4:16: slos\[0\]\.objective: /);
  });
});
