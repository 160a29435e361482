/** Faults on an HTTP server: a wrapper around a node:http request handler. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultCore, FaultRecord } from './record.js';
import { hang, pause } from './wait.js';

/** A node:http request handler. */
export type RequestHandler<Req extends IncomingMessage, Res extends ServerResponse> = (
  req: Req,
  res: Res,
) => void | Promise<void>;

/**
 * Wraps a request handler so the faults on `target` apply to its requests: latency before the
 * handler, an error answered without calling it, a hang until the client leaves or the fault ends,
 * a refusal that resets the connection.
 */
export function wrapHandler<Req extends IncomingMessage, Res extends ServerResponse>(
  core: FaultCore,
  target: string,
  handler: RequestHandler<Req, Res>,
): RequestHandler<Req, Res> {
  const slot = core.slot(target);
  return (req, res) => {
    if (slot.calls.length === 0) return handler(req, res);
    const terminal = core.decide(slot);
    const delay = core.delay;
    if (terminal === undefined && delay === 0) return handler(req, res);
    return affect(core, delay, terminal, handler, req, res);
  };
}

async function affect<Req extends IncomingMessage, Res extends ServerResponse>(
  core: FaultCore,
  delay: number,
  terminal: FaultRecord | undefined,
  handler: RequestHandler<Req, Res>,
  req: Req,
  res: Res,
): Promise<void> {
  // The response closes early when the client disconnects: stop waiting for it then.
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  res.once('close', onClose);
  try {
    if (delay > 0) await pause(core.time, delay, gone.signal);
    if (terminal !== undefined) {
      const s = terminal.spec;
      if (s.kind === 'error') {
        const body = JSON.stringify({ error: s.message, fault: terminal.id });
        res
          .writeHead(s.status ?? 500, {
            'content-type': 'application/json; charset=utf-8',
            'content-length': Buffer.byteLength(body),
          })
          .end(body);
        return;
      }
      if (s.kind === 'block' && s.mode === 'refuse') {
        // A reset is what a client sees nearest to a refused connection once it is connected.
        req.socket.resetAndDestroy();
        return;
      }
      await hang(terminal, gone.signal);
    }
  } catch {
    return; // the client left while waiting: nobody to answer
  } finally {
    res.off('close', onClose);
  }
  return handler(req, res);
}
