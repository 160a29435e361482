import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/experiment/load.js';
import type { Sample } from '../src/experiment/metrics/prometheus-text.js';
import { createMetricsRecorder } from '../src/experiment/metrics/recorder.js';
import { evaluateProbe, type ProbeContext } from '../src/experiment/probes.js';

const URL_ = 'http://127.0.0.1:1/metrics';
const BUCKETS = [0.1, 0.2, 0.5, 1];

/** The request histogram of one route with `ok` 200s and `bad` 500s, `slow` of them over 0.2 s. */
function histogram(ok: number, bad: number, slow: number): Sample[] {
  const samples: Sample[] = [];
  for (const [status, count] of [
    ['200', ok],
    ['500', bad],
  ] as const) {
    const labels = {
      service_name: 'orders',
      http_route: '/orders',
      http_request_method: 'GET',
      http_response_status_code: status,
    };
    const slowHere = status === '200' ? slow : 0;
    for (const le of BUCKETS) {
      const n = le <= 0.2 ? count - slowHere : count;
      samples.push({
        name: 'http_server_request_duration_seconds_bucket',
        labels: { ...labels, le: String(le) },
        value: n,
      });
    }
    samples.push({
      name: 'http_server_request_duration_seconds_bucket',
      labels: { ...labels, le: '+Inf' },
      value: count,
    });
    samples.push({ name: 'http_server_request_duration_seconds_count', labels, value: count });
    samples.push({ name: 'http_server_request_duration_seconds_sum', labels, value: count * 0.05 });
  }
  return samples;
}

async function probes(extra = '') {
  return loadExperiment(
    `title: t
metrics: { orders: "${URL_}" }
hypothesis:
  probes:
    - name: burn
      slo: orders/availability
      burn-rate: { window: 10s, below: 2 }
    - name: p99
      latency: { metrics: orders, quantile: 0.99, window: 10s, below: 300ms }
    - name: errors
      error-ratio: { metrics: orders, route: /orders, window: 10s, below: 1% }
${extra}method: []
`,
    {
      file: 'probes.yaml',
      slos: [
        {
          name: 'availability',
          service: 'orders',
          objective: 0.99,
          window: { type: 'rolling', days: 30 },
          sli: { type: 'availability' },
          budgeting: { type: 'occurrences' },
          alerting: { page: true, ticket: true },
          labels: {},
        },
      ],
    },
  );
}

function context(before: Sample[], after: Sample[]): ProbeContext {
  let now = 1_000_000;
  const recorder = createMetricsRecorder({
    targets: [{ name: 'orders', urls: [URL_] }],
    clock: { now: () => now },
  });
  recorder.record('orders', URL_, before, now);
  now += 10_000;
  recorder.record('orders', URL_, after, now);
  return { recorder, fetch: globalThis.fetch, now: () => now, sleep: async () => {} };
}

describe('metrics probes', () => {
  it('judge burn rate, latency quantile and error ratio from the recorded window', async () => {
    const exp = await probes();
    // 1,000 requests in the window: 30 errors (burn 3 on a 99 % SLO), 50 slow (p99 above 0.2 s).
    const ctx = context(histogram(0, 0, 0), histogram(970, 30, 50));
    const [burn, p99, errors] = await Promise.all(
      exp.hypothesis!.probes.map((p) => evaluateProbe(p, ctx)),
    );
    expect(burn).toMatchObject({ met: false, value: 3, expected: 'below 2' });
    expect(burn!.detail).toBe('burn rate 3 over 10s (1000 requests, 30 errors)');
    expect(p99!.met).toBe(false);
    expect(p99!.value).toBeGreaterThan(0.3);
    expect(p99!.detail).toMatch(/^p99 \d+ ms over 10s \(1000 requests\)$/);
    expect(errors).toMatchObject({ met: false, value: 0.03 });
  });

  it('pass on a healthy window, and on an empty one (nothing to judge, said so)', async () => {
    const exp = await probes();
    const healthy = context(histogram(0, 0, 0), histogram(1000, 0, 0));
    for (const r of await Promise.all(
      exp.hypothesis!.probes.map((p) => evaluateProbe(p, healthy)),
    )) {
      expect(r.met).toBe(true);
      expect(r.noData).toBeUndefined();
    }
    const idle = context(histogram(5, 0, 0), histogram(5, 0, 0));
    for (const r of await Promise.all(exp.hypothesis!.probes.map((p) => evaluateProbe(p, idle)))) {
      expect(r).toMatchObject({ met: true, noData: true, value: null });
      expect(r.detail).toContain('no requests in 10s');
    }
  });

  it('fail with the reason when no metrics were recorded', async () => {
    const exp = await probes();
    const r = await evaluateProbe(exp.hypothesis!.probes[0]!, {
      fetch: globalThis.fetch,
      now: () => 0,
      sleep: async () => {},
    });
    expect(r).toMatchObject({ met: false, error: 'no metrics recorded for "orders"' });
  });
});
