// A service with probes and graceful shutdown, runnable from the repository root after
// `npm run build`:
//
//   node packages/health/examples/service.js
//   curl -i localhost:8080/ready       # 503 "starting" for one second, then 200
//   kill -TERM <pid>                   # readiness 503 at once, liveness 200, drain, exit 0
import { createServer } from 'node:http';
import { createHealth, memoryCheck, tcpCheck } from '@nines/health';

const port = Number(process.env.PORT ?? 8080);
const health = createHealth({
  checks: {
    // The service's own port stands in for a database here.
    self: tcpCheck('127.0.0.1', port),
    memory: { ...memoryCheck({ maxHeapUsedRatio: 0.95 }), critical: false },
  },
  shutdown: { drainDelayMs: 2_000, requestTimeoutMs: 5_000 },
});

const server = createServer((req, res) => {
  if (health.handler(req, res)) return;
  setTimeout(() => res.end('hello\n'), 100);
});
health.shutdown.attach(server);
health.shutdown.onShutdown('goodbye', () => console.log('cleanup hooks ran'));
health.shutdown.onPhase(({ phase }) => console.log(`shutdown: ${phase}`));

server.listen(port, '127.0.0.1', () => {
  console.log(
    `pid ${process.pid} listening on http://127.0.0.1:${port} (probes: /healthz /ready /startup)`,
  );
  setTimeout(() => health.started(), 1_000); // pretend to warm up
});
