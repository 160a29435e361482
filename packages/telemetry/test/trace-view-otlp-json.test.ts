import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  normalizeHexId,
  OtlpFormatError,
  spanRecordsFromOtlpJson,
} from '../src/trace-view/otlp-json.js';

const TRACE = '5b8efff798038103d269b633813fc60c';

/** The span of the OTLP spec's `examples/trace.json`, with its resource and scope around it. */
function exampleRequest(span: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: 'my.service' } }],
        },
        scopeSpans: [
          {
            scope: { name: 'my.library', version: '1.0.0' },
            spans: [
              {
                traceId: TRACE,
                spanId: 'eee19b7ec3c1b174',
                parentSpanId: 'eee19b7ec3c1b173',
                name: "I'm a server span",
                startTimeUnixNano: '1544712660000000000',
                endTimeUnixNano: '1544712661000000000',
                kind: 2,
                attributes: [{ key: 'my.span.attr', value: { stringValue: 'some value' } }],
                ...span,
              },
            ],
          },
        ],
      },
    ],
  };
}

function only(request: unknown) {
  const result = spanRecordsFromOtlpJson(request);
  expect(result.rejected).toBe(0);
  expect(result.spans).toHaveLength(1);
  return result.spans[0]!;
}

describe('spanRecordsFromOtlpJson', () => {
  it('reads the spec example', () => {
    expect(only(exampleRequest())).toEqual({
      traceId: TRACE,
      spanId: 'eee19b7ec3c1b174',
      parentSpanId: 'eee19b7ec3c1b173',
      name: "I'm a server span",
      kind: 'server',
      service: 'my.service',
      startMs: 1544712660000,
      durationMs: 1000,
      status: 'unset',
      attributes: { 'my.span.attr': 'some value' },
      events: [],
    });
  });

  it('takes hex ids in any case and stores them lower case', () => {
    const span = only(
      exampleRequest({
        traceId: TRACE.toUpperCase(),
        spanId: 'EEE19B7EC3C1B174',
        parentSpanId: 'EeE19b7eC3c1B173',
      }),
    );
    expect(span.traceId).toBe(TRACE);
    expect(span.spanId).toBe('eee19b7ec3c1b174');
    expect(span.parentSpanId).toBe('eee19b7ec3c1b173');
  });

  it('takes int64 times as strings or numbers, keeping nanoseconds in the duration', () => {
    const a = only(
      exampleRequest({
        startTimeUnixNano: '1544712660000000000',
        endTimeUnixNano: '1544712660000000001',
      }),
    );
    expect(a.durationMs).toBe(0.000001);
    const b = only(
      exampleRequest({
        startTimeUnixNano: 1544712660000000000,
        endTimeUnixNano: 1544712660250000000,
      }),
    );
    expect(b.startMs).toBe(1544712660000);
    expect(b.durationMs).toBeCloseTo(250, 3);
  });

  it('reads enums as integers and refuses their names', () => {
    const names = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'];
    for (let kind = 0; kind <= 5; kind++)
      expect(only(exampleRequest({ kind })).kind).toBe(names[kind]);
    expect(only(exampleRequest({ kind: undefined })).kind).toBe('internal');
    const named = spanRecordsFromOtlpJson(exampleRequest({ kind: 'SPAN_KIND_SERVER' }));
    expect(named.rejected).toBe(1);
    expect(named.errors[0]).toMatch(/kind must be an integer/);
    const status = only(exampleRequest({ status: { code: 2, message: 'boom' } }));
    expect(status.status).toBe('error');
    expect(status.statusMessage).toBe('boom');
    expect(only(exampleRequest({ status: { code: 1 } })).status).toBe('ok');
    expect(spanRecordsFromOtlpJson(exampleRequest({ status: { code: 7 } })).rejected).toBe(1);
  });

  it('ignores unknown fields at every level', () => {
    const request = exampleRequest({
      futureField: { x: 1 },
      droppedAttributesCount: 3,
      flags: 257,
    });
    (request as { extra?: unknown }).extra = [1, 2, 3];
    const rs = (request.resourceSpans as Record<string, unknown>[])[0]!;
    rs.schemaUrl = 'https://opentelemetry.io/schemas/1.4.0';
    rs.somethingNew = true;
    expect(only(request).name).toBe("I'm a server span");
  });

  it('treats an empty or all-zero parent as no parent', () => {
    expect(only(exampleRequest({ parentSpanId: '' })).parentSpanId).toBeUndefined();
    expect(only(exampleRequest({ parentSpanId: '0000000000000000' })).parentSpanId).toBeUndefined();
    expect(only(exampleRequest({ parentSpanId: undefined })).parentSpanId).toBeUndefined();
  });

  it('rejects spans with bad ids or times, keeping the others and saying why', () => {
    const request = exampleRequest();
    const spans = (
      (request.resourceSpans as Record<string, unknown>[])[0]!.scopeSpans as Record<
        string,
        unknown
      >[]
    )[0]!.spans as unknown[];
    const good = spans[0] as Record<string, unknown>;
    spans.push(
      { ...good, spanId: 'xyz' },
      { ...good, traceId: '0'.repeat(32) },
      { ...good, traceId: 'W0W0'.repeat(8) },
      { ...good, parentSpanId: 'abc' },
      { ...good, endTimeUnixNano: '1' },
      { ...good, startTimeUnixNano: 'soon' },
      { ...good, name: 42 },
      'not a span',
    );
    const result = spanRecordsFromOtlpJson(request);
    expect(result.spans).toHaveLength(1);
    expect(result.rejected).toBe(8);
    expect(result.errors).toHaveLength(8);
    expect(result.errors[0]).toMatch(/invalid spanId "xyz"/);
    expect(result.errors[1]).toMatch(/invalid traceId/);
    expect(result.errors[3]).toMatch(/invalid parentSpanId "abc"/);
    expect(result.errors[4]).toMatch(/endTimeUnixNano/);
    expect(result.errors[5]).toMatch(/startTimeUnixNano/);
    expect(result.errors[6]).toMatch(/name must be a string/);
  });

  it('converts every AnyValue type to a JSON-safe attribute', () => {
    const span = only(
      exampleRequest({
        attributes: [
          { key: 's', value: { stringValue: 'x' } },
          { key: 'b', value: { boolValue: false } },
          { key: 'i', value: { intValue: '42' } },
          { key: 'n', value: { intValue: 7 } },
          { key: 'big', value: { intValue: '9223372036854775807' } },
          { key: 'd', value: { doubleValue: 1.5 } },
          { key: 'nan', value: { doubleValue: 'NaN' } },
          { key: 'bytes', value: { bytesValue: 'AQID' } },
          {
            key: 'arr',
            value: {
              arrayValue: {
                values: [
                  { intValue: '1' },
                  { stringValue: 'two' },
                  {},
                  { arrayValue: { values: [] } },
                ],
              },
            },
          },
          {
            key: 'map',
            value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } },
          },
          { key: 'empty', value: {} },
          { key: 5, value: { stringValue: 'no key' } },
          'garbage',
        ],
      }),
    );
    expect(span.attributes).toEqual({
      s: 'x',
      b: false,
      i: 42,
      n: 7,
      big: '9223372036854775807',
      d: 1.5,
      nan: 'NaN',
      bytes: 'AQID',
      arr: [1, 'two', null, '[]'],
      map: '{"k":"v"}',
    });
    expect(JSON.parse(JSON.stringify(span))).toEqual(span);
  });

  it('reads events, defaulting a missing time to the span start', () => {
    const span = only(
      exampleRequest({
        events: [
          {
            name: 'exception',
            timeUnixNano: '1544712660500000000',
            attributes: [{ key: 'exception.type', value: { stringValue: 'Error' } }],
          },
          { name: 'no time' },
          42,
        ],
      }),
    );
    expect(span.events).toEqual([
      { name: 'exception', timeMs: 1544712660500, attributes: { 'exception.type': 'Error' } },
      { name: 'no time', timeMs: 1544712660000, attributes: {} },
    ]);
  });

  it('names a missing service unknown_service', () => {
    const request = exampleRequest();
    delete (request.resourceSpans as Record<string, unknown>[])[0]!.resource;
    expect(only(request).service).toBe('unknown_service');
  });

  it('accepts an empty request', () => {
    expect(spanRecordsFromOtlpJson({})).toEqual({ spans: [], rejected: 0, errors: [] });
    expect(spanRecordsFromOtlpJson({ resourceSpans: [] }).spans).toEqual([]);
    expect(spanRecordsFromOtlpJson({ resourceSpans: [{}] }).spans).toEqual([]);
  });

  it('throws OtlpFormatError for requests of the wrong shape', () => {
    for (const bad of [
      null,
      42,
      'x',
      [],
      { resourceSpans: 3 },
      { resourceSpans: [7] },
      { resourceSpans: [{ scopeSpans: {} }] },
      { resourceSpans: [{ scopeSpans: [{ spans: 'x' }] }] },
    ]) {
      expect(() => spanRecordsFromOtlpJson(bad)).toThrow(OtlpFormatError);
    }
    expect(() => spanRecordsFromOtlpJson({ resource_spans: [] })).toThrow(
      /lowerCamelCase: "resourceSpans", not "resource_spans"/,
    );
    try {
      spanRecordsFromOtlpJson({ resourceSpans: [{ scopeSpans: 'nope' }] });
      expect.unreachable();
    } catch (err) {
      expect((err as OtlpFormatError).code).toBe('EOTLPFORMAT');
      expect((err as Error).message).toMatch(/resourceSpans\[0\]\.scopeSpans must be an array/);
    }
  });

  it('caps the rejection messages but counts every rejected span', () => {
    const request = exampleRequest({ spanId: 'bad' });
    const scope = (
      (request.resourceSpans as Record<string, unknown>[])[0]!.scopeSpans as Record<
        string,
        unknown
      >[]
    )[0]!;
    const one = (scope.spans as unknown[])[0];
    scope.spans = Array.from({ length: 50 }, () => one);
    const result = spanRecordsFromOtlpJson(request);
    expect(result.rejected).toBe(50);
    expect(result.errors).toHaveLength(10);
  });
});

describe('normalizeHexId', () => {
  it('accepts hex of the right length in any case, refuses all zeros', () => {
    expect(normalizeHexId('ABCDEF0123456789', 16)).toBe('abcdef0123456789');
    expect(normalizeHexId('0000000000000000', 16)).toBeUndefined();
    expect(normalizeHexId('abcdef012345678', 16)).toBeUndefined();
    expect(normalizeHexId('abcdef012345678g', 16)).toBeUndefined();
    expect(normalizeHexId(1234, 16)).toBeUndefined();
  });

  it('agrees with a regular expression on arbitrary strings (property)', () => {
    const hexish = fc.string({
      unit: fc.constantFrom(...'0123456789abcdefABCDEFxg- '.split('')),
      minLength: 14,
      maxLength: 18,
    });
    fc.assert(
      fc.property(fc.oneof(hexish, fc.string()), (s) => {
        const valid = /^[0-9a-f]{16}$/i.test(s) && !/^0+$/.test(s);
        expect(normalizeHexId(s, 16)).toBe(valid ? s.toLowerCase() : undefined);
      }),
    );
  });
});

describe('spanRecordsFromOtlpJson properties', () => {
  const hex = (n: number) =>
    fc
      .string({
        unit: fc.constantFrom(...'0123456789abcdefABCDEF'.split('')),
        minLength: n,
        maxLength: n,
      })
      .filter((s) => !/^0+$/.test(s));

  it('round-trips generated spans: ids lower-cased, times exact in either int64 form', () => {
    const spanArb = fc.record({
      traceId: hex(32),
      spanId: hex(16),
      parent: fc.option(hex(16), { nil: undefined }),
      name: fc.string(),
      kind: fc.integer({ min: 0, max: 5 }),
      startNs: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
      durNs: fc.bigInt({ min: 0n, max: 10n ** 13n }),
      asNumber: fc.boolean(),
      code: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(spanArb, { maxLength: 8 }), fc.string(), (specs, service) => {
        const request = {
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
              scopeSpans: [
                {
                  spans: specs.map((s) => ({
                    traceId: s.traceId,
                    spanId: s.spanId,
                    parentSpanId: s.parent ?? '',
                    name: s.name,
                    kind: s.kind,
                    // Numbers only where they are exact, as a conforming encoder would send them.
                    startTimeUnixNano:
                      s.asNumber && s.startNs <= 2n ** 53n ? Number(s.startNs) : String(s.startNs),
                    endTimeUnixNano: String(s.startNs + s.durNs),
                    status: { code: s.code },
                  })),
                },
              ],
            },
          ],
        };
        const result = spanRecordsFromOtlpJson(JSON.parse(JSON.stringify(request)));
        expect(result.rejected).toBe(0);
        expect(result.spans).toHaveLength(specs.length);
        result.spans.forEach((r, i) => {
          const s = specs[i]!;
          expect(r.traceId).toBe(s.traceId.toLowerCase());
          expect(r.spanId).toBe(s.spanId.toLowerCase());
          expect(r.parentSpanId).toBe(s.parent?.toLowerCase());
          expect(r.name).toBe(s.name);
          expect(r.service).toBe(service === '' ? 'unknown_service' : service);
          expect(r.durationMs).toBeCloseTo(Number(s.durNs) / 1e6, 9);
          expect(Math.abs(r.startMs - Number(s.startNs) / 1e6)).toBeLessThanOrEqual(
            Math.max(1e-6, (Number(s.startNs) / 1e6) * 1e-15),
          );
        });
      }),
    );
  });

  it('never throws anything but OtlpFormatError, whatever JSON it gets', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.jsonValue().map((v) => ({ resourceSpans: v })),
          fc.jsonValue().map((v) => ({ resourceSpans: [{ scopeSpans: [{ spans: [v] }] }] })),
          fc.jsonValue().map((v) => exampleRequest({ attributes: v, events: v, status: v })),
        ),
        (value) => {
          try {
            const result = spanRecordsFromOtlpJson(value);
            expect(result.spans.length + result.rejected).toBeGreaterThanOrEqual(0);
            for (const span of result.spans) {
              expect(JSON.parse(JSON.stringify(span))).toEqual(span);
            }
          } catch (err) {
            expect(err).toBeInstanceOf(OtlpFormatError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
