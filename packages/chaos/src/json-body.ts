/**
 * Reads a bounded JSON request body for the admin endpoints (fault proxy and in-process faults):
 * `undefined` for an empty body, a 413 past `max` bytes (reading stops there), a 400 for a broken
 * stream or bad JSON. The caller's error class carries the status.
 *
 * @internal
 */
import type { IncomingMessage } from 'node:http';

export function readJsonBody(
  req: IncomingMessage,
  max: number,
  error: (status: number, message: string) => Error,
  badJson: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) {
        failed = true;
        chunks.length = 0;
        reject(error(413, `request body larger than ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!failed) reject(error(400, `bad request body: ${err.message}`));
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') {
        resolve(undefined);
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(error(400, `${badJson}: ${(err as Error).message}`));
      }
    });
  });
}
