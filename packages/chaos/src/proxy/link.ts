/**
 * One proxied connection: the client socket, the upstream socket, and two links (upstream:
 * client -> server, downstream: server -> client), each with its chain of toxic stages.
 */

import type { Socket } from 'node:net';
import type { Clock } from '@nines/resilience';
import { createHttpStage } from './http-toxics.js';
import {
  createStage,
  isHttpToxicType,
  type LinkControl,
  type PeerTap,
  type Sink,
  type Stage,
  type ToxicState,
} from './toxics.js';
import type { Stream } from './types.js';

/**
 * Bytes a link's toxics may hold before the source is paused. Like Toxiproxy's 1024-chunk (up to 32 MB)
 * buffer, it is large so that a latency toxic does not throttle throughput, and bounded so that
 * a stalled link (bandwidth 0) cannot grow without limit.
 */
const HELD_HIGH = 64 * 1024 * 1024;
const HELD_LOW = (HELD_HIGH * 3) / 4;

/** A byte counter shared by every link of one direction of a proxy. */
export interface ByteCounter {
  bytes: number;
}

/** What a connection needs from its proxy. */
export interface ConnectionOwner {
  readonly clock: Clock;
  readonly random: () => number;
  readonly upstreamBytes: ByteCounter;
  readonly downstreamBytes: ByteCounter;
  /** A dial or upstream socket error, counted once per connection. */
  upstreamFailed(): void;
  closed(conn: Connection): void;
}

/**
 * One direction of a connection. With no toxics, chunks go straight from the source's `'data'`
 * to `dest.write`, pausing on backpressure: what `pipe()` does, with nothing allocated per chunk.
 */
export class Link implements Sink, LinkControl {
  readonly clock: Clock;
  readonly random: () => number;
  readonly stream: Stream;
  private readonly conn: Connection;
  private readonly source: Socket;
  private readonly dest: Socket;
  private readonly counter: ByteCounter;
  private head: Sink = this;
  private readonly stages: Stage[] = [];
  private held = 0;
  private destBlocked = false;
  private heldBlocked = false;
  private ended = false;
  private closeWhenEnded = false;
  /** Toxics of the other link that watch this link's traffic (HTTP exchanges); null when none. */
  private taps: PeerTap[] | null = null;
  private readonly onData: (chunk: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onDrain: () => void;

  constructor(
    conn: Connection,
    owner: ConnectionOwner,
    stream: Stream,
    source: Socket,
    dest: Socket,
  ) {
    this.conn = conn;
    this.clock = owner.clock;
    this.random = owner.random;
    this.stream = stream;
    this.source = source;
    this.dest = dest;
    this.counter = stream === 'upstream' ? owner.upstreamBytes : owner.downstreamBytes;
    // Bound once per link, never per chunk.
    this.onData = (chunk) => {
      this.counter.bytes += chunk.length;
      if (this.taps !== null) for (const tap of this.taps) tap.peerData(chunk);
      if (this.head === this) {
        if (!this.dest.write(chunk)) this.block();
        return;
      }
      this.held += chunk.length;
      this.head.write(chunk, this.clock.now());
      if (this.held > HELD_HIGH && !this.heldBlocked) {
        this.heldBlocked = true;
        this.source.pause();
      }
    };
    this.onEnd = () => this.head.end();
    this.onDrain = () => {
      this.destBlocked = false;
      if (!this.heldBlocked) this.source.resume();
    };
    source.on('data', this.onData);
    source.on('end', this.onEnd);
    dest.on('drain', this.onDrain);
  }

  private block(): void {
    this.destBlocked = true;
    this.source.pause();
  }

  /** The end of the chain: writes to the destination socket. */
  write(data: Buffer, _ts: number): void {
    this.held -= data.length;
    if (!this.ended && !this.dest.destroyed && !this.dest.write(data) && !this.destBlocked) {
      this.block();
    }
    if (this.heldBlocked && this.held < HELD_LOW) this.unhold();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.dest.destroyed) this.dest.end();
    if (this.closeWhenEnded) this.conn.shutdown();
    else this.conn.linkEnded();
  }

  dropped(bytes: number): void {
    this.held -= bytes;
    if (this.heldBlocked && this.held < HELD_LOW) this.unhold();
  }

  private unhold(): void {
    this.heldBlocked = false;
    if (!this.destBlocked) this.source.resume();
  }

  closeAfterEnd(): void {
    this.closeWhenEnded = true;
  }

  reset(): void {
    this.conn.reset();
  }

  added(bytes: number): void {
    this.held += bytes;
  }

  reply(data: Buffer): void {
    this.peer().inject(data);
  }

  /** Writes bytes made up by the other link's toxics into this link's chain. */
  private inject(data: Buffer): void {
    if (this.ended) return;
    this.held += data.length;
    this.head.write(data, this.clock.now());
  }

  private peer(): Link {
    return this.conn.link(this.stream === 'upstream' ? 'downstream' : 'upstream');
  }

  watchPeer(tap: PeerTap): void {
    const peer = this.peer();
    peer.taps = peer.taps === null ? [tap] : [...peer.taps, tap];
  }

  unwatchPeer(tap: PeerTap): void {
    const peer = this.peer();
    const taps = peer.taps?.filter((t) => t !== tap) ?? [];
    peer.taps = taps.length === 0 ? null : taps;
  }

  /** Appends a toxic to the end of this link's chain. */
  add(toxic: ToxicState): void {
    const stage = isHttpToxicType(toxic.type)
      ? createHttpStage(this, toxic, this)
      : createStage(this, toxic, this);
    const last = this.stages[this.stages.length - 1];
    if (last) last.next = stage;
    else this.head = stage;
    this.stages.push(stage);
  }

  /** Re-reads a toxic's attributes and redraws its toxicity on this link. */
  update(toxic: ToxicState): void {
    for (const stage of this.stages) if (stage.toxic === toxic) stage.apply();
  }

  /** Splices a toxic out; its buffered chunks are forwarded to the rest of the chain. */
  remove(toxic: ToxicState): void {
    const i = this.stages.findIndex((s) => s.toxic === toxic);
    if (i < 0) return;
    const stage = this.stages[i]!;
    this.stages.splice(i, 1);
    const prev = this.stages[i - 1];
    if (prev) prev.next = stage.next;
    else this.head = stage.next;
    stage.remove();
  }

  dispose(): void {
    for (const stage of this.stages) stage.dispose();
    this.source.off('data', this.onData);
    this.dest.off('drain', this.onDrain);
  }

  get isEnded(): boolean {
    return this.ended;
  }
}

/** A client connection and its upstream connection. */
export class Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly up: Link;
  readonly down: Link;
  private readonly owner: ConnectionOwner;
  private failed = false;
  private open = 2;

  constructor(
    owner: ConnectionOwner,
    client: Socket,
    upstream: Socket,
    toxics: readonly ToxicState[],
  ) {
    this.owner = owner;
    this.client = client;
    this.upstream = upstream;
    this.up = new Link(this, owner, 'upstream', client, upstream);
    this.down = new Link(this, owner, 'downstream', upstream, client);
    for (const toxic of toxics) this.link(toxic.stream).add(toxic);
    client.on('error', () => {
      // The client went away abruptly: nothing more can be delivered either way.
      this.upstream.destroy();
    });
    upstream.on('error', () => {
      if (!this.failed) {
        this.failed = true;
        this.owner.upstreamFailed();
      }
      this.client.destroy();
    });
    const onClose = (): void => {
      if (--this.open === 0) {
        this.up.dispose();
        this.down.dispose();
        this.owner.closed(this);
      }
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
  }

  link(stream: Stream): Link {
    return stream === 'upstream' ? this.up : this.down;
  }

  /** Both directions ended: make sure neither socket lingers. */
  linkEnded(): void {
    if (this.up.isEnded && this.down.isEnded) {
      this.client.destroySoon();
      this.upstream.destroySoon();
    }
  }

  /** Closes both sockets after what was written to them is flushed. */
  shutdown(): void {
    this.client.destroySoon();
    this.upstream.destroySoon();
  }

  /** Closes both sockets at once (a disabled or removed proxy). */
  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  /** Closes both sockets with a TCP RST. */
  reset(): void {
    resetSocket(this.client);
    resetSocket(this.upstream);
  }
}

function resetSocket(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
