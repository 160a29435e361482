/** The fault admin endpoint: the registry over HTTP, behind a bearer token. */

import { timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, numberOption, optionsObject } from '@nines/resilience/options';
import { readJsonBody } from '../json-body.js';
import { AUDIT_KEEP } from './audit.js';
import { type Faults, registries } from './registry.js';
import type { FaultInput } from './types.js';

/** Options of {@link createFaultAdmin}. */
export interface FaultAdminOptions {
  /** The registry to drive. */
  readonly faults: Faults;
  /** Bearer token every request must carry; at least 16 characters. */
  readonly token: string;
  /** Interface to bind. Default `127.0.0.1`: faults can break a service, so not exposed unless asked. */
  readonly host?: string;
  /** Default 0 (an ephemeral port). */
  readonly port?: number;
}

/** A running fault admin endpoint. */
export interface FaultAdmin {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends open connections, keep-alive ones included. */
  close(): Promise<void>;
}

const OWNER = 'createFaultAdmin';
const MAX_BODY = 64 * 1024;
const DEFAULT_AUDIT_LIMIT = 100;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Serves a fault registry over HTTP so a runner, a script or an operator can inject and remove
 * faults in a live process. Every request needs `Authorization: Bearer <token>`; browsers are
 * refused (403) so a web page cannot reach it through a developer's machine.
 *
 * Routes: `GET /faults`, `POST /faults` (body = fault input), `GET|PATCH|DELETE /faults/:id`
 * (PATCH body `{"ttlMs": n}` renews), `DELETE /faults`, `GET /audit?limit=n`.
 *
 * @example
 * const admin = await createFaultAdmin({ faults, token: process.env.FAULTS_TOKEN!, port: 0 });
 * // curl -H "Authorization: Bearer $FAULTS_TOKEN" -d '{"kind":"latency","target":"store","ms":500}' $URL/faults
 * await admin.close();
 */
export async function createFaultAdmin(options: FaultAdminOptions): Promise<FaultAdmin> {
  const o = optionsObject<FaultAdminOptions>(OWNER, options, ['faults', 'token', 'host', 'port']);
  if (options === undefined)
    throw new TypeError(`${OWNER}: options { faults, token } are required`);
  const faults = o.faults;
  if (faults === null || typeof faults !== 'object' || !registries.has(faults)) {
    throw new TypeError(
      `${OWNER}: option "faults" must be a registry from createFaults(), got ${describe(faults)}`,
    );
  }
  const token = o.token;
  if (typeof token !== 'string' || token.length < 16) {
    throw new TypeError(
      `${OWNER}: option "token" must be a string of at least 16 characters, got ${
        typeof token === 'string' ? `a string of ${token.length}` : describe(token)
      }`,
    );
  }
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(
      `${OWNER}: option "host" must be a non-empty string, got ${describe(host)}`,
    );
  }
  const port = numberOption(OWNER, 'port', o.port, 0, { integer: true, max: 65535 });
  const expected = Buffer.from(token, 'utf8');

  const server = http.createServer((req, res) => {
    handle(faults, expected, req, res).catch((error: unknown) => {
      // Nothing a client sends may take the endpoint down.
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      send(res, status, { error: message });
    });
  });
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port: a.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function authorized(expected: Buffer, header: string | undefined): boolean {
  if (header === undefined || !/^bearer /i.test(header)) return false;
  const given = Buffer.from(header.slice(7).trim(), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function handle(
  faults: Faults,
  expected: Buffer,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
    req.resume();
    send(res, 403, { error: 'browsers may not use the fault admin endpoint' });
    return;
  }
  if (!authorized(expected, req.headers.authorization)) {
    req.resume();
    res.setHeader('www-authenticate', 'Bearer');
    send(res, 401, { error: 'missing or wrong bearer token' });
    return;
  }
  const actor = `admin ${req.socket.remoteAddress ?? 'unknown'}`;
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://admin');
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const body = await readJsonBody(
    req,
    MAX_BODY,
    (status, message) => new HttpError(status, message),
    'bad JSON in request body',
  );

  if (parts[0] === 'audit' && parts.length === 1) {
    if (method !== 'GET') throw notAllowed(method, url.pathname);
    const raw = url.searchParams.get('limit');
    let limit = DEFAULT_AUDIT_LIMIT;
    if (raw !== null) {
      limit = Number(raw);
      if (raw === '' || !Number.isInteger(limit) || limit < 1 || limit > AUDIT_KEEP) {
        throw new HttpError(400, `query "limit" must be an integer 1..${AUDIT_KEEP}, got "${raw}"`);
      }
    }
    send(res, 200, { entries: faults.audit(limit) });
    return;
  }
  if (parts[0] !== 'faults' || parts.length > 2) throw new HttpError(404, 'not found');
  if (parts.length === 1) {
    if (method === 'GET') return send(res, 200, { faults: faults.list() });
    if (method === 'POST') {
      if (body === undefined)
        throw new HttpError(400, 'the request body must be a fault (JSON object)');
      return send(
        res,
        201,
        apply(() => faults.inject(body as FaultInput, { actor })),
      );
    }
    if (method === 'DELETE') return send(res, 200, { removed: faults.clear({ actor }) });
    throw notAllowed(method, url.pathname);
  }
  let id: string;
  try {
    id = decodeURIComponent(parts[1] as string);
  } catch {
    throw new HttpError(400, `malformed fault id in path ${JSON.stringify(parts[1])}`);
  }
  if (method === 'GET') return found(res, 200, faults.get(id), id);
  if (method === 'DELETE') {
    if (faults.remove(id, { actor }) === undefined) throw missing(id);
    res.writeHead(204).end();
    return;
  }
  if (method === 'PATCH') {
    const patch = body as { ttlMs?: unknown } | undefined;
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      throw new HttpError(
        400,
        `faults.extend: the body must be {"ttlMs": n}, got ${describe(patch)}`,
      );
    }
    apply(() => optionsObject('faults.extend', patch, ['ttlMs']));
    return found(
      res,
      200,
      apply(() => faults.extend(id, patch.ttlMs as number, { actor })),
      id,
    );
  }
  throw notAllowed(method, url.pathname);
}

/** Runs a registry call, turning its TypeError (bad field) and RangeError (limit) into 400/409. */
function apply<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TypeError) throw new HttpError(400, error.message);
    if (error instanceof RangeError) throw new HttpError(409, error.message);
    throw error;
  }
}

function found(res: ServerResponse, status: number, value: unknown, id: string): void {
  if (value === undefined) throw missing(id);
  send(res, status, value);
}

function missing(id: string): HttpError {
  return new HttpError(404, `no active fault ${JSON.stringify(id)}`);
}

function notAllowed(method: string, path: string): HttpError {
  return new HttpError(405, `method ${method} not allowed on ${path}`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body)}\n`;
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}
