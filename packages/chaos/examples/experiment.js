// Runs one chaos experiment against real services on loopback: a store, the nines fault proxy in
// front of it, and a front service calling the store through a breaker and a 200 ms timeout,
// under steady traffic. The experiment (store-latency.yaml) adds 500 ms on the store for 5 s and
// checks the front's availability SLO; the report shows what happened.
//
//   npm ci && npm run build && node packages/chaos/examples/experiment.js
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createProxyAdmin,
  createProxyRegistry,
  exitCodeOf,
  loadExperimentFile,
  renderReport,
  runExperiment,
} from '@nines/chaos';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const children = [];

/** Starts examples/service.js and resolves with its port once it listens. */
function service(env) {
  const child = spawn(process.execPath, [here('./service.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const line = buffered.split('\n').find((l) => l.startsWith('{"ready":true'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`${env.SERVICE} exited with ${code}`)));
  });
}

const storePort = await service({ SERVICE: 'store' });
const registry = createProxyRegistry();
const proxy = await registry.create({
  name: 'store',
  listen: '127.0.0.1:0',
  upstream: `127.0.0.1:${storePort}`,
});
const admin = createProxyAdmin(registry, { port: 0 });
const proxyApi = await admin.listen();
const frontPort = await service({ SERVICE: 'front', UPSTREAM: `http://${proxy.listen}` });
const front = `http://127.0.0.1:${frontPort}`;

// Steady traffic: 20 requests per second.
const traffic = setInterval(() => {
  fetch(`${front}/work`)
    .then((r) => r.arrayBuffer())
    .catch(() => {});
}, 50);

const experiment = await loadExperimentFile(here('./store-latency.yaml'), {
  env: { ...process.env, FRONT_URL: front, PROXY_API: proxyApi },
});
const journal = await runExperiment(experiment, {
  onEvent: (e) => {
    const at = `[${((e.elapsedMs ?? e.run?.elapsedMs ?? 0) / 1000).toFixed(1)}s]`.padEnd(8);
    if (e.type === 'phase' && e.phase !== 'done') console.log(`${at} phase ${e.phase}`);
    if (e.type === 'step') console.log(`${at} step ${e.step} (${e.kind})`);
    if (e.type === 'check') {
      const miss = e.run.probes.find((p) => !p.met);
      console.log(`${at} hypothesis ${e.when}: ${miss ? `NOT met: ${miss.detail}` : 'met'}`);
    }
  },
});

clearInterval(traffic);
for (const child of children) child.kill('SIGTERM');
await admin.close();
await registry.close();
console.log(`\n${renderReport(journal)}`);
process.exitCode = exitCodeOf(journal);
