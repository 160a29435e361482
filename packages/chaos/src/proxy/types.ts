/**
 * The shapes of the fault proxy, as the Toxiproxy 2.x HTTP API speaks them, and the registry
 * interface the admin API drives.
 */

/** Directions of a link: `upstream` is client -> server, `downstream` server -> client. */
export type Stream = 'upstream' | 'downstream';

/** Toxic types nines knows (Toxiproxy's, plus HTTP-aware ones). */
export type ToxicType =
  | 'latency'
  | 'bandwidth'
  | 'slow_close'
  | 'timeout'
  | 'reset_peer'
  | 'slicer'
  | 'limit_data'
  | 'noop'
  | 'http_delay'
  | 'http_status';

/** A toxic as the API shows it. */
export interface ToxicJSON {
  readonly name: string;
  readonly type: string;
  readonly stream: Stream;
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, number>>;
  /** nines only: ms until the toxic removes itself; absent when it has no time to live. */
  readonly ttl_ms?: number;
}

/** A proxy as the API shows it. */
export interface ProxyJSON {
  readonly name: string;
  /** The resolved listen address (`127.0.0.1:NNNNN` for port 0). */
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
  readonly toxics: readonly ToxicJSON[];
}

/** Body of proxy creation and of populate entries. */
export interface ProxyInput {
  readonly name?: unknown;
  readonly listen?: unknown;
  readonly upstream?: unknown;
  readonly enabled?: unknown;
}

/** Body of toxic creation. `toxicity` defaults to 1 only when absent; `stream` to downstream. */
export interface ToxicInput {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly stream?: unknown;
  readonly toxicity?: unknown;
  readonly attributes?: unknown;
  /** nines only: time to live in ms; the toxic removes itself after it. */
  readonly ttl_ms?: unknown;
}

/** Body of toxic update: only attributes (merged onto the current ones) and toxicity. */
export interface ToxicUpdate {
  readonly attributes?: unknown;
  readonly toxicity?: unknown;
}

/**
 * An error with the HTTP status and message Toxiproxy answers with, e.g. 404 `proxy not found`,
 * 409 `proxy already exists`, 400 `missing required field: name`.
 */
export class ProxyApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ProxyApiError';
    this.status = status;
  }
}

/** Traffic counters of one proxy since it was created. */
export interface ProxyStats {
  readonly name: string;
  /** Bytes received from clients and forwarded upstream / received from upstream and forwarded. */
  readonly bytesUpstream: number;
  readonly bytesDownstream: number;
  readonly connectionsTotal: number;
  readonly connectionsActive: number;
  /** Connections whose upstream dial failed (refused, unresolvable, reset). */
  readonly upstreamErrors: number;
}

/** The proxies of one server: what the admin API (and code) drives. */
export interface ProxyRegistry {
  /** 400 missing name/upstream, 409 exists, 500 listen error (message as Node gives it). */
  create(input: ProxyInput): Promise<ProxyJSON>;
  /**
   * Toxiproxy's populate: validates every entry first (nothing created on a bad one, 400 with
   * `... at proxy N`), then adds or replaces in order; an existing proxy with equal listen and
   * upstream is kept with its toxics.
   */
  populate(inputs: readonly ProxyInput[]): Promise<ProxyJSON[]>;
  get(name: string): ProxyJSON;
  list(): Readonly<Record<string, ProxyJSON>>;
  /** Partial update; a new listen or upstream restarts the proxy and drops its connections. */
  update(name: string, input: ProxyInput): Promise<ProxyJSON>;
  remove(name: string): Promise<void>;
  toxics(name: string): ToxicJSON[];
  addToxic(name: string, input: ToxicInput): ToxicJSON;
  getToxic(name: string, toxic: string): ToxicJSON;
  updateToxic(name: string, toxic: string, input: ToxicUpdate): ToxicJSON;
  removeToxic(name: string, toxic: string): void;
  /** Enables every proxy and removes every toxic (proxies stay). */
  reset(): Promise<void>;
  stats(): ProxyStats[];
  /** Stops every proxy and closes every connection. */
  close(): Promise<void>;
}
