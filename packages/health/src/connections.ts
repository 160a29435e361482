import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/** An HTTP or HTTPS server whose connections a shutdown tracks. */
export type AttachableServer = HttpServer | HttpsServer;

/** One attached server and the listeners added to it. */
interface Attachment {
  readonly server: AttachableServer;
  readonly connectionEvent: 'connection' | 'secureConnection';
  readonly onConnection: (socket: Socket) => void;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
}

/** What is known about one open connection. */
interface Connection {
  /** Requests received on it whose response has not closed yet. */
  active: number;
  /** The latest response on it, to mark `Connection: close` when the close begins. */
  res: ServerResponse | undefined;
  readonly owner: Attachment;
}

/**
 * Tracks the open connections of one or more HTTP servers and the requests in flight on each,
 * so a shutdown can close the idle ones at once, let busy ones finish their response, and cut
 * off what is left at a deadline.
 *
 * Node 20's `server.close()` stops accepting and closes idle keep-alive connections, but leaves
 * connections that never sent a request open, and a keep-alive connection that was busy at the
 * time stays open after its response; both would hold the process until their own timeouts.
 *
 * @internal
 */
export class ConnectionTracker {
  readonly #connections = new Map<Socket, Connection>();
  readonly #attachments = new Set<Attachment>();
  #closing = false;
  #active = 0;
  /** Called whenever the number of requests in flight drops to zero while closing. */
  onDrained: (() => void) | undefined;
  /**
   * One listener for every response, built once: it reads the socket from `res.req` because
   * `res.socket` is already detached when a response closes.
   */
  readonly #onResponseClose: (this: ServerResponse) => void;
  readonly #onSocketClose: (this: Socket) => void;

  constructor() {
    const tracker = this;
    this.#onResponseClose = function onResponseClose(this: ServerResponse): void {
      tracker.#requestDone(this.req.socket, this);
    };
    this.#onSocketClose = function onSocketClose(this: Socket): void {
      tracker.#forget(this);
    };
  }

  /** Requests received and not yet answered (or aborted), over every attached server. */
  get activeRequests(): number {
    return this.#active;
  }

  /** Open connections over every attached server. */
  get connections(): number {
    return this.#connections.size;
  }

  /** True once {@link ConnectionTracker.close} has run. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Starts tracking `server`. Connections it accepted before this call are tracked from their
   * next request on. When the tracker is already closing, the server is closed at once.
   * Returns a function that stops tracking it (and forgets its connections).
   */
  attach(server: AttachableServer): () => void {
    for (const a of this.#attachments) if (a.server === server) return () => this.#detach(a);
    // Over TLS, requests arrive on the TLS socket, not on the TCP socket of 'connection'.
    const connectionEvent = server instanceof HttpsServer ? 'secureConnection' : 'connection';
    const attachment: Attachment = {
      server,
      connectionEvent,
      onConnection: (socket) => {
        this.#track(socket, attachment);
        if (this.#closing) socket.destroy();
      },
      onRequest: (req, res) => this.#request(req, res, attachment),
    };
    this.#attachments.add(attachment);
    server.on(connectionEvent, attachment.onConnection);
    // First in line, so `Connection: close` is set before the application can send headers.
    server.prependListener('request', attachment.onRequest);
    if (this.#closing) this.#closeServer(attachment);
    return () => this.#detach(attachment);
  }

  /**
   * Stops accepting on every attached server, closes the connections with no request in flight
   * at once, and marks the others so they close after their response.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    for (const a of this.#attachments) this.#closeServer(a);
  }

  /** Destroys every tracked connection, busy or not. Returns the requests that were cut off. */
  destroyAll(): number {
    const cut = this.#active;
    for (const socket of [...this.#connections.keys()]) socket.destroy();
    return cut;
  }

  /** Stops tracking every server. */
  detachAll(): void {
    for (const a of [...this.#attachments]) this.#detach(a);
  }

  #closeServer(a: Attachment): void {
    // Not listening (never started, or closed by the application): nothing to stop accepting.
    if (a.server.listening) a.server.close();
    for (const [socket, conn] of this.#connections) {
      if (conn.owner !== a) continue;
      if (conn.active === 0) socket.destroy();
      else if (conn.res !== undefined && !conn.res.headersSent) {
        // Still time to tell the client not to reuse this connection.
        conn.res.setHeader('Connection', 'close');
      }
    }
  }

  #track(socket: Socket, owner: Attachment): Connection {
    let conn = this.#connections.get(socket);
    if (conn === undefined) {
      conn = { active: 0, res: undefined, owner };
      this.#connections.set(socket, conn);
      socket.once('close', this.#onSocketClose);
    }
    return conn;
  }

  #request(req: IncomingMessage, res: ServerResponse, owner: Attachment): void {
    const conn = this.#track(req.socket, owner);
    conn.active++;
    conn.res = res;
    this.#active++;
    // Busy connections close after this response instead of waiting for another request.
    if (this.#closing && !res.headersSent) res.setHeader('Connection', 'close');
    res.once('close', this.#onResponseClose);
  }

  #requestDone(socket: Socket, res: ServerResponse): void {
    const conn = this.#connections.get(socket);
    if (conn === undefined || conn.active === 0) return;
    conn.active--;
    if (conn.res === res) conn.res = undefined;
    this.#active--;
    // The response is handed to the kernel by now ('close' follows 'finish'), so closing the
    // socket loses nothing; a response sent before the close began had no `Connection: close`.
    if (this.#closing && conn.active === 0) socket.destroy();
    if (this.#closing && this.#active === 0) this.onDrained?.();
  }

  #forget(socket: Socket): void {
    const conn = this.#connections.get(socket);
    if (conn === undefined) return;
    this.#connections.delete(socket);
    if (conn.active > 0) {
      // The connection died with requests still open; their responses close too, but do not
      // count them twice.
      this.#active -= conn.active;
      conn.active = 0;
      if (this.#closing && this.#active === 0) this.onDrained?.();
    }
  }

  #detach(a: Attachment): void {
    if (!this.#attachments.delete(a)) return;
    a.server.off(a.connectionEvent, a.onConnection);
    a.server.off('request', a.onRequest);
    for (const [socket, conn] of this.#connections) {
      if (conn.owner !== a) continue;
      socket.off('close', this.#onSocketClose);
      this.#connections.delete(socket);
      this.#active -= conn.active;
    }
  }
}
