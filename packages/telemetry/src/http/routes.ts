import type { IncomingMessage } from 'node:http';

/**
 * Route templates for servers without a router that knows them: `'/orders/:id'` matches
 * `/orders/42`, a trailing `'/*'` matches the rest of a path. The template, never the path, is
 * what spans and metrics carry, so a route label cannot explode into one series per id.
 */
export type RouteMatcher = (path: string) => string | undefined;

interface Compiled {
  readonly template: string;
  readonly segments: readonly (string | null)[];
  readonly rest: boolean;
}

const OWNER = 'instrumentHttp';

/** Compiles templates into a matcher; the most specific template wins (static segments first). */
export function compileRoutes(templates: readonly string[]): RouteMatcher {
  if (!Array.isArray(templates)) {
    throw new TypeError(`${OWNER}: option "routes" must be an array of route templates`);
  }
  const compiled: Compiled[] = templates.map((t, i) => {
    if (typeof t !== 'string' || !t.startsWith('/')) {
      throw new TypeError(
        `${OWNER}: option "routes[${i}]" must be a path template starting with "/", got ${JSON.stringify(t)}`,
      );
    }
    const parts = t.split('/').slice(1);
    const rest = parts[parts.length - 1] === '*';
    if (rest) parts.pop();
    const segments = parts.map((p) => {
      if (p.startsWith(':')) {
        if (p.length === 1) {
          throw new TypeError(`${OWNER}: option "routes[${i}]" has an unnamed parameter in "${t}"`);
        }
        return null;
      }
      if (p.includes('*')) {
        throw new TypeError(`${OWNER}: option "routes[${i}]" may use "*" only as its last segment`);
      }
      return p;
    });
    return { template: t, segments, rest };
  });
  // Static segments before parameters, longer templates before shorter: '/orders/new' beats
  // '/orders/:id', which beats '/orders/*'.
  const score = (c: Compiled): string =>
    c.segments.map((s) => (s === null ? '1' : '0')).join('') + (c.rest ? '2' : '');
  compiled.sort((a, b) => {
    if (a.rest !== b.rest) return a.rest ? 1 : -1;
    return score(a) < score(b) ? -1 : score(a) > score(b) ? 1 : 0;
  });
  // Paths repeat (one per id at worst), so a bounded cache keeps the common case to one lookup.
  const cache = new Map<string, string | undefined>();
  return (path) => {
    const hit = cache.get(path);
    if (hit !== undefined || cache.has(path)) return hit;
    const parts = path.split('/').slice(1);
    let found: string | undefined;
    for (const c of compiled) {
      if (c.rest ? parts.length < c.segments.length : parts.length !== c.segments.length) continue;
      let ok = true;
      for (let i = 0; i < c.segments.length; i++) {
        const s = c.segments[i];
        if (s !== null ? s !== parts[i] : parts[i] === '') {
          ok = false;
          break;
        }
      }
      if (ok) {
        found = c.template;
        break;
      }
    }
    if (cache.size >= 2048) cache.clear();
    cache.set(path, found);
    return found;
  };
}

const ROUTE = Symbol.for('nines.http.route');

/**
 * Tells the instrumentation the route template of a request, for routers that resolve it after the
 * request started (the span is renamed and the metrics use it).
 *
 * @example
 * app.get('/orders/:id', (req, res) => { setRoute(req, '/orders/:id'); ... });
 */
export function setRoute(req: IncomingMessage, route: string): void {
  (req as unknown as Record<symbol, string>)[ROUTE] = route;
}

/** The route set by {@link setRoute}, if any. */
export function routeOf(req: IncomingMessage): string | undefined {
  return (req as unknown as Record<symbol, string | undefined>)[ROUTE];
}
