// Service A, the orders API: what users call. It reads and writes orders through the store
// (service B) and prices every line through pricing (service C). A fully wired nines service (see
// wiring.js), with its SLOs tracked in process.
//
//   PORT=0 STORE_URL=http://127.0.0.1:4001 PRICING_URL=http://127.0.0.1:4002 node examples/orders/orders.js
//
//   GET  /orders       the latest orders, from the store
//   GET  /orders/:id   one order, each line re-priced through pricing (in parallel)
//   POST /orders       {"items":[{"sku":"SKU-001","qty":2}]}: priced through pricing, stored -> 201
//   GET  /slo          the SLOs: attainment, budget, burn rate, alerts, budget policy; alert events
//
// Each dependency has its own traced client with a timeout (store 150 ms, pricing 400 ms) inside
// a circuit breaker, bridged by name (nines_circuit_breaker_state{name="store"|"pricing"} on
// /metrics, a WARN line per transition). A failed dependency answers 503 {"error"} at once, never
// a hang. SLO_FILE (default slos.yaml next to this file) holds the SLOs.
import { fileURLToPath } from 'node:url';
import { httpCheck } from '@nines/health';
import { BrokenCircuitError, circuitBreaker, TimeoutError, timeout, wrap } from '@nines/resilience';
import { errorBudgetPolicy, evaluatePolicy, loadSloFile, sloTracker } from '@nines/slo';
import { bridgeCircuitBreaker } from '@nines/telemetry';
import {
  createService,
  envUrl,
  fail,
  HttpError,
  orderItems,
  readJson,
  sendJson,
} from './wiring.js';

const STORE_URL = envUrl('STORE_URL');
const PRICING_URL = envUrl('PRICING_URL');
const SLO_FILE = process.env.SLO_FILE || fileURLToPath(new URL('slos.yaml', import.meta.url));
const MAX_ITEMS = 20;
const MAX_EVENTS = 200;

// --- SLOs -------------------------------------------------------------------------------------
// The Workbook's multi-window, multi-burn-rate pairs, scaled down so a two-minute demo shows them:
// a page when the last 30 s and the last 5 s both burn the budget at 10x or more, a ticket at 5x
// over 60 s and 10 s. The budget share of each pair is derived from the SLO's window, so the burn
// rate that fires is the same whatever the window.
const DAY_MS = 86_400_000;
const ALERT_PAIRS = [
  { severity: 'page', burnRate: 10, longWindowMs: 30_000, shortWindowMs: 5_000 },
  { severity: 'ticket', burnRate: 5, longWindowMs: 60_000, shortWindowMs: 10_000 },
];
// GET /slo reports the burn rate over the page's short window.
const PAGE_SHORT_MS = ALERT_PAIRS[0].shortWindowMs;

function periodOf(slo) {
  if (slo.window.type === 'rolling') return slo.window.days * DAY_MS;
  return (slo.window.unit === 'month' ? 30 : 90) * DAY_MS; // the nominal lengths the engine uses
}

function alertWindowsFor(slo) {
  const periodMs = periodOf(slo);
  return ALERT_PAIRS.map((p) => ({
    severity: p.severity,
    budgetPercent: (p.burnRate * p.longWindowMs * 100) / periodMs,
    longWindowMs: p.longWindowMs,
    shortWindowMs: p.shortWindowMs,
  }));
}

let slos;
try {
  slos = await loadSloFile(SLO_FILE);
} catch (err) {
  fail(`SLO_FILE: ${err.message}`);
}
if (slos.length === 0) fail(`SLO_FILE: ${SLO_FILE} defines no SLO`);
for (const slo of slos) {
  if (slo.service !== 'orders') {
    fail(
      `SLO_FILE: ${SLO_FILE} defines SLO ${slo.name} for service "${slo.service}", not "orders"`,
    );
  }
}
// One-second buckets: the short windows above are exact to the second. The low-traffic guard
// (both windows of a pair must hold 20 requests) keeps a single slow request among the first few
// from paging: at 20 req/s the 5 s window holds about 100.
const trackers = slos.map((slo) =>
  sloTracker(slo, { resolutionMs: 1000, minEvents: 20, alertWindows: alertWindowsFor(slo) }),
);
// The error budget policy (SRE Workbook, appendix B): at risk below 25 % left, frozen when spent.
const policy = errorBudgetPolicy();

// Every request is recorded once into each tracker, from the measurement of its RED metrics.
const service = createService('orders', { slos: trackers.map((tracker) => ({ tracker })) });
const { logger, registry, telemetry } = service;

/** Alert transitions so far, oldest first, at most MAX_EVENTS. */
const events = [];
const pushEvent = (e) => {
  events.push(e);
  if (events.length > MAX_EVENTS) events.shift();
};
const policyStates = new Map();
for (const t of trackers) {
  t.onAlertFired((e) => {
    pushEvent({ type: 'fired', slo: e.slo, severity: e.severity, at: e.at });
    const burn = Math.max(...e.pairs.map((p) => Math.min(p.longBurnRate, p.shortBurnRate)));
    logger.error(
      { slo: e.slo, severity: e.severity, burnRate: round(burn) },
      `SLO alert fired: ${e.slo} ${e.severity}`,
    );
  });
  t.onAlertResolved((e) => {
    pushEvent({ type: 'resolved', slo: e.slo, severity: e.severity, at: e.at });
    logger.info(
      { slo: e.slo, severity: e.severity, durationMs: e.durationMs },
      `SLO alert resolved: ${e.slo} ${e.severity}`,
    );
  });
  policyStates.set(t.slo.name, 'healthy');
}

function policyOf(tracker) {
  return evaluatePolicy(policy, { budgetRemaining: tracker.budget().remaining });
}

/** Evaluates the alerts and the budget policy (logging a policy change once); returns the alerts. */
function evaluate() {
  return trackers.map((t) => {
    const alerts = t.evaluateAlerts();
    const decision = policyOf(t);
    const before = policyStates.get(t.slo.name);
    if (decision.state !== before) {
      policyStates.set(t.slo.name, decision.state);
      const line = { slo: t.slo.name, from: before, to: decision.state, freeze: decision.freeze };
      const text = `error budget policy of ${t.slo.name}: ${decision.state}${decision.freeze ? ', changes frozen' : ''}`;
      if (decision.state === 'healthy') logger.info(line, text);
      else logger.warn(line, text);
    }
    return alerts;
  });
}
setInterval(evaluate, 1000).unref();

function sloReport() {
  const evaluations = evaluate();
  return {
    slos: trackers.map((t, i) => {
      const alerts = evaluations[i];
      return {
        name: t.slo.name,
        objective: t.slo.objective,
        attainment: t.attainment(),
        budgetRemaining: t.budget().remaining,
        burnRate: t.burnRate(PAGE_SHORT_MS),
        alerts: { page: alerts.page.firing, ticket: alerts.ticket.firing },
        policy: policyStates.get(t.slo.name),
      };
    }),
    events,
  };
}

// --- dependencies -----------------------------------------------------------------------------
// A short open time and two trial successes: the breaker opens within a second or two when the
// store fails under steady traffic, and closes within ~3 s once it answers again.
function dependency(name, baseUrl, timeoutMs) {
  const breaker = circuitBreaker({
    // The last 20 calls, judged from the 10th: a dependency that starts failing under steady
    // traffic opens the circuit within a second, however long it worked before.
    window: { type: 'count', size: 20, failureRate: 0.5, minimumCalls: 10 },
    openMs: 2000,
    halfOpen: { maxConcurrent: 2, successThreshold: 2 },
    isFailureResult: (res) => res.status >= 500,
  });
  bridgeCircuitBreaker(breaker, { name, registry, logger });
  const client = telemetry.httpClient(name, {
    baseUrl,
    policy: wrap(breaker, timeout(timeoutMs)),
  });
  return { name, breaker, client, timeoutMs };
}
const store = dependency('store', STORE_URL, 150);
const pricing = dependency('pricing', PRICING_URL, 400);

/** Why a dependency failed, in a few words. */
function reasonOf(dep, err) {
  if (err instanceof BrokenCircuitError) return 'circuit open';
  if (err instanceof TimeoutError) return `no answer within ${dep.timeoutMs} ms`;
  const code = err?.code ?? err?.cause?.code;
  return code ?? String(err?.message ?? err);
}

/** Calls a dependency; any failure (refused, timed out, open circuit, 5xx) is a 503 HttpError. */
async function call(dep, path, init) {
  let res;
  try {
    res = await dep.client.fetch(path, init);
  } catch (err) {
    throw new HttpError(503, `${dep.name} unavailable: ${reasonOf(dep, err)}`);
  }
  if (res.status >= 500) {
    await res.arrayBuffer().catch(() => {});
    throw new HttpError(503, `${dep.name} failed with ${res.status}`);
  }
  let body;
  try {
    body = await res.json();
  } catch (err) {
    throw new HttpError(503, `${dep.name} answered ${res.status} without JSON: ${err.message}`);
  }
  return { status: res.status, body };
}

async function priceOf(sku) {
  const { status, body } = await call(pricing, `/prices/${encodeURIComponent(sku)}`);
  if (status === 404) throw new HttpError(400, `no price for unknown sku ${JSON.stringify(sku)}`);
  if (status !== 200 || typeof body.price !== 'number') {
    throw new HttpError(503, `pricing answered ${status} for ${sku}`);
  }
  return body;
}

// --- routes -----------------------------------------------------------------------------------
const round = (n) => Math.round(n * 100) / 100;
const ORDER_PATH = /^\/orders\/(\d{1,15})$/;
const SKU = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function parseItems(body) {
  return orderItems(body, MAX_ITEMS, 'sku and qty', (it, at) => {
    if (typeof it.sku !== 'string' || !SKU.test(it.sku)) {
      throw new HttpError(400, `${at}.sku must be a product code such as SKU-001`);
    }
    if (!Number.isInteger(it.qty) || it.qty < 1 || it.qty > 100) {
      throw new HttpError(400, `${at}.qty must be an integer from 1 to 100`);
    }
    return { sku: it.sku, qty: it.qty };
  });
}

async function getOrder(res, id) {
  const { status, body } = await call(store, `/orders/${id}`);
  if (status !== 200) return sendJson(res, status, body);
  const lines = Array.isArray(body.lines) ? body.lines : [];
  const prices = await Promise.all(lines.map((l) => priceOf(l.sku)));
  let total = 0;
  const priced = lines.map((l, i) => {
    const p = prices[i];
    total += l.qty * p.price;
    return { sku: l.sku, qty: l.qty, orderedPrice: l.price, price: p.price, source: p.source };
  });
  return sendJson(res, 200, {
    id: body.id,
    createdAt: body.createdAt,
    orderedTotal: body.total,
    total: round(total),
    lines: priced,
  });
}

async function createOrder(req, res) {
  const items = parseItems(await readJson(req));
  const prices = await Promise.all(items.map((it) => priceOf(it.sku)));
  const priced = items.map((it, i) => ({ ...it, price: prices[i].price }));
  const { status, body } = await call(store, '/orders', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ items: priced }),
  });
  if (status !== 201) return sendJson(res, status, body);
  const total = round(priced.reduce((sum, it) => sum + it.qty * it.price, 0));
  logger.info({ order: body.id, items: priced.length, total }, 'order placed');
  return sendJson(res, 201, { id: body.id, items: priced, total });
}

async function app(req, res) {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/slo' && req.method === 'GET') return sendJson(res, 200, sloReport());
  if (path === '/orders') {
    if (req.method === 'GET') {
      const { status, body } = await call(store, '/orders');
      return sendJson(res, status, body);
    }
    if (req.method === 'POST') return createOrder(req, res);
    res.setHeader('allow', 'GET, POST');
    return sendJson(res, 405, { error: `method ${req.method} not allowed on /orders` });
  }
  const m = ORDER_PATH.exec(path);
  if (m !== null && req.method === 'GET') return getOrder(res, Number(m[1]));
  if (path.startsWith('/orders/') && req.method === 'GET') {
    return sendJson(res, 400, { error: 'order id must be a positive integer' });
  }
  return sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
}

await service.serve(app, {
  routes: ['/orders', '/orders/:id'],
  // GET /slo is for dashboards and the demo: it is neither traced nor counted in the SLOs.
  ignore: (req) => req.url === '/slo' || req.url?.startsWith('/slo?') === true,
  health: {
    // Readiness checks the store, orders' own database service (liveness never checks a
    // dependency). Every orders instance shares that store, so when it fails, readiness reports
    // it as degraded instead of taking every instance out of rotation at once: orders keeps
    // answering (fast 503s behind the open breaker) and the SLO alerts tell the story.
    checks: {
      store: {
        ...httpCheck(`${STORE_URL}/ready`, { timeoutMs: 500 }),
        cacheMs: 2000,
        onFailure: 'degrade',
      },
    },
    breakers: { 'store-circuit': store.breaker, 'pricing-circuit': pricing.breaker },
  },
});
