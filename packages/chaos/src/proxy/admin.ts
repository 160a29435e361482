import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { booleanOption, describe, numberOption, optionsObject } from '@nines/resilience/options';
import { readJsonBody } from '../json-body.js';
import { renderProxyMetrics } from './metrics.js';
import { PopulateError } from './registry.js';
import { ProxyApiError, type ProxyRegistry } from './types.js';

/** Options of {@link createProxyAdmin}. */
export interface ProxyAdminOptions {
  /** Interface the admin API binds to. Default `127.0.0.1`: it can break the network, so it is not exposed unless asked. */
  readonly host?: string;
  /** Default 8474, Toxiproxy's port, so existing clients find it; 0 for an ephemeral port. */
  readonly port?: number;
  /** Largest request body accepted (bytes). Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Answer `/version` with this. Default the package version. */
  readonly version?: string;
  /**
   * Refuse requests from browsers (a `User-Agent` starting with `Mozilla/`) with 403, as Toxiproxy
   * does, so a web page cannot drive the proxy through a developer's browser. Default true.
   */
  readonly refuseBrowsers?: boolean;
}

/** The admin HTTP server of a proxy registry; see {@link createProxyAdmin}. */
export interface ProxyAdmin {
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8474`). */
  listen(): Promise<string>;
  /** The base URL once listening. */
  readonly url: string | undefined;
  /** The request handler, to mount elsewhere. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Stops the admin server (the proxies keep running; close the registry for those). */
  close(): Promise<void>;
}

const OWNER = 'createProxyAdmin';
const KEYS = ['host', 'port', 'maxBodyBytes', 'version', 'refuseBrowsers'];
const VERSION = '0.1.0';

/**
 * The Toxiproxy 2.x HTTP API over a {@link ProxyRegistry}: the same routes, JSON shapes, status
 * codes and defaults, so Toxiproxy's clients (the Go client and CLI, toxiproxy-node-client, the
 * Chaos Toolkit driver) drive nines unchanged. Errors are `{"error": "...", "status": N}` with a
 * 4xx or 5xx status; nothing a client sends can crash the server. `GET /metrics` serves the
 * registry's traffic counters in the Prometheus text format.
 *
 * @example
 * const registry = createProxyRegistry();
 * const admin = createProxyAdmin(registry); // 127.0.0.1:8474
 * await admin.listen();
 */
export function createProxyAdmin(registry: ProxyRegistry, options?: ProxyAdminOptions): ProxyAdmin {
  if (registry === null || typeof registry !== 'object' || typeof registry.create !== 'function') {
    throw new TypeError(`${OWNER}: registry must be a ProxyRegistry, got ${describe(registry)}`);
  }
  const o = optionsObject<ProxyAdminOptions>(OWNER, options, KEYS);
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(
      `${OWNER}: option "host" must be a non-empty string, got ${describe(host)}`,
    );
  }
  const port = numberOption(OWNER, 'port', o.port, 8474, { integer: true, max: 65535 });
  const maxBody = numberOption(OWNER, 'maxBodyBytes', o.maxBodyBytes, 1 << 20, {
    min: 1,
    integer: true,
  });
  const version = o.version ?? VERSION;
  if (typeof version !== 'string') {
    throw new TypeError(`${OWNER}: option "version" must be a string, got ${describe(version)}`);
  }
  const refuseBrowsers = booleanOption(OWNER, 'refuseBrowsers', o.refuseBrowsers, true);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('x-toxiproxy-request-id', randomUUID());
    if (refuseBrowsers && (req.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
      sendError(res, new ProxyApiError(403, 'User agent not allowed'));
      req.resume();
      return;
    }
    readJsonBody(
      req,
      maxBody,
      (status, message) => new ProxyApiError(status, message),
      'bad request body',
    )
      .then((body) => route(registry, version, req, body))
      .then(
        (reply) => send(res, reply),
        (error: unknown) => sendError(res, error),
      );
  };

  let server: http.Server | undefined;
  let url: string | undefined;
  return {
    handler,
    get url() {
      return url;
    },
    listen() {
      if (server !== undefined) return Promise.reject(new Error(`${OWNER}: already listening`));
      const s = http.createServer(handler);
      server = s;
      // Toxiproxy's timeouts, so a stuck client cannot hold the admin API.
      s.requestTimeout = 15_000;
      s.keepAliveTimeout = 60_000;
      return new Promise<string>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          const a = s.address() as AddressInfo;
          url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
          resolve(url);
        });
      });
    },
    close() {
      const s = server;
      server = undefined;
      if (s === undefined) return Promise.resolve();
      return new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Raw text instead of JSON (metrics). */
  readonly text?: string;
  readonly contentType?: string;
}

async function route(
  registry: ProxyRegistry,
  version: string,
  req: IncomingMessage,
  body: unknown,
): Promise<Reply> {
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?')[0] as string;
  const parts = path.split('/').filter((p) => p !== '');
  const name = (i: number): string => {
    try {
      return decodeURIComponent(parts[i] as string);
    } catch {
      throw new ProxyApiError(
        400,
        `bad request: malformed path segment ${JSON.stringify(parts[i])}`,
      );
    }
  };
  const update = method === 'POST' || method === 'PATCH';
  if (parts.length === 1 && parts[0] === 'version' && method === 'GET') {
    return { status: 200, body: { version } };
  }
  if (parts.length === 1 && parts[0] === 'metrics' && method === 'GET') {
    return {
      status: 200,
      text: renderProxyMetrics(registry.stats()),
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
    };
  }
  if (parts.length === 1 && parts[0] === 'reset' && method === 'POST') {
    await registry.reset();
    return { status: 204 };
  }
  if (parts.length === 1 && parts[0] === 'populate' && method === 'POST') {
    if (!Array.isArray(body))
      throw new ProxyApiError(400, 'bad request body: expected an array of proxies');
    return { status: 201, body: { proxies: await registry.populate(body) } };
  }
  if (parts[0] !== 'proxies') throw new ProxyApiError(404, 'not found');
  if (parts.length === 1) {
    if (method === 'GET') return { status: 200, body: registry.list() };
    if (method === 'POST') return { status: 201, body: await registry.create(objectBody(body)) };
  } else if (parts.length === 2) {
    const proxy = name(1);
    if (method === 'GET') return { status: 200, body: registry.get(proxy) };
    if (update) return { status: 200, body: await registry.update(proxy, objectBody(body)) };
    if (method === 'DELETE') {
      await registry.remove(proxy);
      return { status: 204 };
    }
  } else if (parts.length === 3 && parts[2] === 'toxics') {
    const proxy = name(1);
    if (method === 'GET') return { status: 200, body: registry.toxics(proxy) };
    // 200, not 201: what Toxiproxy answers, and what its clients expect.
    if (method === 'POST') return { status: 200, body: registry.addToxic(proxy, objectBody(body)) };
  } else if (parts.length === 4 && parts[2] === 'toxics') {
    const proxy = name(1);
    const toxic = name(3);
    if (method === 'GET') return { status: 200, body: registry.getToxic(proxy, toxic) };
    if (update) return { status: 200, body: registry.updateToxic(proxy, toxic, objectBody(body)) };
    if (method === 'DELETE') {
      registry.removeToxic(proxy, toxic);
      return { status: 204 };
    }
  } else {
    throw new ProxyApiError(404, 'not found');
  }
  throw new ProxyApiError(405, `method ${method} not allowed on ${path}`);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProxyApiError(400, 'bad request body: expected a JSON object');
  }
  return body as Record<string, unknown>;
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  if (reply.status === 204) {
    res.writeHead(204).end();
  } else if (reply.text !== undefined) {
    res
      .writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain' })
      .end(reply.text);
  } else {
    res
      .writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' })
      .end(`${JSON.stringify(reply.body)}\n`);
  }
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const status = error instanceof ProxyApiError ? error.status : 500;
  const message = error instanceof Error ? error.message : String(error);
  // A populate that failed part-way also lists what it created, as Toxiproxy answers.
  const body =
    error instanceof PopulateError
      ? { error: message, status, proxies: error.proxies }
      : { error: message, status };
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
    .end(`${JSON.stringify(body)}\n`);
}
