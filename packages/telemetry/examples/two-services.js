// Two instrumented services on loopback, each its own process: "orders" calls "store" through a
// traced, resilient client. Both export spans over OTLP/HTTP to a receiver in this process, which
// then draws the waterfall of one request; the log lines of both services carry its trace id.
//
//   npm run build && node packages/telemetry/examples/two-services.js
import { spawn } from 'node:child_process';
import http from 'node:http';
import { circuitBreaker, retry, wrap } from '@nines/resilience';
import {
  bridgeCircuitBreaker,
  bridgeRetry,
  createOtlpReceiver,
  renderWaterfall,
  setupTelemetry,
} from '@nines/telemetry';

const role = process.argv[2];

if (role === 'store' || role === 'orders') {
  // --- one service process ---------------------------------------------------------------------
  const telemetry = setupTelemetry({
    serviceName: role,
    tracing: { endpoint: process.env.OTLP_URL, batch: { scheduledDelayMs: 50 } },
  });
  let handler;
  if (role === 'store') {
    let calls = 0;
    handler = (req, res) => {
      calls++;
      if (calls === 1) return res.writeHead(503).end(); // one failure, so the retry shows
      telemetry.logger.info({ order: req.url }, 'row read');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":42,"total":99.5}');
    };
  } else {
    const breaker = circuitBreaker();
    const retries = retry({ backoff: 10, retryOnResult: (r) => r.status >= 500 });
    const { registry, logger } = telemetry;
    bridgeCircuitBreaker(breaker, { name: 'store', registry, logger });
    bridgeRetry(retries, { name: 'store', registry, logger });
    const store = telemetry.httpClient('store', {
      baseUrl: process.env.STORE_URL,
      policy: wrap(retries, breaker),
    });
    handler = async (req, res) => {
      const upstream = await store.fetch(`/rows${req.url}`);
      telemetry.logger.info('order loaded');
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(await upstream.text());
    };
  }
  const server = http.createServer(
    telemetry.instrument(handler, { routes: ['/orders/:id', '/rows/orders/:id'] }),
  );
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
  process.on('SIGTERM', () => server.close(() => telemetry.shutdown().then(() => process.exit(0))));
} else {
  // --- the driver --------------------------------------------------------------------------------
  const receiver = createOtlpReceiver();
  const otlp = `${await receiver.listen()}/v1/traces`;
  const logs = [];
  const start = (name, env) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [new URL(import.meta.url).pathname, name], {
        env: { ...process.env, OTLP_URL: otlp, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child.stdout.setEncoding('utf8');
      let buffered = '';
      child.stdout.on('data', (chunk) => {
        buffered += chunk;
        let nl = buffered.indexOf('\n');
        while (nl !== -1) {
          const line = JSON.parse(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
          if (line.port) resolve({ child, url: `http://127.0.0.1:${line.port}` });
          else logs.push(line);
          nl = buffered.indexOf('\n');
        }
      });
    });
  const store = await start('store', {});
  const orders = await start('orders', { STORE_URL: store.url });

  const res = await fetch(`${orders.url}/orders/42`);
  console.log(`GET /orders/42 -> ${res.status} ${await res.text()}`);
  console.log(`x-correlation-id: ${res.headers.get('x-correlation-id')}\n`);

  const metrics = await (await fetch(`${orders.url}/metrics`)).text();
  console.log('orders /metrics (excerpt):');
  for (const line of metrics.split('\n')) {
    if (/_count\{|nines_retries_total\{|state="closed"/.test(line)) console.log(`  ${line}`);
  }

  // Wait (bounded) for both services' spans, then stop them.
  for (let i = 0; i < 100 && receiver.spans().length < 5; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const { child } of [orders, store]) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const traceId = receiver.slowest();
  console.log('\nlog lines of that request, from both processes:');
  for (const l of logs.filter((x) => x.trace_id === traceId)) {
    console.log(`  ${l.service.padEnd(6)} ${l.level.padEnd(5)} ${l.msg} span=${l.span_id}`);
  }
  console.log(`\n${renderWaterfall(receiver.trace(traceId), { width: 100 })}`);
  await receiver.close();
}
