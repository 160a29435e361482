import {
  type Context,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { TraceState as OtelTraceState, suppressTracing } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { W3CTraceContextPropagator, w3cPropagator } from '../src/w3c/propagator.js';
import { parseTracestate } from '../src/w3c/tracestate.js';

const TRACE = '12345678901234567890123456789012';
const PARENT = '1234567890123456';
const HEADER_RE = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A getter that records which headers were asked for. */
function recordingGetter(asked: string[]): TextMapGetter<Record<string, string>> {
  return {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => {
      asked.push(key);
      return carrier[key];
    },
  };
}

function remote(ctx: Context): SpanContext {
  const sc = trace.getSpanContext(ctx);
  if (sc === undefined) throw new Error('no span context extracted');
  return sc;
}

function injected(ctx: Context, propagator = w3cPropagator): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier);
  return carrier;
}

function withSpanContext(sc: SpanContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, sc);
}

describe('W3CTraceContextPropagator options', () => {
  it('accepts no options, empty options and a boolean randomTraceIds', () => {
    expect(() => new W3CTraceContextPropagator()).not.toThrow();
    expect(() => new W3CTraceContextPropagator({})).not.toThrow();
    expect(() => new W3CTraceContextPropagator({ randomTraceIds: false })).not.toThrow();
  });

  it.each([
    ['null', null, /options must be an object, got null/],
    ['a number', 42, /options must be an object/],
    ['an array', [], /options must be an object, got Array/],
    [
      'a string randomTraceIds',
      { randomTraceIds: 'yes' },
      /option "randomTraceIds" must be a boolean/,
    ],
    [
      'a numeric randomTraceIds',
      { randomTraceIds: 1 },
      /option "randomTraceIds" must be a boolean/,
    ],
    ['an unknown option', { random: true }, /unknown option "random"/],
  ])('throws a TypeError naming the problem for %s', (_name, options, message) => {
    const build = () => new W3CTraceContextPropagator(options as never);
    expect(build).toThrow(TypeError);
    expect(build).toThrow(/^W3CTraceContextPropagator: /);
    expect(build).toThrow(message);
  });
});

describe('fields', () => {
  it('lists the two headers, in a fresh array each time', () => {
    const fields = w3cPropagator.fields();
    expect(fields).toEqual(['traceparent', 'tracestate']);
    fields.pop();
    expect(w3cPropagator.fields()).toEqual(['traceparent', 'tracestate']);
  });
});

describe('extract', () => {
  it('turns a valid traceparent into a remote span context', () => {
    const sc = remote(
      w3cPropagator.extract(ROOT_CONTEXT, { traceparent: `00-${TRACE}-${PARENT}-01` }),
    );
    expect(sc).toMatchObject({ traceId: TRACE, spanId: PARENT, traceFlags: 1, isRemote: true });
    expect(sc.traceState).toBeUndefined();
  });

  it('keeps only the sampled bit in traceFlags', () => {
    for (const [flags, sampled] of [
      ['00', 0],
      ['02', 0],
      ['03', 1],
      ['ff', 1],
      ['fe', 0],
    ] as const) {
      const ctx = w3cPropagator.extract(ROOT_CONTEXT, {
        traceparent: `00-${TRACE}-${PARENT}-${flags}`,
      });
      expect(remote(ctx).traceFlags).toBe(sampled);
    }
  });

  it('attaches a valid tracestate, combining several values', () => {
    const ctx = w3cPropagator.extract(ROOT_CONTEXT, {
      traceparent: `00-${TRACE}-${PARENT}-01`,
      tracestate: ['foo=1', 'bar=2'],
    });
    expect(remote(ctx).traceState?.serialize()).toBe('foo=1,bar=2');
  });

  it('drops an invalid or empty tracestate but keeps the trace', () => {
    for (const tracestate of ['foo=1,FOO=2', 'FOO=1', 'foo=', '', ' , ']) {
      const sc = remote(
        w3cPropagator.extract(ROOT_CONTEXT, {
          traceparent: `00-${TRACE}-${PARENT}-01`,
          tracestate,
        }),
      );
      expect(sc.traceId).toBe(TRACE);
      expect(sc.traceState).toBeUndefined();
    }
  });

  it('returns the same context for an invalid traceparent and never reads tracestate', () => {
    for (const traceparent of [`ff-${TRACE}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01-x`, '']) {
      const asked: string[] = [];
      const ctx = ROOT_CONTEXT.setValue(Symbol('marker'), 1);
      const out = w3cPropagator.extract(
        ctx,
        { traceparent, tracestate: 'foo=1' },
        recordingGetter(asked),
      );
      expect(out).toBe(ctx);
      expect(asked).toEqual(['traceparent']);
    }
  });

  it('treats a duplicated traceparent (an array of two) as invalid', () => {
    const carrier = { traceparent: [`00-${TRACE}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01`] };
    expect(w3cPropagator.extract(ROOT_CONTEXT, carrier)).toBe(ROOT_CONTEXT);
  });

  it('does not throw on odd carriers or header values', () => {
    const carriers: unknown[] = [
      undefined,
      null,
      42,
      'traceparent',
      [],
      { traceparent: 42 },
      { traceparent: [null] },
      { traceparent: { toString: () => `00-${TRACE}-${PARENT}-01` } },
      { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 42 },
      { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: ['foo=1', 7] },
      Object.freeze({ traceparent: `00-${TRACE}-${PARENT}-01` }),
    ];
    for (const carrier of carriers) {
      const ctx = w3cPropagator.extract(ROOT_CONTEXT, carrier);
      const sc = trace.getSpanContext(ctx);
      if (sc !== undefined) {
        expect(sc.traceId).toBe(TRACE);
        expect(sc.traceState).toBeUndefined();
      }
    }
  });
});

describe('inject', () => {
  const local: SpanContext = { traceId: TRACE, spanId: PARENT, traceFlags: 1 };

  it('writes nothing without a valid span context', () => {
    expect(injected(ROOT_CONTEXT)).toEqual({});
    expect(injected(withSpanContext({ ...local, traceId: '0'.repeat(32) }))).toEqual({});
    expect(injected(withSpanContext({ ...local, spanId: 'xyz' }))).toEqual({});
  });

  it('writes nothing while tracing is suppressed', () => {
    expect(injected(suppressTracing(withSpanContext(local)))).toEqual({});
  });

  it('sets the random flag on locally started traces only when ids are random', () => {
    expect(injected(withSpanContext(local)).traceparent).toBe(`00-${TRACE}-${PARENT}-03`);
    const notRandom = new W3CTraceContextPropagator({ randomTraceIds: false });
    expect(injected(withSpanContext(local), notRandom).traceparent).toBe(
      `00-${TRACE}-${PARENT}-01`,
    );
    // A local context that claims the bit does not get it from a non-random propagator.
    expect(injected(withSpanContext({ ...local, traceFlags: 3 }), notRandom).traceparent).toBe(
      `00-${TRACE}-${PARENT}-01`,
    );
  });

  it('keeps the random flag of an extracted trace as it came, set or unset', () => {
    for (const [incoming, outgoing] of [
      ['00', '00'],
      ['01', '01'],
      ['02', '02'],
      ['03', '03'],
      ['fd', '01'],
    ] as const) {
      const ctx = w3cPropagator.extract(ROOT_CONTEXT, {
        traceparent: `00-${TRACE}-${PARENT}-${incoming}`,
      });
      expect(injected(ctx).traceparent).toBe(`00-${TRACE}-${PARENT}-${outgoing}`);
      const notRandom = new W3CTraceContextPropagator({ randomTraceIds: false });
      expect(injected(ctx, notRandom).traceparent).toBe(`00-${TRACE}-${PARENT}-${outgoing}`);
    }
  });

  it('keeps the bit of a remote parent extracted by someone else', () => {
    const other = withSpanContext({ ...local, isRemote: true, traceFlags: 2 });
    expect(injected(other).traceparent).toBe(`00-${TRACE}-${PARENT}-02`);
    const unset = withSpanContext({ ...local, isRemote: true, traceFlags: 1 });
    expect(injected(unset).traceparent).toBe(`00-${TRACE}-${PARENT}-01`);
  });

  it('re-emits a higher version as 00 without the unknown tail', () => {
    const ctx = w3cPropagator.extract(ROOT_CONTEXT, {
      traceparent: `cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`,
    });
    expect(injected(ctx).traceparent).toBe(`00-${TRACE}-${PARENT}-01`);
  });

  it('lowercases ids the API accepts in uppercase', () => {
    const upper = withSpanContext({
      traceId: 'ABCDEF'.padEnd(32, '1'),
      spanId: 'ABCDEF'.padEnd(16, '1'),
      traceFlags: 0,
    });
    expect(
      injected(upper, new W3CTraceContextPropagator({ randomTraceIds: false })).traceparent,
    ).toBe(`00-${'abcdef'.padEnd(32, '1')}-${'abcdef'.padEnd(16, '1')}-00`);
  });

  it('writes tracestate when not empty, including a state from another implementation', () => {
    const ctx = w3cPropagator.extract(ROOT_CONTEXT, {
      traceparent: `00-${TRACE}-${PARENT}-01`,
      tracestate: 'rojo=1, congo=2',
    });
    expect(injected(ctx).tracestate).toBe('rojo=1,congo=2');
    const empty = withSpanContext({ ...local, traceState: parseTracestate('')! });
    expect(injected(empty)).not.toHaveProperty('tracestate');
    const otel = withSpanContext({ ...local, traceState: new OtelTraceState('a=1,b=2') });
    expect(injected(otel).tracestate).toBe('a=1,b=2');
  });

  it('does not throw on carriers that cannot hold headers', () => {
    const ctx = withSpanContext(local);
    for (const carrier of [undefined, null, 42, 'text', true, Object.freeze({})]) {
      expect(() => w3cPropagator.inject(ctx, carrier)).not.toThrow();
    }
    const array: unknown[] = [];
    w3cPropagator.inject(ctx, array);
    expect((array as unknown as Record<string, string>).traceparent).toBe(
      `00-${TRACE}-${PARENT}-03`,
    );
  });

  it('uses a given setter', () => {
    const calls: [string, string][] = [];
    const ctx = w3cPropagator.extract(ROOT_CONTEXT, {
      traceparent: `00-${TRACE}-${PARENT}-01`,
      tracestate: 'foo=1',
    });
    w3cPropagator.inject(ctx, null, { set: (_c, key, value) => calls.push([key, value]) });
    expect(calls).toEqual([
      ['traceparent', `00-${TRACE}-${PARENT}-01`],
      ['tracestate', 'foo=1'],
    ]);
  });
});

describe('with the OTel SDK tracer', () => {
  const provider = new BasicTracerProvider();
  const tracer = provider.getTracer('w3c-propagator-test');
  afterAll(() => provider.shutdown());

  function childHeaders(parent: Context, root = false): Record<string, string> {
    const span = tracer.startSpan('child', { root }, parent);
    const out = injected(trace.setSpan(parent, span));
    span.end();
    return out;
  }

  it('continues an extracted trace with a new parent id and the random flag as received', () => {
    for (const flags of ['00', '01', '02', '03']) {
      const ctx = w3cPropagator.extract(ROOT_CONTEXT, {
        traceparent: `00-${TRACE}-${PARENT}-${flags}`,
        tracestate: 'foo=1',
      });
      const headers = childHeaders(ctx);
      const m = HEADER_RE.exec(headers.traceparent ?? '');
      expect(m?.[1]).toBe(TRACE);
      expect(m?.[2]).not.toBe(PARENT);
      // The default sampler follows the parent; the random bit is what came in.
      expect(m?.[3]).toBe(flags);
      expect(headers.tracestate).toBe('foo=1');
    }
  });

  it('sets the random flag on a new root started inside an extracted context', () => {
    const ctx = w3cPropagator.extract(ROOT_CONTEXT, { traceparent: `00-${TRACE}-${PARENT}-00` });
    const headers = childHeaders(ctx, true);
    const m = HEADER_RE.exec(headers.traceparent ?? '');
    expect(m?.[1]).not.toBe(TRACE);
    expect(m?.[3]).toBe('03');
  });
});

describe('properties', () => {
  const hex = (n: number) =>
    fc.string({
      unit: fc.constantFrom(...'0123456789abcdef'.split('')),
      minLength: n,
      maxLength: n,
    });
  const validTraceparent = fc
    .tuple(hex(2), hex(32), hex(16), hex(2), fc.constantFrom('', '-x', '-'))
    .map(([v, t, p, f, tail]) => `${v}-${t}-${p}-${f}${tail}`);
  const noise = fc.constantFrom(...'0aA-=,@ \t.\u00e9'.split(''));
  const mutate = (arb: fc.Arbitrary<string>) =>
    fc
      .tuple(arb, fc.array(fc.tuple(fc.nat(), noise, fc.boolean()), { maxLength: 2 }))
      .map(([s, edits]) => {
        for (const [at, ch, insert] of edits) {
          const i = s.length === 0 ? 0 : at % s.length;
          s = s.slice(0, i) + ch + s.slice(insert ? i : i + 1);
        }
        return s;
      });
  const validTracestate = fc
    .array(
      fc.tuple(
        fc.string({ unit: fc.constantFrom(...'ab0@_'.split('')), minLength: 1, maxLength: 4 }),
        fc.string({ unit: fc.constantFrom(...'xy !~'.split('')), minLength: 1, maxLength: 4 }),
      ),
      { maxLength: 5 },
    )
    .map((members) => members.map(([k, v]) => `a${k}=${v}x`).join(', '));
  const headerValue = (valid: fc.Arbitrary<string>) =>
    fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 60 }),
      valid,
      mutate(valid),
      fc.array(fc.oneof(valid, mutate(valid)), { maxLength: 3 }),
      fc.anything(),
    );

  it('extract never throws and inject afterwards always writes well-formed headers', () => {
    fc.assert(
      fc.property(headerValue(validTraceparent), headerValue(validTracestate), (tp, ts) => {
        const carrier = { traceparent: tp, tracestate: ts };
        const ctx = w3cPropagator.extract(ROOT_CONTEXT, carrier);
        const out = injected(ctx);
        const sc = trace.getSpanContext(ctx);
        if (sc === undefined) {
          expect(out).toEqual({});
          return;
        }
        const m = HEADER_RE.exec(out.traceparent ?? '');
        expect(m).not.toBeNull();
        expect(m?.[1]).not.toBe('0'.repeat(32));
        expect(m?.[2]).not.toBe('0'.repeat(16));
        expect(m?.[1]).toBe(sc.traceId);
        expect(Number.parseInt(m?.[3] ?? '', 16) & ~0x03).toBe(0);
        if (out.tracestate !== undefined) {
          expect(out.tracestate.length).toBeGreaterThan(0);
          expect(parseTracestate(out.tracestate)).not.toBeNull();
        }
      }),
      { numRuns: 3000 },
    );
  });
});
