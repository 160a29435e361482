// `nines demo --follow --no-chaos`: keeps serving past its duration until SIGINT, then stops
// everything and reports.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { DemoReport } from '../src/demo/model.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

it('--follow keeps running after --duration until SIGINT; --no-chaos runs no experiment', async () => {
  const logs = await mkdtemp(join(tmpdir(), 'nines-demo-follow-'));
  try {
    const child = spawn(
      process.execPath,
      [cli, 'demo', '--follow', '--no-chaos', '--duration', '20s', '--json', '--logs', logs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    // Past the duration it must still be running.
    const stillUp = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), 27_000)),
    ]);
    expect(stillUp).toBe(true);
    child.kill('SIGINT');
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000)),
    ]);
    if (code === 'hung') child.kill('SIGKILL');
    expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
    const report = JSON.parse(out) as DemoReport;
    expect(report.chaos).toBeNull();
    expect(report.durationMs).toBeGreaterThan(25_000);
    expect(report.portsFreed).toBe(true);
    expect(report.traffic.sent).toBeGreaterThan(200);
    for (const p of report.processes) expect(() => process.kill(p.pid, 0)).toThrow();
    expect(err).toContain('SIGINT: stopping');
  } finally {
    await rm(logs, { recursive: true, force: true });
  }
}, 90_000);
