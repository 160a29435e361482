/**
 * Performs the actions of a method. Every action that changes something returns its undo, which
 * the runner calls when the step's duration ends, on `undo`, or in the rollbacks — always.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fillDisk } from './disk-fill.js';
import { fetchFailure } from './fetch-error.js';
import { chooseShare, findInstances, killInstances } from './instances.js';
import type { Action, Experiment, FaultsEndpoint, Via } from './model.js';
import { runCommand } from './process.js';

/** What actions need from the runner. */
export interface ActionContext {
  readonly experiment: Experiment;
  readonly fetch: typeof fetch;
  readonly random: () => number;
  /** The blast radius of the current stage (or of the experiment), for actions without a share. */
  readonly requestShare?: number;
  readonly instanceShare?: number;
  /** The hard cap on bytes a disk fill may write (an operator's setting, not the file's). */
  readonly maxFillBytes?: number;
  /** The folder every disk-fill quota directory must be inside (an operator's setting). */
  readonly fillRoot: string;
  /** A prefix for names of toxics, so several runs cannot collide. */
  readonly runId: string;
  readonly stepName: string;
  readonly signal: AbortSignal;
}

/** An action's outcome and how to undo it. */
export interface Performed {
  readonly output: unknown;
  readonly undo?: () => Promise<unknown>;
}

/** An action that failed, with what it returned when the failure was an answer (a status). */
export class ActionError extends Error {
  override name = 'ActionError';
  readonly code = 'EACTION';
}

const API_TIMEOUT_MS = 10_000;

/** Runs one action. Rejects with an {@link ActionError} (or the cause) when it fails. */
export async function performAction(action: Action, ctx: ActionContext): Promise<Performed> {
  switch (action.kind) {
    case 'add-latency':
      return 'proxy' in action.via
        ? proxyToxic(ctx, action.via.proxy, action.durationMs, action.share, {
            type: 'latency',
            attributes: { latency: action.latencyMs, jitter: action.jitterMs },
          })
        : injectFault(ctx, action.via, action.durationMs, action.share, {
            kind: 'latency',
            ms: action.latencyMs,
            ...(action.jitterMs > 0 ? { jitterMs: action.jitterMs } : {}),
          });
    case 'block':
      if ('proxy' in action.via) {
        // refuse: the proxy stops listening and drops connections; hang: a timeout toxic with no
        // timeout keeps connections open and drops their data.
        if (action.mode === 'refuse') return disableProxy(ctx, action.via.proxy);
        return proxyToxic(ctx, action.via.proxy, action.durationMs, action.share, {
          type: 'timeout',
          attributes: { timeout: 0 },
        });
      }
      return injectFault(ctx, action.via, action.durationMs, action.share, {
        kind: 'block',
        mode: action.mode,
      });
    case 'inject-error':
      return injectFault(ctx, action.via, action.durationMs, action.share, {
        kind: 'error',
        ...(action.status !== undefined ? { status: action.status } : {}),
        ...(action.message !== undefined ? { message: action.message } : {}),
      });
    case 'skew-clock':
      return injectFault(ctx, action.via, action.durationMs, 1, {
        kind: 'skew',
        offsetMs: action.offsetMs,
      });
    case 'kill':
      return kill(ctx, action);
    case 'fill-disk': {
      await checkInside(ctx.fillRoot, action.directory);
      const fill = await fillDisk({
        directory: action.directory,
        capacityBytes: action.capacityBytes,
        percent: action.percent,
        ...(ctx.maxFillBytes !== undefined ? { maxBytes: ctx.maxFillBytes } : {}),
        signal: ctx.signal,
      });
      return {
        output: { file: fill.file, bytes: fill.bytes, usedBefore: fill.usedBefore },
        undo: async () => {
          await fill.remove();
          return { removed: fill.file };
        },
      };
    }
    case 'http': {
      const res = await call(ctx, action.url, {
        method: action.method,
        headers: action.headers,
        ...(action.body !== undefined ? { body: action.body } : {}),
        timeoutMs: action.timeoutMs,
      });
      const output = { status: res.status, body: res.body.slice(0, 1000) };
      if (action.status && !action.status.includes(res.status)) {
        throw new ActionError(
          `${action.method} ${action.url} answered ${res.status}, expected ${action.status.join(' or ')}`,
        );
      }
      return { output };
    }
    case 'command': {
      const res = await runCommand(action.run, { timeoutMs: action.timeoutMs, signal: ctx.signal });
      if (res.error) throw new ActionError(res.error);
      const want = action.exit ?? 0;
      if (res.code !== want) {
        const last = res.stderr.trim().split('\n').pop();
        throw new ActionError(
          `${action.run.join(' ')} exited ${res.code}, expected ${want}${last ? `: ${last}` : ''}`,
        );
      }
      return { output: { code: res.code, stdout: res.stdout.slice(0, 1000) } };
    }
    case 'undo':
      // The runner handles undo itself: it owns the list of changes.
      throw new ActionError('undo is performed by the runner');
  }
}

async function kill(
  ctx: ActionContext,
  action: Extract<Action, { kind: 'kill' }>,
): Promise<Performed> {
  const group = ctx.experiment.instances[action.instances]!;
  const { instances, skipped } = await findInstances({
    ...(group.pidFiles ? { pidFiles: group.pidFiles } : {}),
    ...(group.pidDir ? { pidDir: group.pidDir } : {}),
  });
  if (instances.length === 0) {
    const why = skipped.map((s) => `${s.source}: ${s.reason}`).join('; ');
    throw new ActionError(`no live instance in "${action.instances}"${why ? ` (${why})` : ''}`);
  }
  // Without a share (or a blast radius), one instance.
  const share = action.share ?? ctx.instanceShare ?? 1 / instances.length;
  const chosen = chooseShare(instances, share, ctx.random);
  const results = await killInstances(chosen, { signal: action.signal, signalAbort: ctx.signal });
  const failed = results.filter((r) => !r.killed);
  if (failed.length) {
    throw new ActionError(
      `could not kill ${failed.map((r) => `${r.pid} (${r.error ?? 'unknown'})`).join(', ')}`,
    );
  }
  return { output: { of: instances.length, killed: results } };
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

async function call(
  ctx: ActionContext,
  url: string,
  init: {
    method: string;
    headers?: Readonly<Record<string, string>>;
    body?: string;
    timeoutMs?: number;
    signal?: AbortSignal | null;
  },
): Promise<Answer> {
  const timeout = AbortSignal.timeout(init.timeoutMs ?? API_TIMEOUT_MS);
  const signals = [timeout];
  if (init.signal !== null) signals.push(init.signal ?? ctx.signal);
  try {
    const res = await ctx.fetch(url, {
      method: init.method,
      headers: {
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: AbortSignal.any(signals),
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    const why = fetchFailure(err, timeout, init.timeoutMs ?? API_TIMEOUT_MS);
    throw new ActionError(`${init.method} ${url}: ${why}`);
  }
}

function apiError(what: string, res: Answer): ActionError {
  let message = res.body.trim();
  try {
    const parsed = JSON.parse(message) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // Not JSON: keep the text.
  }
  return new ActionError(`${what}: HTTP ${res.status}: ${message || '(empty)'}`);
}

function toxicName(ctx: ActionContext): string {
  return `nines-${ctx.runId}-${ctx.stepName}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function proxyToxic(
  ctx: ActionContext,
  proxy: string,
  durationMs: number | undefined,
  share: number | undefined,
  toxic: { type: string; attributes: Record<string, number> },
): Promise<Performed> {
  const name = toxicName(ctx);
  const toxicity = share ?? ctx.requestShare ?? 1;
  const url = `${proxyUrl(ctx, proxy)}/toxics`;
  const res = await call(ctx, url, {
    method: 'POST',
    // ttl_ms (a nines extension of the Toxiproxy API) removes the toxic even if this runner dies.
    body: JSON.stringify({
      name,
      stream: 'downstream',
      ...toxic,
      toxicity,
      ttl_ms: durationMs ?? ctx.experiment.faultTtlMs,
    }),
  });
  if (res.status !== 200 && res.status !== 201)
    throw apiError(`add ${toxic.type} toxic to proxy ${proxy}`, res);
  return {
    output: {
      proxy,
      toxic: name,
      type: toxic.type,
      toxicity,
      attributes: toxic.attributes,
    },
    undo: async () => {
      // The undo runs in rollbacks too, after an interrupt: it must not use the run's signal.
      const del = await call(ctx, `${url}/${encodeURIComponent(name)}`, {
        method: 'DELETE',
        signal: null,
      });
      if (del.status !== 204 && del.status !== 404) throw apiError(`remove toxic ${name}`, del);
      return { proxy, removed: name, alreadyGone: del.status === 404 };
    },
  };
}

/** The admin API address of one proxy of the fault proxy. */
function proxyUrl(ctx: ActionContext, proxy: string): string {
  return `${ctx.experiment.proxy.replace(/\/$/, '')}/proxies/${encodeURIComponent(proxy)}`;
}

async function disableProxy(ctx: ActionContext, proxy: string): Promise<Performed> {
  const url = proxyUrl(ctx, proxy);
  const res = await call(ctx, url, { method: 'POST', body: JSON.stringify({ enabled: false }) });
  if (res.status !== 200) throw apiError(`disable proxy ${proxy}`, res);
  return {
    output: { proxy, enabled: false },
    undo: async () => {
      const back = await call(ctx, url, {
        method: 'POST',
        body: JSON.stringify({ enabled: true }),
        signal: null,
      });
      if (back.status !== 200) throw apiError(`enable proxy ${proxy}`, back);
      return { proxy, enabled: true };
    },
  };
}

async function injectFault(
  ctx: ActionContext,
  via: Extract<Via, { faults: string }>,
  durationMs: number | undefined,
  share: number | undefined,
  fault: Record<string, unknown>,
): Promise<Performed> {
  const endpoint: FaultsEndpoint = ctx.experiment.faults[via.faults]!;
  const base = endpoint.url.replace(/\/$/, '');
  const headers = { authorization: `Bearer ${endpoint.token}` };
  const probability = share ?? ctx.requestShare ?? 1;
  const body = {
    ...fault,
    target: via.target,
    ...(fault.kind === 'skew' ? {} : { probability }),
    // The fault dies by itself even if this runner crashes: at the step's end, or at the TTL.
    ttlMs: durationMs ?? ctx.experiment.faultTtlMs,
    note: `${ctx.experiment.title} (${ctx.stepName})`,
  };
  const res = await call(ctx, `${base}/faults`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  if (res.status !== 201)
    throw apiError(`inject ${String(fault.kind)} fault into ${via.faults}`, res);
  const created = JSON.parse(res.body) as { id: string; expiresAt?: string };
  return {
    output: { faults: via.faults, id: created.id, expiresAt: created.expiresAt, ...body },
    undo: async () => {
      const del = await call(ctx, `${base}/faults/${encodeURIComponent(created.id)}`, {
        method: 'DELETE',
        headers,
        signal: null,
      });
      if (del.status !== 204 && del.status !== 404)
        throw apiError(`remove fault ${created.id}`, del);
      return { faults: via.faults, removed: created.id, alreadyGone: del.status === 404 };
    },
  };
}

/** The real path of `path`, or of its nearest existing ancestor with the rest appended. */
async function realPathOf(path: string): Promise<string> {
  let at = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(await realpath(at), ...rest);
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
      rest.unshift(at.slice(parent.length + 1));
      at = parent;
    }
  }
}

/**
 * Refuses a quota directory outside `root`, through symlinks too: the file names the directory,
 * the operator names where such directories may be.
 */
async function checkInside(root: string, directory: string): Promise<void> {
  const [r, d] = await Promise.all([realPathOf(root), realPathOf(directory)]);
  const rel = relative(r, d);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new ActionError(
      `fill-disk: ${directory} is not inside ${root}, the folder quota directories must be in (set it with --fill-root)`,
    );
  }
}
