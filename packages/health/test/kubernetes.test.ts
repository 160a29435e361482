import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubernetesProbes, toYaml } from '../src/kubernetes.js';

describe('kubernetesProbes', () => {
  it('gives the lesson values by default, on the default paths', () => {
    const k = kubernetesProbes();
    expect(k.livenessProbe).toEqual({
      httpGet: { path: '/healthz', port: 'http' },
      periodSeconds: 15,
      failureThreshold: 3,
      timeoutSeconds: 1,
    });
    expect(k.readinessProbe).toMatchObject({
      httpGet: { path: '/ready' },
      periodSeconds: 5,
      failureThreshold: 2,
    });
    expect(k.startupProbe).toMatchObject({
      httpGet: { path: '/startup' },
      periodSeconds: 10,
      failureThreshold: 30,
    });
    // preStop = drain 10 s; grace = 10 + (10 + 10 + 2 x 5) + 5
    expect(k.lifecycle.preStop.sleep.seconds).toBe(10);
    expect(k.terminationGracePeriodSeconds).toBe(45);
  });

  it('follows the service configuration: paths, separate port, timing, shutdown budget', () => {
    const k = kubernetesProbes(
      {
        probes: {
          port: 9000,
          livenessPath: '/live',
          readiness: { periodSeconds: 3, failureThreshold: 1 },
        },
        shutdown: { drainDelayMs: 4_500, requestTimeoutMs: 20_000, hookTimeoutMs: 1_000 },
      },
      { hooks: 3, marginSeconds: 2 },
    );
    expect(k.livenessProbe.httpGet).toEqual({ path: '/live', port: 9000 });
    expect(k.readinessProbe).toMatchObject({
      periodSeconds: 3,
      failureThreshold: 1,
      timeoutSeconds: 1,
    });
    expect(k.lifecycle.preStop.sleep.seconds).toBe(5);
    // 5 (preStop) + ceil((4.5 + 20 + 3) s) = 28 + 2 margin
    expect(k.terminationGracePeriodSeconds).toBe(35);
  });

  it('renders YAML that parses back to the same objects', () => {
    const k = kubernetesProbes({ probes: { startup: { initialDelaySeconds: 2 } } });
    const doc = parse(toYaml(k));
    expect(doc).toEqual(JSON.parse(JSON.stringify(k)));
    expect(toYaml(k)).toContain('# pod spec field');
  });

  it('rejects bad configuration with a TypeError naming the field', () => {
    expect(() => kubernetesProbes({ probes: { liveness: { periodSeconds: 0 } } })).toThrow(
      /"probes.liveness.periodSeconds" must be an integer >= 1, got 0/,
    );
    expect(() => kubernetesProbes({ probes: { readiness: { initialDelaySeconds: -1 } } })).toThrow(
      /"probes.readiness.initialDelaySeconds"/,
    );
    expect(() => kubernetesProbes({ shutdown: { drainDelayMs: Number.NaN } })).toThrow(
      /"shutdown.drainDelayMs" must be a number >= 0/,
    );
    expect(() => kubernetesProbes({}, { port: 'Not A Name' })).toThrow(
      /"port" must be a port number/,
    );
    expect(() => kubernetesProbes({}, { port: 70_000 })).toThrow(/"port"/);
    expect(() => kubernetesProbes({}, { hooks: 1.5 })).toThrow(/"hooks" must be an integer/);
    expect(() => kubernetesProbes(null as never)).toThrow(/must be an object/);
  });
});
