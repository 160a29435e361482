import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SpecError } from '@nines/slo';
import { describe, expect, it } from 'vitest';
import { loadExperiment, loadExperimentFile } from '../src/experiment/load.js';
import { renderPlan } from '../src/experiment/report.js';

const dir = fileURLToPath(new URL('./fixtures/experiments/', import.meta.url));
const env = { ORDERS_TOKEN: 'a-token-of-sixteen-chars' };

/** Loads `text` as `exp.yaml` in the fixtures folder (so `slos.yaml` resolves). */
function load(text: string, extra: Record<string, string | undefined> = env) {
  return loadExperiment(text, { file: `${dir}exp.yaml`, env: extra });
}

/** The message of the SpecError `text` fails with, without the folder. */
async function failure(text: string, extra?: Record<string, string | undefined>): Promise<string> {
  try {
    await load(text, extra);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as Error).message.replace(dir, '');
  }
  throw new Error('expected the experiment to be rejected');
}

const minimal = 'title: t\nmethod: []\n';
/** `${env:NAME}` as an experiment writes it (built, so it is not mistaken for a template). */
const ref = (name: string) => ['$', '{env:', name, '}'].join('');

describe('loadExperimentFile', () => {
  it('loads every part of a full experiment', async () => {
    const exp = await loadExperimentFile(`${dir}full.yaml`, { env });
    expect(exp.title).toBe('Orders ride out a slow store');
    expect(exp.tags).toEqual(['orders', 'store']);
    expect(exp.slos.map((s) => s.name)).toEqual(['availability', 'latency']);
    expect(exp.metrics.store).toHaveLength(2);
    expect(exp.faults.orders).toEqual({ url: 'http://127.0.0.1:9100', token: env.ORDERS_TOKEN });
    expect(exp.instances.store).toEqual({ pidDir: `${dir}run` });
    expect(exp.warmupMs).toBe(5000);
    expect(exp.faultTtlMs).toBe(120_000);
    expect(exp.blastRadius).toEqual({ requests: 0.5, instances: 0.5, stages: [0.1, 0.5, 1] });

    const [burn, p99, errors, ready] = exp.hypothesis!.probes;
    expect(burn!.measure).toMatchObject({
      kind: 'burn-rate',
      metrics: 'orders',
      windowMs: 300_000,
    });
    expect(burn!.measure.kind === 'burn-rate' && burn!.measure.slo.objective).toBe(0.999);
    expect(burn!.measure).toMatchObject({ threshold: { op: 'below', value: 2 } });
    expect(p99!.measure).toEqual({
      kind: 'latency',
      metrics: 'orders',
      route: '/orders',
      method: 'GET',
      quantile: 0.99,
      windowMs: 60_000,
      threshold: { op: 'below', value: 0.5 },
    });
    expect(errors!.measure).toMatchObject({ threshold: { op: 'below', value: 0.01 } });
    expect(ready!.measure).toMatchObject({ status: [200, 204], timeoutMs: 1000 });
    expect(ready!.withinMs).toBe(10_000);
    expect(ready!.origin.line).toBe(25);
    expect(exp.abort).toMatchObject({ everyMs: 500 });
    expect(exp.abort.conditions[0]!.measure).toMatchObject({
      kind: 'burn-rate',
      threshold: { op: 'below', value: 14.4 },
    });

    const kinds = exp.method.map((s) => (s.type === 'pause' ? `pause ${s.ms}` : s.action.kind));
    expect(kinds).toEqual([
      'add-latency',
      'pause 10000',
      'block',
      'inject-error',
      'skew-clock',
      'kill',
      'fill-disk',
      'http',
      'command',
      'undo',
    ]);
    const actions = exp.method.flatMap((s) => (s.type === 'action' ? [s.action] : []));
    expect(actions[0]).toEqual({
      kind: 'add-latency',
      via: { proxy: 'store' },
      latencyMs: 500,
      jitterMs: 50,
      durationMs: 30_000,
    });
    expect(actions[1]).toMatchObject({
      mode: 'hang',
      share: 0.25,
      via: { faults: 'orders', target: 'store' },
    });
    expect(actions[3]).toMatchObject({ kind: 'skew-clock', offsetMs: -300_000 });
    expect(actions[4]).toMatchObject({ kind: 'kill', signal: 'SIGTERM' });
    expect(actions[5]).toEqual({
      kind: 'fill-disk',
      directory: `${dir}quota`,
      capacityBytes: 64 * 1024 * 1024,
      percent: 95,
    });
    expect(actions[6]).toMatchObject({ method: 'POST', body: '{"all":true}' });
    expect(exp.rollbacks[0]).toMatchObject({
      action: { kind: 'command', run: ['/bin/sh', '-c', 'echo done'] },
    });
  });

  it('plans a staged experiment without contacting anything', async () => {
    const plan = renderPlan(await loadExperimentFile(`${dir}full.yaml`, { env }));
    expect(plan).toContain('Blast radius: stages 10 % -> 50 % -> 100 %');
    expect(plan).toContain('Method at 50 %:');
    expect(plan).toContain('add 500ms ± 50ms latency on proxy "store"');
    expect(plan).toContain('kill 10 % of the instances of store with SIGTERM');
    expect(plan).toContain('Abort unless these hold (checked every 500ms):');
    expect(plan).toContain('Rollbacks (always run');
  });

  it('reads the same experiment written as JSON, with JSON line numbers', async () => {
    const json = JSON.stringify({ title: 't', method: [{ pause: '1s' }, { pause: 5 }] }, null, 2);
    const message = await failure(json);
    expect(message).toBe(
      'exp.yaml:8:16: method[1].pause: write a duration with its unit (e.g. 5s or 5ms), got the bare number 5',
    );
  });

  it('rejects bad arguments with a TypeError', async () => {
    await expect(loadExperimentFile('')).rejects.toThrow(TypeError);
    await expect(loadExperiment(42 as unknown as string)).rejects.toThrow(
      'loadExperiment: text must be a string',
    );
    await expect(loadExperimentFile(`${dir}missing.yaml`)).rejects.toThrow(/ENOENT/);
  });
});

describe('experiment validation names file, line and field', () => {
  const cases: Array<[string, string, string]> = [
    ['missing title', 'method: []\n', 'exp.yaml:1:1: title: is required'],
    [
      'missing method',
      'title: t\n',
      'exp.yaml:1:1: method: is required (a list of actions and pauses; may be empty)',
    ],
    [
      'unknown field',
      'title: t\nmethdo: []\n',
      'exp.yaml:2:1: methdo: unknown field "methdo"; did you mean "method"?',
    ],
    [
      'unknown action',
      `${minimal.replace('[]', '\n  - explode: {}')}`,
      'exp.yaml:3:5: method[0].explode: unknown field "explode"',
    ],
    [
      'two actions in a step',
      'title: t\nmethod:\n  - pause: 1s\n    kill: { instances: x }\n',
      'exp.yaml:4:11: method[0].kill: only one of pause, add-latency, block, inject-error, skew-clock, kill, fill-disk, http, command, undo may be given, got pause and kill',
    ],
    [
      'bad duration',
      'title: t\nmethod:\n  - pause: soon\n',
      'exp.yaml:3:12: method[0].pause: "soon" is not a duration (e.g. 500ms, 5s, 2m, 1h)',
    ],
    [
      'share above 100 %',
      'title: t\nblast-radius: { requests: 150% }\nmethod: []\n',
      'exp.yaml:2:27: blast-radius.requests: must be above 0 and at most 100 %, got 150%',
    ],
    [
      'stages that shrink',
      'title: t\nblast-radius: { stages: [50%, 10%] }\nmethod: []\n',
      'exp.yaml:2:31: blast-radius.stages[1]: stages must grow',
    ],
    [
      'unknown SLO',
      'title: t\nslos: slos.yaml\nmetrics: { orders: "http://h/m" }\nhypothesis:\n  probes:\n    - slo: avail\n      burn-rate: { window: 5m, below: 2 }\nmethod: []\n',
      'exp.yaml:6:12: hypothesis.probes[0].slo: no SLO named "avail" (known: orders/availability, orders/latency)',
    ],
    [
      'SLO without slos file',
      'title: t\nhypothesis:\n  probes:\n    - slo: availability\n      burn-rate: { window: 5m, below: 2 }\nmethod: []\n',
      'no SLOs loaded: add slos: <file>',
    ],
    [
      'missing SLO file',
      'title: t\nslos: nope.yaml\nmethod: []\n',
      'exp.yaml:2:7: slos: cannot read SLO file',
    ],
    [
      'unknown metrics entry',
      'title: t\nmetrics: { orders: "http://h/m" }\nhypothesis:\n  probes:\n    - error-ratio: { metrics: pricing, window: 1m, below: 1% }\nmethod: []\n',
      'exp.yaml:5:31: hypothesis.probes[0].error-ratio.metrics: no metrics entry named "pricing" (known: orders)',
    ],
    [
      'below and above',
      'title: t\nmetrics: { orders: "http://h/m" }\nhypothesis:\n  probes:\n    - error-ratio: { metrics: orders, window: 1m, below: 1%, above: 2% }\nmethod: []\n',
      'give either below or above, not both',
    ],
    [
      'no probes',
      'title: t\nhypothesis: { probes: [] }\nmethod: []\n',
      'exp.yaml:2:23: hypothesis.probes: must list at least one probe',
    ],
    [
      'bad URL',
      'title: t\nhypothesis:\n  probes:\n    - http: { url: "localhost:80" }\nmethod: []\n',
      '"localhost:80" must be an http or https URL',
    ],
    [
      'missing env var',
      `title: t\nfaults: { orders: { url: "http://h:1", token: "${ref('NO_SUCH_TOKEN')}" } }\nmethod: []\n`,
      'exp.yaml:2:47: faults.orders.token: environment variable NO_SUCH_TOKEN is not set',
    ],
    [
      'unknown faults entry',
      'title: t\nmethod:\n  - block: { faults: orders, target: store }\n',
      'exp.yaml:3:22: method[0].block.faults: no faults entry named "orders": add faults:',
    ],
    [
      'neither proxy nor faults',
      'title: t\nmethod:\n  - add-latency: { latency: 1s }\n',
      'needs proxy: <name> (the fault proxy) or faults: <service> with target: <name>',
    ],
    [
      'bad block mode',
      'title: t\nmethod:\n  - block: { proxy: store, mode: slow }\n',
      'exp.yaml:3:34: method[0].block.mode: must be hang or refuse',
    ],
    [
      'unknown instances',
      'title: t\nmethod:\n  - kill: { instances: store }\n',
      'no instances entry named "store"',
    ],
    [
      'bad signal',
      'title: t\ninstances: { s: { pid-dir: ./run } }\nmethod:\n  - kill: { instances: s, signal: SIGNOPE }\n',
      'method[0].kill.signal: must be one of SIGKILL',
    ],
    [
      'fill beyond 100 %',
      'title: t\nmethod:\n  - fill-disk: { directory: ./q, capacity: 1MiB, percent: 150 }\n',
      'method[0].fill-disk.percent: must be above 0 and at most 100, got 150',
    ],
    [
      'bad capacity',
      'title: t\nmethod:\n  - fill-disk: { directory: ./q, capacity: lots, percent: 50 }\n',
      '"lots" is not a size (e.g. 64MiB, 500MB, 1GiB)',
    ],
    [
      'undo of an unknown step',
      'title: t\nmethod:\n  - undo: nothing\n',
      'exp.yaml:3:5: method[0]: undo: no step named "nothing"',
    ],
    [
      'undo of a later step',
      'title: t\nmethod:\n  - undo: later\n  - name: later\n    pause: 1s\n',
      'undo: step "later" comes later',
    ],
    [
      'duplicate step names',
      'title: t\nmethod:\n  - { name: a, pause: 1s }\n  - { name: a, pause: 1s }\n',
      'duplicate step name "a"',
    ],
    [
      'duplicate probe names',
      'title: t\nhypothesis:\n  probes:\n    - { name: r, http: { url: "http://h/" } }\n    - { name: r, http: { url: "http://h/" } }\nmethod: []\n',
      'duplicate probe name "r" (first at line 4)',
    ],
    [
      'status out of range',
      'title: t\nhypothesis:\n  probes:\n    - http: { url: "http://h/", status: 700 }\nmethod: []\n',
      'must be at most 599, got 700',
    ],
    ['syntax error', 'title: [t\n', 'exp.yaml:'],
  ];
  for (const [what, text, expected] of cases) {
    it(what, async () => {
      expect(await failure(text)).toContain(expected);
    });
  }

  it('substitutes env references, with a default, and says how to give one', async () => {
    const exp = await load(`title: "${ref('TITLE:-fallback')}"\nmethod: []\n`, {});
    expect(exp.title).toBe('fallback');
    const named = await load(`title: "run ${ref('TITLE')}"\nmethod: []\n`, { TITLE: 'one' });
    expect(named.title).toBe('run one');
    expect(await failure(`title: "${ref('TITLE')}"\nmethod: []\n`, {})).toContain(
      `write ${ref('TITLE:-default')} for a default`,
    );
  });

  it('the fixture file itself is a valid experiment with that env', async () => {
    const text = await readFile(`${dir}full.yaml`, 'utf8');
    await expect(load(text, {})).rejects.toThrow('ORDERS_TOKEN is not set');
  });
});
