// The third-party price API the pricing service depends on. It is somebody else's service, so it
// is deliberately NOT wired with nines: no traces, no metrics, no probes, just an HTTP API.
//
//   PORT=0 node examples/orders/external.js
//   GET /prices/SKU-001 -> 200 {"sku":"SKU-001","price":42.17,"currency":"EUR"} after 5-15 ms
//
// Prices are deterministic per SKU (a hash) and drift slowly with time (a step every 10 s), so a
// price served from a stale cache can differ from the live one.
import http from 'node:http';

const raw = process.env.PORT ?? '0';
const port = Number(raw);
if (!/^\d+$/.test(raw) || port > 65_535) {
  process.stderr.write(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(raw)}\n`);
  process.exit(2);
}

const SKU = /^\/prices\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})$/;
const STEP_MS = 10_000;

/** FNV-1a, 32 bits. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Base price 5-105 EUR from the SKU, moving up to ±5 % over a 10-minute cycle, in cents. */
function priceOf(sku, now = Date.now()) {
  const h = hash(sku);
  const base = 5 + (h % 10_000) / 100;
  const step = Math.floor(now / STEP_MS);
  const drift = 0.05 * Math.sin((2 * Math.PI * step) / 60 + (h % 628) / 100);
  return Math.round(base * (1 + drift) * 100) / 100;
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const match = req.method === 'GET' ? SKU.exec(path) : null;
  if (match === null) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `no such resource: ${req.method} ${path}` }));
    return;
  }
  const sku = match[1];
  const delay = 5 + Math.floor(Math.random() * 11);
  setTimeout(() => {
    const body = JSON.stringify({ sku, price: priceOf(sku), currency: 'EUR' });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  }, delay);
});
server.keepAliveTimeout = 10_000;

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ ready: true, service: 'external', port: server.address().port, pid: process.pid })}\n`,
  );
});

let stopping = false;
const stop = () => {
  if (stopping) process.exit(1);
  stopping = true;
  // Stop accepting, let the answers in flight (at most 15 ms away) go out, close idle sockets.
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
