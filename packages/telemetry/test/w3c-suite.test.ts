import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { W3CTraceContextPropagator } from '../src/w3c/propagator.js';

/*
 * The official W3C Trace Context test suite (w3c/trace-context, test/test.py), restated in
 * TypeScript and run end to end over real sockets:
 *
 *   raw client --(test headers, exactly as written)--> service under test
 *   service: extract -> SERVER span -> for each {url} in the body: CLIENT span, inject, POST url
 *   harness server <--(callbacks with the service's outgoing headers)-- service
 *
 * The service answers only after all its callbacks, so when the raw client has the answer, the
 * harness has every callback of that request. The checks are the suite's: exactly one
 * traceparent per callback in the strict shape, trace-id kept or restarted, a new parent-id, the
 * tracestate parsed by an independent strict reader (an unparsable one fails the test), and the
 * Level 2 random flag.
 */

const TRACE = '12345678901234567890123456789012';
const PARENT = '1234567890123456';
const TRACEPARENT_SHAPE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const DEADLINE_MS = 5_000;

type Header = readonly [name: string, value: string];

interface Traceparent {
  version: string;
  traceId: string;
  parentId: string;
  flags: number;
}

interface Callback {
  traceparent: Traceparent;
  tracestate: Map<string, string>;
  /** The tracestate header(s) as received, joined. */
  tracestateText: string;
}

// ---- The service under test -------------------------------------------------------------------

const propagator = new W3CTraceContextPropagator();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('w3c-suite-service');
const contextManager = new AsyncLocalStorageContextManager();

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** POSTs `body` to `url` with `headers`, resolving when the whole answer has arrived. */
function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers, agent: false, timeout: DEADLINE_MS },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`callback to ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One outgoing call, as an HTTP client instrumentation makes it: a CLIENT span, then inject. */
async function callOut(url: string, args: unknown): Promise<void> {
  const span = tracer.startSpan(`POST ${new URL(url).pathname}`, { kind: SpanKind.CLIENT });
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    propagator.inject(trace.setSpan(context.active(), span), headers, defaultTextMapSetter);
    const status = await post(url, headers, JSON.stringify(args ?? []));
    if (status !== 200) throw new Error(`callback ${url} answered ${status}`);
  } finally {
    span.end();
  }
}

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let span: Span | undefined;
  try {
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    span = tracer.startSpan('POST /test', { kind: SpanKind.SERVER }, parent);
    const actions = JSON.parse(await readBody(req)) as { url: string; arguments?: unknown }[];
    await context.with(trace.setSpan(parent, span), async () => {
      for (const action of actions) await callOut(action.url, action.arguments);
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
  } finally {
    span?.end();
  }
}

// ---- The harness: records callbacks by scope --------------------------------------------------

const callbacks = new Map<string, string[][]>();

async function record(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  try {
    JSON.parse(body); // The suite's server reads every callback body as JSON.
  } catch {
    res.writeHead(400).end('callback body is not JSON');
    return;
  }
  const [scope] = (req.url ?? '').slice(1).split('.');
  const list = callbacks.get(scope ?? '') ?? [];
  list.push(req.rawHeaders);
  callbacks.set(scope ?? '', list);
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
}

let service: Server;
let harness: Server;
let servicePort = 0;
let harnessPort = 0;
let scopeCounter = 0;

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  service = createServer((req, res) => void serve(req, res));
  harness = createServer((req, res) => void record(req, res));
  servicePort = await listen(service);
  harnessPort = await listen(harness);
});

afterAll(async () => {
  for (const server of [service, harness]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await provider.shutdown();
  context.disable();
});

beforeEach(() => exporter.reset());

// ---- The raw client ---------------------------------------------------------------------------

/**
 * Sends the POST over a plain socket so that header names, duplicates and whitespace reach the
 * service exactly as written (as aiohttp sends the suite's header lists).
 */
function sendRaw(headers: readonly Header[], body: string): Promise<string> {
  const lines = [
    'POST /test HTTP/1.1',
    `Host: 127.0.0.1:${servicePort}`,
    'Accept: application/json',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...headers.map(([name, value]) => `${name}: ${value}`),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect(servicePort, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.setTimeout(DEADLINE_MS, () =>
      socket.destroy(new Error('service did not answer in time')),
    );
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
  });
}

/** The suite's strict tracestate reader (its `Tracestate` class): anything invalid is an error. */
const MEMBER =
  /^([a-z0-9][a-z0-9_\-*/@]{0,255})=([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])$/;
function readTracestate(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const m = MEMBER.exec(member);
    if (m === null)
      throw new Error(`the service sent an invalid tracestate member ${JSON.stringify(member)}`);
    if (out.has(m[1] as string))
      throw new Error(`the service sent a duplicated tracestate key ${m[1]}`);
    out.set(m[1] as string, m[2] as string);
  }
  if (out.size > 32) throw new Error(`the service sent ${out.size} tracestate members`);
  return out;
}

function readCallback(rawHeaders: string[]): Callback {
  const traceparents: string[] = [];
  const tracestates: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (name === 'traceparent') traceparents.push(rawHeaders[i + 1] as string);
    if (name === 'tracestate') tracestates.push(rawHeaders[i + 1] as string);
  }
  expect(traceparents, 'exactly one traceparent header').toHaveLength(1);
  const m = TRACEPARENT_SHAPE.exec(traceparents[0] as string);
  expect(m, `traceparent ${traceparents[0]}`).not.toBeNull();
  const [, version, traceId, parentId, flags] = m as unknown as string[];
  expect(traceId).not.toBe('0'.repeat(32));
  expect(parentId).not.toBe('0'.repeat(16));
  const tracestateText = tracestates.join(',');
  return {
    traceparent: {
      version: version as string,
      traceId: traceId as string,
      parentId: parentId as string,
      flags: Number.parseInt(flags as string, 16),
    },
    tracestate: readTracestate(tracestateText),
    tracestateText,
  };
}

/** The suite's `make_request_and_get_tracecontexts`: `count` callbacks for one request. */
async function makeRequest(headers: readonly Header[], count: number): Promise<Callback[]> {
  const scope = `scope${++scopeCounter}`;
  const body = JSON.stringify(
    Array.from({ length: count }, (_, n) => ({
      url: `http://127.0.0.1:${harnessPort}/${scope}.${n}`,
      arguments: [],
    })),
  );
  const answer = await sendRaw(headers, body);
  expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  const received = (callbacks.get(scope) ?? []).map(readCallback);
  callbacks.delete(scope);
  expect(received).toHaveLength(count);
  checkAgainstSpans(received);
  return received;
}

/** Each sampled callback carries the id of a CLIENT span the SDK recorded in the same trace. */
function checkAgainstSpans(received: Callback[]): void {
  const spans = exporter.getFinishedSpans();
  for (const { traceparent } of received) {
    if ((traceparent.flags & 0x01) === 0) continue;
    const span = spans.find((s) => s.spanContext().spanId === traceparent.parentId);
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.spanContext().traceId).toBe(traceparent.traceId);
  }
}

/** The suite's `make_single_request_and_get_tracecontext`. */
async function single(...headers: Header[]): Promise<Callback> {
  const [only] = await makeRequest(headers, 1);
  return only as Callback;
}

const tp = (value: string): Header => ['traceparent', value];
const ts = (value: string): Header => ['tracestate', value];
const VALID = `00-${TRACE}-${PARENT}-01`;
const NOT_SAMPLED = `00-${TRACE}-${PARENT}-00`;

async function expectInherited(...headers: Header[]): Promise<Callback> {
  const cb = await single(...headers);
  expect(cb.traceparent.traceId).toBe(TRACE);
  expect(cb.traceparent.parentId).not.toBe(PARENT);
  return cb;
}

async function expectRestarted(value: string, ...notIds: string[]): Promise<Callback> {
  const cb = await single(tp(value));
  expect(cb.traceparent.traceId).not.toBe(TRACE);
  for (const id of notIds) expect(cb.traceparent.traceId).not.toBe(id);
  return cb;
}

// ---- TraceContextTest (37) --------------------------------------------------------------------

describe('TraceContextTest', () => {
  it('test_both_traceparent_and_tracestate_missing', async () => {
    const cb = await single();
    expect(cb.traceparent.version).toBe('00');
  });

  it('test_traceparent_included_tracestate_missing', async () => {
    await expectInherited(tp(VALID));
  });

  it('test_traceparent_duplicated', async () => {
    const cb = await single(
      tp('00-12345678901234567890123456789011-1234567890123456-01'),
      tp('00-12345678901234567890123456789012-1234567890123456-01'),
    );
    expect(cb.traceparent.traceId).not.toBe('12345678901234567890123456789011');
    expect(cb.traceparent.traceId).not.toBe('12345678901234567890123456789012');
  });

  it('test_traceparent_header_name', async () => {
    for (const name of ['trace-parent', 'trace.parent']) {
      const cb = await single([name, VALID]);
      expect(cb.traceparent.traceId).not.toBe(TRACE);
    }
  });

  it('test_traceparent_header_name_valid_casing', async () => {
    for (const name of ['TraceParent', 'TrAcEpArEnT', 'TRACEPARENT']) {
      await expectInherited([name, VALID]);
    }
  });

  it('test_traceparent_version_0x00', async () => {
    await expectRestarted(`${VALID}.`);
    await expectRestarted(`${VALID}-what-the-future-will-be-like`);
  });

  it('test_traceparent_version_0xcc', async () => {
    await expectInherited(tp(`cc-${TRACE}-${PARENT}-01`));
    const future = await expectInherited(
      tp(`cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`),
    );
    expect(future.traceparent.version).toBe('00');
    await expectRestarted(`cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`);
  });

  it('test_traceparent_version_0xff', async () => {
    await expectRestarted(`ff-${TRACE}-${PARENT}-01`);
  });

  it('test_traceparent_version_illegal_characters', async () => {
    await expectRestarted(`.0-${TRACE}-${PARENT}-01`);
    await expectRestarted(`0.-${TRACE}-${PARENT}-01`);
  });

  it('test_traceparent_version_too_long', async () => {
    await expectRestarted(`000-${TRACE}-${PARENT}-01`);
    await expectRestarted(`0000-${TRACE}-${PARENT}-01`);
  });

  it('test_traceparent_version_too_short', async () => {
    await expectRestarted(`0-${TRACE}-${PARENT}-01`);
  });

  it('test_traceparent_trace_id_all_zero', async () => {
    await expectRestarted(`00-${'0'.repeat(32)}-${PARENT}-01`, '0'.repeat(32));
  });

  it('test_traceparent_trace_id_illegal_characters', async () => {
    await expectRestarted(`00-.2345678901234567890123456789012-${PARENT}-01`);
    await expectRestarted(`00-1234567890123456789012345678901.-${PARENT}-01`);
  });

  it('test_traceparent_trace_id_too_long', async () => {
    const long = `${TRACE}3`;
    await expectRestarted(`00-${long}-${PARENT}-01`, long.slice(0, 32), long.slice(1));
  });

  it('test_traceparent_trace_id_too_short', async () => {
    await expectRestarted(`00-${TRACE.slice(0, 31)}-${PARENT}-01`);
  });

  it('test_traceparent_parent_id_all_zero', async () => {
    await expectRestarted(`00-${TRACE}-${'0'.repeat(16)}-01`);
  });

  it('test_traceparent_parent_id_illegal_characters', async () => {
    await expectRestarted(`00-${TRACE}-.234567890123456-01`);
    await expectRestarted(`00-${TRACE}-123456789012345.-01`);
  });

  it('test_traceparent_parent_id_too_long', async () => {
    await expectRestarted(`00-${TRACE}-${PARENT}7-01`);
  });

  it('test_traceparent_parent_id_too_short', async () => {
    await expectRestarted(`00-${TRACE}-${PARENT.slice(0, 15)}-01`);
  });

  it('test_traceparent_trace_flags_illegal_characters', async () => {
    await expectRestarted(`00-${TRACE}-${PARENT}-.0`);
    await expectRestarted(`00-${TRACE}-${PARENT}-0.`);
  });

  it('test_traceparent_trace_flags_too_long', async () => {
    await expectRestarted(`00-${TRACE}-${PARENT}-001`);
  });

  it('test_traceparent_trace_flags_too_short', async () => {
    await expectRestarted(`00-${TRACE}-${PARENT}-1`);
  });

  it('test_traceparent_ows_handling', async () => {
    for (const value of [` ${VALID}`, `\t${VALID}`, `${VALID} `, `${VALID}\t`, `\t ${VALID} \t`]) {
      await expectInherited(tp(value));
    }
  });

  it('test_tracestate_included_traceparent_missing', async () => {
    const one = await single(ts('foo=1'));
    const two = await single(ts('foo=1,bar=2'));
    expect(one.tracestate.size).toBe(0);
    expect(two.tracestate.size).toBe(0);
    expect(two.tracestateText).toBe('');
  });

  it('test_tracestate_included_traceparent_included', async () => {
    const cb = await expectInherited(tp(NOT_SAMPLED), ts('foo=1,bar=2'));
    expect(cb.tracestate.get('foo')).toBe('1');
    expect(cb.tracestate.get('bar')).toBe('2');
  });

  it('test_tracestate_header_name', async () => {
    for (const name of ['trace-state', 'trace.state']) {
      const cb = await expectInherited(tp(NOT_SAMPLED), [name, 'foo=1']);
      expect(cb.tracestate.has('foo')).toBe(false);
    }
  });

  it('test_tracestate_header_name_valid_casing', async () => {
    for (const name of ['TraceState', 'TrAcEsTaTe', 'TRACESTATE']) {
      const cb = await expectInherited(tp(NOT_SAMPLED), [name, 'foo=1']);
      expect(cb.tracestate.get('foo')).toBe('1');
    }
  });

  it('test_tracestate_empty_header', async () => {
    const empty = await expectInherited(tp(NOT_SAMPLED), ts(''));
    expect(empty.tracestate.size).toBe(0);
    const after = await expectInherited(tp(NOT_SAMPLED), ts('foo=1'), ts(''));
    expect(after.tracestate.get('foo')).toBe('1');
    const before = await expectInherited(tp(NOT_SAMPLED), ts(''), ts('foo=1'));
    expect(before.tracestate.get('foo')).toBe('1');
  });

  it('test_tracestate_multiple_headers_different_keys', async () => {
    const cb = await expectInherited(
      tp(NOT_SAMPLED),
      ts('foo=1,bar=2'),
      ts('rojo=1,congo=2'),
      ts('baz=3'),
    );
    const text = cb.tracestateText;
    const order = ['foo=1', 'bar=2', 'rojo=1', 'congo=2', 'baz=3'].map((m) => text.indexOf(m));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('test_tracestate_duplicated_keys', async () => {
    // The current suite accepts either value of a repeated key; this service keeps the left-most.
    for (const [headers, either] of [
      [[ts('foo=1,foo=1')], ['1']],
      [[ts('foo=1,foo=2')], ['1', '2']],
      [[ts('foo=1'), ts('foo=1')], ['1']],
      [
        [ts('foo=1'), ts('foo=2')],
        ['1', '2'],
      ],
    ] as const) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ...headers);
      expect(either).toContain(cb.tracestate.get('foo'));
    }
  });

  it('test_tracestate_all_allowed_characters', async () => {
    const range = (a: number, b: number) =>
      String.fromCharCode(...Array.from({ length: b - a + 1 }, (_, i) => a + i));
    const keyWithoutVendor = `${range(0x61, 0x7a)}0123456789_-*/`;
    const keyWithVendor = `${keyWithoutVendor}@a-z0-9_-*/`;
    const value = range(0x20, 0x2b) + range(0x2d, 0x3c) + range(0x3e, 0x7e);
    for (const key of [keyWithoutVendor, keyWithVendor]) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts(`${key}=${value}`));
      expect(cb.tracestate.get(key)).toBe(value);
    }
  });

  it('test_tracestate_ows_handling', async () => {
    for (const header of ['foo=1 \t , \t bar=2, \t baz=3', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3']) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts(header));
      expect(Object.fromEntries(cb.tracestate)).toEqual({ foo: '1', bar: '2', baz: '3' });
    }
    for (const header of [' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t']) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts(header));
      expect(cb.tracestate.get('foo')).toBe('1');
    }
  });

  it('test_tracestate_key_illegal_characters', async () => {
    for (const [header, key] of [
      ['foo =1', 'foo '],
      ['FOO=1', 'FOO'],
      ['foo.bar=1', 'foo.bar'],
    ]) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts(header as string));
      expect(cb.tracestate.has(key as string)).toBe(false);
      expect(cb.tracestate.size).toBe(0);
    }
  });

  it('test_tracestate_key_illegal_vendor_format', async () => {
    const kept = await expectInherited(tp(NOT_SAMPLED), ts('foo@=1,bar=2'));
    expect(kept.tracestate.get('bar')).toBe('2');
    expect(kept.tracestate.get('foo@')).toBe('1');
    const dropped = await expectInherited(tp(NOT_SAMPLED), ts('@foo=1,bar=2'));
    expect(dropped.tracestate.size).toBe(0);
    for (const key of ['foo@@bar', 'foo@bar@baz']) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts(`${key}=1,bar=2`));
      expect(cb.tracestate.get(key)).toBe('1');
      expect(cb.tracestate.get('bar')).toBe('2');
    }
  });

  it('test_tracestate_member_count_limit', async () => {
    const member = (i: number) => `bar${String(i).padStart(2, '0')}=${String(i).padStart(2, '0')}`;
    const headers = [1, 9, 17, 25].map((from) =>
      ts(Array.from({ length: 8 }, (_, i) => member(from + i)).join(',')),
    );
    const kept = await expectInherited(tp(NOT_SAMPLED), ...headers);
    expect(kept.tracestate.size).toBe(32);
    expect(kept.tracestate.get('bar01')).toBe('01');
    expect(kept.tracestate.get('bar32')).toBe('32');
    const dropped = await expectInherited(tp(NOT_SAMPLED), ...headers, ts(member(33)));
    expect(dropped.tracestate.size).toBe(0);
  });

  it('test_tracestate_key_length_limit', async () => {
    const kept = await expectInherited(tp(NOT_SAMPLED), ts('foo=1'), ts(`${'z'.repeat(256)}=1`));
    expect(kept.tracestate.get('foo')).toBe('1');
    const dropped = await expectInherited(tp(NOT_SAMPLED), ts('foo=1'), ts(`${'z'.repeat(257)}=1`));
    expect(dropped.tracestate.size).toBe(0);
    for (const key of [
      `${'t'.repeat(241)}@${'v'.repeat(14)}`,
      `${'t'.repeat(242)}@v`,
      `t@${'v'.repeat(15)}`,
    ]) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts('foo=1'), ts(`${key}=1`));
      expect(cb.tracestate.get('foo')).toBe('1');
      expect(cb.tracestate.get(key)).toBe('1');
    }
  });

  it('test_tracestate_value_illegal_characters', async () => {
    for (const header of ['foo=bar=baz', 'foo=,bar=3']) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts(header));
      expect(cb.tracestate.size).toBe(0);
    }
  });
});

// ---- AdvancedTest (3) -------------------------------------------------------------------------

describe('AdvancedTest', () => {
  function distinctParents(received: Callback[]): void {
    expect(new Set(received.map((c) => c.traceparent.parentId)).size).toBe(received.length);
  }

  it('test_multiple_requests_with_valid_traceparent', async () => {
    const received = await makeRequest([tp(VALID)], 3);
    for (const c of received) expect(c.traceparent.traceId).toBe(TRACE);
    expect(received.map((c) => c.traceparent.parentId)).not.toContain(PARENT);
    distinctParents(received);
  });

  it('test_multiple_requests_without_traceparent', async () => {
    const received = await makeRequest([], 3);
    expect(new Set(received.map((c) => c.traceparent.traceId)).size).toBe(1);
    distinctParents(received);
  });

  it('test_multiple_requests_with_illegal_traceparent', async () => {
    const received = await makeRequest([tp(`00-${'0'.repeat(32)}-${PARENT}-01`)], 3);
    for (const c of received) expect(c.traceparent.traceId).not.toBe('0'.repeat(32));
    distinctParents(received);
  });
});

// ---- TraceContext2Test (1, Level 2) ------------------------------------------------------------

describe('TraceContext2Test', () => {
  it('test_propagates_random_flag', async () => {
    const cb = await expectInherited(tp(`00-${TRACE}-${PARENT}-02`));
    // The suite's assert_bit_set(flags, 2) tests 1 << (2 - 1).
    expect(cb.traceparent.flags & (1 << (2 - 1))).not.toBe(0);
  });
});

// ---- Beyond the suite: the other half of the random-flag rule, and the server span's parent ----

describe('beyond the suite', () => {
  it('keeps the random flag unset when it came unset', async () => {
    for (const flags of ['00', '01']) {
      const cb = await expectInherited(tp(`00-${TRACE}-${PARENT}-${flags}`));
      expect(cb.traceparent.flags & 0x02).toBe(0);
      expect(cb.traceparent.flags & 0x01).toBe(Number(flags));
    }
  });

  it('sets the random flag on a trace the service starts (SDK ids are random)', async () => {
    const cb = await single();
    expect(cb.traceparent.flags & 0x02).toBe(0x02);
  });

  it('parents the SERVER span on the incoming parent-id', async () => {
    await expectInherited(tp(VALID));
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    expect(server?.spanContext().traceId).toBe(TRACE);
    expect(server?.parentSpanContext?.spanId).toBe(PARENT);
    expect(server?.parentSpanContext?.isRemote).toBe(true);
  });

  it('discards valid members beside an invalid one', async () => {
    for (const header of ['bar=2,foo =1', 'FOO=1,bar=2', 'bar=2,foo.bar=1', 'bar=2,foo=\u00e9']) {
      const cb = await expectInherited(tp(NOT_SAMPLED), ts(header));
      expect(cb.tracestate.size).toBe(0);
    }
  });

  it('keeps serving after a request with hostile headers', async () => {
    const hostile: Header[] = [
      tp(`${'-'.repeat(4000)}`),
      ts(`${'a=1,'.repeat(1000)}`),
      ts(','.repeat(4000)),
      ts(`k=${'\u00ff'.repeat(100)}`),
    ];
    const cb = await single(...hostile);
    expect(cb.traceparent.traceId).not.toBe(TRACE);
    expect(cb.tracestate.size).toBe(0);
    await expectInherited(tp(VALID));
  });
});
