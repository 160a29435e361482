// Service C, pricing: a cache in front of the third-party price API (external.js), with a stale
// fallback. A fully wired nines service (see wiring.js).
//
//   PORT=0 EXTERNAL_URL=http://127.0.0.1:4003 CACHE_TTL_MS=1000 node examples/orders/pricing.js
//
//   GET /prices/:sku -> 200 {"sku","price","currency","source":"cache"|"live"|"stale"}
//                       503 {"error"} when the external API fails and no price was ever cached
//
// A price is fresh for CACHE_TTL_MS (default 1 s, so most calls reach the external API) and kept
// for 10 minutes as a stale copy. The external API is called through a traced client with a
// 250 ms timeout and a circuit breaker (named "external" on /metrics); when that fails, the stale
// copy is served (a @nines/resilience fallback), logged at WARN and counted in
// pricing_prices_served_total{source="stale"}. Readiness does not check the external API: with
// the fallback this service still answers when it is down.
import { circuitBreaker, fallback, TimeoutError, timeout, wrap } from '@nines/resilience';
import { bridgeCircuitBreaker } from '@nines/telemetry';
import { createService, envInt, envUrl, sendJson } from './wiring.js';

const EXTERNAL_URL = envUrl('EXTERNAL_URL');
const CACHE_TTL_MS = envInt('CACHE_TTL_MS', 1000);
const STALE_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;
const EXTERNAL_TIMEOUT_MS = 250;

const service = createService('pricing');
const { logger, registry, telemetry } = service;

const served = registry.counter({
  name: 'pricing_prices_served_total',
  help: 'Prices served, by where they came from (cache, live from the external API, stale = the fallback).',
  labelNames: ['source'],
});
// Created once, so every source shows on /metrics from the first scrape (at 0).
const count = {
  cache: served.labels('cache'),
  live: served.labels('live'),
  stale: served.labels('stale'),
};

// The breaker opens on errors and 5xx answers of the external API (a dead or failing API costs
// nothing per call while it is open). A timeout is not counted as a failure: the 250 ms timeout and
// the stale fallback already bound the wait, so a slow API shows up where it hurts, in the latency
// SLO of orders, instead of being hidden behind an open circuit.
const breaker = circuitBreaker({
  window: { type: 'time', durationMs: 10_000, buckets: 10, failureRate: 0.5, minimumCalls: 5 },
  openMs: 2000,
  halfOpen: { maxConcurrent: 1, successThreshold: 2 },
  isFailureResult: (res) => res.status >= 500,
  isIgnored: (err) => err instanceof TimeoutError,
});
bridgeCircuitBreaker(breaker, { name: 'external', registry, logger });
const external = telemetry.httpClient('external', {
  baseUrl: EXTERNAL_URL,
  policy: wrap(breaker, timeout(EXTERNAL_TIMEOUT_MS)),
});

/** sku -> { price, currency, at }: the last live answer. Oldest entries go first past MAX_ENTRIES. */
const cache = new Map();

// When the live call fails (timeout, open circuit, refused connection, 5xx), the fallback answers
// with the reason instead of a price, and the handler serves the stale copy if it has one.
const orStale = fallback(({ error }) => ({ failed: error }));

async function fetchLive(sku, signal) {
  const res = await external.fetch(`/prices/${encodeURIComponent(sku)}`, { signal });
  if (res.status === 404) {
    await res.arrayBuffer().catch(() => {});
    return { unknown: true }; // an answer, not a failure: the API does not know this sku
  }
  if (!res.ok) {
    await res.arrayBuffer().catch(() => {});
    throw new Error(`external API answered ${res.status}`);
  }
  const body = await res.json();
  if (typeof body?.price !== 'number' || !Number.isFinite(body.price)) {
    throw new Error('external API answered without a numeric price');
  }
  return { price: body.price, currency: typeof body.currency === 'string' ? body.currency : 'EUR' };
}

const SKU_PATH = /^\/prices\/([^/]{1,64})$/;

async function app(req, res) {
  const path = (req.url ?? '/').split('?')[0];
  const m = SKU_PATH.exec(path);
  if (m === null || req.method !== 'GET') {
    return sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
  }
  let sku;
  try {
    sku = decodeURIComponent(m[1]);
  } catch {
    return sendJson(res, 400, { error: 'sku is not valid percent-encoding' });
  }
  const now = Date.now();
  const entry = cache.get(sku);
  if (entry !== undefined && now - entry.at < CACHE_TTL_MS) {
    count.cache.inc();
    return sendJson(res, 200, {
      sku,
      price: entry.price,
      currency: entry.currency,
      source: 'cache',
    });
  }

  const live = await orStale.execute(({ signal }) => fetchLive(sku, signal));
  if (live.unknown === true) {
    return sendJson(res, 404, { error: `unknown sku ${JSON.stringify(sku)}` });
  }
  if (live.failed === undefined) {
    cache.delete(sku); // re-inserted last: the Map's order is the age order
    cache.set(sku, { price: live.price, currency: live.currency, at: Date.now() });
    if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value);
    count.live.inc();
    return sendJson(res, 200, { sku, price: live.price, currency: live.currency, source: 'live' });
  }

  const reason = describeError(live.failed);
  if (entry !== undefined && now - entry.at < STALE_MS) {
    count.stale.inc();
    logger.warn({ sku, ageMs: now - entry.at, reason }, 'stale price served');
    return sendJson(res, 200, {
      sku,
      price: entry.price,
      currency: entry.currency,
      source: 'stale',
    });
  }
  logger.warn({ sku, reason }, 'no price available');
  return sendJson(res, 503, { error: `no price for ${sku}: external API unavailable (${reason})` });
}

function describeError(err) {
  if (err === null || err === undefined) return 'unknown error';
  const code = err.code ?? err.cause?.code;
  return code ? `${code}: ${err.message}` : String(err.message ?? err);
}

await service.serve(app, {
  routes: ['/prices/:sku'],
  // The breaker is reported in readiness, but an open one only degrades it: with the stale
  // fallback, this instance still answers, and the external API is shared by every instance.
  health: { breakers: { external: breaker }, onBreakerOpen: 'degrade' },
});
