import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A response read in full. */
export interface Got {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON, or undefined when empty or not JSON. */
  readonly json: unknown;
}

/** One request on a fresh connection (no pooling, so closing servers never waits on a socket). */
export function get(port: number, path: string, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json:
            text !== '' && res.headers['content-type']?.startsWith('application/json')
              ? JSON.parse(text)
              : undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Listens on 127.0.0.1 with an ephemeral port. */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it still holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Polls real I/O progress with a bounded deadline (never a fixed sleep). */
export async function waitFor(
  cond: () => boolean,
  what: string,
  deadlineMs = 5_000,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Keeps the thread busy: the event loop cannot run anything meanwhile. */
export function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

/**
 * Lets the loop pass through its timers phase at least once (two check-phase turns), so timers
 * that are due, such as the event-loop histogram's sampler, have run.
 */
export async function turnLoop(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}
