import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSloFile, prometheusRules, type Slo, toRulesYaml } from '../src/index.js';

const run = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const TIMEOUT_MS = 90_000;
const examples = new URL('../examples/', import.meta.url);
const fixtures = new URL('./promtool/', import.meta.url);

/** Runs promtool; a missing binary fails the test with how to install it, never skips. */
async function promtool(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd, timeout: TIMEOUT_MS });
    return stdout + stderr;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string; killed?: boolean };
    if (err.code === 'ENOENT') {
      throw new Error(
        `promtool not found (looked for "${PROMTOOL}" on PATH): install Debian's prometheus package (apt-get install prometheus) or set PROMTOOL to its path`,
      );
    }
    if (err.killed) throw new Error(`promtool ${args.join(' ')} timed out after ${TIMEOUT_MS} ms`);
    throw new Error(`promtool ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nines-slo-rules-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function check(slos: readonly Slo[], name: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, toRulesYaml(prometheusRules(slos)));
  return promtool(['check', 'rules', '--lint=all', '--lint-fatal', file], dir);
}

describe('generated rules pass the real promtool', () => {
  it('check rules: every example spec', async () => {
    const files = (await readdir(examples)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const slos = await loadSloFile(fileURLToPath(new URL(f, examples)));
      const out = await check(slos, `${f}.rules.yaml`);
      // Metadata (5) and at least the five alert-pair windows' ratio and burn-rate records.
      expect(out).toMatch(/SUCCESS: \d+ rules found/);
      expect(Number(/SUCCESS: (\d+) rules/.exec(out)?.[1])).toBeGreaterThan(slos.length * 15);
    }
  }, 150_000);

  it('check rules: latency and availability SLOs over 30 d, 28 d, 7 d and a calendar quarter', async () => {
    const base = {
      service: 'api',
      objective: 0.999,
      budgeting: { type: 'occurrences' },
      alerting: { page: true, ticket: true },
      labels: { 'app.kubernetes.io/team': 'core' },
    } as const;
    const slos: Slo[] = [
      {
        ...base,
        name: 'avail',
        window: { type: 'rolling', days: 30 },
        sli: { type: 'availability' },
      },
      {
        ...base,
        name: 'lat',
        window: { type: 'rolling', days: 28 },
        sli: { type: 'latency', thresholdSeconds: 0.25, buckets: [0.1, 0.25, 1] },
      },
      {
        ...base,
        name: 'weekly',
        window: { type: 'rolling', days: 7 },
        sli: {
          type: 'availability',
          prometheus: { total: 'jobs_total{queue="q"}', good: 'jobs_succeeded_total{queue="q"}' },
        },
      },
      {
        ...base,
        name: 'quarter',
        window: { type: 'calendar', unit: 'quarter', timeZone: 'Europe/Paris' },
        sli: {
          type: 'latency',
          thresholdSeconds: 1,
          buckets: [1],
          prometheus: { histogram: 'rpc_duration_seconds', selector: '{job="rpc"}' },
        },
      },
    ];
    const out = await check(slos, 'mixed.rules.yaml');
    expect(out).toContain('SUCCESS');
  }, 60_000);

  it('check rules: names and labels with quotes, backslashes, newlines, unicode and YAML words', async () => {
    const base = {
      objective: 0.999,
      window: { type: 'rolling', days: 30 },
      budgeting: { type: 'occurrences' },
      alerting: { page: true, ticket: true },
    } as const;
    const slos: Slo[] = [
      {
        ...base,
        name: 'say "hi" \\ it\'s',
        service: 'café ☕ 日本',
        sli: { type: 'availability' },
        labels: {
          team: 'it\'s "core"',
          'app.kubernetes.io/part-of': 'shop\\front',
          note: 'multi\nline\n\tlabel',
          yes: 'no',
          hash: 'a #not-a-comment',
          empty: '',
          bom: '\ufeffdel\u007f',
        },
      },
      {
        ...base,
        name: 'on',
        service: 'null',
        sli: {
          type: 'availability',
          prometheus: {
            total: 'sum(rate(job_runs_total[{{.window}}]))',
            bad: 'sum(rate(job_runs_total{outcome="failed",msg=~"a\\\\b: #.*"}[{{.window}}]))',
            windowed: true,
          },
        },
        labels: { true: '1e5', tilde: '~' },
      },
    ];
    const out = await check(slos, 'odd.rules.yaml');
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  }, 60_000);

  it('test rules: outage pages, slow burn tickets only, healthy and zero traffic fire nothing', async () => {
    const slos = await loadSloFile(fileURLToPath(new URL('slos.nines.yaml', fixtures)));
    await writeFile(join(dir, 'rules.yaml'), toRulesYaml(prometheusRules(slos)));
    await copyFile(new URL('alerts.test.yaml', fixtures), join(dir, 'alerts.test.yaml'));
    const out = await promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    expect(out).toContain('SUCCESS');
  }, 150_000);
  it('test rules: windowed (Sloth) queries and explicit good/total counters', async () => {
    const slos = [
      ...(await loadSloFile(fileURLToPath(new URL('queries.sloth.yaml', fixtures)))),
      ...(await loadSloFile(fileURLToPath(new URL('queries.nines.yaml', fixtures)))),
    ];
    await writeFile(join(dir, 'rules-queries.yaml'), toRulesYaml(prometheusRules(slos)));
    await copyFile(new URL('queries.test.yaml', fixtures), join(dir, 'queries.test.yaml'));
    const out = await promtool(['test', 'rules', 'queries.test.yaml'], dir);
    expect(out).toContain('SUCCESS');
  }, 150_000);
});
