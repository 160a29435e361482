/**
 * HTTP-aware toxics (nines only, beyond Toxiproxy): they find HTTP/1.x message boundaries on their
 * link and act per request (on the upstream stream, their default) or per response (downstream).
 *
 * - `http_delay` (`delay` ms): holds each message `delay` ms from the moment its first byte
 *   arrived, then forwards it; the rest of a long body is not delayed again.
 * - `http_status` (`status`, 0 = 503): on the upstream stream, the request is not forwarded and the
 *   proxy answers the client itself, keeping the keep-alive connection usable; only when no
 *   forwarded request of that connection still waits for its response (a pipelined connection
 *   passes through rather than reorder). On the downstream stream the response is replaced.
 *
 * Toxicity is drawn per message. Bytes that are not HTTP/1.x turn the toxic into a pass-through
 * for that link.
 */

import { STATUS_CODES } from 'node:http';
import type { TimerHandle } from '@nines/resilience';
import { HttpBoundaryParser } from './http-parser.js';
import {
  type LinkControl,
  type PeerTap,
  type Sink,
  Stage,
  type ToxicState,
  unrefTimer,
} from './toxics.js';

/** The response `http_status` answers with (`status` 0 means 503). */
export function faultResponse(status: number): Buffer {
  const code = status === 0 ? 503 : status;
  const reason = STATUS_CODES[code] ?? 'Unknown';
  // 1xx, 204 and 304 responses cannot carry a body.
  const body = code < 200 || code === 204 || code === 304 ? '' : reason;
  return Buffer.from(
    `HTTP/1.1 ${code} ${reason}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `content-type: text/plain\r\nx-nines-fault: http_status\r\n\r\n${body}`,
    'latin1',
  );
}

abstract class HttpStage extends Stage implements PeerTap {
  /** Messages of this link: requests upstream, responses downstream. */
  protected readonly parser: HttpBoundaryParser;
  /** Messages of the other link, when this toxic needs to follow them. */
  protected readonly peerParser: HttpBoundaryParser | undefined;
  /** Requests forwarded whose final response has not been seen yet (upstream only). */
  protected outstanding = 0;

  constructor(link: LinkControl, toxic: ToxicState, next: Sink, watch: boolean) {
    super(link, toxic, next);
    const upstream = toxic.stream === 'upstream';
    this.parser = new HttpBoundaryParser(upstream ? 'request' : 'response');
    this.peerParser = watch ? new HttpBoundaryParser(upstream ? 'response' : 'request') : undefined;
    if (watch) link.watchPeer(this);
  }

  /** Always parsing (boundaries must stay in step); toxicity is drawn per message instead. */
  override apply(): void {
    this.active = true;
    this.configure(false);
  }

  protected draw(): boolean {
    const t = this.toxic.toxicity;
    return t >= 1 || (t > 0 && this.link.random() < t);
  }

  peerData(chunk: Buffer): void {
    const p = this.peerParser;
    if (p === undefined) return;
    let pos = 0;
    while (pos < chunk.length && !p.failed) {
      pos = p.advance(chunk, pos);
      // Requests seen upstream tell the response parser which responses have no body (HEAD).
      if (p.headDone && p.kind === 'request') this.parser.pendingMethods.push(p.method);
      if (p.complete && p.kind === 'response' && !p.interim && this.outstanding > 0) {
        this.outstanding--;
      }
    }
  }

  override dispose(): void {
    if (this.peerParser !== undefined) this.link.unwatchPeer(this);
    super.dispose();
  }

  override remove(): void {
    if (this.peerParser !== undefined) this.link.unwatchPeer(this);
    this.flush();
  }
}

/** Holds each HTTP message `delay` ms after its first byte arrived (toxicity per message). */
export class HttpDelayStage extends HttpStage {
  private data: Buffer[] = [];
  private at: number[] = [];
  private delay = 0;
  /** Release time of the current message's bytes. */
  private base = 0;
  private last = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | undefined = undefined;
  private readonly onTimer = (): void => this.fire();

  constructor(link: LinkControl, toxic: ToxicState, next: Sink) {
    // Responses to HEAD have no body: the response side follows the requests for that.
    super(link, toxic, next, toxic.stream === 'downstream');
  }

  protected configure(): void {
    this.delay = this.attr('delay');
  }

  protected take(data: Buffer, ts: number): void {
    const p = this.parser;
    const n = data.length;
    let pos = 0;
    while (pos < n) {
      let end = n;
      if (p.failed) {
        this.base = ts;
      } else {
        const starting = p.idle;
        if (starting) this.base = ts + (this.draw() ? this.delay : 0);
        end = p.advance(data, pos);
        // Not HTTP after all: pass it on as it came.
        if (p.failed && starting) this.base = ts;
      }
      this.emit(pos === 0 && end === n ? data : data.subarray(pos, end), ts);
      pos = end;
    }
  }

  private emit(piece: Buffer, ts: number): void {
    let at = Math.max(this.base, ts);
    if (at < this.last) at = this.last;
    this.last = at;
    if (this.data.length === 0 && at <= ts) {
      this.next.write(piece, ts);
      return;
    }
    this.data.push(piece);
    this.at.push(at);
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    const wait = (this.at[0] ?? 0) - this.link.clock.now();
    this.timer = unrefTimer(this.link.clock, this.onTimer, Math.max(wait, 0));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.link.clock.now() + 0.5;
    let n = 0;
    while (n < this.data.length && this.at[n]! <= now) n++;
    const data = this.data.splice(0, n);
    const at = this.at.splice(0, n);
    for (let i = 0; i < n; i++) this.next.write(data[i]!, at[i]!);
    if (this.done) return;
    if (this.data.length > 0) this.arm();
    else this.drained();
  }

  protected flush(): void {
    this.clearTimers();
    const data = this.data;
    const at = this.at;
    this.data = [];
    this.at = [];
    for (let i = 0; i < data.length; i++) this.next.write(data[i]!, at[i]!);
    this.drained();
  }

  protected buffered(): boolean {
    return this.data.length > 0;
  }

  protected clearTimers(): void {
    if (this.timer !== undefined) {
      this.link.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

const IDLE = 0;
const HEAD = 1;
const FORWARD = 2;
const SWALLOW = 3;

/**
 * Answers a share of requests with `status` instead of forwarding them (upstream), or replaces a
 * share of responses (downstream). A head is held until complete, so nothing is dropped before the
 * toxic knows it is HTTP.
 */
export class HttpStatusStage extends HttpStage {
  private fault: Buffer = faultResponse(503);
  private status = -1;
  private mode = IDLE;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(link: LinkControl, toxic: ToxicState, next: Sink) {
    super(link, toxic, next, true);
  }

  protected configure(): void {
    const status = this.attr('status');
    if (status === this.status) return;
    this.status = status;
    this.fault = faultResponse(status);
  }

  protected take(data: Buffer, ts: number): void {
    const p = this.parser;
    const n = data.length;
    let pos = 0;
    while (pos < n) {
      if (p.failed) {
        this.release(ts);
        this.next.write(pos === 0 ? data : data.subarray(pos), ts);
        return;
      }
      const end = p.advance(data, pos);
      const piece = pos === 0 && end === n ? data : data.subarray(pos, end);
      pos = end;
      if (p.failed) {
        if (this.mode === HEAD) this.hold(piece);
        else if (this.mode === SWALLOW) this.link.dropped(piece.length);
        else this.next.write(piece, ts);
        this.release(ts);
        this.mode = IDLE;
        continue;
      }
      if (this.mode === IDLE) this.mode = HEAD;
      if (this.mode === HEAD) {
        this.hold(piece);
        if (p.headDone) this.decide(ts);
      } else if (this.mode === SWALLOW) {
        this.link.dropped(piece.length);
      } else {
        this.next.write(piece, ts);
      }
      if (p.complete) {
        if (this.mode === SWALLOW && this.toxic.stream === 'upstream') this.link.reply(this.fault);
        this.mode = IDLE;
      }
    }
  }

  private hold(piece: Buffer): void {
    this.held.push(piece);
    this.heldBytes += piece.length;
  }

  private release(ts: number): void {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const piece of held) this.next.write(piece, ts);
  }

  private decide(ts: number): void {
    const p = this.parser;
    let intercept: boolean;
    if (this.toxic.stream === 'upstream') {
      const peer = this.peerParser;
      intercept = peer !== undefined && !peer.failed && this.outstanding === 0 && this.draw();
      if (!intercept) {
        this.outstanding++;
        peer?.pendingMethods.push(p.method);
      }
    } else {
      intercept = p.status >= 200 && this.draw();
    }
    if (!intercept) {
      this.release(ts);
      this.mode = FORWARD;
      return;
    }
    this.link.dropped(this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    this.mode = SWALLOW;
    if (this.toxic.stream === 'downstream') {
      this.link.added(this.fault.length);
      this.next.write(this.fault, ts);
    }
  }

  protected override takeEnd(): void {
    this.release(this.link.clock.now());
    this.passEnd();
  }

  override remove(): void {
    if (this.peerParser !== undefined) this.link.unwatchPeer(this);
    if (this.mode === SWALLOW) {
      // Part of a message was dropped: what follows would corrupt the stream, so the
      // connection closes (after the answer the client is owed).
      if (this.toxic.stream === 'upstream') this.link.reply(this.fault);
      this.closeLink();
    } else {
      this.flush();
    }
  }

  protected flush(): void {
    this.release(this.link.clock.now());
  }

  protected buffered(): boolean {
    return this.held.length > 0;
  }

  protected clearTimers(): void {}
}

/** Creates and starts the stage of an HTTP-aware toxic on one link. */
export function createHttpStage(link: LinkControl, toxic: ToxicState, next: Sink): Stage {
  const stage =
    toxic.type === 'http_delay'
      ? new HttpDelayStage(link, toxic, next)
      : new HttpStatusStage(link, toxic, next);
  stage.apply();
  return stage;
}
