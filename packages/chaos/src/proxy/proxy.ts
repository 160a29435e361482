/**
 * One named proxy: a listening `net.Server` that dials the upstream for every client and carries
 * the proxy's toxics onto every connection.
 */

import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '@nines/resilience';
import { joinHostPort, splitHostPort } from './address.js';
import { type ByteCounter, Connection, type ConnectionOwner } from './link.js';
import type { ToxicState } from './toxics.js';
import { ProxyApiError, type ProxyStats } from './types.js';

/** Settings a proxy is created with. */
export interface ProxySettings {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly defaultHost: string;
}

/** A running (or stopped) proxy. Errors are `ProxyApiError`s with Toxiproxy's statuses. */
export class FaultProxy implements ConnectionOwner {
  readonly name: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly upstreamBytes: ByteCounter = { bytes: 0 };
  readonly downstreamBytes: ByteCounter = { bytes: 0 };
  /** Listen address: the resolved one while listening (and after), the requested one before. */
  listen: string;
  upstream: string;
  /** Toxics in insertion order (both streams). */
  readonly toxics: ToxicState[] = [];
  private readonly defaultHost: string;
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  /** Unset when the upstream cannot be parsed: every dial then fails. */
  private upstreamHost: string | undefined = undefined;
  private upstreamPort = 0;
  private connectionsTotal = 0;
  private upstreamErrors = 0;
  private readonly onConnection = (client: Socket): void => this.accept(client);

  constructor(settings: ProxySettings) {
    this.name = settings.name;
    this.listen = settings.listen;
    this.upstream = settings.upstream;
    this.clock = settings.clock;
    this.random = settings.random;
    this.defaultHost = settings.defaultHost;
    this.setUpstream(settings.upstream);
  }

  get enabled(): boolean {
    return this.server !== null;
  }

  /** Changes the upstream; an unparsable one is accepted and fails on dial, as in Toxiproxy. */
  setUpstream(upstream: string): void {
    this.upstream = upstream;
    const hp = splitHostPort(upstream);
    if (typeof hp === 'string') {
      this.upstreamHost = undefined;
    } else {
      this.upstreamHost = hp.host === '' ? this.defaultHost : hp.host;
      this.upstreamPort = hp.port;
    }
  }

  /** Starts listening; a listen error is a 500 with Node's message. */
  async start(): Promise<void> {
    if (this.server) return;
    const hp = splitHostPort(this.listen);
    if (typeof hp === 'string') throw new ProxyApiError(500, `listen tcp ${hp}`);
    const host = hp.host === '' || hp.host === 'localhost' ? this.defaultHost : hp.host;
    const server = createServer({ allowHalfOpen: true, noDelay: true }, this.onConnection);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new ProxyApiError(500, err.message));
      server.once('error', onError);
      server.listen({ host, port: hp.port, backlog: 4096 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    // A listener error after start (rare: e.g. EMFILE on accept) must not crash the process.
    server.on('error', () => {});
    const address = server.address();
    if (address && typeof address === 'object') {
      this.listen = joinHostPort(address.address, address.port);
    }
    this.server = server;
  }

  /** Closes the listener and every connection (client and upstream sockets). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const conn of this.connections) conn.destroy();
    await closed;
  }

  private accept(client: Socket): void {
    this.connectionsTotal++;
    let upstream: Socket;
    try {
      if (this.upstreamHost === undefined) throw new Error('bad upstream address');
      upstream = connect({
        host: this.upstreamHost,
        port: this.upstreamPort,
        allowHalfOpen: true,
        noDelay: true,
      });
    } catch {
      this.upstreamErrors++;
      client.on('error', () => {});
      client.destroy();
      return;
    }
    const conn = new Connection(this, client, upstream, this.toxics);
    this.connections.add(conn);
  }

  upstreamFailed(): void {
    this.upstreamErrors++;
  }

  closed(conn: Connection): void {
    this.connections.delete(conn);
  }

  /** Adds a toxic at the end of its stream's chain, on every live connection too. */
  addToxic(toxic: ToxicState): void {
    this.toxics.push(toxic);
    for (const conn of this.connections) conn.link(toxic.stream).add(toxic);
  }

  updateToxic(toxic: ToxicState): void {
    for (const conn of this.connections) conn.link(toxic.stream).update(toxic);
  }

  removeToxic(toxic: ToxicState): void {
    const i = this.toxics.indexOf(toxic);
    if (i < 0) return;
    this.toxics.splice(i, 1);
    for (const conn of this.connections) conn.link(toxic.stream).remove(toxic);
  }

  findToxic(name: string): ToxicState | undefined {
    return this.toxics.find((t) => t.name === name);
  }

  /** Live connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  stats(): ProxyStats {
    return {
      name: this.name,
      bytesUpstream: this.upstreamBytes.bytes,
      bytesDownstream: this.downstreamBytes.bytes,
      connectionsTotal: this.connectionsTotal,
      connectionsActive: this.connections.size,
      upstreamErrors: this.upstreamErrors,
    };
  }
}
