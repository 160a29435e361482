// A caller and a flaky dependency, both on loopback, and what @nines/resilience does between them.
//
//   node packages/resilience/examples/flaky-dependency.js      (after `npm run build`)
//
// The dependency is healthy, then fails every request, then hangs, then recovers. The caller
// sends a steady 40 requests per second through retry -> circuit breaker -> timeout. Watch the
// breaker open when the dependency fails, shed the load it would have sent, probe in half-open,
// and close again once the dependency is back.
import { createServer } from 'node:http';
import { circuitBreaker, exponentialBackoff, retry, timeout, wrap } from '@nines/resilience';

const phases = [
  { name: 'healthy', until: 2_000 },
  { name: 'failing', until: 4_500 },
  { name: 'hanging', until: 6_500 },
  { name: 'healthy', until: 9_000 },
];
const started = performance.now();
const elapsed = () => performance.now() - started;
const phaseAt = (t) => phases.find((p) => t < p.until) ?? phases.at(-1);

// --- the dependency
let serverHits = 0;
const server = createServer((req, res) => {
  serverHits++;
  const phase = phaseAt(elapsed()).name;
  if (phase === 'failing') {
    res.writeHead(500).end('internal error');
  } else if (phase === 'hanging') {
    // Never answers; the caller's timeout must give up and abort the request.
    req.on('close', () => res.destroy());
  } else {
    setTimeout(() => res.end('ok'), 5);
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

// --- the caller's policy: retry twice, through a breaker, each attempt bounded to 200 ms
const breaker = circuitBreaker({
  window: { type: 'consecutive', failures: 5 },
  openMs: 1_000,
  halfOpen: { successThreshold: 2 },
});
const policy = wrap(
  retry({ maxRetries: 2, backoff: exponentialBackoff({ base: 50, max: 400 }) }),
  breaker,
  timeout(200),
);
const fmt = (ms) => `${(ms / 1000).toFixed(1)}s`.padStart(5);
breaker.onStateChange(({ from, to }) => {
  console.log(`${fmt(elapsed())}  breaker ${from} -> ${to}`);
});

async function getThroughPolicy() {
  return policy.execute(async ({ signal }) => {
    const res = await fetch(url, { signal });
    if (res.status >= 500) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    return res.text();
  });
}

// --- steady, open-loop traffic: one request every 25 ms whatever the answers
const totals = { ok: 0, failed: 0, rejected: 0 };
let window = { ok: 0, failed: 0, rejected: 0, hits: 0 };
const inFlight = new Set();
const ticker = setInterval(() => {
  const p = getThroughPolicy()
    .then(() => {
      totals.ok++;
      window.ok++;
    })
    .catch((err) => {
      const key = err?.code === 'ECIRCUITOPEN' ? 'rejected' : 'failed';
      totals[key]++;
      window[key]++;
    })
    .finally(() => inFlight.delete(p));
  inFlight.add(p);
}, 25);

console.log(`dependency on ${url}; 40 requests/s through retry -> breaker -> timeout(200 ms)\n`);
console.log(' time  phase     ok  failed  rejected  server hits  breaker');
let lastHits = 0;
const reporter = setInterval(() => {
  const t = elapsed();
  const hits = serverHits - lastHits;
  lastHits = serverHits;
  console.log(
    `${fmt(t)}  ${phaseAt(t - 1).name.padEnd(8)} ${String(window.ok).padStart(3)} ${String(window.failed).padStart(7)} ${String(window.rejected).padStart(9)} ${String(hits).padStart(12)}  ${breaker.state}`,
  );
  window = { ok: 0, failed: 0, rejected: 0, hits: 0 };
}, 500);

await new Promise((resolve) => setTimeout(resolve, phases.at(-1).until));
clearInterval(ticker);
clearInterval(reporter);
await Promise.allSettled([...inFlight]);
server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));

const calls = totals.ok + totals.failed + totals.rejected;
console.log(
  `\n${calls} calls: ${totals.ok} ok, ${totals.failed} failed after retries, ${totals.rejected} rejected at once by the open breaker.`,
);
console.log(
  `The dependency saw ${serverHits} requests. Without the breaker, every call would have reached it up to 3 times while it was down.`,
);
console.log(`Breaker at the end: ${breaker.state}.`);
