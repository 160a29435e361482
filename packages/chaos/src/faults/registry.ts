/** The in-process fault registry: inject, list, extend and remove faults; expiry; the audit log. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, systemClock } from '@nines/resilience';
import {
  clockOption,
  describe,
  functionOption,
  numberOption,
  optionsObject,
} from '@nines/resilience/options';
import { AUDIT_KEEP, AuditRing, type AuditSink, auditSink } from './audit.js';
import { sampleDelay } from './delay.js';
import { wrapFetch } from './fetch.js';
import { type RequestHandler, wrapHandler } from './middleware.js';
import { type FaultCore, FaultRecord, iso, NONE, Slot } from './record.js';
import { skewedClock } from './skew.js';
import { DEFAULT_TTL_MS, parseFault, targetName, ttlOption } from './spec.js';
import type { ActorOptions, AuditEntry, Fault, FaultInput } from './types.js';
import { wrapFunction } from './wrap.js';

/** Options of {@link createFaults}. */
export interface FaultsOptions {
  /** Time source for latency, expiry and audit times. Default `systemClock`. */
  readonly clock?: Clock;
  /** Uniform [0, 1) source for probabilities and delays. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Where changes are recorded: a file path (one JSON line per change; its directory must exist)
   * or a function called with each entry. Default: memory only (`faults.audit()`).
   */
  readonly audit?: string | ((entry: AuditEntry) => void);
  /** Time to live of faults injected without `ttlMs`. Default 300000 (5 min). */
  readonly defaultTtlMs?: number;
  /** Most faults active at once; injecting more throws a RangeError. Default 100. */
  readonly maxFaults?: number;
}

/** In-process faults; see {@link createFaults}. */
export interface Faults {
  /**
   * Starts a fault; it ends by itself after `ttlMs`. Throws a TypeError naming the field for bad
   * input, a RangeError past `maxFaults`, or the audit sink's error (the fault is then not active).
   */
  inject(input: FaultInput, options?: ActorOptions): Fault;
  /** Ends a fault; returns it, or `undefined` when no such fault is active. */
  remove(id: string, options?: ActorOptions): Fault | undefined;
  /** Ends every fault; returns how many were active. */
  clear(options?: ActorOptions): number;
  /** Renews a fault's time to live from now; `undefined` when no such fault is active. */
  extend(id: string, ttlMs: number, options?: ActorOptions): Fault | undefined;
  /** An active fault by id. */
  get(id: string): Fault | undefined;
  /** Active faults in injection order. */
  list(): Fault[];
  /** Number of active faults. */
  readonly size: number;
  /** The last `limit` audit entries kept in memory (up to 1000), oldest first. */
  audit(limit?: number): AuditEntry[];
  /** Calls `listener` after each change; returns a disposer. */
  onChange(listener: (entry: AuditEntry) => void): () => void;
  /** Wraps an async function; faults on `target` apply to its calls. */
  wrap<A extends unknown[], R>(
    target: string,
    fn: (...args: A) => Promise<R>,
  ): (...args: A) => Promise<R>;
  /** Wraps a node:http request handler; faults on `target` apply to its requests. */
  http<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
    target: string,
    handler: RequestHandler<Req, Res>,
  ): RequestHandler<Req, Res>;
  /** A fetch (over `base`, default `globalThis.fetch`) whose requests suffer the faults on `target`. */
  fetch(target: string, base?: typeof fetch): typeof fetch;
  /** A Clock over `base` (default the registry's clock), offset by the skew faults on `target`. */
  clock(target: string, base?: Clock): Clock;
}

const OWNER = 'createFaults';
const KEYS = ['clock', 'random', 'audit', 'defaultTtlMs', 'maxFaults'];

/** Faults made by {@link createFaults}, so the admin endpoint can tell a real registry. */
export const registries = new WeakSet<object>();

/**
 * An in-process fault registry. Faults live in memory and die at their TTL, so neither a crashed
 * process nor a crashed runner leaves one behind. Inject and extend are written to the audit sink
 * before they take effect (a failing sink refuses them); remove, clear and expiry always take
 * effect, and a failing sink is reported as a process warning.
 *
 * @example
 * const faults = createFaults({ audit: '/var/log/orders-faults.jsonl' });
 * const getStock = faults.wrap('store', (id: string, signal?: AbortSignal) => store.get(id, signal));
 * const f = faults.inject({ kind: 'latency', target: 'store', ms: 500, ttlMs: 60_000 });
 * faults.remove(f.id);
 */
export function createFaults(options?: FaultsOptions): Faults {
  const o = optionsObject<FaultsOptions>(OWNER, options, KEYS);
  const clock = clockOption<Clock>(OWNER, o.clock, systemClock);
  const random = functionOption<() => number>(OWNER, 'random', o.random, Math.random);
  const sink = auditSink(OWNER, o.audit);
  const defaultTtlMs = ttlOption(OWNER, 'defaultTtlMs', o.defaultTtlMs, DEFAULT_TTL_MS);
  const maxFaults = numberOption(OWNER, 'maxFaults', o.maxFaults, 100, {
    min: 1,
    max: 100_000,
    integer: true,
  });
  const registry = new Registry(clock, random, sink, defaultTtlMs, maxFaults);
  registries.add(registry);
  return registry;
}

function actorOf(owner: string, options: unknown): string {
  const o = optionsObject<ActorOptions>(owner, options, ['actor']);
  const actor = o.actor;
  if (actor === undefined) return 'code';
  if (typeof actor !== 'string' || actor === '' || actor.length > 200) {
    throw new TypeError(
      `${owner}: option "actor" must be a string of 1-200 characters, got ${describe(actor)}`,
    );
  }
  return actor;
}

function idOf(owner: string, id: unknown): string {
  if (typeof id !== 'string')
    throw new TypeError(`${owner}: id must be a string, got ${describe(id)}`);
  return id;
}

function warn(what: string, error: unknown): void {
  process.emitWarning(
    `${what}: ${error instanceof Error ? error.message : String(error)}`,
    'FaultsWarning',
  );
}

class Registry implements Faults, FaultCore {
  readonly time: Clock;
  delay = 0;
  readonly #random: () => number;
  readonly #sink: AuditSink | undefined;
  readonly #defaultTtlMs: number;
  readonly #maxFaults: number;
  readonly #active = new Map<string, FaultRecord>();
  readonly #slots = new Map<string, Slot>();
  readonly #ring = new AuditRing();
  readonly #listeners = new Set<(entry: AuditEntry) => void>();
  #timer: unknown;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(
    clock: Clock,
    random: () => number,
    sink: AuditSink | undefined,
    defaultTtlMs: number,
    maxFaults: number,
  ) {
    this.time = clock;
    this.#random = random;
    this.#sink = sink;
    this.#defaultTtlMs = defaultTtlMs;
    this.#maxFaults = maxFaults;
  }

  // ---- changes ----

  inject(input: FaultInput, options?: ActorOptions): Fault {
    const owner = 'faults.inject';
    const spec = parseFault(owner, input, this.#defaultTtlMs);
    const actor = actorOf(owner, options);
    this.#sweep();
    if (this.#active.size >= this.#maxFaults) {
      throw new RangeError(
        `${owner}: ${this.#maxFaults} faults are active already (option "maxFaults"); remove one or let it expire`,
      );
    }
    let id: string;
    do id = `f-${randomBytes(4).toString('hex')}`;
    while (this.#active.has(id));
    const record = new FaultRecord(id, spec, this.time.now());
    const entry = this.#entry('inject', actor, record.json);
    this.#sink?.(entry); // before the change: a fault that cannot be audited does not start
    this.#active.set(id, record);
    this.#changed();
    this.#publish(entry);
    return record.json;
  }

  extend(id: string, ttlMs: number, options?: ActorOptions): Fault | undefined {
    const owner = 'faults.extend';
    idOf(owner, id);
    if (ttlMs === undefined) throw new TypeError(`${owner}: option "ttlMs" is required`);
    const ttl = ttlOption(owner, 'ttlMs', ttlMs, this.#defaultTtlMs);
    const actor = actorOf(owner, options);
    this.#sweep();
    const record = this.#active.get(id);
    if (record === undefined) return undefined;
    const now = this.time.now();
    const renewed = record.snapshot(ttl, now + ttl);
    const entry = this.#entry('extend', actor, renewed);
    this.#sink?.(entry); // before the change, as for inject
    record.renew(ttl, now, renewed);
    this.#changed();
    this.#publish(entry);
    return record.json;
  }

  remove(id: string, options?: ActorOptions): Fault | undefined {
    const owner = 'faults.remove';
    idOf(owner, id);
    const actor = actorOf(owner, options);
    this.#sweep();
    const record = this.#active.get(id);
    if (record === undefined) return undefined;
    this.#active.delete(id);
    record.end();
    this.#changed();
    this.#record(this.#entry('remove', actor, record.json));
    return record.json;
  }

  clear(options?: ActorOptions): number {
    const actor = actorOf('faults.clear', options);
    this.#sweep();
    const ended = [...this.#active.values()];
    this.#active.clear();
    for (const r of ended) r.end();
    this.#changed();
    this.#record({
      time: iso(this.time.now()),
      action: 'clear',
      actor,
      faults: ended.map((r) => r.json),
    });
    return ended.length;
  }

  // ---- reads ----

  get(id: string): Fault | undefined {
    idOf('faults.get', id);
    this.#sweep();
    return this.#active.get(id)?.json;
  }

  list(): Fault[] {
    this.#sweep();
    return Array.from(this.#active.values(), (r) => r.json);
  }

  get size(): number {
    this.#sweep();
    return this.#active.size;
  }

  audit(limit?: number): AuditEntry[] {
    const n = numberOption('faults.audit', 'limit', limit, AUDIT_KEEP, {
      min: 1,
      integer: true,
      infinite: true,
    });
    return this.#ring.last(n);
  }

  onChange(listener: (entry: AuditEntry) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `faults.onChange: listener must be a function, got ${describe(listener)}`,
      );
    }
    // A wrapper per subscription, so the same function subscribed twice is disposed separately.
    const own = (entry: AuditEntry): void => listener(entry);
    this.#listeners.add(own);
    return () => {
      this.#listeners.delete(own);
    };
  }

  // ---- wrappers ----

  wrap<A extends unknown[], R>(
    target: string,
    fn: (...args: A) => Promise<R>,
  ): (...args: A) => Promise<R> {
    const name = targetName('faults.wrap', target);
    if (typeof fn !== 'function') {
      throw new TypeError(`faults.wrap: fn must be a function, got ${describe(fn)}`);
    }
    return wrapFunction(this, name, fn);
  }

  http<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
    target: string,
    handler: RequestHandler<Req, Res>,
  ): RequestHandler<Req, Res> {
    const name = targetName('faults.http', target);
    if (typeof handler !== 'function') {
      throw new TypeError(`faults.http: handler must be a function, got ${describe(handler)}`);
    }
    return wrapHandler(this, name, handler);
  }

  fetch(target: string, base?: typeof fetch): typeof fetch {
    const name = targetName('faults.fetch', target);
    const f = base === undefined ? globalThis.fetch : base;
    if (typeof f !== 'function') {
      throw new TypeError(`faults.fetch: base must be a fetch function, got ${describe(f)}`);
    }
    return wrapFetch(this, name, f);
  }

  clock(target: string, base?: Clock): Clock {
    const name = targetName('faults.clock', target);
    const b = (base ?? this.time) as Partial<Clock> | null;
    if (
      b === null ||
      typeof b !== 'object' ||
      typeof b.now !== 'function' ||
      typeof b.setTimeout !== 'function' ||
      typeof b.clearTimeout !== 'function'
    ) {
      throw new TypeError(
        `faults.clock: base must be a Clock with now(), setTimeout() and clearTimeout(), got ${describe(base)}`,
      );
    }
    return skewedClock(this, name, b as Clock);
  }

  // ---- FaultCore: the per-call path ----

  slot(name: string): Slot {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = new Slot(name);
      this.#fill(slot);
      this.#slots.set(name, slot);
    }
    return slot;
  }

  decide(slot: Slot): FaultRecord | undefined {
    const list = slot.calls;
    const now = this.time.now();
    let delay = 0;
    let terminal: FaultRecord | undefined;
    for (let i = 0; i < list.length; i++) {
      const f = list[i] as FaultRecord;
      if (f.removed || f.expiresAt <= now) continue;
      const s = f.spec;
      if (s.kind === 'latency') {
        if (s.probability < 1 && !(this.#random() < s.probability)) continue;
        delay += sampleDelay(s.distribution, s.ms, s.jitterMs, this.#random);
      } else if (terminal === undefined) {
        if (s.probability < 1 && !(this.#random() < s.probability)) continue;
        terminal = f;
      }
    }
    this.delay = delay;
    return terminal;
  }

  offset(slot: Slot): number {
    const now = this.time.now();
    let sum = 0;
    for (const f of slot.skews) {
      if (!f.removed && f.expiresAt > now && f.spec.kind === 'skew') sum += f.spec.offsetMs;
    }
    return sum;
  }

  // ---- internals ----

  #entry(
    action: 'inject' | 'remove' | 'extend' | 'expire',
    actor: string,
    fault: Fault,
  ): AuditEntry {
    return { time: iso(this.time.now()), action, actor, fault };
  }

  /** Records a change that has already happened: a failing sink cannot undo it. */
  #record(entry: AuditEntry): void {
    if (this.#sink !== undefined) {
      try {
        this.#sink(entry);
      } catch (error) {
        warn(`faults: audit entry '${entry.action}' not written`, error);
      }
    }
    this.#publish(entry);
  }

  #publish(entry: AuditEntry): void {
    this.#ring.push(entry);
    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch (error) {
        warn('faults: onChange listener threw', error);
      }
    }
  }

  /** Ends faults past their time to live. */
  #sweep(): void {
    if (this.#active.size === 0) return;
    const now = this.time.now();
    const expired: FaultRecord[] = [];
    for (const r of this.#active.values()) if (r.expiresAt <= now) expired.push(r);
    if (expired.length === 0) return;
    for (const r of expired) {
      this.#active.delete(r.id);
      r.end();
    }
    this.#changed();
    for (const r of expired) this.#record(this.#entry('expire', 'ttl', r.json));
  }

  /** Refills every slot and re-arms the expiry timer. */
  #changed(): void {
    for (const slot of this.#slots.values()) this.#fill(slot);
    this.#arm();
  }

  #fill(slot: Slot): void {
    const calls: FaultRecord[] = [];
    const skews: FaultRecord[] = [];
    for (const r of this.#active.values()) {
      if (!r.matches(slot.name)) continue;
      if (r.spec.kind === 'skew') skews.push(r);
      else calls.push(r);
    }
    slot.calls = calls.length === 0 ? NONE : calls;
    slot.skews = skews.length === 0 ? NONE : skews;
  }

  /** One timer for the registry, armed for the soonest expiry; none without faults. */
  #arm(): void {
    let soonest = Number.POSITIVE_INFINITY;
    for (const r of this.#active.values()) if (r.expiresAt < soonest) soonest = r.expiresAt;
    if (soonest === this.#timerAt) return;
    if (this.#timer !== undefined) {
      this.time.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#timerAt = soonest;
    if (soonest === Number.POSITIVE_INFINITY) return;
    const handle = this.time.setTimeout(this.#onTimer, Math.max(0, soonest - this.time.now()));
    // Expiry must not keep a process alive that has nothing else to do.
    (handle as { unref?: () => void } | null)?.unref?.();
    this.#timer = handle;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#sweep();
    // Timers may fire a little early against the clock: re-arm for what is still pending.
    this.#arm();
  };
}
