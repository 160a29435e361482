import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSloFile, prometheusRules, toRulesYaml } from '@nines/slo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nines, sloFixtures } from './slo-fixtures.js';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

/** Runs `promtool check rules`; a missing binary fails with how to install it, never skips. */
function checkRules(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      PROMTOOL,
      ['check', 'rules', '--lint=all', '--lint-fatal', file],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          reject(
            new Error(
              `promtool not found: install Debian's prometheus package or set PROMTOOL to its path`,
            ),
          );
        } else if (err) reject(new Error(`promtool failed:\n${stdout}${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nines-rules-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nines slo rules', () => {
  it('answers --help and is listed in the group', async () => {
    const leaf = await nines('slo', 'rules', '--help');
    expect(leaf.code).toBe(0);
    expect(leaf.out).toMatch(/Usage: nines slo rules <file or directory>/);
    expect(leaf.out).toMatch(/--out <file>/);
    const group = await nines('slo', '--help');
    expect(group.out).toMatch(/^ {2}rules {5}write Prometheus recording and alerting rules/m);
  });

  it('prints the rules prometheusRules and toRulesYaml give for the spec', async () => {
    const { code, out, err } = await nines('slo', 'rules', 'orders.yaml');
    expect(err).toBe('');
    expect(code).toBe(0);
    const slos = await loadSloFile(join(sloFixtures, 'orders.yaml'));
    expect(out).toBe(toRulesYaml(prometheusRules(slos)));
    expect(out).toMatch(/- name: nines-slo\/orders\/latency/);
  });

  it('--out writes a file promtool accepts; --label adds a label to every rule', async () => {
    const file = join(dir, 'slos.yaml');
    const { code, out } = await nines(
      'slo',
      'rules',
      'orders.yaml',
      '--out',
      file,
      '--label',
      'cluster=eu-1',
    );
    expect(code).toBe(0);
    expect(out).toBe(`wrote the rules of 3 SLOs to ${file}\n`);
    const text = await readFile(file, 'utf8');
    const slos = await loadSloFile(join(sloFixtures, 'orders.yaml'));
    expect(text).toBe(toRulesYaml(prometheusRules(slos, { labels: { cluster: 'eu-1' } })));
    expect(text).toMatch(/cluster: eu-1/);
    expect(await checkRules(file)).toMatch(/SUCCESS/);
  });

  it('bad input exits 2 naming the problem', async () => {
    const label = await nines('slo', 'rules', 'orders.yaml', '--label', 'cluster');
    expect(label.code).toBe(2);
    expect(label.err).toMatch(/--label must be name=value, got "cluster"/);
    const reserved = await nines('slo', 'rules', 'orders.yaml', '--label', 'slo=x');
    expect(reserved.code).toBe(2);
    expect(reserved.err).toMatch(/--label: the label "slo" is set by the rules themselves/);
    const sloLabel = await nines('slo', 'rules', 'reserved-label.yaml');
    expect(sloLabel.code).toBe(2);
    expect(sloLabel.err).toMatch(
      /orders\/checkout \(reserved-label\.yaml:7\)\.labels\.severity: the label "severity" is set by the rules themselves/,
    );
    const spec = await nines('slo', 'rules', 'bad-objective.yaml');
    expect(spec.code).toBe(2);
    expect(spec.err).toMatch(/^bad-objective\.yaml:4:16: slos\[0\]\.objective: /);
    const none = await nines('slo', 'rules');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/give at least one spec file or directory/);
    const out = await nines('slo', 'rules', 'orders.yaml', '--out', join(dir, 'no', 'such.yaml'));
    expect(out.code).toBe(2);
    expect(out.err).toMatch(/cannot write .*such\.yaml: ENOENT/);
  });
});
