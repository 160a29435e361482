import { spawn } from 'node:child_process';
import { ManualClock } from '@nines/resilience';
import { describe, expect, it } from 'vitest';
import { createRedMetrics } from '../src/metrics/red.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const TIMEOUT_MS = 30_000;

/** Pipes `text` to `promtool check metrics`; resolves with its exit code and output. */
function checkMetrics(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`promtool check metrics timed out after ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new Error(
              `promtool not found at ${PROMTOOL}: apt-get install prometheus, or set PROMTOOL`,
            )
          : err,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(text);
  });
}

const AWKWARD = [
  '',
  'a"quoted"value',
  'back\\slash\\',
  'two\nlines',
  'ünïcödé ✓ 日本',
  '{braces}=,commas',
  ' leading and trailing ',
  'x'.repeat(300),
];

describe('promtool check metrics accepts the rendered output', () => {
  it('every kind of metric, awkward label values, default labels and the dropped counter', async () => {
    const r = createMetricsRegistry({ defaultLabels: { instance: 'host:9464', job: 'a"b' } });
    const c = r.counter({
      name: 'app_jobs',
      help: 'Jobs run, by "queue"\\kind.',
      labelNames: ['queue'],
    });
    const g = r.gauge({
      name: 'app_queue_depth',
      help: 'Waiting jobs.\nSecond line.',
      labelNames: ['queue'],
      collect: (gauge) => gauge.labels('collected').set(-3.5),
    });
    const h = r.histogram({
      name: 'app_wait_seconds',
      help: 'Wait before a job starts.',
      labelNames: ['queue'],
      buckets: [1e-7, 0.001, 0.2, 2.5, 1e6],
    });
    const plain = r.histogram({ name: 'app_plain_seconds', help: 'No labels.' });
    for (const v of AWKWARD) {
      c.labels(v).inc(3);
      g.labels(v).set(1e21);
      h.labels(v).observe(0.15);
      h.labels(v).observe(4e6);
    }
    plain.observe(0.3);
    h.labels('x').observe(Number.NaN); // dropped: the dropped counter is rendered too
    r.counter({ name: 'app_unused_total', help: 'Never incremented.' });
    const text = r.render();
    expect(text).toContain('nines_metrics_dropped_observations_total');
    expect(text).toContain('le="1e-7"');
    const { code, output } = await checkMetrics(text);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 60_000);

  it('the RED recorder with server and client series', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const red = createRedMetrics({ service: 'orders', clock });
    red.record('/orders/:id', 'GET', 200, 0.012);
    red.record(undefined, 'BREW', 418, 0.001);
    red.record('/orders', 'POST', 503, 1.5);
    red.recordClient('db', 'POST', 200, 0.004);
    red.recordClient('payments', 'GET', undefined, 5, 'timeout');
    const { code, output } = await checkMetrics(red.registry.render());
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 60_000);

  it('would catch a problem: promtool rejects a counter without _total', async () => {
    // Guards the two tests above: they pass only if promtool really lints what it reads.
    const { code, output } = await checkMetrics('# HELP foo x\n# TYPE foo counter\nfoo 1\n');
    expect(code).not.toBe(0);
    expect(output).toMatch(/_total/);
  }, 60_000);
});
