/**
 * An incremental HTTP/1.1 message-boundary parser for the HTTP-aware toxics. It finds where each
 * request or response starts, where its head ends and where its body ends (by `content-length`,
 * `transfer-encoding: chunked` with trailers, or none); it does not interpret headers beyond that.
 * Anything that does not look like HTTP/1.x makes it give up for good (`failed`), so that the
 * toxic using it turns into a pass-through instead of corrupting the stream.
 */

/** Heads (start line and headers) longer than this are not parsed: the parser gives up. */
export const MAX_HEAD = 64 * 1024;
const MAX_LINE = 8 * 1024;

const REQUEST_LINE = /^([A-Z_-]{1,20}) [!-~]+ HTTP\/1\.[01]$/;
const RESPONSE_LINE = /^HTTP\/1\.[01] ([1-5]\d\d)(?: [^\r\n]*)?$/;
const REQUEST_PREFIX =
  /^[A-Z_-]{0,20}$|^[A-Z_-]{1,20} [!-~]*$|^[A-Z_-]{1,20} [!-~]+ (H[!-~]{0,7})?$/;
const RESPONSE_PREFIX = /^HTTP\/1\.[01](?: (?:\d{0,3}(?: [^\r\n]*)?)?)?$/;
const DIGITS = /^\d{1,15}$/;
const HEX = /^[0-9a-fA-F]{1,12}$/;

const START = 0;
const HEAD = 1;
const BODY = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_END = 5;
const TRAILER = 6;
const UNTIL_CLOSE = 7;
const FAILED = 8;

/** Which side of an exchange a parser reads. */
export type HttpMessageKind = 'request' | 'response';

/**
 * Boundaries of the HTTP/1.x messages of one direction of a connection.
 *
 * @example
 * const p = new HttpBoundaryParser('request');
 * let pos = 0;
 * while (pos < chunk.length && !p.failed) {
 *   const end = p.advance(chunk, pos);
 *   // chunk[pos, end) belongs to one message; p.headDone / p.complete tell where it stands
 *   pos = end;
 * }
 */
export class HttpBoundaryParser {
  readonly kind: HttpMessageKind;
  /** The stream is not (or no longer) HTTP/1.x: nothing more is parsed. */
  failed = false;
  /** The last `advance` ended exactly at the end of a head. */
  headDone = false;
  /** The last `advance` ended exactly at the end of a message. */
  complete = false;
  /** The message that just completed was an interim (1xx) response. */
  interim = false;
  /** Method of the current request (requests only, once its head is done). */
  method = '';
  /** Status of the current response (responses only, once its head is done). */
  status = 0;
  /**
   * Responses only: methods of the requests still waiting for their response, oldest first, so
   * that a response to `HEAD` is known to have no body. The request side pushes; this shifts.
   */
  readonly pendingMethods: string[] = [];
  private state = START;
  private head = '';
  private line = '';
  private remaining = 0;
  private trailerBytes = 0;
  /** After the current message the stream switches protocol (upgrade, CONNECT, 101). */
  private switching = false;

  constructor(kind: HttpMessageKind) {
    this.kind = kind;
  }

  /** True between messages: the next byte starts a new one. */
  get idle(): boolean {
    return this.state === START;
  }

  /**
   * Consumes `data` from `from` up to the end of the current head, the end of the current message
   * or the end of `data`, whichever comes first, and returns the index after what it consumed.
   * After a failure it consumes everything.
   */
  advance(data: Buffer, from: number): number {
    this.headDone = false;
    this.complete = false;
    this.interim = false;
    const n = data.length;
    let i = from;
    while (i < n) {
      switch (this.state) {
        case START:
        case HEAD:
          return this.readHead(data, i);
        case BODY: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) return this.finish(i);
          return i;
        }
        case CHUNK_SIZE:
        case CHUNK_END:
        case TRAILER: {
          const nl = data.indexOf(10, i);
          const end = nl < 0 ? n : nl + 1;
          this.line += data.toString('latin1', i, end);
          i = end;
          if (nl < 0) {
            if (this.line.length > MAX_LINE) return this.fail(n);
            return i;
          }
          const line = this.line.endsWith('\r\n') ? this.line.slice(0, -2) : this.line.slice(0, -1);
          this.line = '';
          if (this.state === CHUNK_END) {
            if (line !== '') return this.fail(n);
            this.state = CHUNK_SIZE;
          } else if (this.state === CHUNK_SIZE) {
            const semi = line.indexOf(';');
            const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
            if (!HEX.test(hex)) return this.fail(n);
            const size = Number.parseInt(hex, 16);
            if (size === 0) {
              this.state = TRAILER;
              this.trailerBytes = 0;
            } else {
              this.remaining = size;
              this.state = CHUNK_DATA;
            }
          } else {
            if (line === '') return this.finish(i);
            this.trailerBytes += line.length;
            if (this.trailerBytes > MAX_HEAD) return this.fail(n);
          }
          break;
        }
        case CHUNK_DATA: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = CHUNK_END;
          break;
        }
        case UNTIL_CLOSE:
          return n;
        default:
          return n;
      }
    }
    return i;
  }

  private fail(n: number): number {
    this.failed = true;
    this.state = FAILED;
    this.head = '';
    this.line = '';
    return n;
  }

  private finish(i: number): number {
    this.complete = true;
    this.state = START;
    if (this.kind === 'response' && !this.interim) this.pendingMethods.shift();
    if (this.switching) this.fail(i);
    return i;
  }

  private readHead(data: Buffer, i: number): number {
    const n = data.length;
    const before = this.head.length;
    const room = MAX_HEAD - before;
    const end = Math.min(n, i + room);
    this.head += data.toString('latin1', i, end);
    this.state = HEAD;
    const found = this.head.indexOf('\r\n\r\n', before > 3 ? before - 3 : 0);
    if (found < 0) {
      if (end < n || this.head.length >= MAX_HEAD || !this.plausible()) return this.fail(n);
      return end;
    }
    const consumed = found + 4 - before;
    const head = this.head.slice(0, found);
    this.head = '';
    if (!this.parseHead(head)) return this.fail(n);
    this.headDone = true;
    const at = i + consumed;
    if (this.state === START) return this.finish(at);
    return at;
  }

  /** Whether the start line read so far can still be HTTP (fails fast on other protocols). */
  private plausible(): boolean {
    const eol = this.head.indexOf('\r\n');
    let line = eol < 0 ? this.head : this.head.slice(0, eol);
    // A chunk may end between the CR and the LF of the start line.
    if (eol < 0 && line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length > MAX_LINE) return false;
    if (this.kind === 'request') {
      return eol < 0 ? REQUEST_PREFIX.test(line) : REQUEST_LINE.test(line);
    }
    if (eol >= 0) return RESPONSE_LINE.test(line);
    if (line.length < 8) return 'HTTP/1.1'.startsWith(line) || 'HTTP/1.0'.startsWith(line);
    return RESPONSE_PREFIX.test(line);
  }

  /** Reads framing from a complete head; sets the next state. False when it is not HTTP. */
  private parseHead(head: string): boolean {
    const lines = head.split('\r\n');
    const start = lines[0] ?? '';
    let noBody = false;
    if (this.kind === 'request') {
      const m = REQUEST_LINE.exec(start);
      if (!m) return false;
      this.method = m[1]!;
      if (this.method === 'CONNECT') this.switching = true;
    } else {
      const m = RESPONSE_LINE.exec(start);
      if (!m) return false;
      this.status = Number(m[1]);
      if (this.status === 101) this.switching = true;
      this.interim = this.status < 200 && this.status !== 101;
      noBody =
        this.status < 200 ||
        this.status === 204 ||
        this.status === 304 ||
        this.pendingMethods[0] === 'HEAD';
    }
    let length = -1;
    let chunked = false;
    let encoded = false;
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!;
      const colon = line.indexOf(':');
      if (colon <= 0) return false;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!DIGITS.test(value)) return false;
        const v = Number(value);
        if (length >= 0 && length !== v) return false;
        length = v;
      } else if (name === 'transfer-encoding') {
        encoded = true;
        chunked = value.toLowerCase().split(',').pop()?.trim() === 'chunked';
      } else if (name === 'upgrade' && this.kind === 'request') {
        this.switching = true;
      }
    }
    if (noBody) {
      this.state = START;
    } else if (encoded) {
      if (chunked) this.state = CHUNK_SIZE;
      else if (this.kind === 'request') return false;
      else this.state = UNTIL_CLOSE;
    } else if (length > 0) {
      this.remaining = length;
      this.state = BODY;
    } else if (length === 0 || this.kind === 'request') {
      this.state = START;
    } else {
      this.state = UNTIL_CLOSE;
    }
    return true;
  }
}
