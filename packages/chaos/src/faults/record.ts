/**
 * Internal state shared by the registry and the wrappers: one record per active fault, one slot
 * per target name. Wrappers hold their slot; the registry refills every slot when faults change,
 * so a call only reads `slot.calls.length` when nothing is injected on its target.
 */
import type { Clock } from '@nines/resilience';
import { InjectedFaultError } from './errors.js';
import type { FaultSpec } from './spec.js';
import type { Fault } from './types.js';

/** An active fault. Mutable only by the registry. */
export class FaultRecord {
  readonly id: string;
  readonly spec: FaultSpec;
  readonly createdAt: number;
  ttlMs: number;
  expiresAt: number;
  /** Set once removed or expired: hung calls proceed, wrappers skip it. */
  removed = false;
  /** Calls hung on this fault (block/hang), released when it ends. */
  hangers: Set<() => void> | undefined;
  json: Fault;

  constructor(id: string, spec: FaultSpec, now: number) {
    this.id = id;
    this.spec = spec;
    this.createdAt = now;
    this.ttlMs = spec.ttlMs;
    this.expiresAt = now + spec.ttlMs;
    this.json = this.snapshot();
  }

  /** Applies to calls on `name` (an exact name or `'*'`). */
  matches(name: string): boolean {
    const t = this.spec.targets;
    return t.includes('*') || t.includes(name);
  }

  /** Renews the time to live from `now`; `json` is {@link snapshot} of the renewed times. */
  renew(ttlMs: number, now: number, json: Fault): void {
    this.ttlMs = ttlMs;
    this.expiresAt = now + ttlMs;
    this.json = json;
  }

  /** Ends the fault: wrappers skip it from now on and hung calls proceed. */
  end(): void {
    this.removed = true;
    const hangers = this.hangers;
    this.hangers = undefined;
    if (hangers) for (const release of hangers) release();
  }

  /** The fault as JSON, with its own times or, for a renewal about to be recorded, the new ones. */
  snapshot(ttlMs = this.ttlMs, expiresAt = this.expiresAt): Fault {
    const s = this.spec;
    const base = {
      id: this.id,
      kind: s.kind,
      target: Object.freeze([...s.targets]),
      probability: s.probability,
      ttlMs,
      createdAt: iso(this.createdAt),
      expiresAt: iso(expiresAt),
      ...(s.note === undefined ? {} : { note: s.note }),
    };
    let json: Fault;
    switch (s.kind) {
      case 'latency':
        json = {
          ...base,
          kind: s.kind,
          ms: s.ms,
          jitterMs: s.jitterMs,
          distribution: s.distribution,
        };
        break;
      case 'error':
        json = {
          ...base,
          kind: s.kind,
          ...(s.status === undefined ? {} : { status: s.status }),
          message: s.message,
          code: s.code,
        };
        break;
      case 'block':
        json = { ...base, kind: s.kind, mode: s.mode };
        break;
      case 'skew':
        json = { ...base, kind: s.kind, offsetMs: s.offsetMs };
        break;
    }
    return Object.freeze(json);
  }
}

/** Calls of one target: the faults that may delay or fail them, and the skews of its clock. */
export class Slot {
  readonly name: string;
  /** Latency, error and block faults on this target, in injection order. */
  calls: readonly FaultRecord[] = NONE;
  /** Skew faults on this target. */
  skews: readonly FaultRecord[] = NONE;

  constructor(name: string) {
    this.name = name;
  }
}

export const NONE: readonly FaultRecord[] = Object.freeze([]);

/** What the wrappers need from the registry. */
export interface FaultCore {
  /** The registry's clock (latency waits, expiry). */
  readonly time: Clock;
  /** The slot of a target name, created on first use. */
  slot(name: string): Slot;
  /**
   * Draws the faults of one call: returns the error/block fault that applies (if any) and leaves
   * the summed latency in {@link FaultCore.delay}. Synchronous, so one shared field is enough.
   */
  decide(slot: Slot): FaultRecord | undefined;
  /** Latency of the last {@link FaultCore.decide}, in ms. */
  readonly delay: number;
  /** Sum of the active skew offsets of a slot. */
  offset(slot: Slot): number;
}

/** The error an `error` fault raises around a function or a fetch without status. */
export function faultError(f: FaultRecord): InjectedFaultError {
  const s = f.spec;
  return s.kind === 'error'
    ? new InjectedFaultError(s.message, s.code, f.id, s.status)
    : new InjectedFaultError(
        `connect ECONNREFUSED (refused by fault ${f.id})`,
        'ECONNREFUSED',
        f.id,
      );
}

/** ISO time of a clock reading; a clock outside Date's range falls back to the wall clock. */
export function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
}
