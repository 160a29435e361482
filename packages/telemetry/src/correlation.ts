import { type Context, context, createContextKey } from '@opentelemetry/api';

/**
 * The correlation id of the request being served, kept in the OpenTelemetry context next to the
 * span so that everything reading the active context (the logger, the HTTP client) finds it
 * without a second async store.
 */
const CORRELATION_KEY = createContextKey('nines.correlation_id');

/** Header names a correlation id is read from, in order of preference; the first is echoed back. */
export const CORRELATION_HEADERS = ['x-correlation-id', 'x-request-id'] as const;

/** Returns `ctx` with `id` as its correlation id. */
export function setCorrelationId(ctx: Context, id: string): Context {
  return ctx.setValue(CORRELATION_KEY, id);
}

/**
 * The correlation id of the request being served (the active context by default), or undefined
 * outside a request.
 *
 * @example
 * const id = getCorrelationId(); // '3f0c…' inside a handler wrapped by instrumentHttp
 */
export function getCorrelationId(ctx: Context = context.active()): string | undefined {
  return ctx.getValue(CORRELATION_KEY) as string | undefined;
}
