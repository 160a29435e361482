/** Real-socket fixtures for the fault proxy tests: upstream servers, clients, bounded waits. */

import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface Upstream {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  /** Sockets the upstream has accepted and not yet seen close. */
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/** Starts a TCP server on 127.0.0.1:0; `onSocket` defaults to echoing (half-close aware). */
export async function startUpstream(onSocket?: (socket: Socket) => void): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (onSocket) onSocket(socket);
    else socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Splits `host:port`. */
export function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** Connects to 127.0.0.1:port and resolves once connected. */
export function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** What a client read until its socket closed. */
export interface Received {
  readonly data: Buffer;
  /** ms (performance.now) of each chunk's arrival. */
  readonly times: number[];
  readonly chunks: number;
  readonly error: NodeJS.ErrnoException | undefined;
  readonly ended: boolean;
  readonly closedAt: number;
}

/** Reads everything from `socket` until it closes (or `timeoutMs` passes: then rejects). */
export function readAll(socket: Socket, timeoutMs = 10_000): Promise<Received> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const times: number[] = [];
    let error: NodeJS.ErrnoException | undefined;
    let ended = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      times.push(performance.now());
    });
    socket.on('end', () => {
      ended = true;
    });
    socket.on('error', (err) => {
      error = err;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({
        data: Buffer.concat(parts),
        times,
        chunks: parts.length,
        error,
        ended,
        closedAt: performance.now(),
      });
    });
  });
}

/** Reads exactly `n` bytes (rejects after `timeoutMs`). Resolves with the time the last arrived. */
export function readBytes(
  socket: Socket,
  n: number,
  timeoutMs = 10_000,
): Promise<{ data: Buffer; at: number; chunks: number }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`got ${got} of ${n} bytes after ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      parts.push(d);
      got += d.length;
      if (got >= n) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve({ data: Buffer.concat(parts), at: performance.now(), chunks: parts.length });
      }
    };
    socket.on('data', onData);
  });
}

/** Polls `check` until it is true, failing after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Deterministic bytes for integrity checks. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
