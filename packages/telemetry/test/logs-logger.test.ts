import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { DestinationStream } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setCorrelationId } from '../src/correlation.js';
import { correlationMixin, mergeCorrelation } from '../src/logs/correlation.js';
import { flushLogger } from '../src/logs/flush.js';
import {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  loggerStats,
} from '../src/logs/logger.js';
import { streamOf } from '../src/logs/stream.js';

type Line = Record<string, unknown>;

/** A user-supplied destination that keeps the lines pino writes (one write() per line). */
function memory(): DestinationStream & { lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    write(s: string): void {
      lines.push(JSON.parse(s) as Line);
    },
  };
}

const contextManager = new AsyncLocalStorageContextManager();
const provider = new BasicTracerProvider();
const tracer = provider.getTracer('logs-test');
const unsampledTracer = new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer(
  'off',
);

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

let dir: string;
const opened: Logger[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nines-logs-'));
});
afterEach(async () => {
  for (const logger of opened.splice(0)) {
    await flushLogger(logger);
    (streamOf(logger) as { end(): void }).end();
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fileLogger(options: Omit<CreateLoggerOptions, 'service'> = {}): {
  logger: Logger;
  file: string;
  read: () => Line[];
} {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.log`);
  const logger = createLogger({ service: 'files', destination: file, ...options });
  opened.push(logger);
  const read = (): Line[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  return { logger, file, read };
}

describe('createLogger: fields', () => {
  it('puts service, the level name, time, pid, hostname and base fields on every line', () => {
    const dest = memory();
    const logger = createLogger({ service: 'orders', destination: dest, base: { region: 'eu' } });
    logger.info('one');
    logger.child({ part: 'db' }).warn({ rows: 3 }, 'two');
    expect(dest.lines).toHaveLength(2);
    for (const line of dest.lines) {
      expect(line.service).toBe('orders');
      expect(line.region).toBe('eu');
      expect(line.pid).toBe(process.pid);
      expect(line.hostname).toBe(hostname());
      expect(typeof line.time).toBe('number');
    }
    expect(dest.lines[0]).toMatchObject({ level: 'info', msg: 'one' });
    expect(dest.lines[1]).toMatchObject({ level: 'warn', msg: 'two', part: 'db', rows: 3 });
  });

  it('drops a default base field set to undefined', () => {
    const dest = memory();
    createLogger({ service: 's', destination: dest, base: { hostname: undefined } }).info('x');
    expect(dest.lines[0]).not.toHaveProperty('hostname');
    expect(dest.lines[0]).toHaveProperty('pid');
  });

  it('writes info and above by default, and follows the level option', () => {
    const dest = memory();
    const logger = createLogger({ service: 's', destination: dest });
    logger.debug('hidden');
    logger.info('shown');
    expect(dest.lines.map((l) => l.msg)).toEqual(['shown']);

    const quiet = memory();
    const errorsOnly = createLogger({ service: 's', destination: quiet, level: 'error' });
    errorsOnly.warn('no');
    errorsOnly.error('yes');
    expect(quiet.lines.map((l) => l.msg)).toEqual(['yes']);

    const silent = memory();
    createLogger({ service: 's', destination: silent, level: 'silent' }).fatal('no');
    expect(silent.lines).toEqual([]);
  });

  it('passes the chosen pino options through', () => {
    const dest = memory();
    const seen: number[] = [];
    const logger = createLogger({
      service: 's',
      destination: dest,
      messageKey: 'message',
      timestamp: false,
      msgPrefix: '[orders] ',
      serializers: { user: (u: { id: number }) => ({ id: u.id }) },
      hooks: {
        logMethod(args, method, level) {
          seen.push(level);
          method.apply(this, args);
        },
      },
      formatters: { log: (obj) => ({ ...obj, formatted: true }) },
    });
    logger.info({ user: { id: 7, email: 'a@b' } }, 'hello');
    expect(dest.lines[0]).toEqual({
      level: 'info',
      pid: process.pid,
      hostname: hostname(),
      service: 's',
      user: { id: 7 },
      formatted: true,
      message: '[orders] hello',
    });
    expect(seen).toEqual([30]);
  });

  it('composes a user mixin with the correlation fields; the line and the user win on conflicts', () => {
    const dest = memory();
    const logger = createLogger({
      service: 's',
      destination: dest,
      mixin: () => ({ build: 'b1', span_id: 'user-span' }),
    });
    tracer.startActiveSpan('op', (span) => {
      logger.info('a');
      logger.info({ build: 'line' }, 'b');
      span.end();
    });
    logger.info('c');
    expect(dest.lines[0]).toMatchObject({ build: 'b1', span_id: 'user-span' });
    expect(dest.lines[0]?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(dest.lines[1]).toMatchObject({ build: 'line' });
    expect(dest.lines[2]).toMatchObject({ build: 'b1', span_id: 'user-span' });
    expect(dest.lines[2]).not.toHaveProperty('trace_id');
  });
});

describe('createLogger: correlation with the active OpenTelemetry context', () => {
  it('adds the ids of the active span inside it, and nothing outside', async () => {
    const dest = memory();
    const logger = createLogger({ service: 's', destination: dest });
    logger.info('before');
    let span: Span | undefined;
    await tracer.startActiveSpan('request', async (s) => {
      span = s;
      logger.info('inside');
      // The context survives an await: AsyncLocalStorage, not a global "current span".
      await new Promise((resolve) => setImmediate(resolve));
      logger.info('after await');
      await tracer.startActiveSpan('child', async (child) => {
        logger.info('in child');
        child.end();
      });
      s.end();
    });
    logger.info('after');
    const sc = span!.spanContext();
    const [before, inside, afterAwait, inChild, after] = dest.lines;
    for (const line of [before, after]) {
      expect(line).not.toHaveProperty('trace_id');
      expect(line).not.toHaveProperty('span_id');
      expect(line).not.toHaveProperty('trace_flags');
    }
    for (const line of [inside, afterAwait]) {
      expect(line).toMatchObject({ trace_id: sc.traceId, span_id: sc.spanId, trace_flags: '01' });
    }
    expect(inChild?.trace_id).toBe(sc.traceId);
    expect(inChild?.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(inChild?.span_id).not.toBe(sc.spanId);
  });

  it('writes the flags of an unsampled span as 00', () => {
    const dest = memory();
    const logger = createLogger({ service: 's', destination: dest });
    unsampledTracer.startActiveSpan('unsampled', (span) => {
      logger.info('x');
      expect(span.spanContext().traceFlags).toBe(TraceFlags.NONE);
      expect(dest.lines[0]).toMatchObject({
        trace_id: span.spanContext().traceId,
        span_id: span.spanContext().spanId,
        trace_flags: '00',
      });
      span.end();
    });
  });

  it('adds nothing for an invalid span context', () => {
    const dest = memory();
    const logger = createLogger({ service: 's', destination: dest });
    const bad = trace.setSpanContext(ROOT_CONTEXT, {
      ...INVALID_SPAN_CONTEXT,
      traceFlags: TraceFlags.SAMPLED,
    });
    const malformed = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'XYZ',
      spanId: '0000000000000001',
      traceFlags: 1,
    });
    context.with(bad, () => logger.info('invalid'));
    context.with(malformed, () => logger.info('malformed'));
    for (const line of dest.lines) expect(line).not.toHaveProperty('trace_id');
  });

  it('adds correlation_id when the context has one, with or without a span', () => {
    const dest = memory();
    const logger = createLogger({ service: 's', destination: dest });
    const ctx = setCorrelationId(context.active(), 'req-42');
    context.with(ctx, () => {
      logger.info('no span');
      tracer.startActiveSpan('op', (span) => {
        logger.info('span');
        span.end();
      });
    });
    logger.info('none');
    expect(dest.lines[0]).toMatchObject({ correlation_id: 'req-42' });
    expect(dest.lines[0]).not.toHaveProperty('trace_id');
    expect(dest.lines[1]).toMatchObject({ correlation_id: 'req-42' });
    expect(dest.lines[1]?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(dest.lines[2]).not.toHaveProperty('correlation_id');
  });

  it('lets the line override a correlation field, and leaves the logged object alone', () => {
    const dest = memory();
    const logger = createLogger({ service: 's', destination: dest });
    const obj = { trace_id: 'explicit', n: 1 };
    tracer.startActiveSpan('op', (span) => {
      logger.info(obj, 'x');
      logger.info({ n: 2 }, 'y');
      span.end();
    });
    expect(obj).toEqual({ trace_id: 'explicit', n: 1 });
    expect(dest.lines[0]?.trace_id).toBe('explicit');
    expect(dest.lines[1]?.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('returns one shared empty result outside any context, which the merge strategy passes by', () => {
    const outside = correlationMixin();
    expect(correlationMixin()).toBe(outside);
    expect(Object.keys(outside)).toEqual([]);
    const line = { a: 1 };
    expect(mergeCorrelation(line, outside)).toBe(line);
    expect(Object.isFrozen(outside)).toBe(true);
    tracer.startActiveSpan('op', (span) => {
      const a = correlationMixin();
      const b = correlationMixin();
      expect(a).not.toBe(b); // pino writes into what the mixin returns
      expect(mergeCorrelation({ x: 1 }, a)).toMatchObject({ x: 1, trace_id: a.trace_id });
      span.end();
    });
  });
});

describe('createLogger: destinations', () => {
  it('appends to a file asynchronously by default, keeping what the file held', async () => {
    const file = join(dir, 'append.log');
    writeFileSync(file, '{"old":true}\n');
    const logger = createLogger({ service: 's', destination: file });
    opened.push(logger);
    for (let i = 0; i < 500; i++) logger.info({ i }, 'line');
    await flushLogger(logger);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(501);
    expect(JSON.parse(lines[0]!)).toEqual({ old: true });
    expect(JSON.parse(lines[500]!)).toMatchObject({ i: 499, service: 's' });
  });

  it('with sync: true the line is in the file when the call returns', () => {
    const { logger, read } = fileLogger({ sync: true });
    logger.info('now');
    expect(read().map((l) => l.msg)).toEqual(['now']);
  });

  it('writes to an open file descriptor', async () => {
    const file = join(dir, 'fd.log');
    const fd = openSync(file, 'w');
    const logger = createLogger({ service: 's', destination: fd });
    logger.info('via fd');
    await flushLogger(logger);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ msg: 'via fd' });
    closeSync(fd);
  });

  it('reports zero counters for a destination it did not open, and shares them with children', () => {
    const logger = createLogger({ service: 's', destination: memory() });
    expect(loggerStats(logger)).toEqual({ droppedLines: 0, writeErrors: 0 });
    const { logger: onFile } = fileLogger();
    expect(loggerStats(onFile.child({ a: 1 }))).toEqual({ droppedLines: 0, writeErrors: 0 });
  });

  it('fails at once for a file that cannot be opened or a descriptor that is not open', () => {
    expect(() =>
      createLogger({ service: 's', destination: join(dir, 'missing-dir', 'x.log') }),
    ).toThrow(/createLogger: option "destination" cannot be opened.*ENOENT/);
    expect(() => createLogger({ service: 's', destination: 987_654 })).toThrow(
      /createLogger: option "destination" is not an open file descriptor.*EBADF/,
    );
  });
});

describe('createLogger: bad options', () => {
  const dest = memory();
  const cases: [string, unknown, RegExp][] = [
    ['missing options', undefined, /createLogger: options must be an object/],
    ['null options', null, /createLogger: options must be an object, got null/],
    ['string options', 'orders', /createLogger: options must be an object/],
    ['no service', {}, /option "service" must be a non-empty string, got undefined/],
    ['empty service', { service: ' ' }, /option "service" must be a non-empty string/],
    [
      'numeric service',
      { service: 7 },
      /option "service" must be a non-empty string, got number 7/,
    ],
    ['unknown option', { service: 's', lvl: 'info' }, /unknown option "lvl"/],
    ['unknown level', { service: 's', level: 'verbose' }, /option "level" must be one of/],
    ['numeric level', { service: 's', level: 30 }, /option "level" must be one of/],
    ['null destination', { service: 's', destination: null }, /option "destination" must be/],
    ['empty path', { service: 's', destination: '' }, /option "destination" must be/],
    ['negative fd', { service: 's', destination: -1 }, /option "destination" must be/],
    ['fractional fd', { service: 's', destination: 1.5 }, /option "destination" must be/],
    ['stream without write', { service: 's', destination: {} }, /option "destination" must be/],
    [
      'sync with a stream',
      { service: 's', destination: dest, sync: true },
      /option "sync" applies/,
    ],
    [
      'bound with a stream',
      { service: 's', destination: dest, maxBufferBytes: 10 },
      /option "maxBufferBytes" applies/,
    ],
    ['string sync', { service: 's', sync: 'yes' }, /option "sync" must be a boolean/],
    ['zero bound', { service: 's', maxBufferBytes: 0 }, /option "maxBufferBytes" must be >= 1/],
    [
      'NaN bound',
      { service: 's', maxBufferBytes: Number.NaN },
      /option "maxBufferBytes" must be a number, got NaN/,
    ],
    [
      'fractional bound',
      { service: 's', maxBufferBytes: 1.5 },
      /option "maxBufferBytes" must be an integer/,
    ],
    ['string redact', { service: 's', redact: 'all' }, /option "redact" must be an object/],
    ['unknown redact key', { service: 's', redact: { path: [] } }, /unknown option "redact.path"/],
    [
      'redact paths string',
      { service: 's', redact: { paths: 'a.b' } },
      /option "redact.paths" must be an array/,
    ],
    [
      'redact path number',
      { service: 's', redact: { paths: ['a', 1] } },
      /option "redact.paths\[1\]" must be a non-empty string/,
    ],
    [
      'redact path syntax',
      { service: 's', redact: { paths: ['a..b'] } },
      /option "redact.paths\[0\]" is not a valid redaction path: "a..b"/,
    ],
    [
      'redact censor',
      { service: 's', redact: { censor: 0 } },
      /option "redact.censor" must be a string/,
    ],
    [
      'redact remove',
      { service: 's', redact: { remove: 'yes' } },
      /option "redact.remove" must be a boolean/,
    ],
    [
      'redact defaults',
      { service: 's', redact: { defaults: 1 } },
      /option "redact.defaults" must be a boolean/,
    ],
    ['string base', { service: 's', base: 'x' }, /option "base" must be an object/],
    [
      'base with service',
      { service: 's', base: { service: 'other' } },
      /option "base" must not set "service"/,
    ],
    [
      'serializers array',
      { service: 's', serializers: [] },
      /option "serializers" must be an object, got Array/,
    ],
    ['formatters number', { service: 's', formatters: 1 }, /option "formatters" must be an object/],
    ['hooks string', { service: 's', hooks: 'x' }, /option "hooks" must be an object/],
    ['messageKey number', { service: 's', messageKey: 1 }, /option "messageKey" must be a string/],
    ['errorKey number', { service: 's', errorKey: 1 }, /option "errorKey" must be a string/],
    ['msgPrefix object', { service: 's', msgPrefix: {} }, /option "msgPrefix" must be a string/],
    ['mixin object', { service: 's', mixin: {} }, /option "mixin" must be a function/],
    [
      'timestamp string',
      { service: 's', timestamp: 'iso' },
      /option "timestamp" must be a boolean or a function/,
    ],
  ];
  it.each(cases)('%s: TypeError naming the option', (_name, options, message) => {
    let thrown: unknown;
    try {
      createLogger(options as CreateLoggerOptions);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/^createLogger: /);
    expect((thrown as Error).message).toMatch(message);
  });

  it('still makes working loggers after rejecting bad options', () => {
    const out = memory();
    expect(() => createLogger({ service: 's', level: 'loud' as 'info' })).toThrow(TypeError);
    createLogger({ service: 's', destination: out }).info('fine');
    expect(out.lines).toHaveLength(1);
  });
});
