import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type HealthOptions, kubernetesProbes } from '@nines/health';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Runs the built CLI as a real child process. */
function nines(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: fixtures, timeout: 20_000 },
      (error, out, err) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, out, err });
      },
    );
  });
}

describe('nines CLI', () => {
  it('prints help at every level with exit code 0', async () => {
    const top = await nines('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/Usage: nines <command>/);
    expect(top.out).toMatch(/k8s/);
    expect(top.out).toMatch(/Exit codes/);
    const group = await nines('k8s', '--help');
    expect(group.code).toBe(0);
    expect(group.out).toMatch(/probes/);
    const leaf = await nines('k8s', 'probes', '--help');
    expect(leaf.code).toBe(0);
    expect(leaf.out).toMatch(/--config <file>/);
  });

  it('k8s probes prints YAML from the service module, equal to kubernetesProbes()', async () => {
    const { code, out } = await nines(
      'k8s',
      'probes',
      '--config',
      'health.config.mjs',
      '--port',
      '9000',
    );
    expect(code).toBe(0);
    const fixture = new URL('./fixtures/health.config.mjs', import.meta.url).href;
    const { health } = (await import(fixture)) as { health: HealthOptions };
    expect(parse(out)).toEqual(
      JSON.parse(JSON.stringify(kubernetesProbes(health, { port: 9000 }))),
    );
    expect(out).toContain('path: "/live"');
  });

  it('k8s probes --json prints the same configuration as JSON, with the defaults and no config', async () => {
    const { code, out } = await nines('k8s', 'probes', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(kubernetesProbes())));
  });

  it('bad command lines and configurations exit 2 with a message that names the problem', async () => {
    const unknown = await nines('k9s');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "k9s"/);
    const option = await nines('k8s', 'probes', '--prot', '9000');
    expect(option.code).toBe(2);
    expect(option.err).toMatch(/--prot/);
    const field = await nines('k8s', 'probes', '--config', 'bad.json');
    expect(field.code).toBe(2);
    expect(field.err).toMatch(
      /bad.json: option "probes.startup.failureThreshold" must be an integer >= 1, got 0/,
    );
    const missing = await nines('k8s', 'probes', '--config', 'nope.json');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read nope.json: ENOENT/);
    const kind = await nines('k8s', 'probes', '--config', 'bad.txt');
    expect(kind.code).toBe(2);
    expect(kind.err).toMatch(/must be .json, .js or .mjs/);
    const hooks = await nines('k8s', 'probes', '--hooks', 'two');
    expect(hooks.code).toBe(2);
    expect(hooks.err).toMatch(/--hooks must be a whole number, got two/);
    const group = await nines('k8s');
    expect(group.code).toBe(2);
    expect(group.err).toMatch(/Usage: nines k8s <command>/);
  });
});
