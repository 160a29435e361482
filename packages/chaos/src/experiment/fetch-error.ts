/**
 * Why a `fetch` of a probe or an action failed, in a few words: its own time limit, or the
 * network's reason (undici puts it in `cause`: ECONNREFUSED, ECONNRESET...).
 */
export function fetchFailure(err: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return `no answer within ${timeoutMs} ms`;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
