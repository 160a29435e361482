// The same server with full nines instrumentation: every request traced and exported through the
// batch processor (to an exporter that drops the batches), RED metrics, SLO recording, and one
// access-log line per request written to a file (argv[2]).
import http from 'node:http';
import { sloTracker } from '@nines/slo';
import { setupTelemetry } from '@nines/telemetry';

const slo = (name, sli) =>
  sloTracker({
    name,
    service: 'hello',
    objective: 0.999,
    window: { type: 'rolling', days: 30 },
    sli,
    budgeting: { type: 'occurrences' },
    alerting: { page: true, ticket: true },
    labels: {},
  });
const noopExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};
const telemetry = setupTelemetry({
  serviceName: 'hello',
  tracing: { exporter: noopExporter },
  logs: { destination: process.argv[2] },
  slos: [
    { tracker: slo('availability', { type: 'availability' }) },
    { tracker: slo('latency', { type: 'latency', thresholdSeconds: 0.2, buckets: [0.2] }) },
  ],
});
const server = http.createServer(
  telemetry.instrument(
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello world');
    },
    { routes: ['/'] },
  ),
);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => telemetry.shutdown().then(() => process.exit(0)));
