// HTTP server overhead benchmark: a real load generator (autocannon, in this process) against
// three real server processes on loopback, measured in interleaved rounds in the same run:
//   bare  - a hello-world node:http server;
//   nines - the same with full nines instrumentation (see servers/nines.mjs);
//   peer  - OpenTelemetry instrumentation-http + pino-http + prom-client (servers/peer.cjs);
//   floor - the least work any implementation of the same instrumentation does, by hand
//           (servers/floor.mjs): an upper bound for instrumented servers on the machine.
// Reports requests per second and p99 latency of each, and the ratios to bare. Each round runs
// every variant once, in a rotating order, so drift on a noisy machine hits all of them.
//
// Usage: node bench/http.js [--rounds 5] [--seconds 5] [--connections 50]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const dir = mkdtempSync(join(tmpdir(), 'nines-bench-'));
const here = new URL('./servers/', import.meta.url).pathname;

const variants = [
  { name: 'bare', file: 'bare.mjs' },
  { name: 'nines', file: 'nines.mjs', log: join(dir, 'nines.log') },
  { name: 'peer', file: 'peer.cjs', log: join(dir, 'peer.log') },
  { name: 'floor', file: 'floor.mjs', log: join(dir, 'floor.log') },
];

async function start(v) {
  const child = spawn(process.execPath, [join(here, v.file), v.log ?? ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${v.name} exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/` };
}

function load(url, duration) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration, pipelining: 1 }, (err, result) => {
      if (err) reject(err);
      else resolve(result);
    });
  });
}

const results = Object.fromEntries(variants.map((v) => [v.name, []]));
const servers = {};
try {
  for (const v of variants) {
    servers[v.name] = await start(v);
    await load(servers[v.name].url, 2); // warm-up: JIT, connection pools, log file
  }
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]);
    for (const v of order) {
      const res = await load(servers[v.name].url, seconds);
      if (res.errors > 0 || res.non2xx > 0) {
        throw new Error(`${v.name}: ${res.errors} errors, ${res.non2xx} non-2xx responses`);
      }
      results[v.name].push({
        rps: res.requests.average,
        p99: res.latency.p99,
        total: res.requests.total,
      });
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
} finally {
  for (const s of Object.values(servers)) {
    s.child.kill('SIGTERM');
    await once(s.child, 'exit');
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const summary = Object.fromEntries(
  Object.entries(results).map(([name, rs]) => [
    name,
    {
      rpsMedian: median(rs.map((x) => x.rps)),
      rpsBest: Math.max(...rs.map((x) => x.rps)),
      p99Median: median(rs.map((x) => x.p99)),
    },
  ]),
);
// Ratios per round (same round, same machine state), then their median.
const ratio = (name) => median(results[name].map((x, i) => x.rps / results.bare[i].rps));

const fmt = (n, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(
  `\nHTTP server overhead: ${rounds} rounds x ${seconds} s, ${connections} connections, autocannon`,
);
console.log(`Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}\n`);
console.log(
  '| variant | req/s (median) | req/s (best) | p99 ms (median) | ratio to bare (median of rounds) |',
);
console.log('|---|---:|---:|---:|---:|');
for (const [name, s] of Object.entries(summary)) {
  console.log(
    `| ${name} | ${fmt(s.rpsMedian)} | ${fmt(s.rpsBest)} | ${fmt(s.p99Median, 1)} | ${name === 'bare' ? '1.00' : fmt(ratio(name), 2)} |`,
  );
}
for (const v of variants.filter((x) => x.log)) {
  console.log(`\n${v.name} access log: ${fmt(statSync(v.log).size / 1e6, 1)} MB written`);
}
const nines = ratio('nines');
console.log(
  `\nnines serves ${fmt(nines * 100, 0)} % of bare (target >= 80 %); peer stack ${fmt(ratio('peer') * 100, 0)} %; the hand-written floor ${fmt(ratio('floor') * 100, 0)} %.`,
);
rmSync(dir, { recursive: true, force: true });
if (nines < 0.8) process.exitCode = 1; // the package's promise; see BENCHMARKS.md
