import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setRoute } from './routes.js';
import type { HttpHandler } from './server.js';

/** The part of a Fastify request the adapter reads (kept structural: Fastify stays optional). */
interface FastifyRequestLike {
  readonly raw: IncomingMessage;
  readonly routeOptions?: { readonly url?: string };
}

/** Fastify's `onRequest` hook signature, minus the types we do not need. */
type OnRequestHook = (request: FastifyRequestLike, reply: unknown, done: () => void) => void;

/** What {@link fastifyAdapter} returns: spread `serverOptions` into `Fastify()`, register `plugin`. */
export interface FastifyAdapter {
  /** `{ serverFactory }`: Fastify serves through the instrumented handler. */
  readonly serverOptions: {
    readonly serverFactory: (
      handler: (req: IncomingMessage, res: ServerResponse) => void,
    ) => Server;
  };
  /**
   * A plugin (not encapsulated) that tells the instrumentation each request's route template, so
   * spans are named `GET /orders/:id` and metrics carry the template, never the raw path.
   */
  readonly plugin: ((
    instance: { addHook(name: 'onRequest', hook: OnRequestHook): unknown },
    opts: unknown,
    done: () => void,
  ) => void) & { readonly [key: symbol]: unknown };
}

/**
 * Adapter for Fastify 4 and 5 without patching it: Fastify's `serverFactory` runs every request
 * through `instrument` (a handler wrapper such as `telemetry.instrument` or {@link instrumentHttp}),
 * and an `onRequest` hook reports the matched route.
 *
 * @example
 * const nines = fastifyAdapter((h) => telemetry.instrument(h));
 * const app = Fastify({ ...nines.serverOptions });
 * await app.register(nines.plugin);
 */
export function fastifyAdapter(instrument: (handler: HttpHandler) => HttpHandler): FastifyAdapter {
  if (typeof instrument !== 'function') {
    throw new TypeError('fastifyAdapter: instrument must be a function (handler) => handler');
  }
  const onRequest: OnRequestHook = (request, _reply, done) => {
    const url = request.routeOptions?.url;
    if (typeof url === 'string') setRoute(request.raw, url);
    done();
  };
  const plugin = Object.assign(
    (
      instance: { addHook(name: 'onRequest', hook: OnRequestHook): unknown },
      _opts: unknown,
      done: () => void,
    ) => {
      instance.addHook('onRequest', onRequest);
      done();
    },
    // Fastify's marker for a plugin whose hooks apply to the whole app (what fastify-plugin sets).
    {
      [Symbol.for('skip-override')]: true,
      [Symbol.for('fastify.display-name')]: '@nines/telemetry',
    },
  );
  return {
    serverOptions: { serverFactory: (handler) => createServer(instrument(handler)) },
    plugin,
  };
}
