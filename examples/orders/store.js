// Service B, "the database service": orders and products in SQLite (better-sqlite3), behind a
// small JSON API. A fully wired nines service (see wiring.js): traced and logged per request,
// RED metrics on /metrics, liveness / readiness / startup probes, graceful shutdown.
//
//   PORT=0 DATA_DIR=/tmp/orders node examples/orders/store.js
//
//   GET  /orders        the 20 latest orders, with their lines
//   GET  /orders/:id    one order (404 when missing)
//   POST /orders        {"items":[{"sku":"SKU-001","qty":2,"price":12.5}]} -> 201 {"id":201}
//
// DATA_DIR holds store.db (created if needed); unset: a fresh temporary folder, removed on exit;
// ':memory:': an in-memory database. The catalogue (100 products, SKU-001..SKU-100) and 200 orders
// with 1-4 lines are seeded when the database is empty, the same every time.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createService, fail, HttpError, orderItems, readJson, sendJson } from './wiring.js';

const PRODUCTS = 100;
const SEED_ORDERS = 200;
const LATEST = 20;
const MAX_ITEMS = 50;

// --- the database -----------------------------------------------------------------------------
const dataDir = process.env.DATA_DIR;
let file;
let tempDir = null;
if (dataDir === ':memory:') {
  file = ':memory:';
} else if (dataDir) {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    fail(`DATA_DIR ${JSON.stringify(dataDir)} cannot be created: ${err.message}`);
  }
  file = join(dataDir, 'store.db');
} else {
  tempDir = mkdtempSync(join(tmpdir(), 'nines-orders-store-'));
  file = join(tempDir, 'store.db');
}
const removeTemp = () => {
  if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
  tempDir = null;
};
process.on('exit', removeTemp); // whatever the way out, a temporary database does not stay behind

let db;
try {
  db = new Database(file);
} catch (err) {
  fail(`cannot open the database ${file}: ${err.message}`);
}
if (file !== ':memory:') db.pragma('journal_mode = WAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS products (
    sku   TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    price REAL NOT NULL
  );
  CREATE TABLE IF NOT EXISTS orders (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    total      REAL NOT NULL
  );
  CREATE TABLE IF NOT EXISTS order_lines (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    line     INTEGER NOT NULL,
    sku      TEXT NOT NULL REFERENCES products(sku),
    qty      INTEGER NOT NULL,
    price    REAL NOT NULL,
    PRIMARY KEY (order_id, line)
  );
`);

const q = {
  countProducts: db.prepare('SELECT count(*) AS n FROM products'),
  insertProduct: db.prepare('INSERT INTO products (sku, name, price) VALUES (?, ?, ?)'),
  productExists: db.prepare('SELECT 1 FROM products WHERE sku = ?').pluck(),
  insertOrder: db.prepare('INSERT INTO orders (created_at, total) VALUES (?, ?)'),
  insertLine: db.prepare(
    'INSERT INTO order_lines (order_id, line, sku, qty, price) VALUES (?, ?, ?, ?, ?)',
  ),
  order: db.prepare('SELECT id, created_at, total FROM orders WHERE id = ?'),
  lines: db.prepare('SELECT sku, qty, price FROM order_lines WHERE order_id = ? ORDER BY line'),
  latest: db.prepare('SELECT id, created_at, total FROM orders ORDER BY id DESC LIMIT ?'),
  linesOf: db.prepare(
    `SELECT order_id, sku, qty, price FROM order_lines
     WHERE order_id IN (SELECT id FROM orders ORDER BY id DESC LIMIT ?) ORDER BY order_id, line`,
  ),
  ping: db.prepare('SELECT 1').pluck(),
};

/** Inserts one order and its lines in one transaction; returns the new id. */
const insertOrder = db.transaction((items, createdAt) => {
  let total = 0;
  for (const it of items) total += it.qty * it.price;
  const id = Number(q.insertOrder.run(createdAt, Math.round(total * 100) / 100).lastInsertRowid);
  items.forEach((it, i) => {
    q.insertLine.run(id, i + 1, it.sku, it.qty, it.price);
  });
  return id;
});

/** mulberry32: a small deterministic generator, so every fresh store holds the same data. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sku = (n) => `SKU-${String(n).padStart(3, '0')}`;
const NOUNS = ['kettle', 'lamp', 'mug', 'chair', 'notebook', 'backpack', 'headphones', 'plant'];
const ADJECTIVES = ['red', 'compact', 'classic', 'steel', 'oak', 'travel', 'quiet', 'large'];

function seed() {
  if (q.countProducts.get().n > 0) return false;
  const rnd = random(42);
  const prices = [];
  db.transaction(() => {
    for (let i = 1; i <= PRODUCTS; i++) {
      const price = Math.round((5 + rnd() * 100) * 100) / 100;
      prices.push(price);
      const name = `${ADJECTIVES[i % ADJECTIVES.length]} ${NOUNS[(i * 7) % NOUNS.length]}`;
      q.insertProduct.run(sku(i), name, price);
    }
    const now = Date.now();
    for (let o = 0; o < SEED_ORDERS; o++) {
      const lines = 1 + Math.floor(rnd() * 4);
      const items = [];
      for (let l = 0; l < lines; l++) {
        const p = 1 + Math.floor(rnd() * PRODUCTS);
        items.push({ sku: sku(p), qty: 1 + Math.floor(rnd() * 3), price: prices[p - 1] });
      }
      // Spread over the last week, oldest first.
      insertOrder(items, now - (SEED_ORDERS - o) * 3_000_000);
    }
  })();
  return true;
}

// --- the service ------------------------------------------------------------------------------
const service = createService('store');
const { logger } = service;
const seeded = seed();
logger.info({ file, seeded }, seeded ? 'database seeded' : 'database opened');

const toOrder = (row, lines) => ({
  id: row.id,
  createdAt: new Date(row.created_at).toISOString(),
  total: row.total,
  lines,
});

function latestOrders() {
  const rows = q.latest.all(LATEST);
  const byOrder = new Map(rows.map((r) => [r.id, []]));
  for (const l of q.linesOf.all(LATEST)) {
    byOrder.get(l.order_id)?.push({ sku: l.sku, qty: l.qty, price: l.price });
  }
  return rows.map((r) => toOrder(r, byOrder.get(r.id) ?? []));
}

/** Checks a POST body; the error names the field at fault. */
function parseItems(body) {
  return orderItems(body, MAX_ITEMS, 'sku, qty and price', (it, at) => {
    if (typeof it.sku !== 'string' || it.sku.length === 0) {
      throw new HttpError(400, `${at}.sku must be a non-empty string`);
    }
    if (!q.productExists.get(it.sku))
      throw new HttpError(400, `${at}.sku: unknown sku ${JSON.stringify(it.sku.slice(0, 64))}`);
    if (!Number.isInteger(it.qty) || it.qty < 1 || it.qty > 1000) {
      throw new HttpError(400, `${at}.qty must be an integer from 1 to 1000`);
    }
    if (typeof it.price !== 'number' || !Number.isFinite(it.price) || it.price < 0) {
      throw new HttpError(400, `${at}.price must be a number >= 0`);
    }
    return { sku: it.sku, qty: it.qty, price: Math.round(it.price * 100) / 100 };
  });
}

const ORDER_PATH = /^\/orders\/([^/]+)$/;

async function app(req, res) {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/orders') {
    if (req.method === 'GET') return sendJson(res, 200, { orders: latestOrders() });
    if (req.method === 'POST') {
      const items = parseItems(await readJson(req));
      const id = insertOrder(items, Date.now());
      logger.info({ order: id, items: items.length }, 'order stored');
      return sendJson(res, 201, { id });
    }
    res.setHeader('allow', 'GET, POST');
    return sendJson(res, 405, { error: `method ${req.method} not allowed on /orders` });
  }
  const m = ORDER_PATH.exec(path);
  if (m !== null && req.method === 'GET') {
    const id = Number(m[1]);
    if (!/^\d{1,15}$/.test(m[1]) || id < 1) {
      return sendJson(res, 400, {
        error: `order id must be a positive integer, got ${JSON.stringify(m[1].slice(0, 32))}`,
      });
    }
    const row = q.order.get(id);
    if (row === undefined) return sendJson(res, 404, { error: `order ${id} not found` });
    return sendJson(res, 200, toOrder(row, q.lines.all(id)));
  }
  return sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
}

await service.serve(app, {
  routes: ['/orders', '/orders/:id'],
  // Readiness checks what this instance needs: its own database answers a query.
  health: { checks: { db: { check: () => q.ping.get(), timeoutMs: 500, cacheMs: 1000 } } },
  hooks: [
    [
      'database',
      () => {
        db.close();
        removeTemp();
      },
    ],
  ],
});
