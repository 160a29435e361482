/** Shapes of in-process faults: what a caller injects, what the registry reports, and the audit log. */

/** The four in-process fault kinds. */
export type FaultKind = 'latency' | 'error' | 'block' | 'skew';

/** How a latency fault draws each call's delay. */
export type LatencyDistribution = 'fixed' | 'uniform' | 'normal' | 'exponential';

/** Fields every fault input has. */
export interface FaultInputBase {
  /**
   * The target name(s) the fault applies to, as given to `wrap`, `http`, `fetch` or `clock`
   * (`[a-zA-Z0-9._:/-]+`), or `'*'` for every target.
   */
  readonly target: string | readonly string[];
  /** Share of calls affected, drawn per call. Default 1. */
  readonly probability?: number;
  /** Time to live in ms; the fault expires by itself after it. Default 300000 (5 min), at most one day. */
  readonly ttlMs?: number;
  /** Free text for the audit log (why, ticket, experiment). */
  readonly note?: string;
}

/** Delays each affected call. */
export interface LatencyFaultInput extends FaultInputBase {
  readonly kind: 'latency';
  /** Delay in ms (the mean for `normal` and `exponential`). */
  readonly ms: number;
  /** Spread in ms: the half-width for `uniform`, the standard deviation for `normal`. Default 0. */
  readonly jitterMs?: number;
  /** Default `'fixed'` when `jitterMs` is 0, else `'uniform'`. */
  readonly distribution?: LatencyDistribution;
}

/** Fails each affected call. */
export interface ErrorFaultInput extends FaultInputBase {
  readonly kind: 'error';
  /** HTTP status (400..599) the middleware answers and the fetch wrapper returns. */
  readonly status?: number;
  /** Default `"injected fault"`. */
  readonly message?: string;
  /** The error's `code`. Default `'EFAULTINJECTED'`. */
  readonly code?: string;
}

/** Makes the dependency unreachable: calls hang until the fault ends, or are refused at once. */
export interface BlockFaultInput extends FaultInputBase {
  readonly kind: 'block';
  /** Default `'hang'`. */
  readonly mode?: 'hang' | 'refuse';
}

/** Offsets the target's fault clock (`faults.clock(target)`). Never delays or fails calls. */
export interface SkewFaultInput extends FaultInputBase {
  readonly kind: 'skew';
  /** Added to `now()`; finite, at most 30 days either way. */
  readonly offsetMs: number;
}

/** What `faults.inject` and `POST /faults` accept. */
export type FaultInput = LatencyFaultInput | ErrorFaultInput | BlockFaultInput | SkewFaultInput;

/** Fields every active fault reports. */
export interface FaultBase {
  /** Short unique id, e.g. `f-1a2b3c4d`. */
  readonly id: string;
  readonly kind: FaultKind;
  readonly target: readonly string[];
  readonly probability: number;
  readonly ttlMs: number;
  /** ISO time on the registry's clock. */
  readonly createdAt: string;
  /** ISO time on the registry's clock; `createdAt + ttlMs`, or renewal time + ttlMs after `extend`. */
  readonly expiresAt: string;
  readonly note?: string;
}

export interface LatencyFault extends FaultBase {
  readonly kind: 'latency';
  readonly ms: number;
  readonly jitterMs: number;
  readonly distribution: LatencyDistribution;
}

export interface ErrorFault extends FaultBase {
  readonly kind: 'error';
  readonly status?: number;
  readonly message: string;
  readonly code: string;
}

export interface BlockFault extends FaultBase {
  readonly kind: 'block';
  readonly mode: 'hang' | 'refuse';
}

export interface SkewFault extends FaultBase {
  readonly kind: 'skew';
  readonly offsetMs: number;
}

/** An active fault as JSON (a snapshot: `extend` returns a new one). */
export type Fault = LatencyFault | ErrorFault | BlockFault | SkewFault;

/** Who changed what, when. One entry per change. */
export interface FaultAuditEntry {
  /** ISO time on the registry's clock. */
  readonly time: string;
  readonly action: 'inject' | 'remove' | 'extend' | 'expire';
  /** `'code'` (or the name passed as `actor`), `'admin <remote address>'`, or `'ttl'` for expiry. */
  readonly actor: string;
  /** The fault after the change (for remove and expire, as it was). */
  readonly fault: Fault;
}

/** `faults.clear()`: every fault that was active. */
export interface ClearAuditEntry {
  readonly time: string;
  readonly action: 'clear';
  readonly actor: string;
  readonly faults: readonly Fault[];
}

/** One line of the audit log. */
export type AuditEntry = FaultAuditEntry | ClearAuditEntry;

/** Who makes a change, for the audit log. */
export interface ActorOptions {
  /** Default `'code'`. */
  readonly actor?: string;
}
