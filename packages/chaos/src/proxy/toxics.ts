/**
 * Toxics: the per-link stages that delay, throttle, slice, truncate, drop or reset traffic,
 * with the behaviour of Toxiproxy 2.x's `toxics/*.go`.
 *
 * A link's chain is a list of stages in insertion order; each stage hands chunks to the next and
 * the last one hands them to the link, which writes to the destination socket. Chunks carry the
 * time they were read (or last delayed), so stacked latencies add up as in Toxiproxy.
 */

import type { Clock, TimerHandle } from '@nines/resilience';
import type { Stream, ToxicType } from './types.js';

/** Attribute names of each toxic type, in Toxiproxy's JSON order. */
export const TOXIC_ATTRIBUTES: Readonly<Record<ToxicType, readonly string[]>> = {
  latency: ['latency', 'jitter'],
  bandwidth: ['rate'],
  slow_close: ['delay'],
  timeout: ['timeout'],
  reset_peer: ['timeout'],
  slicer: ['average_size', 'size_variation', 'delay'],
  limit_data: ['bytes'],
  noop: [],
  http_delay: ['delay'],
  http_status: ['status'],
};

/** The HTTP-aware types (nines only): they parse messages and act per request or response. */
export function isHttpToxicType(type: ToxicType): type is 'http_delay' | 'http_status' {
  return type === 'http_delay' || type === 'http_status';
}

/**
 * Checks attribute values beyond "non-negative integer"; returns the problem, or undefined.
 * `http_status`'s `status` must be 0 (meaning 503) or 100-599.
 */
export function attributeProblem(
  type: ToxicType,
  attrs: Readonly<Record<string, number>>,
): string | undefined {
  if (type === 'http_status') {
    const status = attrs.status ?? 0;
    if (status !== 0 && (status < 100 || status > 599)) {
      return `attribute "status" must be an HTTP status between 100 and 599, got ${status}`;
    }
  }
  return undefined;
}

/** Toxiproxy's default stream is downstream; the HTTP-aware types act on requests by default. */
export function defaultStream(type: unknown): Stream {
  return type === 'http_delay' || type === 'http_status' ? 'upstream' : 'downstream';
}

/** Receives the chunks the other link of the connection reads, before its toxics. */
export interface PeerTap {
  peerData(chunk: Buffer): void;
}

/** Whether `type` names a toxic this proxy implements. */
export function isToxicType(type: unknown): type is ToxicType {
  return typeof type === 'string' && Object.hasOwn(TOXIC_ATTRIBUTES, type);
}

/** A toxic as a proxy holds it; every link of its stream runs one stage for it. */
export interface ToxicState {
  readonly name: string;
  readonly type: ToxicType;
  readonly stream: Stream;
  toxicity: number;
  attributes: Record<string, number>;
  /** Clock time at which the toxic removes itself, when it has a time to live. */
  expiresAt?: number;
  ttlTimer?: TimerHandle;
}

/** Where a stage sends its output: the next stage, or the link writing to the socket. */
export interface Sink {
  write(data: Buffer, ts: number): void;
  end(): void;
}

/** What a stage may ask of its link. */
export interface LinkControl {
  readonly clock: Clock;
  readonly random: () => number;
  /** Bytes that left the chain without reaching the destination (dropped or truncated). */
  dropped(bytes: number): void;
  /** Once the end reaches the destination, close the whole connection (Toxiproxy's stub.Close). */
  closeAfterEnd(): void;
  /** Sends a TCP reset on both sockets. */
  reset(): void;
  /** Bytes a stage made up itself (a fault response), counted like bytes read. */
  added(bytes: number): void;
  /** Sends bytes back to this link's source, through the other link's chain. */
  reply(data: Buffer): void;
  /** Starts / stops showing the other link's incoming chunks to `tap`. */
  watchPeer(tap: PeerTap): void;
  unwatchPeer(tap: PeerTap): void;
}

/** Schedules a clock timer that does not keep the process alive on its own. */
export function unrefTimer(clock: Clock, fn: () => void, ms: number): TimerHandle {
  const handle = clock.setTimeout(fn, ms);
  if (handle !== null && typeof handle === 'object' && 'unref' in handle) {
    const unref = (handle as { unref?: unknown }).unref;
    if (typeof unref === 'function') unref.call(handle);
  }
  return handle;
}

/**
 * One toxic on one link. Toxicity is drawn when the stage starts and again on every update; an
 * inactive stage passes chunks through untouched.
 */
export abstract class Stage implements Sink {
  next: Sink;
  readonly toxic: ToxicState;
  protected readonly link: LinkControl;
  protected active = false;
  /** The end was passed on: later chunks are dropped. */
  protected done = false;
  /** The end arrived while chunks were still buffered. */
  protected endPending = false;

  constructor(link: LinkControl, toxic: ToxicState, next: Sink) {
    this.link = link;
    this.toxic = toxic;
    this.next = next;
  }

  /** Draws toxicity and reads attributes; called at start and on every update. */
  apply(): void {
    const was = this.active;
    const t = this.toxic.toxicity;
    this.active = t >= 1 || (t > 0 && this.link.random() < t);
    if (was && !this.active) this.flush();
    this.configure(this.active && !was);
  }

  write(data: Buffer, ts: number): void {
    if (this.done) this.link.dropped(data.length);
    else if (this.active) this.take(data, ts);
    else this.next.write(data, ts);
  }

  end(): void {
    if (this.done) return;
    if (this.active) this.takeEnd();
    else this.passEnd();
  }

  /** Removal: buffered chunks are forwarded (and a pending end), timers cleared. */
  remove(): void {
    this.flush();
  }

  /** The connection is gone: clear timers, forward nothing. */
  dispose(): void {
    this.done = true;
    this.clearTimers();
  }

  protected passEnd(): void {
    this.done = true;
    this.endPending = false;
    this.next.end();
  }

  /** Closes the link from inside the chain: the end goes on, then the connection closes. */
  protected closeLink(): void {
    if (this.done) return;
    this.clearTimers();
    this.link.closeAfterEnd();
    this.passEnd();
  }

  protected takeEnd(): void {
    if (this.buffered()) this.endPending = true;
    else this.passEnd();
  }

  /** Called when the buffer empties: passes an end that was waiting for it. */
  protected drained(): void {
    if (this.endPending) this.passEnd();
  }

  protected attr(name: string): number {
    return this.toxic.attributes[name] ?? 0;
  }

  protected abstract take(data: Buffer, ts: number): void;
  protected abstract configure(activated: boolean): void;
  /** Emits every buffered chunk now, in order, and clears timers. */
  protected abstract flush(): void;
  protected abstract buffered(): boolean;
  protected abstract clearTimers(): void;
}

/** A FIFO of chunks with one timestamp each (parallel arrays: no wrapper object per chunk). */
class ChunkQueue {
  data: Buffer[] = [];
  ts: number[] = [];
  get length(): number {
    return this.data.length;
  }
  push(data: Buffer, ts: number): void {
    this.data.push(data);
    this.ts.push(ts);
  }
  drainTo(next: Sink): void {
    const data = this.data;
    const ts = this.ts;
    this.data = [];
    this.ts = [];
    for (let i = 0; i < data.length; i++) next.write(data[i]!, ts[i]!);
  }
}

abstract class TimedStage extends Stage {
  protected timer: TimerHandle | undefined = undefined;
  protected clearTimers(): void {
    if (this.timer !== undefined) {
      this.link.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/** A timed stage that holds chunks in a queue; a flush passes them all on at once. */
abstract class QueuedStage extends TimedStage {
  protected readonly queue = new ChunkQueue();

  protected flush(): void {
    this.clearTimers();
    this.queue.drainTo(this.next);
    this.drained();
  }

  protected buffered(): boolean {
    return this.queue.length > 0;
  }
}

/** Pass-through (Toxiproxy's `noop`). */
export class NoopStage extends Stage {
  protected take(data: Buffer, ts: number): void {
    this.next.write(data, ts);
  }
  protected configure(): void {}
  protected flush(): void {}
  protected buffered(): boolean {
    return false;
  }
  protected clearTimers(): void {}
}

/**
 * Delays each chunk by `latency` ms ± `jitter` relative to its timestamp, keeping order. Chunks
 * are buffered, so the delay does not throttle throughput; one timer serves the queue head.
 */
export class LatencyStage extends QueuedStage {
  private latency = 0;
  private jitter = 0;
  private last = Number.NEGATIVE_INFINITY;
  private readonly onTimer = (): void => this.fire();

  protected configure(): void {
    this.latency = this.attr('latency');
    this.jitter = this.attr('jitter');
  }

  protected take(data: Buffer, ts: number): void {
    let delay = this.latency;
    if (this.jitter > 0) delay += Math.floor(this.link.random() * 2 * this.jitter) - this.jitter;
    let at = ts + delay;
    // A chunk never overtakes the one before it (Toxiproxy sleeps per chunk, in order).
    if (at < this.last) at = this.last;
    this.last = at;
    this.queue.push(data, at);
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    const wait = (this.queue.ts[0] ?? 0) - this.link.clock.now();
    this.timer = unrefTimer(this.link.clock, this.onTimer, Math.max(wait, 0));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.link.clock.now() + 0.5;
    const q = this.queue;
    let n = 0;
    while (n < q.data.length && q.ts[n]! <= now) n++;
    const data = q.data.splice(0, n);
    const ts = q.ts.splice(0, n);
    for (let i = 0; i < n; i++) this.next.write(data[i]!, ts[i]!);
    if (this.done) return;
    if (q.length > 0) this.arm();
    else this.drained();
  }
}

/**
 * Limits the link to `rate` KB/s (KB = 1000 bytes): chunks larger than 100 ms worth are split
 * into 100 ms slices. `rate: 0` holds all data (a stalled, half-open connection).
 */
export class BandwidthStage extends QueuedStage {
  private rate = 0;
  private avail = 0;
  private pending = 0;
  private readonly onTimer = (): void => this.fire();

  protected configure(): void {
    const rate = this.attr('rate');
    if (rate === this.rate) return;
    this.rate = rate;
    if (this.timer !== undefined) this.clearTimers();
    if (this.active) this.schedule();
  }

  protected take(data: Buffer, ts: number): void {
    this.queue.push(data, ts);
    if (this.timer === undefined) this.schedule();
  }

  private schedule(): void {
    const head = this.queue.data[0];
    if (head === undefined) {
      this.drained();
      return;
    }
    if (this.rate <= 0) return;
    const size = Math.min(head.length, this.rate * 100);
    const now = this.link.clock.now();
    if (this.avail < now) this.avail = now;
    // rate KB/s is rate bytes per ms; the schedule carries rounding forward, so the long-run
    // rate is exact even though each timer fires a little late.
    this.avail += size / this.rate;
    this.pending = size;
    this.timer = unrefTimer(this.link.clock, this.onTimer, this.avail - now);
  }

  private fire(): void {
    this.timer = undefined;
    const q = this.queue;
    const head = q.data[0];
    if (head === undefined) return;
    const ts = q.ts[0]!;
    if (this.pending >= head.length) {
      q.data.shift();
      q.ts.shift();
      this.next.write(head, ts);
    } else {
      q.data[0] = head.subarray(this.pending);
      this.next.write(head.subarray(0, this.pending), ts);
    }
    if (!this.done && this.timer === undefined) this.schedule();
  }
}

/** Passes data; when the source ends, waits `delay` ms before passing the end (close). */
export class SlowCloseStage extends TimedStage {
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.passEnd();
  };
  protected configure(): void {}
  protected take(data: Buffer, ts: number): void {
    this.next.write(data, ts);
  }
  protected override takeEnd(): void {
    if (this.timer === undefined) {
      this.timer = unrefTimer(this.link.clock, this.onTimer, this.attr('delay'));
    }
  }
  protected flush(): void {
    if (this.timer !== undefined) {
      this.clearTimers();
      this.passEnd();
    }
  }
  protected buffered(): boolean {
    return false;
  }
}

/**
 * Drops all data; with `timeout > 0` closes the connection after `timeout` ms without incoming
 * data (each chunk re-arms the wait). Removing it closes the connection, since the stream is
 * already corrupted by the dropped data.
 */
export class TimeoutStage extends TimedStage {
  private last = 0;
  private readonly onTimer = (): void => this.fire();

  protected configure(): void {
    this.clearTimers();
    this.last = this.link.clock.now();
    if (this.active) this.arm(this.attr('timeout'));
  }

  private arm(ms: number): void {
    if (this.attr('timeout') > 0) this.timer = unrefTimer(this.link.clock, this.onTimer, ms);
  }

  private fire(): void {
    this.timer = undefined;
    const left = this.attr('timeout') - (this.link.clock.now() - this.last);
    if (left > 0.5) this.arm(left);
    else this.closeLink();
  }

  protected take(data: Buffer): void {
    this.link.dropped(data.length);
    // The timer is re-armed lazily when it fires, so a busy link costs no timer per chunk.
    this.last = this.link.clock.now();
  }

  protected override takeEnd(): void {
    this.clearTimers();
    this.passEnd();
  }

  override remove(): void {
    if (this.active) this.closeLink();
  }

  protected flush(): void {
    this.clearTimers();
  }
  protected buffered(): boolean {
    return false;
  }
}

/**
 * Waits for the first chunk (dropping data), then after `timeout` ms resets both sockets with a
 * real TCP RST.
 */
export class ResetPeerStage extends TimedStage {
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.done = true;
    this.link.reset();
  };
  protected configure(): void {}
  protected take(data: Buffer): void {
    this.link.dropped(data.length);
    if (this.timer === undefined) {
      this.timer = unrefTimer(this.link.clock, this.onTimer, this.attr('timeout'));
    }
  }
  protected flush(): void {
    this.clearTimers();
  }
  protected buffered(): boolean {
    return false;
  }
}

/**
 * Splits each chunk into slices of about `average_size` ± `size_variation` bytes, `delay` µs
 * apart (Toxiproxy's recursive halving).
 */
export class SlicerStage extends QueuedStage {
  private avail = 0;
  private readonly cuts: number[] = [];
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pump();
  };

  protected configure(): void {}

  /** Cut points of `[start, end)`, appended to `this.cuts` (the end point excluded). */
  private chunk(start: number, end: number, average: number, variation: number): void {
    if (average <= 0 || end - start <= average) {
      this.cuts.push(start);
      return;
    }
    let mid = start + Math.floor((end - start) / 2);
    if (variation > 0) mid += Math.floor(this.link.random() * variation * 2) - variation;
    if (mid <= start || mid >= end) mid = start + Math.floor((end - start) / 2);
    this.chunk(start, mid, average, variation);
    this.chunk(mid, end, average, variation);
  }

  protected take(data: Buffer, ts: number): void {
    const cuts = this.cuts;
    cuts.length = 0;
    this.chunk(0, data.length, this.attr('average_size'), this.attr('size_variation'));
    cuts.push(data.length);
    const delayed = this.attr('delay') > 0;
    for (let i = 1; i < cuts.length; i++) {
      const piece = data.subarray(cuts[i - 1]!, cuts[i]!);
      if (delayed) this.queue.push(piece, ts);
      else this.next.write(piece, ts);
    }
    if (delayed && this.timer === undefined) this.pump();
  }

  private pump(): void {
    const q = this.queue;
    const step = this.attr('delay') / 1000;
    let now = this.link.clock.now();
    while (q.length > 0 && this.avail <= now + 0.01) {
      const data = q.data.shift()!;
      const ts = q.ts.shift()!;
      this.next.write(data, ts);
      if (this.done) return;
      this.avail = now + step;
      now = this.link.clock.now();
    }
    if (q.length > 0) this.timer = unrefTimer(this.link.clock, this.onTimer, this.avail - now);
    else this.drained();
  }
}

/**
 * Forwards at most `bytes` bytes in total on this link (truncating the chunk that crosses the
 * limit), then closes the connection. The count survives updates.
 */
export class LimitDataStage extends Stage {
  private transmitted = 0;
  protected configure(): void {}
  protected take(data: Buffer, ts: number): void {
    const remaining = this.attr('bytes') - this.transmitted;
    if (remaining > 0) {
      let out = data;
      if (data.length > remaining) {
        out = data.subarray(0, remaining);
        this.link.dropped(data.length - remaining);
      }
      this.transmitted += out.length;
      this.next.write(out, ts);
    } else {
      this.link.dropped(data.length);
    }
    if (this.attr('bytes') - this.transmitted <= 0) this.closeLink();
  }
  protected flush(): void {}
  protected buffered(): boolean {
    return false;
  }
  protected clearTimers(): void {}
}

const STAGES: Readonly<
  Partial<Record<ToxicType, new (link: LinkControl, toxic: ToxicState, next: Sink) => Stage>>
> = {
  latency: LatencyStage,
  bandwidth: BandwidthStage,
  slow_close: SlowCloseStage,
  timeout: TimeoutStage,
  reset_peer: ResetPeerStage,
  slicer: SlicerStage,
  limit_data: LimitDataStage,
  noop: NoopStage,
};

/** Creates and starts the stage of `toxic` on one link. */
export function createStage(link: LinkControl, toxic: ToxicState, next: Sink): Stage {
  const Ctor = STAGES[toxic.type];
  if (Ctor === undefined) throw new Error(`no stage for toxic type ${toxic.type}`);
  const stage = new Ctor(link, toxic, next);
  stage.apply();
  return stage;
}
