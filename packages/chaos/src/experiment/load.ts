/**
 * Loads an experiment file (YAML or JSON) into an {@link Experiment}. Every problem fails here,
 * before anything runs, with `file:line:column: field: problem`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { loadSloFiles, type Slo } from '@nines/slo';
import {
  type Fields,
  parseSeconds,
  percentToFraction,
  readSpec,
  SpecError,
  type Value,
} from '@nines/slo/spec-reader';
import { parseByteSize } from './disk-fill.js';
import type {
  Action,
  Experiment,
  FaultsEndpoint,
  FaultsVia,
  Hypothesis,
  InstanceGroup,
  Measure,
  Probe,
  Step,
  Threshold,
  Via,
} from './model.js';

/** Options of {@link loadExperiment}. */
export interface LoadExperimentOptions {
  /** The file name for messages, and the folder relative paths resolve against. */
  readonly file?: string;
  /** Variables for `${env:NAME}` (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** SLOs the experiment may name (instead of, or besides, its `slos` files). */
  readonly slos?: readonly Slo[];
}

const TOP = [
  'title',
  'description',
  'tags',
  'slos',
  'metrics',
  'proxy',
  'faults',
  'instances',
  'hypothesis',
  'warmup',
  'abort',
  'blast-radius',
  'fault-ttl',
  'method',
  'rollbacks',
] as const;

const DEFAULT_PROXY = 'http://127.0.0.1:8474';
const SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGSTOP', 'SIGCONT'];

/** Reads and loads an experiment file; SLO files it names are read relative to it. */
export async function loadExperimentFile(
  path: string,
  options: Omit<LoadExperimentOptions, 'file'> = {},
): Promise<Experiment> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('loadExperimentFile: path must be a non-empty string');
  }
  const text = await readFile(path, 'utf8');
  return loadExperiment(text, { ...options, file: path });
}

/**
 * Loads an experiment from its text (YAML or JSON).
 *
 * @example
 * const exp = await loadExperiment('title: t\nmethod:\n  - pause: 1s\n', { file: 'exp.yaml' });
 */
export async function loadExperiment(
  text: string,
  options: LoadExperimentOptions = {},
): Promise<Experiment> {
  if (typeof text !== 'string') throw new TypeError('loadExperiment: text must be a string');
  const file = options.file ?? '<input>';
  const env = options.env ?? process.env;
  const base = options.file ? dirname(resolve(options.file)) : process.cwd();
  const root = readSpec(text, file);
  const top = root.fields(TOP);
  const r = new Reader(env, base);

  const sloValue = top.get('slos');
  const slos: Slo[] = [...(options.slos ?? [])];
  if (sloValue) {
    if (sloValue.isMap) sloValue.fail('must be a file or a list of files');
    const files = sloValue.isList ? sloValue.list() : [sloValue];
    for (const v of files) {
      const p = r.path(v);
      try {
        slos.push(...(await loadSloFiles([p])));
      } catch (err) {
        if (err instanceof SpecError) throw err;
        throw v.error(`cannot read SLO file ${p}: ${(err as Error).message}`);
      }
    }
  }

  const metrics: Record<string, readonly string[]> = {};
  const metricsValue = top.get('metrics');
  if (metricsValue) {
    const f = metricsValue.fields(metricsValue.keys());
    for (const key of metricsValue.keys()) {
      const v = f.required(key);
      const urls = v.isList ? v.list().map((u) => r.url(u)) : [r.url(v)];
      if (urls.length === 0) v.fail('must list at least one URL');
      metrics[key] = urls;
    }
  }

  const faults: Record<string, FaultsEndpoint> = {};
  const faultsValue = top.get('faults');
  if (faultsValue) {
    const f = faultsValue.fields(faultsValue.keys());
    for (const key of faultsValue.keys()) {
      const ef = f.required(key).fields(['url', 'token']);
      faults[key] = { url: r.url(ef.required('url')), token: r.string(ef.required('token')) };
    }
  }

  const instances: Record<string, InstanceGroup> = {};
  const instancesValue = top.get('instances');
  if (instancesValue) {
    const f = instancesValue.fields(instancesValue.keys());
    for (const key of instancesValue.keys()) {
      const gv = f.required(key);
      const g = gv.fields(['pid-files', 'pid-dir']);
      const [which, v] = g.oneOf(['pid-files', 'pid-dir']);
      instances[key] =
        which === 'pid-dir' ? { pidDir: r.path(v) } : { pidFiles: v.list().map((p) => r.path(p)) };
    }
  }

  const ctx: Context = { slos, metrics, faults, instances, file };
  const hypothesisValue = top.get('hypothesis');
  let hypothesis: Hypothesis | undefined;
  if (hypothesisValue) {
    const h = hypothesisValue.fields(['title', 'probes', 'every', 'fail-fast']);
    const probes = h.required('probes').list();
    if (probes.length === 0) h.required('probes').fail('must list at least one probe');
    hypothesis = {
      title: h.has('title') ? r.string(h.required('title')) : 'steady state',
      probes: uniqueNames(probes.map((p) => r.probe(p, ctx))),
      everyMs: h.has('every') ? r.duration(h.required('every'), { min: 100 }) : 2000,
      failFast: h.get('fail-fast')?.boolean() ?? false,
    };
  }

  let abort: Experiment['abort'] = { everyMs: 1000, conditions: [] };
  const abortValue = top.get('abort');
  if (abortValue) {
    const a = abortValue.fields(['every', 'unless']);
    abort = {
      everyMs: a.has('every') ? r.duration(a.required('every'), { min: 100 }) : 1000,
      conditions: uniqueNames(
        a
          .required(
            'unless',
            'the conditions that must keep holding; the run aborts when one does not',
          )
          .list()
          .map((p) => r.probe(p, ctx)),
      ),
    };
  }

  let blastRadius: Experiment['blastRadius'] = { stages: [] };
  const brValue = top.get('blast-radius');
  if (brValue) {
    const b = brValue.fields(['requests', 'instances', 'stages']);
    const stages =
      b
        .get('stages')
        ?.list()
        .map((s) => r.share(s)) ?? [];
    for (let i = 1; i < stages.length; i++) {
      if (stages[i]! <= stages[i - 1]!) {
        b.required('stages')
          .list()
          [i]!.fail('stages must grow (each share larger than the one before)');
      }
    }
    blastRadius = {
      ...(b.has('requests') ? { requests: r.share(b.required('requests')) } : {}),
      ...(b.has('instances') ? { instances: r.share(b.required('instances')) } : {}),
      stages,
    };
  }

  const methodValue = top.required('method', 'a list of actions and pauses; may be empty');
  const method = r.steps(methodValue, ctx, 'step');
  const rollbacks = top.has('rollbacks') ? r.steps(top.required('rollbacks'), ctx, 'rollback') : [];
  const names = new Set(method.map((s) => s.name));
  for (const [i, step] of method.entries()) {
    if (step.type !== 'action' || step.action.kind !== 'undo') continue;
    const target = step.action.step;
    if (!method.slice(0, i).some((s) => s.name === target)) {
      methodValue
        .list()
        [i]!.fail(
          names.has(target)
            ? `undo: step "${target}" comes later; undo can only end an earlier step`
            : `undo: no step named "${target}"`,
        );
    }
  }
  for (const [i, step] of rollbacks.entries()) {
    if (step.type === 'action' && step.action.kind === 'undo') {
      top
        .required('rollbacks')
        .list()
        [i]!.fail('undo is for the method; rollbacks undo everything anyway');
    }
  }

  const tags =
    top
      .get('tags')
      ?.list()
      .map((t) => r.string(t)) ?? [];
  return {
    title: r.string(top.required('title')),
    ...(top.has('description') ? { description: r.string(top.required('description')) } : {}),
    tags,
    file,
    slos,
    metrics,
    proxy: top.has('proxy') ? r.url(top.required('proxy')) : DEFAULT_PROXY,
    faults,
    instances,
    ...(hypothesis ? { hypothesis } : {}),
    warmupMs: top.has('warmup') ? r.duration(top.required('warmup')) : 0,
    abort,
    blastRadius,
    faultTtlMs: top.has('fault-ttl')
      ? r.duration(top.required('fault-ttl'), { min: 1000 })
      : 10 * 60_000,
    method,
    rollbacks,
  };
}

interface Context {
  readonly slos: readonly Slo[];
  readonly metrics: Readonly<Record<string, readonly string[]>>;
  readonly faults: Readonly<Record<string, FaultsEndpoint>>;
  readonly instances: Readonly<Record<string, InstanceGroup>>;
  readonly file: string;
}

function uniqueNames(probes: Probe[]): Probe[] {
  const seen = new Map<string, Probe>();
  for (const p of probes) {
    const first = seen.get(p.name);
    if (first) {
      throw new SpecError(
        p.origin.file,
        p.origin.line,
        1,
        'name',
        `duplicate probe name "${p.name}" (first at line ${first.origin.line})`,
      );
    }
    seen.set(p.name, p);
  }
  return probes;
}

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Typed reads with `${env:NAME}` substitution and paths resolved against the file's folder. */
class Reader {
  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly base: string,
  ) {}

  string(v: Value): string {
    const raw = typeof v.scalar === 'number' ? String(v.scalar) : v.string();
    return raw.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const value = this.env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      return v.fail(
        `environment variable ${name} is not set (write \${env:${name}:-default} for a default)`,
      );
    });
  }

  url(v: Value): string {
    const text = this.string(v);
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      return v.fail(`"${text}" is not a URL (e.g. http://127.0.0.1:8080/metrics)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      return v.fail(`"${text}" must be an http or https URL`);
    }
    return text;
  }

  path(v: Value): string {
    const text = this.string(v);
    return isAbsolute(text) ? text : resolve(this.base, text);
  }

  duration(v: Value, rule: { min?: number } = {}): number {
    const raw = v.scalar;
    if (typeof raw === 'number') {
      v.fail(
        `write a duration with its unit (e.g. ${raw}s or ${raw}ms), got the bare number ${raw}`,
      );
    }
    const seconds = parseSeconds(this.string(v));
    if (seconds === undefined) {
      return v.fail(`"${v.text}" is not a duration (e.g. 500ms, 5s, 2m, 1h)`);
    }
    const ms = Math.round(seconds * 1000);
    if (rule.min !== undefined && ms < rule.min) {
      return v.fail(`must be at least ${rule.min} ms, got ${v.text}`);
    }
    return ms;
  }

  /** `50%` or a fraction in (0, 1]. */
  share(v: Value): number {
    const raw = v.scalar;
    let n: number | undefined;
    if (typeof raw === 'number') n = raw;
    else if (typeof raw === 'string') {
      const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(raw.trim());
      // Through the decimal text, so 14.4% is 0.144 rather than 0.14400000000000002.
      if (m) n = percentToFraction(Number(m[1]));
    }
    if (n === undefined || !Number.isFinite(n)) {
      return v.fail(`must be a percentage (25%) or a fraction (0.25), got ${v.text}`);
    }
    if (n <= 0 || n > 1) return v.fail(`must be above 0 and at most 100 %, got ${v.text}`);
    return n;
  }

  number(v: Value, rule: { min?: number; max?: number; integer?: boolean } = {}): number {
    const n = typeof v.scalar === 'string' ? Number(this.string(v)) : v.number();
    if (!Number.isFinite(n)) return v.fail(`must be a number, got ${v.text}`);
    if (rule.integer && !Number.isInteger(n))
      return v.fail(`must be a whole number, got ${v.text}`);
    if (rule.min !== undefined && n < rule.min)
      return v.fail(`must be at least ${rule.min}, got ${v.text}`);
    if (rule.max !== undefined && n > rule.max)
      return v.fail(`must be at most ${rule.max}, got ${v.text}`);
    return n;
  }

  statuses(v: Value): number[] {
    const list = v.isList ? v.list() : [v];
    if (list.length === 0) v.fail('must list at least one status');
    return list.map((s) => this.number(s, { min: 100, max: 599, integer: true }));
  }

  headers(v: Value | undefined): Record<string, string> {
    if (!v) return {};
    const out: Record<string, string> = {};
    const f = v.fields(v.keys());
    for (const key of v.keys()) out[key] = this.string(f.required(key));
    return out;
  }

  argv(v: Value): string[] {
    if (v.isList) {
      const list = v.list().map((a) => this.string(a));
      if (list.length === 0) v.fail('must not be empty');
      return list;
    }
    // A single string runs through the shell, as a user typing it would expect.
    return ['/bin/sh', '-c', this.string(v)];
  }

  /** A comparison with `below` or `above`; `read` converts the written value. */
  threshold(f: Fields, owner: Value, read: (v: Value) => number): Threshold {
    const has = ['below', 'above'].filter((k) => f.has(k));
    if (has.length !== 1) {
      owner.fail(
        has.length
          ? 'give either below or above, not both'
          : 'needs below: <value> or above: <value>',
      );
    }
    const op = has[0] as 'below' | 'above';
    return { op, value: read(f.required(op)) };
  }

  /** A name that must be an entry of the experiment's `section` map; `example` is an entry's value. */
  entry(
    v: Value,
    table: Readonly<Record<string, unknown>>,
    section: string,
    example: string,
  ): string {
    const name = this.string(v);
    if (!(name in table)) {
      const known = Object.keys(table);
      v.fail(
        known.length
          ? `no ${section} entry named "${name}" (known: ${known.join(', ')})`
          : `no ${section} entry named "${name}": add ${section}: { ${name}: ${example} }`,
      );
    }
    return name;
  }

  metricsName(v: Value, ctx: Context): string {
    return this.entry(v, ctx.metrics, 'metrics', 'http://host:port/metrics');
  }

  probe(pv: Value, ctx: Context): Probe {
    const kinds = ['slo', 'latency', 'error-ratio', 'http', 'command'] as const;
    const f = pv.fields(['name', 'within', 'burn-rate', 'metrics', ...kinds]);
    const [kind, body] = f.oneOf(kinds);
    const origin = { file: ctx.file, line: lineOf(pv) };
    let measure: Measure;
    switch (kind) {
      case 'slo': {
        const slo = this.slo(body, ctx);
        const br = f.required('burn-rate', 'e.g. burn-rate: { window: 5m, below: 2 }');
        const b = br.fields(['window', 'below', 'above']);
        let metrics: string;
        if (f.has('metrics')) metrics = this.metricsName(f.required('metrics'), ctx);
        else if (slo.service in ctx.metrics) metrics = slo.service;
        else {
          const metricsNames = Object.keys(ctx.metrics);
          if (metricsNames.length !== 1) {
            return body.fail(
              `no metrics entry for service "${slo.service}": name one with metrics: <entry> or add metrics: { ${slo.service}: http://host:port/metrics }`,
            );
          }
          metrics = metricsNames[0]!;
        }
        measure = {
          kind: 'burn-rate',
          slo,
          metrics,
          windowMs: this.duration(b.required('window'), { min: 1000 }),
          threshold: this.threshold(b, br, (v) => this.number(v, { min: 0 })),
        };
        break;
      }
      case 'latency': {
        const b = body.fields([
          'metrics',
          'route',
          'method',
          'quantile',
          'window',
          'below',
          'above',
        ]);
        const q = b.has('quantile')
          ? this.number(b.required('quantile'), { min: 0, max: 1 })
          : 0.99;
        measure = {
          kind: 'latency',
          metrics: this.metricsName(b.required('metrics'), ctx),
          ...this.filter(b),
          quantile: q,
          windowMs: this.duration(b.required('window'), { min: 1000 }),
          threshold: this.threshold(b, body, (v) => this.duration(v) / 1000),
        };
        break;
      }
      case 'error-ratio': {
        const b = body.fields(['metrics', 'route', 'method', 'window', 'below', 'above']);
        measure = {
          kind: 'error-ratio',
          metrics: this.metricsName(b.required('metrics'), ctx),
          ...this.filter(b),
          windowMs: this.duration(b.required('window'), { min: 1000 }),
          threshold: this.threshold(b, body, (v) => this.share0(v)),
        };
        break;
      }
      case 'http': {
        const b = body.fields(['url', 'method', 'headers', 'status', 'timeout']);
        measure = {
          kind: 'http',
          url: this.url(b.required('url')),
          method: b.has('method') ? this.method(b.required('method')) : 'GET',
          headers: this.headers(b.get('headers')),
          status: b.has('status') ? this.statuses(b.required('status')) : [200],
          timeoutMs: b.has('timeout') ? this.duration(b.required('timeout'), { min: 1 }) : 2000,
        };
        break;
      }
      default: {
        const b = body.fields(['run', 'exit', 'timeout']);
        measure = {
          kind: 'command',
          run: this.argv(b.required('run')),
          exit: b.has('exit')
            ? this.number(b.required('exit'), { min: 0, max: 255, integer: true })
            : 0,
          timeoutMs: b.has('timeout') ? this.duration(b.required('timeout'), { min: 1 }) : 10_000,
        };
        break;
      }
    }
    if (kind !== 'slo') {
      for (const extra of ['burn-rate', 'metrics'] as const) {
        if (f.has(extra))
          f.required(extra).fail(`${extra} belongs to slo probes; put it inside ${kind}:`);
      }
    }
    return {
      name: f.has('name') ? this.string(f.required('name')) : defaultProbeName(measure),
      measure,
      withinMs: f.has('within') ? this.duration(f.required('within')) : 0,
      origin,
    };
  }

  /** A share that may be 0 (error ratios: "below 1%"). */
  share0(v: Value): number {
    if (v.scalar === 0) return 0;
    return this.share(v);
  }

  filter(b: Fields): { route?: string; method?: string } {
    return {
      ...(b.has('route') ? { route: this.string(b.required('route')) } : {}),
      ...(b.has('method') ? { method: this.method(b.required('method')) } : {}),
    };
  }

  method(v: Value): string {
    const m = this.string(v).toUpperCase();
    if (!/^[A-Z]+$/.test(m)) v.fail(`"${v.text}" is not an HTTP method`);
    return m;
  }

  slo(v: Value, ctx: Context): Slo {
    const ref = this.string(v);
    const [service, name] = ref.includes('/') ? ref.split('/', 2) : [undefined, ref];
    const matches = ctx.slos.filter((s) => s.name === name && (!service || s.service === service));
    if (matches.length === 1) return matches[0]!;
    if (ctx.slos.length === 0) return v.fail(`no SLOs loaded: add slos: <file> to name "${ref}"`);
    if (matches.length > 1) {
      return v.fail(
        `"${ref}" is ambiguous; write service/name (${matches.map((s) => `${s.service}/${s.name}`).join(', ')})`,
      );
    }
    const known = ctx.slos.map((s) => `${s.service}/${s.name}`).join(', ');
    return v.fail(`no SLO named "${ref}" (known: ${known})`);
  }

  via(b: Fields, owner: Value, ctx: Context): Via {
    if (b.has('proxy')) {
      if (b.has('faults')) owner.fail('give either proxy or faults, not both');
      return { proxy: this.string(b.required('proxy')) };
    }
    if (b.has('faults')) return this.faultsVia(b, ctx);
    return owner.fail(
      'needs proxy: <name> (the fault proxy) or faults: <service> with target: <name>',
    );
  }

  faultsVia(b: Fields, ctx: Context): FaultsVia {
    return {
      faults: this.entry(b.required('faults'), ctx.faults, 'faults', '{ url: ..., token: ... }'),
      target: this.string(b.required('target', 'the name the service gave the call')),
    };
  }

  action(kind: string, body: Value, ctx: Context): Action {
    switch (kind) {
      case 'add-latency': {
        const b = body.fields([
          'proxy',
          'faults',
          'target',
          'latency',
          'jitter',
          'share',
          'duration',
        ]);
        return {
          kind,
          via: this.via(b, body, ctx),
          latencyMs: this.duration(b.required('latency')),
          jitterMs: b.has('jitter') ? this.duration(b.required('jitter')) : 0,
          ...this.shareAndDuration(b),
        };
      }
      case 'block': {
        const b = body.fields(['proxy', 'faults', 'target', 'mode', 'share', 'duration']);
        const mode = b.has('mode') ? this.string(b.required('mode')) : 'refuse';
        if (mode !== 'hang' && mode !== 'refuse') b.required('mode').fail('must be hang or refuse');
        return {
          kind,
          via: this.via(b, body, ctx),
          mode: mode as 'hang' | 'refuse',
          ...this.shareAndDuration(b),
        };
      }
      case 'inject-error': {
        const b = body.fields(['faults', 'target', 'status', 'message', 'share', 'duration']);
        return {
          kind,
          via: this.faultsVia(b, ctx),
          ...(b.has('status')
            ? { status: this.number(b.required('status'), { min: 400, max: 599, integer: true }) }
            : {}),
          ...(b.has('message') ? { message: this.string(b.required('message')) } : {}),
          ...this.shareAndDuration(b),
        };
      }
      case 'skew-clock': {
        const b = body.fields(['faults', 'target', 'offset', 'duration']);
        const ov = b.required('offset');
        const text = this.string(ov);
        const negative = text.startsWith('-');
        const seconds = parseSeconds(negative ? text.slice(1) : text);
        if (seconds === undefined) ov.fail(`"${text}" is not an offset (e.g. 5m, -30s)`);
        return {
          kind,
          via: this.faultsVia(b, ctx),
          offsetMs: Math.round((negative ? -1 : 1) * seconds! * 1000),
          ...(b.has('duration')
            ? { durationMs: this.duration(b.required('duration'), { min: 1 }) }
            : {}),
        };
      }
      case 'kill': {
        const b = body.fields(['instances', 'signal', 'share']);
        const group = this.entry(
          b.required('instances'),
          ctx.instances,
          'instances',
          '{ pid-dir: ./run }',
        );
        const signal = b.has('signal')
          ? this.string(b.required('signal')).toUpperCase()
          : 'SIGKILL';
        if (!SIGNALS.includes(signal))
          b.required('signal').fail(`must be one of ${SIGNALS.join(', ')}`);
        return {
          kind,
          instances: group,
          signal: signal as NodeJS.Signals,
          ...(b.has('share') ? { share: this.share(b.required('share')) } : {}),
        };
      }
      case 'fill-disk': {
        const b = body.fields(['directory', 'capacity', 'percent', 'duration']);
        const pv = b.required('percent');
        const percent = typeof pv.scalar === 'string' ? this.share(pv) * 100 : this.number(pv);
        if (!(percent > 0 && percent <= 100))
          pv.fail(`must be above 0 and at most 100, got ${pv.text}`);
        return {
          kind,
          directory: this.path(b.required('directory')),
          capacityBytes: this.bytes(b.required('capacity')),
          percent,
          ...(b.has('duration')
            ? { durationMs: this.duration(b.required('duration'), { min: 1 }) }
            : {}),
        };
      }
      case 'http': {
        const b = body.fields(['url', 'method', 'headers', 'body', 'status', 'timeout']);
        const bv = b.get('body');
        let text: string | undefined;
        if (bv)
          text =
            typeof bv.scalar === 'string' ? this.string(bv) : JSON.stringify(bv.node?.toJSON());
        return {
          kind,
          url: this.url(b.required('url')),
          method: b.has('method')
            ? this.method(b.required('method'))
            : text === undefined
              ? 'GET'
              : 'POST',
          headers: this.headers(b.get('headers')),
          ...(text !== undefined ? { body: text } : {}),
          ...(b.has('status') ? { status: this.statuses(b.required('status')) } : {}),
          timeoutMs: b.has('timeout') ? this.duration(b.required('timeout'), { min: 1 }) : 5000,
        };
      }
      case 'command': {
        const b = body.fields(['run', 'exit', 'timeout']);
        return {
          kind,
          run: this.argv(b.required('run')),
          ...(b.has('exit')
            ? { exit: this.number(b.required('exit'), { min: 0, max: 255, integer: true }) }
            : {}),
          timeoutMs: b.has('timeout') ? this.duration(b.required('timeout'), { min: 1 }) : 30_000,
        };
      }
      case 'undo':
        return { kind, step: this.string(body) };
      default:
        return body.fail(`unknown action ${kind}`);
    }
  }

  shareAndDuration(b: Fields): { share?: number; durationMs?: number } {
    return {
      ...(b.has('share') ? { share: this.share(b.required('share')) } : {}),
      ...(b.has('duration')
        ? { durationMs: this.duration(b.required('duration'), { min: 1 }) }
        : {}),
    };
  }

  bytes(v: Value): number {
    let n: number;
    try {
      n = parseByteSize(typeof v.scalar === 'number' ? v.scalar : this.string(v));
    } catch {
      return v.fail(`"${v.text}" is not a size (e.g. 64MiB, 500MB, 1GiB)`);
    }
    if (n <= 0) v.fail('must be above 0 bytes');
    return n;
  }

  steps(listValue: Value, ctx: Context, prefix: string): Step[] {
    const actions = [
      'add-latency',
      'block',
      'inject-error',
      'skew-clock',
      'kill',
      'fill-disk',
      'http',
      'command',
      'undo',
    ] as const;
    const steps: Step[] = [];
    const seen = new Set<string>();
    for (const [i, sv] of listValue.list().entries()) {
      const f = sv.fields(['name', 'pause', ...actions]);
      const [kind, body] = f.oneOf(['pause', ...actions]);
      const origin = { file: ctx.file, line: lineOf(sv) };
      const name = f.has('name') ? this.string(f.required('name')) : `${prefix}-${i + 1}`;
      if (seen.has(name)) f.required('name').fail(`duplicate step name "${name}"`);
      seen.add(name);
      if (kind === 'pause') {
        steps.push({ type: 'pause', name, ms: this.duration(body), origin });
      } else {
        steps.push({ type: 'action', name, action: this.action(kind, body, ctx), origin });
      }
    }
    return steps;
  }
}

/** The line a value starts on (the position a SpecError at it would carry). */
function lineOf(v: Value): number {
  return v.error('').line;
}

function defaultProbeName(m: Measure): string {
  const t = (th: Threshold, unit = '') => `${th.op} ${th.value}${unit}`;
  switch (m.kind) {
    case 'burn-rate':
      return `${m.slo.service}/${m.slo.name} burn rate over ${m.windowMs / 1000}s ${t(m.threshold)}`;
    case 'latency':
      return `p${m.quantile * 100} of ${m.metrics} ${t(m.threshold, 's')}`;
    case 'error-ratio':
      return `error ratio of ${m.metrics} ${t(m.threshold)}`;
    case 'http':
      return `${m.method} ${m.url} returns ${m.status.join(' or ')}`;
    case 'command':
      return `${m.run.join(' ')} exits ${m.exit}`;
  }
}
