// The fault proxy in front of a real HTTP service on loopback: first clean, then 300 ms of latency
// added through the Toxiproxy API, then the upstream cut (proxy disabled), then a reset.
//
//   npm run build && node packages/chaos/examples/fault-proxy.js
import http from 'node:http';
import { createProxyAdmin, createProxyRegistry } from '@nines/chaos';

const service = http.createServer((_req, res) => res.end('ok\n')).listen(0, '127.0.0.1');
await new Promise((r) => service.once('listening', r));

const registry = createProxyRegistry();
const admin = createProxyAdmin(registry, { port: 0 }); // 8474 by default
const api = await admin.listen();
const toxiproxy = (method, path, body) =>
  fetch(api + path, { method, body: body && JSON.stringify(body) }).then((r) => r.text());

const created = JSON.parse(
  await toxiproxy('POST', '/proxies', {
    name: 'service',
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${service.address().port}`,
  }),
);
const url = `http://${created.listen}/`;
const timed = async (label) => {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    console.log(`${label.padEnd(28)} ${res.status} in ${(performance.now() - t0).toFixed(0)} ms`);
  } catch (error) {
    console.log(`${label.padEnd(28)} failed: ${error.cause?.code ?? error.name}`);
  }
};

await timed('through the proxy');
await toxiproxy('POST', '/proxies/service/toxics', {
  type: 'latency',
  attributes: { latency: 300, jitter: 0 },
  ttl_ms: 60_000, // removes itself after a minute, whatever happens to this script
});
await timed('with 300 ms latency');
await toxiproxy('POST', '/proxies/service', { enabled: false });
await timed('proxy disabled (down)');
await toxiproxy('POST', '/reset');
await timed('after reset');

console.log(
  `\n${(await toxiproxy('GET', '/metrics'))
    .split('\n')
    .filter((l) => l.includes('"service"'))
    .join('\n')}`,
);
await admin.close();
await registry.close();
service.close();
