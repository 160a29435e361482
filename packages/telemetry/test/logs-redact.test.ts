import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { type DestinationStream, pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../src/logs/logger.js';
import { DEFAULT_REDACT_PATHS, type RedactOptions, SECRET_FIELDS } from '../src/logs/redact.js';

type Line = Record<string, unknown>;

function memory(): DestinationStream & { lines: Line[]; raw: string[] } {
  const lines: Line[] = [];
  const raw: string[] = [];
  return {
    lines,
    raw,
    write(s: string): void {
      raw.push(s);
      lines.push(JSON.parse(s) as Line);
    },
  };
}

function setup(redact?: boolean | RedactOptions): {
  logger: Logger;
  out: ReturnType<typeof memory>;
} {
  const out = memory();
  const logger = createLogger(
    redact === undefined
      ? { service: 's', destination: out }
      : { service: 's', destination: out, redact },
  );
  return { logger, out };
}

const HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];
const PLACES: [
  string,
  (h: Record<string, string>) => Record<string, unknown>,
  (l: Line) => unknown,
][] = [
  ['req.headers', (h) => ({ req: { method: 'GET', headers: h } }), (l) => (l.req as Line).headers],
  [
    'res.headers',
    (h) => ({ res: { statusCode: 200, headers: h } }),
    (l) => (l.res as Line).headers,
  ],
  ['headers', (h) => ({ headers: h }), (l) => l.headers],
  ['top level', (h) => h, (l) => l],
];

describe('default redaction', () => {
  for (const [place, wrap, pick] of PLACES) {
    for (const header of HEADERS) {
      for (const spelling of [header, header.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase())]) {
        it(`catches ${spelling} in ${place}`, () => {
          const { logger, out } = setup();
          const secret = `secret-${place}-${spelling}`;
          logger.info(wrap({ [spelling]: secret, accept: 'text/plain' }), 'x');
          expect(out.raw[0]).not.toContain(secret);
          const where = pick(out.lines[0]!) as Line;
          expect(where[spelling]).toBe('[Redacted]');
          if (place !== 'top level') expect(where.accept).toBe('text/plain');
        });
      }
    }
  }

  for (const field of SECRET_FIELDS) {
    it(`catches ${field} at the top level and one level down`, () => {
      const { logger, out } = setup();
      logger.info({ [field]: 'top-value', user: { [field]: 'nested-value', name: 'ann' } }, 'x');
      expect(out.raw[0]).not.toContain('top-value');
      expect(out.raw[0]).not.toContain('nested-value');
      expect(out.lines[0]?.[field]).toBe('[Redacted]');
      expect(out.lines[0]?.user).toEqual({ [field]: '[Redacted]', name: 'ann' });
    });
  }

  it('lists every header path and field it promises', () => {
    for (const h of [
      'req.headers.authorization',
      'res.headers["set-cookie"]',
      'headers.cookie',
      'cookie',
    ]) {
      expect(DEFAULT_REDACT_PATHS).toContain(h);
    }
    expect([...SECRET_FIELDS].sort()).toEqual(
      [
        'access_token',
        'apiKey',
        'api_key',
        'client_secret',
        'passwd',
        'password',
        'refresh_token',
        'secret',
        'token',
      ].sort(),
    );
  });

  it('stops at one level down and at arrays (a documented boundary)', () => {
    const { logger, out } = setup();
    logger.info({ a: { b: { password: 'deep' } }, list: [{ token: 'in-array' }] }, 'x');
    expect(out.lines[0]).toMatchObject({
      a: { b: { password: 'deep' } },
      list: [{ token: 'in-array' }],
    });
  });

  it('never changes the object that was logged', () => {
    const { logger, out } = setup();
    const obj = {
      password: 'p',
      user: { token: 't', name: 'n' },
      req: { headers: { authorization: 'Bearer x', cookie: 'c=1' } },
      headers: { 'set-cookie': 'sid=1' },
      authorization: 'Basic y',
    };
    const before = structuredClone(obj);
    const userRef = obj.user;
    logger.info(obj, 'x');
    expect(obj).toEqual(before);
    expect(obj.user).toBe(userRef);
    expect(out.lines[0]).toMatchObject({ password: '[Redacted]', user: { token: '[Redacted]' } });
  });

  it('redacts the credentials of a real request serialized by pino', async () => {
    const out = memory();
    const logger = createLogger({
      service: 's',
      destination: out,
      serializers: { req: pino.stdSerializers.req, res: pino.stdSerializers.res },
    });
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('set-cookie', 'session=server-secret');
      res.end('ok');
      logger.info({ req, res }, 'served');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      request(
        {
          port,
          host: '127.0.0.1',
          path: '/',
          headers: { authorization: 'Bearer client-secret', cookie: 'a=b' },
        },
        (res) => res.resume().on('end', resolve),
      )
        .on('error', reject)
        .end();
    });
    server.close();
    expect(out.raw[0]).not.toContain('client-secret');
    expect(out.raw[0]).not.toContain('server-secret');
    expect(out.raw[0]).not.toContain('a=b');
    const line = out.lines[0] as { req: { headers: Line }; res: { headers: Line } };
    expect(line.req.headers.authorization).toBe('[Redacted]');
    expect(line.req.headers.cookie).toBe('[Redacted]');
    expect(line.req.headers.host).toBe(`127.0.0.1:${port}`);
    expect(line.res.headers['set-cookie']).toBe('[Redacted]');
  });

  it('covers child bindings at the top level', () => {
    const { logger, out } = setup();
    logger.child({ token: 'bound' }).info('x');
    expect(out.raw[0]).not.toContain('bound');
  });

  it('covers fields added by a user formatters.log', () => {
    const out = memory();
    createLogger({
      service: 's',
      destination: out,
      formatters: { log: (o) => ({ ...o, db: { password: 'from-formatter' } }) },
    }).info('x');
    expect(out.raw[0]).not.toContain('from-formatter');
  });
});

describe('redact option', () => {
  it('redact: false writes everything', () => {
    const { logger, out } = setup(false);
    logger.info({ password: 'p', user: { token: 't' }, headers: { cookie: 'c' } }, 'x');
    expect(out.lines[0]).toMatchObject({
      password: 'p',
      user: { token: 't' },
      headers: { cookie: 'c' },
    });
  });

  it('redact: true is the default', () => {
    const { logger, out } = setup(true);
    logger.info({ password: 'p' }, 'x');
    expect(out.lines[0]?.password).toBe('[Redacted]');
  });

  it('adds paths to the defaults', () => {
    const { logger, out } = setup({ paths: ['user.ssn', 'card.number'] });
    logger.info({ user: { ssn: '123', token: 't', name: 'n' }, card: { number: '4111' } }, 'x');
    expect(out.lines[0]).toMatchObject({
      user: { ssn: '[Redacted]', token: '[Redacted]', name: 'n' },
      card: { number: '[Redacted]' },
    });
  });

  it('defaults: false keeps only the given paths', () => {
    const { logger, out } = setup({ defaults: false, paths: ['ssn'] });
    logger.info({ ssn: '1', password: 'p', user: { token: 't' } }, 'x');
    expect(out.lines[0]).toMatchObject({ ssn: '[Redacted]', password: 'p', user: { token: 't' } });
  });

  it('defaults: false with no paths redacts nothing', () => {
    const { logger, out } = setup({ defaults: false });
    logger.info({ password: 'p' }, 'x');
    expect(out.lines[0]?.password).toBe('p');
  });

  it('censor replaces values everywhere', () => {
    const { logger, out } = setup({ censor: '***' });
    logger.info({ password: 'p', user: { token: 't' }, headers: { authorization: 'a' } }, 'x');
    expect(out.lines[0]).toMatchObject({
      password: '***',
      user: { token: '***' },
      headers: { authorization: '***' },
    });
  });

  it('remove: true deletes the keys everywhere', () => {
    const { logger, out } = setup({ remove: true });
    const obj = {
      password: 'p',
      user: { token: 't', name: 'n' },
      headers: { authorization: 'a', accept: '*/*' },
    };
    logger.info(obj, 'x');
    expect(out.lines[0]).not.toHaveProperty('password');
    expect(out.lines[0]?.user).toEqual({ name: 'n' });
    expect(out.lines[0]?.headers).toEqual({ accept: '*/*' });
    expect(obj.user.token).toBe('t');
  });
});

describe('redaction, property', () => {
  const secretKey = fc.constantFrom(...SECRET_FIELDS);
  const plainKey = fc.constantFrom(
    'id',
    'name',
    'user',
    'db',
    'count',
    'note',
    'tokens',
    'Password',
  );
  const key = fc.oneof(secretKey, plainKey);
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean());
  const inner = fc.dictionary(key, leaf, { maxKeys: 5 });
  const top = fc.dictionary(key, fc.oneof(leaf, inner), { maxKeys: 6 });
  const SECRETS = new Set(SECRET_FIELDS);

  /** What the line must hold: secret keys at depth 1 or 2 censored, all else as logged. */
  function expected(obj: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (SECRETS.has(k)) out[k] = '[Redacted]';
      else if (v !== null && typeof v === 'object') {
        out[k] = Object.fromEntries(
          Object.entries(v as Record<string, unknown>).map(([ik, iv]) => [
            ik,
            SECRETS.has(ik) ? '[Redacted]' : iv,
          ]),
        );
      } else out[k] = v;
    }
    return out;
  }

  it('censors exactly the secret fields down to one level, without changing the input', () => {
    fc.assert(
      fc.property(top, (obj) => {
        const { logger, out } = setup();
        const before = structuredClone(obj);
        logger.info(obj, 'x');
        expect(obj).toEqual(before);
        const { level, time, pid, hostname, service, msg, ...fields } = out.lines[0]!;
        expect({ level, service, msg }).toEqual({ level: 'info', service: 's', msg: 'x' });
        expect([typeof time, typeof pid, typeof hostname]).toEqual(['number', 'number', 'string']);
        expect(fields).toEqual(expected(obj));
      }),
      { numRuns: 300 },
    );
  });
});
