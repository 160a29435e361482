// The nines fault proxy with two proxies (to the source and to the echo upstream) and its admin
// API, so the benchmark adds and removes toxics over HTTP as a user would. argv: sourcePort echoPort.
// Prints {"source": port, "echo": port, "admin": url}.
import { createProxyAdmin, createProxyRegistry } from '@nines/chaos';

const [sourcePort, echoPort] = process.argv.slice(2);
const registry = createProxyRegistry();
const admin = createProxyAdmin(registry, { port: 0 });
const [source, echo] = await registry.populate([
  { name: 'source', listen: '127.0.0.1:0', upstream: `127.0.0.1:${sourcePort}` },
  { name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echoPort}` },
]);
const url = await admin.listen();
const port = (listen) => Number(listen.split(':').pop());
process.stdout.write(
  `${JSON.stringify({ source: port(source.listen), echo: port(echo.listen), admin: url })}\n`,
);
process.on('SIGTERM', () => registry.close().then(() => process.exit(0)));
