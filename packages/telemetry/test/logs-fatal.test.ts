import { EventEmitter, getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DestinationStream, pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleFatalErrors } from '../src/logs/fatal.js';
import { flushLogger } from '../src/logs/flush.js';
import { createLogger, type Logger } from '../src/logs/logger.js';
import { streamOf } from '../src/logs/stream.js';

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

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nines-fatal-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fileCount = 0;
function fileLogger(): { logger: Logger; read: () => Line[]; end: () => void } {
  const file = join(dir, `${++fileCount}.log`);
  const logger = createLogger({ service: 's', destination: file });
  return {
    logger,
    read: () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line),
    end: () => (streamOf(logger) as { end(): void }).end(),
  };
}

const PAD = 'x'.repeat(200);

describe('handleFatalErrors', () => {
  it('logs an uncaught exception at fatal with the error, then exits with 1', () => {
    const out = memory();
    const logger = createLogger({ service: 's', destination: out });
    const source = new EventEmitter();
    const exits: [number, number][] = [];
    handleFatalErrors(logger, { source, exit: (code) => exits.push([code, out.lines.length]) });
    source.emit('uncaughtException', new TypeError('boom'), 'uncaughtException');
    expect(exits).toEqual([[1, 1]]); // the line was written before exit was called
    expect(out.lines[0]).toMatchObject({
      level: 'fatal',
      origin: 'uncaughtException',
      msg: 'uncaught exception',
      err: { type: 'TypeError', message: 'boom' },
    });
    expect((out.lines[0]!.err as Line).stack).toMatch(/TypeError: boom/);
  });

  it('logs an unhandled rejection, whatever its reason, and honours exitCode', () => {
    const out = memory();
    const logger = createLogger({ service: 's', destination: out });
    const source = new EventEmitter();
    const exits: number[] = [];
    handleFatalErrors(logger, { source, exit: (c) => exits.push(c), exitCode: 70 });
    source.emit('unhandledRejection', 'just a string', Promise.resolve());
    source.emit('unhandledRejection', new Error('rejected'), Promise.resolve());
    source.emit('uncaughtException', new Error('converted'), 'unhandledRejection');
    expect(exits).toEqual([70, 70, 70]);
    expect(out.lines.map((l) => [l.origin, l.msg])).toEqual([
      ['unhandledRejection', 'unhandled rejection'],
      ['unhandledRejection', 'unhandled rejection'],
      ['unhandledRejection', 'unhandled rejection'],
    ]);
    expect(out.lines[0]?.err).toBe('just a string');
    expect(out.lines[1]?.err).toMatchObject({ message: 'rejected' });
  });

  it('puts the error under a custom errorKey', () => {
    const out = memory();
    const logger = createLogger({ service: 's', destination: out, errorKey: 'error' });
    const source = new EventEmitter();
    handleFatalErrors(logger, { source, exit: () => {} });
    source.emit('uncaughtException', new Error('e'));
    expect(out.lines[0]?.error).toMatchObject({ message: 'e' });
    expect(out.lines[0]).not.toHaveProperty('err');
  });

  it('writes every queued line of an asynchronous file before exit is called', () => {
    const { logger, read, end } = fileLogger();
    const source = new EventEmitter();
    let atExit: Line[] = [];
    handleFatalErrors(logger, { source, exit: () => (atExit = read()) });
    for (let i = 0; i < 5000; i++) logger.info({ i, PAD }, 'queued');
    // Nothing has been awaited: most lines are still in SonicBoom's buffer here.
    expect(read().length).toBeLessThan(5000);
    source.emit('uncaughtException', new Error('crash'));
    expect(atExit).toHaveLength(5001);
    expect(atExit.slice(0, 5000).every((l, i) => l.i === i)).toBe(true);
    expect(atExit[5000]).toMatchObject({ level: 'fatal', err: { message: 'crash' } });
    end();
  });

  it('still exits when logging itself fails', () => {
    const logger = createLogger({
      service: 's',
      destination: {
        write(): void {
          throw new Error('disk gone');
        },
      },
    });
    const source = new EventEmitter();
    const exits: number[] = [];
    handleFatalErrors(logger, { source, exit: (c) => exits.push(c) });
    source.emit('uncaughtException', new Error('x'));
    expect(exits).toEqual([1]);
  });

  it('returns a disposer that removes both listeners, once', () => {
    const out = memory();
    const logger = createLogger({ service: 's', destination: out });
    const source = new EventEmitter();
    const dispose = handleFatalErrors(logger, { source, exit: () => {} });
    expect(source.listenerCount('uncaughtException')).toBe(1);
    expect(source.listenerCount('unhandledRejection')).toBe(1);
    dispose();
    dispose();
    expect(source.listenerCount('uncaughtException')).toBe(0);
    expect(source.listenerCount('unhandledRejection')).toBe(0);
    source.emit('uncaughtException', new Error('ignored'));
    expect(out.lines).toEqual([]);
  });

  it('listens on process by default', () => {
    const logger = createLogger({ service: 's', destination: memory() });
    const exceptions = process.listenerCount('uncaughtException');
    const rejections = process.listenerCount('unhandledRejection');
    const dispose = handleFatalErrors(logger, { exit: () => {} });
    expect(process.listenerCount('uncaughtException')).toBe(exceptions + 1);
    expect(process.listenerCount('unhandledRejection')).toBe(rejections + 1);
    dispose();
    expect(process.listenerCount('uncaughtException')).toBe(exceptions);
    expect(process.listenerCount('unhandledRejection')).toBe(rejections);
  });

  describe('bad input', () => {
    const logger = createLogger({ service: 's', destination: memory() });
    const source = new EventEmitter();
    const cases: [string, unknown, unknown, RegExp][] = [
      ['not a logger', {}, undefined, /argument "logger" must be a pino logger/],
      ['no logger', undefined, undefined, /argument "logger" must be a pino logger, got undefined/],
      ['string options', logger, 'exit', /options must be an object/],
      ['unknown option', logger, { source, onExit: () => {} }, /unknown option "onExit"/],
      ['exit not a function', logger, { source, exit: 1 }, /option "exit" must be a function/],
      [
        'fractional exitCode',
        logger,
        { source, exitCode: 1.5 },
        /option "exitCode" must be an integer/,
      ],
      ['exitCode too big', logger, { source, exitCode: 256 }, /option "exitCode" must be <= 255/],
      ['negative exitCode', logger, { source, exitCode: -1 }, /option "exitCode" must be >= 0/],
      [
        'source without on',
        logger,
        { source: {} },
        /option "source" must have on\(\) and removeListener\(\)/,
      ],
      ['null source', logger, { source: null }, /option "source" must have on\(\)/],
    ];
    it.each(cases)('%s: TypeError naming it, nothing installed', (_n, l, options, message) => {
      const before = source.listenerCount('uncaughtException');
      const call = (): unknown => handleFatalErrors(l as Logger, options as undefined);
      expect(call).toThrow(TypeError);
      expect(call).toThrow(new RegExp(`^handleFatalErrors: ${message.source}`));
      expect(source.listenerCount('uncaughtException')).toBe(before);
    });
  });
});

describe('flushLogger', () => {
  it("resolves once queued lines are written, where pino's flush(cb) calls back at once", async () => {
    const a = fileLogger();
    for (let i = 0; i < 20_000; i++) a.logger.info({ i, PAD }, 'line');
    const written = await new Promise<number>((resolve) =>
      a.logger.flush(() => resolve(a.read().length)),
    );
    // pino's callback came before the lines were out: why flushLogger does not rely on it.
    expect(written).toBeLessThan(20_000);

    const b = fileLogger();
    for (let i = 0; i < 20_000; i++) b.logger.info({ i, PAD }, 'line');
    expect(b.read().length).toBeLessThan(20_000);
    await flushLogger(b.logger);
    expect(b.read()).toHaveLength(20_000);
    a.end();
    b.end();
  });

  it('works through a child logger and on a logger that has written nothing', async () => {
    const { logger, read, end } = fileLogger();
    await flushLogger(logger);
    expect(read()).toEqual([]);
    const child = logger.child({ part: 'db' });
    for (let i = 0; i < 1000; i++) child.info({ i }, 'c');
    await flushLogger(child);
    expect(read()).toHaveLength(1000);
    await flushLogger(logger);
    end();
  });

  it('writes out a buffering SonicBoom (minLength) passed as destination', async () => {
    const file = join(dir, 'buffered.log');
    const dest = pino.destination({ dest: file, minLength: 4096, sync: false });
    const logger = createLogger({ service: 's', destination: dest });
    logger.info('short');
    await flushLogger(logger);
    expect(readFileSync(file, 'utf8')).toContain('"msg":"short"');
    dest.end();
  });

  it('resolves for a stream without flush, a synchronous file, and a closed stream', async () => {
    await flushLogger(createLogger({ service: 's', destination: memory() }));
    const file = join(dir, 'sync.log');
    const logger = createLogger({ service: 's', destination: file, sync: true });
    logger.info('x');
    await flushLogger(logger);
    const stream = streamOf(logger) as EventEmitter & { end(): void };
    stream.end();
    await new Promise((resolve) => stream.once('close', resolve));
    await flushLogger(logger);
  });

  it('stops waiting when the signal aborts, leaving no listener behind', async () => {
    const stuck = { write(): void {}, flush(_cb: () => void): void {} };
    const logger = createLogger({ service: 's', destination: stuck });
    const controller = new AbortController();
    const pending = flushLogger(logger, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('shutdown deadline'));
    await expect(pending).rejects.toThrow('shutdown deadline');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    await expect(flushLogger(logger, { signal: AbortSignal.abort('already') })).rejects.toBe(
      'already',
    );
  });

  it('removes its signal listener when the flush completes', async () => {
    const { logger, end } = fileLogger();
    const controller = new AbortController();
    logger.info('x');
    await flushLogger(logger, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    end();
  });

  it('rejects bad input with a TypeError naming it', async () => {
    const logger = createLogger({ service: 's', destination: memory() });
    await expect(flushLogger({} as Logger)).rejects.toThrow(
      /^flushLogger: argument "logger" must be a pino logger/,
    );
    await expect(flushLogger(logger, { signal: 'x' as unknown as AbortSignal })).rejects.toThrow(
      /^flushLogger: option "signal" must be an AbortSignal/,
    );
    await expect(flushLogger(logger, { timeout: 1 } as never)).rejects.toThrow(
      /^flushLogger: unknown option "timeout"/,
    );
    await expect(flushLogger(logger, 5 as never)).rejects.toBeInstanceOf(TypeError);
  });
});
