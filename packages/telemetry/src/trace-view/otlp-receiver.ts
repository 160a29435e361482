import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { describe, numberOption, optionsObject } from '@nines/resilience/options';
import { OtlpFormatError, spanRecordsFromOtlpJson } from './otlp-json.js';
import type { SpanRecord } from './span-record.js';

/** Options of {@link createOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /** Interface to listen on. Default `'127.0.0.1'` (loopback: this is a development tool). */
  readonly host?: string;
  /** Port; default 0 (any free port, see `url` after `listen()`). The OTLP default is 4318. */
  readonly port?: number;
  /**
   * Largest request body accepted, in bytes, both as sent and after gzip decompression; a larger
   * one is answered 413. Default 4 MiB.
   */
  readonly maxBodyBytes?: number;
  /** Spans kept; past it the oldest are dropped (counted in `dropped`). Default 10 000. */
  readonly maxSpans?: number;
}

/** One trace as the receiver has it so far. */
export interface TraceSummary {
  readonly traceId: string;
  /** The root span's name (the earliest span's when the root has not arrived). */
  readonly rootName: string;
  /** Services in the order their first span started. */
  readonly services: readonly string[];
  /** Earliest start to latest end, ms. */
  readonly durationMs: number;
  /** Earliest start, epoch ms. */
  readonly startMs: number;
  readonly spanCount: number;
  /** Whether any span has status error. */
  readonly error: boolean;
}

/** Called with the spans of each accepted export request. */
export type SpansListener = (spans: readonly SpanRecord[]) => void;

/** A running (or not yet started) OTLP/HTTP JSON trace receiver. See {@link createOtlpReceiver}. */
export interface OtlpReceiver {
  /** Starts listening; resolves the base URL (`http://127.0.0.1:PORT`). Traces go to `${url}/v1/traces`. */
  listen(): Promise<string>;
  /** Stops listening and cuts open connections. The spans received stay readable. */
  close(): Promise<void>;
  /** The base URL while listening, else undefined. */
  readonly url: string | undefined;
  /** Spans dropped to stay within `maxSpans`. */
  readonly dropped: number;
  /** Spans refused as invalid (bad ids, missing times), over all requests. */
  readonly rejected: number;
  /** Every span kept, in arrival order. */
  spans(): SpanRecord[];
  /** The spans of one trace (id case-insensitive), by start time; empty when unknown. */
  trace(traceId: string): SpanRecord[];
  /** A summary per trace, earliest first. */
  traces(): TraceSummary[];
  /** The id of the longest trace, or undefined when there is none. */
  slowest(): string | undefined;
  /** Calls `listener` with the spans of each accepted request; returns a disposer. */
  onSpans(listener: SpansListener): () => void;
  /** Forgets every span (the counters too). */
  clear(): void;
}

const OWNER = 'createOtlpReceiver';
const TRACES_PATH = '/v1/traces';
const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
const DEFAULT_MAX_SPANS = 10_000;

// google.rpc.Code values used in error bodies.
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;

const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';
const EMPTY_RESPONSE = Buffer.from('{}');
/** Fatal: a body that is not UTF-8 is malformed JSON, not text to guess at. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `Content-Type` without parameters, lower case. */
function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function varint(value: number, out: number[]): void {
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
}

/** A `google.rpc.Status` in protobuf: field 1 `code` (varint), field 2 `message` (string). */
function protobufStatus(code: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const head: number[] = [0x08];
  varint(code, head);
  head.push(0x12);
  varint(text.length, head);
  return Buffer.concat([Buffer.from(head), text]);
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

class Receiver implements OtlpReceiver {
  private readonly host: string;
  private readonly port: number;
  private readonly maxBody: number;
  private readonly maxSpans: number;
  private server: Server | undefined;
  private baseUrl: string | undefined;
  /** Arrival order; entries before `head` are dropped and compacted away in bulk. */
  private order: (SpanRecord | undefined)[] = [];
  private head = 0;
  private readonly byTrace = new Map<string, SpanRecord[]>();
  /** traceId + spanId of every kept span: an exporter's retry must not draw a span twice. */
  private readonly keys = new Set<string>();
  private readonly listeners = new Set<SpansListener>();
  private droppedCount = 0;
  private rejectedCount = 0;

  constructor(options: OtlpReceiverOptions | undefined) {
    const o = optionsObject<OtlpReceiverOptions>(OWNER, options, [
      'host',
      'port',
      'maxBodyBytes',
      'maxSpans',
    ]);
    if (o.host !== undefined && (typeof o.host !== 'string' || o.host.trim() === '')) {
      throw new TypeError(
        `${OWNER}: option "host" must be a non-empty string, got ${describe(o.host)}`,
      );
    }
    this.host = o.host ?? '127.0.0.1';
    this.port = numberOption(OWNER, 'port', o.port, 0, { integer: true, max: 65_535 });
    this.maxBody = numberOption(OWNER, 'maxBodyBytes', o.maxBodyBytes, DEFAULT_MAX_BODY, {
      min: 1,
      integer: true,
      max: 2 ** 31 - 1,
    });
    this.maxSpans = numberOption(OWNER, 'maxSpans', o.maxSpans, DEFAULT_MAX_SPANS, {
      min: 1,
      integer: true,
      max: 10_000_000,
    });
    this.handle = this.handle.bind(this);
  }

  get url(): string | undefined {
    return this.baseUrl;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  get rejected(): number {
    return this.rejectedCount;
  }

  listen(): Promise<string> {
    if (this.server !== undefined) {
      return Promise.reject(
        new Error(`${OWNER}: already listening on ${this.baseUrl ?? 'a port'}`),
      );
    }
    const server = createServer(this.handle);
    this.server = server;
    return new Promise<string>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = undefined;
        reject(err);
      };
      server.once('error', onError);
      server.listen(this.port, this.host, () => {
        server.off('error', onError);
        const address = server.address() as AddressInfo;
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        this.baseUrl = `http://${host}:${address.port}`;
        resolve(this.baseUrl);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return Promise.resolve();
    this.server = undefined;
    this.baseUrl = undefined;
    return new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  spans(): SpanRecord[] {
    return this.order.slice(this.head) as SpanRecord[];
  }

  trace(traceId: string): SpanRecord[] {
    if (typeof traceId !== 'string') {
      throw new TypeError(`OtlpReceiver.trace: traceId must be a string, got ${describe(traceId)}`);
    }
    const list = this.byTrace.get(traceId.toLowerCase());
    return list === undefined ? [] : list.slice().sort((a, b) => a.startMs - b.startMs);
  }

  traces(): TraceSummary[] {
    const out: TraceSummary[] = [];
    for (const [traceId, list] of this.byTrace) out.push(summarize(traceId, list));
    return out.sort((a, b) => a.startMs - b.startMs);
  }

  slowest(): string | undefined {
    let best: string | undefined;
    let longest = Number.NEGATIVE_INFINITY;
    for (const [traceId, list] of this.byTrace) {
      let start = Number.POSITIVE_INFINITY;
      let end = Number.NEGATIVE_INFINITY;
      for (const s of list) {
        if (s.startMs < start) start = s.startMs;
        if (s.startMs + s.durationMs > end) end = s.startMs + s.durationMs;
      }
      if (end - start > longest) {
        longest = end - start;
        best = traceId;
      }
    }
    return best;
  }

  onSpans(listener: SpansListener): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `OtlpReceiver.onSpans: listener must be a function, got ${describe(listener)}`,
      );
    }
    // A wrapper per registration, so that registering one function twice gives two disposers.
    const entry: SpansListener = (spans) => listener(spans);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  clear(): void {
    this.order = [];
    this.head = 0;
    this.byTrace.clear();
    this.keys.clear();
    this.droppedCount = 0;
    this.rejectedCount = 0;
  }

  private store(spans: readonly SpanRecord[]): SpanRecord[] {
    const kept: SpanRecord[] = [];
    for (const span of spans) {
      const key = span.traceId + span.spanId;
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      this.order.push(span);
      const list = this.byTrace.get(span.traceId);
      if (list === undefined) this.byTrace.set(span.traceId, [span]);
      else list.push(span);
      kept.push(span);
    }
    const excess = this.order.length - this.head - this.maxSpans;
    if (excess > 0) this.dropOldest(excess);
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return kept;
  }

  /**
   * Drops the `count` oldest spans. A trace's list is in arrival order too, so the oldest spans
   * overall are at the front of their traces' lists: one splice per trace, not one per span.
   */
  private dropOldest(count: number): void {
    const cut = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const span = this.order[this.head]!;
      this.order[this.head++] = undefined;
      this.keys.delete(span.traceId + span.spanId);
      cut.set(span.traceId, (cut.get(span.traceId) ?? 0) + 1);
    }
    this.droppedCount += count;
    for (const [traceId, n] of cut) {
      const list = this.byTrace.get(traceId);
      if (list === undefined) continue;
      if (n >= list.length) this.byTrace.delete(traceId);
      else list.splice(0, n);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const requestType = req.headers['content-type'];
    const media = mediaType(requestType);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path !== TRACES_PATH) {
      reply(
        req,
        res,
        404,
        NOT_FOUND,
        `no OTLP endpoint at ${path}: traces go to POST ${TRACES_PATH}`,
      );
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      reply(req, res, 405, UNIMPLEMENTED, `method ${req.method} not allowed: use POST`);
      return;
    }
    if (media === PROTOBUF_TYPE) {
      reply(
        req,
        res,
        415,
        UNIMPLEMENTED,
        'this receiver accepts OTLP/HTTP JSON only (application/json), which is what nines configures its exporter to send; set the exporter protocol to http/json',
      );
      return;
    }
    if (media !== JSON_TYPE) {
      reply(
        req,
        res,
        415,
        INVALID_ARGUMENT,
        `Content-Type must be application/json, got ${requestType === undefined ? 'none' : JSON.stringify(requestType)}`,
      );
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity' && encoding !== '') {
      reply(
        req,
        res,
        415,
        INVALID_ARGUMENT,
        `Content-Encoding ${JSON.stringify(encoding)} is not supported: send gzip or none`,
      );
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (declared > this.maxBody) {
      reply(req, res, 413, RESOURCE_EXHAUSTED, this.tooLarge(`Content-Length is ${declared}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > this.maxBody) {
        done = true;
        chunks.length = 0;
        reply(req, res, 413, RESOURCE_EXHAUSTED, this.tooLarge('the body is longer'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const body = Buffer.concat(chunks, size);
      if (encoding !== 'gzip') {
        this.accept(req, res, body);
        return;
      }
      gunzip(body, { maxOutputLength: this.maxBody }, (err, plain) => {
        if (err === null) this.accept(req, res, plain);
        else if (isTooLarge(err)) {
          reply(
            req,
            res,
            413,
            RESOURCE_EXHAUSTED,
            this.tooLarge('the body is longer once decompressed'),
          );
        } else reply(req, res, 400, INVALID_ARGUMENT, `invalid gzip body: ${err.message}`);
      });
    });
    // A client that goes away mid-body leaves nothing to answer.
    req.on('error', () => {
      done = true;
    });
  }

  private tooLarge(what: string): string {
    return `request body too large (${what}): the limit is ${this.maxBody} bytes (maxBodyBytes)`;
  }

  private accept(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    let parsed: unknown;
    try {
      const text = UTF8.decode(body);
      // An empty export request is valid and should succeed; an empty body is the least of them.
      parsed = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      reply(req, res, 400, INVALID_ARGUMENT, `malformed JSON: ${(err as Error).message}`);
      return;
    }
    let result: ReturnType<typeof spanRecordsFromOtlpJson>;
    try {
      result = spanRecordsFromOtlpJson(parsed);
    } catch (err) {
      if (err instanceof OtlpFormatError) {
        reply(req, res, 400, INVALID_ARGUMENT, `not an ExportTraceServiceRequest: ${err.message}`);
      } else {
        // A bug here must cost one request, not the process serving the others.
        reply(req, res, 500, INTERNAL, `could not read the request: ${String(err)}`);
      }
      return;
    }
    const kept = this.store(result.spans);
    this.rejectedCount += result.rejected;
    let payload = EMPTY_RESPONSE;
    if (result.rejected > 0) {
      const more = result.rejected - result.errors.length;
      payload = Buffer.from(
        JSON.stringify({
          partialSuccess: {
            // int64 is a decimal string in OTLP/JSON.
            rejectedSpans: String(result.rejected),
            errorMessage: result.errors.join('; ') + (more > 0 ? `; and ${more} more` : ''),
          },
        }),
      );
    }
    send(res, 200, req.headers['content-type'] ?? JSON_TYPE, payload);
    if (kept.length > 0) this.notify(kept);
  }

  private notify(spans: readonly SpanRecord[]): void {
    for (const listener of this.listeners) {
      try {
        listener(spans);
      } catch (err) {
        // A failing listener must neither fail the export nor starve the other listeners.
        process.emitWarning(`OtlpReceiver: an onSpans listener threw: ${String(err)}`);
      }
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: Buffer): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/**
 * An error answer as a `google.rpc.Status` in the request's encoding: protobuf for a protobuf
 * request, JSON otherwise. The body may be unread, so the connection is closed after it.
 */
function reply(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
): void {
  const requestType = req.headers['content-type'];
  const media = mediaType(requestType);
  // An unread body could be long: close the connection instead of reading it to keep it alive.
  if (!req.complete) res.setHeader('Connection', 'close');
  if (media === PROTOBUF_TYPE) {
    send(res, status, requestType!, protobufStatus(code, message));
  } else {
    send(
      res,
      status,
      media === JSON_TYPE ? requestType! : JSON_TYPE,
      Buffer.from(JSON.stringify({ code, message })),
    );
  }
  // Discard the rest of the body rather than leave the client blocked writing it.
  req.resume();
}

/** Summary of one trace's spans. */
function summarize(traceId: string, list: readonly SpanRecord[]): TraceSummary {
  const ids = new Set<string>();
  for (const s of list) ids.add(s.spanId);
  const sorted = list.slice().sort((a, b) => a.startMs - b.startMs);
  // The root: the earliest span without a parent, else the earliest whose parent is missing.
  let root: SpanRecord | undefined;
  let orphan: SpanRecord | undefined;
  let end = Number.NEGATIVE_INFINITY;
  let error = false;
  const services: string[] = [];
  for (const s of sorted) {
    if (s.parentSpanId === undefined) root ??= s;
    else if (!ids.has(s.parentSpanId)) orphan ??= s;
    if (s.startMs + s.durationMs > end) end = s.startMs + s.durationMs;
    if (s.status === 'error') error = true;
    if (!services.includes(s.service)) services.push(s.service);
  }
  const first = sorted[0]!;
  return {
    traceId,
    rootName: (root ?? orphan ?? first).name,
    services,
    durationMs: end - first.startMs,
    startMs: first.startMs,
    spanCount: list.length,
    error,
  };
}

/**
 * A small OTLP/HTTP trace receiver for JSON exports: point OpenTelemetry exporters of several
 * processes at it and read their spans back as {@link SpanRecord}s, to draw with
 * {@link renderWaterfall} or to assert on in tests. It follows the OTLP/HTTP rules: `POST
 * /v1/traces` with `Content-Type: application/json`, optionally gzip-encoded; answers 200 `{}`
 * (or `partialSuccess` naming the rejected spans), 400 with a `google.rpc.Status` for malformed
 * JSON, 413 past `maxBodyBytes` (also after decompression), 415 for protobuf, 404 and 405 for
 * other paths and methods, each in the request's Content-Type. Memory is bounded by `maxSpans`.
 *
 * @example
 * const receiver = createOtlpReceiver();
 * const url = await receiver.listen();
 * // in each service: new OTLPTraceExporter({ url: `${url}/v1/traces` })
 * // … later:
 * console.log(renderWaterfall(receiver.trace(receiver.slowest()!)));
 * await receiver.close();
 */
export function createOtlpReceiver(options?: OtlpReceiverOptions): OtlpReceiver {
  return new Receiver(options);
}
