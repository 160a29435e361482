// The floor: the least work that any implementation of the required instrumentation does per
// request, written by hand with no library. The request's context is made active through
// AsyncLocalStorage (as log lines inside a handler need), ids are drawn from a pooled random
// buffer or taken from `traceparent`, the correlation id is echoed, a span record with its
// attributes goes to a batch that is dropped when full, a histogram bucket and two SLO counters
// are counted, and the access line (the same fields as nines writes) is appended to a buffer
// written synchronously in 64 KiB blocks. No OpenTelemetry objects, no pino, no labels, no
// export: what it serves is an upper bound for any instrumented server on this machine.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import http from 'node:http';
import { hostname } from 'node:os';

const als = new AsyncLocalStorage();
const fd = openSync(process.argv[2], 'a');
const head = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"service":"hello"`;
let pending = '';

const pool = Buffer.alloc(4096);
let used = pool.length;
function randomHex(bytes) {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const s = pool.toString('hex', used, used + bytes);
  used += bytes;
  return s;
}

const bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const histogram = { buckets: new Float64Array(bounds.length + 1), sum: 0 };
const slo = { total: 0, available: 0, fast: 0 };
const batch = [];

const finish = function () {
  const span = this.span;
  const seconds = (performance.now() - span.start) / 1000;
  const status = this.statusCode;
  let b = 0;
  while (b < bounds.length && seconds > bounds[b]) b++;
  histogram.buckets[b]++;
  histogram.sum += seconds;
  slo.total++;
  if (status < 500) slo.available++;
  if (seconds <= 0.2) slo.fast++;
  span.attributes['http.response.status_code'] = status;
  span.end = seconds;
  batch.push(span);
  if (batch.length >= 2048) batch.length = 0;
  pending += `{"level":"info","time":${Date.now()}${head},"trace_id":"${span.traceId}","span_id":"${span.spanId}","trace_flags":"01","correlation_id":"${span.traceId}","method":"${span.attributes['http.request.method']}","route":"/","status":${status},"duration_ms":${Math.round(seconds * 1e5) / 100},"path":${JSON.stringify(span.attributes['url.path'])},"msg":"request completed"}\n`;
  if (pending.length >= 65536) {
    writeSync(fd, pending);
    pending = '';
  }
};

const handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello world');
};

const server = http.createServer((req, res) => {
  const parent = req.headers.traceparent;
  const traceId =
    typeof parent === 'string' && parent.length === 55 ? parent.slice(3, 35) : randomHex(16);
  const span = {
    name: 'GET /',
    start: performance.now(),
    traceId,
    spanId: randomHex(8),
    attributes: {
      'http.request.method': req.method,
      'url.path': req.url,
      'url.scheme': 'http',
      'http.route': '/',
      'network.protocol.version': req.httpVersion,
    },
    end: 0,
  };
  res.setHeader('x-correlation-id', traceId);
  res.span = span;
  res.on('close', finish);
  als.run(span, handler, req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => {
  writeSync(fd, pending);
  closeSync(fd);
  process.exit(0);
});
