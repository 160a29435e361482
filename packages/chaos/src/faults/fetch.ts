/** Faults on an HTTP client: a fetch-compatible function. */
import { type FaultCore, type FaultRecord, faultError } from './record.js';
import { hang, pause } from './wait.js';

/**
 * Wraps `base` so the faults on `target` apply to its requests: latency before the request, an
 * error as a synthetic Response (with status) or a rejection, a refusal as undici reports one
 * (`TypeError('fetch failed')` with the cause), a hang until the signal aborts or the fault ends.
 */
export function wrapFetch(core: FaultCore, target: string, base: typeof fetch): typeof fetch {
  const slot = core.slot(target);
  return (input, init) => {
    if (slot.calls.length === 0) return base(input, init);
    const terminal = core.decide(slot);
    const delay = core.delay;
    if (terminal === undefined && delay === 0) return base(input, init);
    return affect(core, delay, terminal, base, input, init);
  };
}

async function affect(
  core: FaultCore,
  delay: number,
  terminal: FaultRecord | undefined,
  base: typeof fetch,
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
): Promise<Response> {
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
  if (delay > 0) await pause(core.time, delay, signal);
  if (terminal !== undefined) {
    const s = terminal.spec;
    if (s.kind === 'error') {
      if (s.status === undefined) throw faultError(terminal);
      return new Response(JSON.stringify({ error: s.message, fault: terminal.id }), {
        status: s.status,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    }
    if (s.kind === 'block' && s.mode === 'refuse') {
      throw new TypeError('fetch failed', { cause: faultError(terminal) });
    }
    await hang(terminal, signal);
  }
  return base(input, init);
}
