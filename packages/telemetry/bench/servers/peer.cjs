// The stack users pick today: the OpenTelemetry SDK with instrumentation-http (patching node:http
// before it is loaded), pino-http for the access log (to the file in argv[2]) and prom-client for
// the duration histogram on the same labels. Spans go through the SDK's BatchSpanProcessor to an
// exporter that drops them, as in the nines variant.
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');

const noopExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter)] });
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

const http = require('node:http');
const pino = require('pino');
const pinoHttp = require('pino-http');
const client = require('prom-client');

const logger = pino(pino.destination({ dest: process.argv[2], sync: false }));
const logRequest = pinoHttp({ logger });
const duration = new client.Histogram({
  name: 'http_server_request_duration_seconds',
  help: 'Duration of HTTP server requests.',
  labelNames: ['service_name', 'http_route', 'http_request_method', 'http_response_status_code'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
});

const server = http.createServer((req, res) => {
  logRequest(req, res);
  const end = duration.startTimer({
    service_name: 'hello',
    http_route: '/',
    http_request_method: req.method,
  });
  res.on('finish', () => end({ http_response_status_code: res.statusCode }));
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello world');
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => provider.shutdown().then(() => process.exit(0)));
