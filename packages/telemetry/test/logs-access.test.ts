import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import type { DestinationStream } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLogLevel, logAccess } from '../src/logs/access.js';
import { createLogger, type Logger, type LogLevel } from '../src/logs/logger.js';

type Line = Record<string, unknown>;

function memory(): DestinationStream & { lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    write(s: string): void {
      lines.push(JSON.parse(s) as Line);
    },
  };
}

function setup(level?: LogLevel): { logger: Logger; lines: Line[] } {
  const out = memory();
  return {
    logger: createLogger({ service: 'api', destination: out, ...(level ? { level } : {}) }),
    lines: out.lines,
  };
}

/** The line without the fields every line has. */
function own(line: Line | undefined): Line {
  const { time: _t, pid: _p, hostname: _h, service: _s, ...rest } = line ?? {};
  return rest;
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe('accessLogLevel', () => {
  it.each([
    [100, 'info'],
    [200, 'info'],
    [204, 'info'],
    [304, 'info'],
    [399, 'info'],
    [400, 'warn'],
    [404, 'warn'],
    [499, 'warn'],
    [500, 'error'],
    [503, 'error'],
    [599, 'error'],
  ] as const)('%i -> %s', (status, level) => {
    expect(accessLogLevel(status)).toBe(level);
  });

  it('maps every status code by its class', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 999 }), (status) => {
        const expected = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
        expect(accessLogLevel(status)).toBe(expected);
      }),
    );
  });

  it.each([99, 1000, 200.5, -1, Number.NaN, Number.POSITIVE_INFINITY, '200', undefined, null])(
    'rejects %s with a TypeError naming "status"',
    (status) => {
      expect(() => accessLogLevel(status as number)).toThrow(
        /accessLogLevel: argument "status" must be an HTTP status code/,
      );
      expect(() => accessLogLevel(status as number)).toThrow(TypeError);
    },
  );
});

describe('logAccess', () => {
  it('writes exactly one line with method, route, status, duration_ms and the message', () => {
    const { logger, lines } = setup();
    logAccess(logger, 'GET', '/orders/:id', 200, 12.3456789);
    expect(lines).toHaveLength(1);
    expect(own(lines[0])).toEqual({
      level: 'info',
      method: 'GET',
      route: '/orders/:id',
      status: 200,
      duration_ms: 12.346,
      msg: 'request completed',
    });
  });

  it('logs 4xx at warn and 5xx at error', () => {
    const { logger, lines } = setup();
    logAccess(logger, 'POST', '/orders', 422, 1);
    logAccess(logger, 'POST', '/orders', 502, 1);
    logAccess(logger, 'GET', '/old', 301, 1);
    expect(lines.map((l) => [l.level, l.status])).toEqual([
      ['warn', 422],
      ['error', 502],
      ['info', 301],
    ]);
  });

  it('leaves route out when no route matched, and logs the path given in extra', () => {
    const { logger, lines } = setup();
    logAccess(logger, 'GET', undefined, 404, 0.5, { path: '/no/such/page' });
    logAccess(logger, 'GET', undefined, 404, 0.5);
    expect(own(lines[0])).toEqual({
      level: 'warn',
      method: 'GET',
      status: 404,
      duration_ms: 0.5,
      path: '/no/such/page',
      msg: 'request completed',
    });
    expect(lines[1]).not.toHaveProperty('route');
    expect(lines[1]).not.toHaveProperty('path');
  });

  it('adds extra fields without letting them replace the access fields, and leaves extra alone', () => {
    const { logger, lines } = setup();
    const extra = {
      status: 200,
      method: 'HEAD',
      route: '/x',
      duration_ms: 0,
      msg: 'other',
      user_agent: 'curl/8',
      bytes: 512,
    };
    const before = { ...extra };
    logAccess(logger, 'GET', '/orders', 500, 3, extra);
    expect(own(lines[0])).toEqual({
      level: 'error',
      method: 'GET',
      route: '/orders',
      status: 500,
      duration_ms: 3,
      user_agent: 'curl/8',
      bytes: 512,
      msg: 'request completed',
    });
    expect(extra).toEqual(before);
  });

  it('writes nothing when the level is disabled', () => {
    const { logger, lines } = setup('error');
    logAccess(logger, 'GET', '/a', 200, 1);
    logAccess(logger, 'GET', '/a', 404, 1);
    logAccess(logger, 'GET', '/a', 500, 1);
    expect(lines.map((l) => l.status)).toEqual([500]);
  });

  it('carries the trace of the active span', () => {
    const { logger, lines } = setup();
    const tracer = new BasicTracerProvider().getTracer('t');
    tracer.startActiveSpan('GET /a', (span) => {
      logAccess(logger, 'GET', '/a', 200, 1);
      span.end();
      expect(lines[0]).toMatchObject({
        trace_id: span.spanContext().traceId,
        span_id: span.spanContext().spanId,
      });
    });
  });

  it('writes one line per call with the fields given (property)', () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH');
    const route = fc.option(fc.constantFrom('/a', '/orders/:id', '/'), { nil: undefined });
    const status = fc.integer({ min: 100, max: 599 });
    const duration = fc.double({ min: 0, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(method, route, status, duration), { maxLength: 20 }),
        (calls) => {
          const { logger, lines } = setup();
          for (const [m, r, s, d] of calls) logAccess(logger, m, r, s, d);
          expect(lines).toHaveLength(calls.length);
          calls.forEach(([m, r, s, d], i) => {
            const line = lines[i]!;
            expect(line.method).toBe(m);
            expect(line.route).toBe(r);
            expect(line.status).toBe(s);
            expect(line.level).toBe(accessLogLevel(s));
            expect(Math.abs((line.duration_ms as number) - d)).toBeLessThanOrEqual(
              0.0005 + d * 1e-12,
            );
          });
        },
      ),
    );
  });

  describe('bad input', () => {
    const cases: [string, unknown[], RegExp][] = [
      [
        'not a logger',
        [{}, 'GET', '/', 200, 1],
        /argument "logger" must be a pino logger, got Object/,
      ],
      [
        'null logger',
        [null, 'GET', '/', 200, 1],
        /argument "logger" must be a pino logger, got null/,
      ],
      [
        'console as logger',
        [console, 'GET', '/', 200, 1],
        /argument "logger" must be a pino logger/,
      ],
      ['numeric method', ['LOGGER', 1, '/', 200, 1], /argument "method" must be a string/],
      [
        'numeric route',
        ['LOGGER', 'GET', 5, 200, 1],
        /argument "route" must be a string or undefined/,
      ],
      [
        'status string',
        ['LOGGER', 'GET', '/', '200', 1],
        /argument "status" must be an HTTP status code/,
      ],
      ['status 0', ['LOGGER', 'GET', '/', 0, 1], /argument "status" must be an HTTP status code/],
      [
        'negative duration',
        ['LOGGER', 'GET', '/', 200, -1],
        /argument "durationMs" must be a finite number >= 0/,
      ],
      [
        'NaN duration',
        ['LOGGER', 'GET', '/', 200, Number.NaN],
        /argument "durationMs" must be a finite number >= 0, got NaN/,
      ],
      [
        'infinite duration',
        ['LOGGER', 'GET', '/', 200, Number.POSITIVE_INFINITY],
        /argument "durationMs"/,
      ],
      ['string duration', ['LOGGER', 'GET', '/', 200, '5'], /argument "durationMs"/],
      [
        'string extra',
        ['LOGGER', 'GET', '/', 200, 1, 'x'],
        /argument "extra" must be an object or undefined/,
      ],
      [
        'null extra',
        ['LOGGER', 'GET', '/', 200, 1, null],
        /argument "extra" must be an object or undefined, got null/,
      ],
    ];
    it.each(cases)('%s: TypeError naming the argument, nothing written', (_n, args, message) => {
      const { logger, lines } = setup();
      const call = args.map((a) => (a === 'LOGGER' ? logger : a)) as Parameters<typeof logAccess>;
      expect(() => logAccess(...call)).toThrow(TypeError);
      expect(() => logAccess(...call)).toThrow(message);
      expect(lines).toEqual([]);
      logAccess(logger, 'GET', '/', 200, 1);
      expect(lines).toHaveLength(1);
    });
  });
});
