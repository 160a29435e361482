import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clockText, createProgress } from '../src/progress.js';
import { ninesIn as nines } from './in-process.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nines-chaos-cli-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const quick = `title: Nothing to break
rollbacks:
  - command: { run: [node, -e, "process.exit(0)"] }
method:
  - pause: 10ms
`;

describe('nines chaos run', () => {
  it('answers --help at every level, with the exit codes', async () => {
    const group = await nines(process.cwd(), 'chaos', '--help');
    expect(group.code).toBe(0);
    expect(group.out).toContain('run   run a chaos experiment');
    const run = await nines(process.cwd(), 'chaos', 'run', '--help');
    expect(run.code).toBe(0);
    expect(run.out).toContain('--dry-run');
    expect(run.out).toContain('3 aborted');
    const root = await nines(process.cwd(), '--help');
    expect(root.out).toContain('chaos         run chaos experiments whose steady state is an SLO');
  });

  it('--dry-run prints the plan and contacts nothing', async () => {
    const dir = await folder({
      'experiment.yaml': `title: Slow store
proxy: http://127.0.0.1:1
method:
  - add-latency: { proxy: store, latency: 500ms }
`,
    });
    const r = await nines(dir, 'chaos', 'run', '--dry-run', 'experiment.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '1. step-1: add 500ms latency on proxy "store" (http://127.0.0.1:1) until the rollbacks',
    );
    expect(r.out).toContain('Dry run: the file is valid; nothing was contacted.');
  });

  it('runs, writes the journal and the report, and prints the journal with --json', async () => {
    const dir = await folder({ 'experiment.yaml': quick });
    const r = await nines(
      dir,
      'chaos',
      'run',
      'experiment.yaml',
      '--json',
      '--report',
      'report.txt',
    );
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as { status: string; rollbacks: unknown[] };
    expect(printed.status).toBe('completed');
    expect(printed.rollbacks).toHaveLength(1);
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as typeof printed;
    expect(journal).toEqual(printed);
    expect(await readFile(join(dir, 'report.txt'), 'utf8')).toContain(
      'Result: PASSED: the hypothesis held (status completed, exit code 0)',
    );
  });

  it('shows progress as plain lines when the output is not a terminal', async () => {
    const dir = await folder({ 'experiment.yaml': quick });
    const r = await nines(dir, 'chaos', 'run', 'experiment.yaml', '--journal', 'out.json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\[00:00\] phase method$/m);
    expect(r.out).toMatch(/^\[00:00\] step step-1 \(pause\)$/m);
    expect(r.out).toMatch(/^\[00:00\] rollback rollback-1 \(command\) done$/m);
    expect(r.out).not.toContain('\x1b[');
    expect(r.out).toContain(`Journal: ${join(dir, 'out.json')}`);
  });

  it('bad input exits 2 with a message that names the problem', async () => {
    const dir = await folder({
      'bad.yaml': 'title: t\nmethod:\n  - pause: soon\n',
      'ok.yaml': quick,
    });
    const bad = await nines(dir, 'chaos', 'run', 'bad.yaml');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('bad.yaml:3:12: method[0].pause: "soon" is not a duration');
    const cases: Array<[string[], string]> = [
      [['missing.yaml'], 'cannot read missing.yaml'],
      [[], 'name the experiment file'],
      [['ok.yaml', 'bad.yaml'], 'one experiment file at a time, got 2'],
      [['ok.yaml', '--var', 'NOEQUALS'], '--var must be NAME=VALUE, got "NOEQUALS"'],
      [
        ['ok.yaml', '--max-fill', 'lots'],
        '--max-fill must be a size such as 64MiB or 1GB, got "lots"',
      ],
      [['ok.yaml', '--colour'], "Unknown option '--colour'"],
    ];
    for (const [args, message] of cases) {
      const r = await nines(dir, 'chaos', 'run', ...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toContain(message);
    }
  });

  it('--var fills environment references', async () => {
    const dir = await folder({
      'experiment.yaml': `title: "for \${env:WHO}"\nmethod: []\n`,
    });
    const r = await nines(
      dir,
      'chaos',
      'run',
      '--dry-run',
      'experiment.yaml',
      '--var',
      'WHO=orders',
    );
    expect(r.out).toContain('Experiment: for orders');
    const missing = await nines(dir, 'chaos', 'run', '--dry-run', 'experiment.yaml');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('environment variable WHO is not set');
  });
});

describe('progress display', () => {
  it('on a terminal redraws the status block under the scrolling lines', () => {
    let text = '';
    const p = createProgress({ write: (t) => (text += t), tty: true });
    p.status(['phase method', 'checks 1']);
    p.log('step one');
    p.status(['phase rollbacks']);
    p.done();
    // Each redraw moves up over the previous block and clears it.
    expect(text).toBe(
      'phase method\nchecks 1\n' +
        '\x1b[2F\x1b[Jstep one\nphase method\nchecks 1\n' +
        '\x1b[2F\x1b[Jphase rollbacks\n' +
        '\x1b[1F\x1b[J',
    );
  });

  it('elsewhere writes only the lines, never control codes', () => {
    let text = '';
    const p = createProgress({ write: (t) => (text += t), tty: false });
    p.status(['phase method']);
    p.log('step one');
    p.done();
    expect(text).toBe('step one\n');
  });

  it('formats elapsed time as mm:ss', () => {
    expect(clockText(0)).toBe('00:00');
    expect(clockText(61_999)).toBe('01:01');
    expect(clockText(-5)).toBe('00:00');
  });
});
