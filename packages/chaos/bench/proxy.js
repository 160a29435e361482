// Fault proxy benchmark: one extra hop in Node, measured against its ceiling (a bare
// socket.pipe() proxy) and against a direct connection, in the same run, each in its own process:
//   throughput: a reader drains an upstream that writes as fast as it can, for --seconds;
//   latency:    64-byte ping-pong round trips through an echo upstream (p50 and p99);
//   toxics:     throughput under a 100 ms latency toxic, the delay that toxic adds, and the rate a
//               1,000 KB/s bandwidth toxic delivers.
// Rounds are interleaved so that machine drift hits every variant alike; ratios use medians.
//
// Usage: node bench/proxy.js [--rounds 3] [--seconds 2]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '2' } },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const here = new URL('./servers/', import.meta.url).pathname;
const children = [];

async function start(file, args = []) {
  const child = spawn(process.execPath, [here + file, ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

/** Bytes per second read from `port` over `ms`, counted from the first byte. */
async function throughput(port, ms) {
  const socket = net.connect(port, '127.0.0.1');
  let bytes = 0;
  let first = 0;
  await new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (d) => {
      if (first === 0) first = performance.now();
      bytes += d.length;
      if (performance.now() - first >= ms) {
        socket.destroy();
        resolve();
      }
    });
  });
  return bytes / ((performance.now() - first) / 1000);
}

/** Round-trip times (ms) of `n` 64-byte pings on one connection. */
async function pings(port, n) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.setNoDelay(true);
  const payload = Buffer.alloc(64, 'p');
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    socket.write(payload);
    let got = 0;
    while (got < 64) {
      const [d] = await once(socket, 'data');
      got += d.length;
    }
    times.push(performance.now() - t0);
  }
  socket.destroy();
  return times;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => quantile(xs, 0.5);

async function admin(url, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

try {
  const upstream = await start('upstream.mjs');
  const bare = await start('pipe-proxy.mjs', [upstream.source, upstream.echo]);
  const nines = await start('nines-proxy.mjs', [upstream.source, upstream.echo]);
  const variants = { direct: upstream, 'pipe proxy': bare, nines };
  const mbps = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const p50 = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const p99 = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const names = Object.keys(variants);
  for (const v of names) await throughput(variants[v].source, 300); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const v = names[(i + r) % names.length];
      mbps[v].push((await throughput(variants[v].source, seconds * 1000)) / 1e6);
      const t = await pings(variants[v].echo, 2000);
      p50[v].push(median(t));
      p99[v].push(quantile(t, 0.99));
    }
  }

  // A latency toxic of 100 ms (jitter 0) on the source's downstream: throughput, and the delay it
  // adds to a round trip on the echo proxy.
  await admin(nines.admin, 'POST', '/proxies/source/toxics', {
    type: 'latency',
    attributes: { latency: 100, jitter: 0 },
  });
  const latencyMbps = [];
  for (let r = 0; r < rounds; r++) {
    latencyMbps.push((await throughput(nines.source, seconds * 1000)) / 1e6);
  }
  await admin(nines.admin, 'DELETE', '/proxies/source/toxics/latency_downstream');
  await admin(nines.admin, 'POST', '/proxies/echo/toxics', {
    type: 'latency',
    attributes: { latency: 100, jitter: 0 },
  });
  const slow = await pings(nines.echo, 20);
  await admin(nines.admin, 'DELETE', '/proxies/echo/toxics/latency_downstream');
  const added = median(slow) - median(p50.nines);

  // A bandwidth toxic of 1,000 KB/s (KB = 1000 bytes, as Toxiproxy counts).
  await admin(nines.admin, 'POST', '/proxies/source/toxics', {
    type: 'bandwidth',
    attributes: { rate: 1000 },
  });
  const rate = (await throughput(nines.source, 3000)) / 1000;
  await admin(nines.admin, 'DELETE', '/proxies/source/toxics/bandwidth_downstream');

  const fmt = (n, d = 0) =>
    n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const pipeMbps = median(mbps['pipe proxy']);
  const directP50 = median(p50.direct);
  const addedPipe = median(p50['pipe proxy']) - directP50;
  const addedNines = median(p50.nines) - directP50;
  console.log(
    `\nFault proxy: ${rounds} rounds, ${seconds} s throughput runs, 2,000 pings per round`,
  );
  console.log(`Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}\n`);
  console.log('| variant | MB/s (median) | round trip p50 us | p99 us | added p50 us |');
  console.log('|---|---:|---:|---:|---:|');
  for (const v of names) {
    const added = v === 'direct' ? '' : fmt((median(p50[v]) - directP50) * 1000);
    console.log(
      `| ${v} | ${fmt(median(mbps[v]))} | ${fmt(median(p50[v]) * 1000)} | ${fmt(median(p99[v]) * 1000)} | ${added} |`,
    );
  }
  const ratio = median(mbps.nines) / pipeMbps;
  const latencyRatio = median(latencyMbps) / pipeMbps;
  const checks = [
    [`throughput, no toxics: ${fmt(ratio * 100)} % of the pipe proxy`, ratio >= 0.9, '>= 90 %'],
    [
      `added p50: ${fmt(addedNines * 1000)} us vs the pipe proxy's ${fmt(addedPipe * 1000)} us`,
      addedNines <= addedPipe * 1.1,
      'within 10 %',
    ],
    [
      `throughput with a 100 ms latency toxic: ${fmt(median(latencyMbps))} MB/s, ${fmt(latencyRatio * 100)} % of the pipe proxy`,
      latencyRatio >= 0.5,
      '>= 50 %',
    ],
    [`latency toxic of 100 ms adds ${fmt(added, 1)} ms`, Math.abs(added - 100) <= 5, '100 +- 5 %'],
    [
      `bandwidth toxic of 1,000 KB/s delivers ${fmt(rate)} KB/s`,
      Math.abs(rate - 1000) <= 50,
      '+- 5 %',
    ],
  ];
  console.log('');
  for (const [text, ok, target] of checks)
    console.log(`${ok ? 'ok  ' : 'MISS'} ${text} (target ${target})`);
  if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
} finally {
  for (const c of children) c.kill('SIGTERM');
}
