/**
 * The proxies of one fault-proxy server, with Toxiproxy 2.x's validation, defaults, error
 * statuses and messages. The admin API is a thin HTTP layer over this.
 */

import { type Clock, systemClock } from '@nines/resilience';
import { clockOption, describe, optionsObject } from '@nines/resilience/options';
import { joinHostPort, splitHostPort } from './address.js';
import { FaultProxy } from './proxy.js';
import {
  attributeProblem,
  defaultStream,
  isToxicType,
  TOXIC_ATTRIBUTES,
  type ToxicState,
  unrefTimer,
} from './toxics.js';
import {
  ProxyApiError,
  type ProxyInput,
  type ProxyJSON,
  type ProxyRegistry,
  type ProxyStats,
  type Stream,
  type ToxicInput,
  type ToxicJSON,
  type ToxicUpdate,
} from './types.js';

/** Options of {@link createProxyRegistry}. */
export interface ProxyRegistryOptions {
  /** Time source for toxic timers and time-to-live expiry. Default: the system clock. */
  readonly clock?: Clock;
  /** Uniform draws in [0, 1) for toxicity, jitter and slice sizes. Default: `Math.random`. */
  readonly random?: () => number;
  /** Host bound for `localhost` or an empty host in `listen`. Default `127.0.0.1`. */
  readonly defaultHost?: string;
}

/**
 * A populate that failed part-way: proxies before the failing entry stay created, as in
 * Toxiproxy, and are listed here so the API can answer `{error, status, proxies}`.
 */
export class PopulateError extends ProxyApiError {
  readonly proxies: ProxyJSON[];
  constructor(status: number, message: string, proxies: ProxyJSON[]) {
    super(status, message);
    this.name = 'PopulateError';
    this.proxies = proxies;
  }
}

const OWNER = 'createProxyRegistry';
const BAD_BODY = 'bad request body';

function badBody(detail: string): ProxyApiError {
  return new ProxyApiError(400, `${BAD_BODY}: ${detail}`);
}

function bodyObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badBody(`expected a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badBody(`${field} must be a string, got ${describe(value)}`);
  return value;
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw badBody(`${field} must be a boolean, got ${describe(value)}`);
  }
  return value;
}

function toxicity(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw badBody(`toxicity must be a number between 0 and 1, got ${describe(value)}`);
  }
  return value;
}

/** Validated attributes of `type`, merged onto `base`: unknown keys ignored, missing ones kept. */
function attributes(
  type: keyof typeof TOXIC_ATTRIBUTES,
  value: unknown,
  base: Readonly<Record<string, number>> | undefined,
): Record<string, number> {
  if (
    value !== undefined &&
    value !== null &&
    (typeof value !== 'object' || Array.isArray(value))
  ) {
    throw badBody(`attributes must be an object, got ${describe(value)}`);
  }
  const input = (value ?? {}) as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of TOXIC_ATTRIBUTES[type]) {
    const v = Object.hasOwn(input, key) ? input[key] : undefined;
    if (v === undefined) {
      out[key] = base?.[key] ?? 0;
    } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
      out[key] = v;
    } else {
      throw badBody(`attribute "${key}" must be a non-negative integer, got ${describe(v)}`);
    }
  }
  const problem = attributeProblem(type, out);
  if (problem !== undefined) throw badBody(problem);
  return out;
}

interface ProxyEntry {
  readonly name: string;
  readonly listen: string | undefined;
  readonly upstream: string;
  readonly enabled: boolean;
}

/**
 * Creates an empty proxy registry. Proxies listen on real TCP ports; toxics act on live
 * connections.
 *
 * @example
 * const proxies = createProxyRegistry();
 * const redis = await proxies.create({ name: 'redis', listen: 'localhost:0', upstream: 'localhost:6379' });
 * proxies.addToxic('redis', { type: 'latency', attributes: { latency: 500 } });
 * // connect to redis.listen: every reply now arrives 500 ms late
 * await proxies.close();
 */
export function createProxyRegistry(options?: ProxyRegistryOptions): ProxyRegistry {
  const opts = optionsObject<ProxyRegistryOptions>(OWNER, options, [
    'clock',
    'random',
    'defaultHost',
  ]);
  const clock = clockOption<Clock>(OWNER, opts.clock, systemClock);
  const random = opts.random ?? Math.random;
  if (typeof random !== 'function') {
    throw new TypeError(`${OWNER}: option "random" must be a function, got ${describe(random)}`);
  }
  const defaultHost = opts.defaultHost ?? '127.0.0.1';
  if (typeof defaultHost !== 'string' || defaultHost === '') {
    throw new TypeError(
      `${OWNER}: option "defaultHost" must be a non-empty string, got ${describe(defaultHost)}`,
    );
  }
  return new Registry(clock, random, defaultHost);
}

class Registry implements ProxyRegistry {
  private readonly proxies = new Map<string, FaultProxy>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly defaultHost: string;

  constructor(clock: Clock, random: () => number, defaultHost: string) {
    this.clock = clock;
    this.random = random;
    this.defaultHost = defaultHost;
  }

  /** A listen address as the proxy would bind it, for comparisons (`localhost` = default host). */
  private normalListen(listen: string): string {
    const hp = splitHostPort(listen);
    if (typeof hp === 'string') return listen;
    const host = hp.host === '' || hp.host === 'localhost' ? this.defaultHost : hp.host;
    return joinHostPort(host, hp.port);
  }

  private entry(input: ProxyInput, suffix: string): ProxyEntry {
    const body = bodyObject(input);
    const name = optionalString(body.name, 'name');
    const upstream = optionalString(body.upstream, 'upstream');
    const listen = optionalString(body.listen, 'listen');
    const enabled = optionalBoolean(body.enabled, 'enabled');
    if (!name) throw new ProxyApiError(400, `missing required field: name${suffix}`);
    if (!upstream) throw new ProxyApiError(400, `missing required field: upstream${suffix}`);
    return { name, upstream, listen: listen || undefined, enabled: enabled ?? true };
  }

  private async start(entry: ProxyEntry): Promise<FaultProxy> {
    if (this.proxies.has(entry.name)) throw new ProxyApiError(409, 'proxy already exists');
    const proxy = new FaultProxy({
      name: entry.name,
      listen: entry.listen ?? `${this.defaultHost}:0`,
      upstream: entry.upstream,
      clock: this.clock,
      random: this.random,
      defaultHost: this.defaultHost,
    });
    // Registered before listening, so a concurrent create of the same name gets its 409.
    this.proxies.set(entry.name, proxy);
    if (entry.enabled) {
      try {
        await proxy.start();
      } catch (err) {
        this.proxies.delete(entry.name);
        throw err;
      }
    }
    return proxy;
  }

  async create(input: ProxyInput): Promise<ProxyJSON> {
    return this.json(await this.start(this.entry(input, '')));
  }

  async populate(inputs: readonly ProxyInput[]): Promise<ProxyJSON[]> {
    if (!Array.isArray(inputs)) {
      throw badBody(`expected a JSON array of proxies, got ${describe(inputs)}`);
    }
    const entries = inputs.map((input, i) => this.entry(input as ProxyInput, ` at proxy ${i + 1}`));
    const done: ProxyJSON[] = [];
    for (const entry of entries) {
      try {
        const existing = this.proxies.get(entry.name);
        if (existing) {
          const listen = this.normalListen(entry.listen ?? `${this.defaultHost}:0`);
          if (existing.listen === listen && existing.upstream === entry.upstream) {
            done.push(this.json(existing));
            continue;
          }
          await this.drop(existing);
        }
        done.push(this.json(await this.start(entry)));
      } catch (err) {
        if (err instanceof ProxyApiError) throw new PopulateError(err.status, err.message, done);
        throw err;
      }
    }
    return done;
  }

  private find(name: string): FaultProxy {
    const proxy = typeof name === 'string' ? this.proxies.get(name) : undefined;
    if (!proxy) throw new ProxyApiError(404, 'proxy not found');
    return proxy;
  }

  get(name: string): ProxyJSON {
    return this.json(this.find(name));
  }

  list(): Readonly<Record<string, ProxyJSON>> {
    const out: Record<string, ProxyJSON> = {};
    for (const [name, proxy] of this.proxies) out[name] = this.json(proxy);
    return out;
  }

  async update(name: string, input: ProxyInput): Promise<ProxyJSON> {
    const proxy = this.find(name);
    const body = bodyObject(input);
    const listen = optionalString(body.listen, 'listen');
    const upstream = optionalString(body.upstream, 'upstream');
    const enabled = optionalBoolean(body.enabled, 'enabled') ?? proxy.enabled;
    const listenChanged = listen !== undefined && this.normalListen(listen) !== proxy.listen;
    const upstreamChanged = upstream !== undefined && upstream !== proxy.upstream;
    if (listenChanged || upstreamChanged) {
      // Toxiproxy restarts the proxy, dropping its connections.
      await proxy.stop();
      if (listen !== undefined) proxy.listen = listen;
      if (upstream !== undefined) proxy.setUpstream(upstream);
    }
    if (enabled) await proxy.start();
    else await proxy.stop();
    return this.json(proxy);
  }

  private async drop(proxy: FaultProxy): Promise<void> {
    this.proxies.delete(proxy.name);
    for (const toxic of proxy.toxics) this.clearTtl(toxic);
    await proxy.stop();
  }

  async remove(name: string): Promise<void> {
    await this.drop(this.find(name));
  }

  toxics(name: string): ToxicJSON[] {
    return this.find(name).toxics.map((t) => this.toxicJson(t));
  }

  addToxic(name: string, input: ToxicInput): ToxicJSON {
    const proxy = this.find(name);
    const body = bodyObject(input);
    const streamText = optionalString(body.stream, 'stream') ?? defaultStream(body.type);
    const stream = streamText.toLowerCase();
    if (stream !== 'upstream' && stream !== 'downstream') {
      throw new ProxyApiError(400, 'stream was invalid, can be either upstream or downstream');
    }
    const type = body.type;
    const toxicName = optionalString(body.name, 'name') || `${String(type)}_${stream}`;
    if (!isToxicType(type)) throw new ProxyApiError(400, 'invalid toxic type');
    if (proxy.findToxic(toxicName)) throw new ProxyApiError(409, 'toxic already exists');
    const attrs = attributes(type, body.attributes, undefined);
    const tox = toxicity(body.toxicity, 1);
    let ttl: number | undefined;
    if (body.ttl_ms !== undefined) {
      const v = body.ttl_ms;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw badBody(`ttl_ms must be a positive number of milliseconds, got ${describe(v)}`);
      }
      ttl = v;
    }
    const toxic: ToxicState = {
      name: toxicName,
      type,
      stream: stream as Stream,
      toxicity: tox,
      attributes: attrs,
    };
    if (ttl !== undefined) {
      toxic.expiresAt = this.clock.now() + ttl;
      toxic.ttlTimer = unrefTimer(
        this.clock,
        () => {
          toxic.ttlTimer = undefined;
          // Removed only if this very toxic is still on this very proxy.
          if (this.proxies.get(proxy.name) === proxy && proxy.findToxic(toxic.name) === toxic) {
            proxy.removeToxic(toxic);
          }
        },
        ttl,
      );
    }
    proxy.addToxic(toxic);
    return this.toxicJson(toxic);
  }

  private findToxic(name: string, toxic: string): { proxy: FaultProxy; toxic: ToxicState } {
    const proxy = this.find(name);
    const found = typeof toxic === 'string' ? proxy.findToxic(toxic) : undefined;
    if (!found) throw new ProxyApiError(404, 'toxic not found');
    return { proxy, toxic: found };
  }

  getToxic(name: string, toxic: string): ToxicJSON {
    return this.toxicJson(this.findToxic(name, toxic).toxic);
  }

  updateToxic(name: string, toxicName: string, input: ToxicUpdate): ToxicJSON {
    const { proxy, toxic } = this.findToxic(name, toxicName);
    const body = bodyObject(input);
    // Validate everything before changing anything.
    const attrs = attributes(toxic.type, body.attributes, toxic.attributes);
    const tox = toxicity(body.toxicity, toxic.toxicity);
    toxic.attributes = attrs;
    toxic.toxicity = tox;
    proxy.updateToxic(toxic);
    return this.toxicJson(toxic);
  }

  removeToxic(name: string, toxicName: string): void {
    const { proxy, toxic } = this.findToxic(name, toxicName);
    this.clearTtl(toxic);
    proxy.removeToxic(toxic);
  }

  private clearTtl(toxic: ToxicState): void {
    if (toxic.ttlTimer !== undefined) {
      this.clock.clearTimeout(toxic.ttlTimer);
      toxic.ttlTimer = undefined;
    }
  }

  async reset(): Promise<void> {
    const errors: unknown[] = [];
    for (const proxy of this.proxies.values()) {
      for (const toxic of [...proxy.toxics]) {
        this.clearTtl(toxic);
        proxy.removeToxic(toxic);
      }
      try {
        await proxy.start();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  stats(): ProxyStats[] {
    return [...this.proxies.values()].map((p) => p.stats());
  }

  async close(): Promise<void> {
    const all = [...this.proxies.values()];
    this.proxies.clear();
    for (const proxy of all) for (const toxic of proxy.toxics) this.clearTtl(toxic);
    await Promise.all(all.map((p) => p.stop()));
  }

  private json(proxy: FaultProxy): ProxyJSON {
    return {
      name: proxy.name,
      listen: proxy.listen,
      upstream: proxy.upstream,
      enabled: proxy.enabled,
      toxics: proxy.toxics.map((t) => this.toxicJson(t)),
    };
  }

  private toxicJson(toxic: ToxicState): ToxicJSON {
    const json: ToxicJSON = {
      name: toxic.name,
      type: toxic.type,
      stream: toxic.stream,
      toxicity: toxic.toxicity,
      attributes: { ...toxic.attributes },
    };
    if (toxic.expiresAt === undefined) return json;
    const left = Math.max(0, Math.round(toxic.expiresAt - this.clock.now()));
    return { ...json, ttl_ms: left };
  }
}
