// npm run bench (in @nines/chaos): what in-process faults cost a call when no fault is active on
// its target, against the bare call, in this one process run. Interleaved rounds; the fastest
// round of each scenario is the estimate (noise on a shared machine only adds time).
import os from 'node:os';
import { createFaults } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 5 : 30;
const batch = 20_000;

const noop = async (x) => x;
const faults = createFaults();
const wrapped = faults.wrap('store', noop);
const busy = createFaults();
const wrappedBusy = busy.wrap('store', noop);
// A fault on another target: the wrapped target stays clean, the registry is not empty.
busy.inject({ kind: 'latency', target: 'pricing', ms: 100, ttlMs: 3_600_000 });

const scenarios = [
  ['baseline: await fn()', () => noop(1)],
  ['faults.wrap, no fault at all', () => wrapped(1)],
  ['faults.wrap, a fault on another target', () => wrappedBusy(1)],
];
// Each scenario gets its own loop code, so the JIT does not share call-site feedback.
const loops = scenarios.map(([name, op]) => [
  name,
  new Function('op', 'return async function loop(n) { for (let i = 0; i < n; i++) await op(); };')(
    op,
  ),
]);
const best = new Map(loops.map(([name]) => [name, Number.POSITIVE_INFINITY]));
for (let r = 0; r < rounds + 3; r++) {
  for (let k = 0; k < loops.length; k++) {
    const [name, loop] = loops[(k + r) % loops.length];
    const t0 = process.hrtime.bigint();
    await loop(batch);
    const ns = Number(process.hrtime.bigint() - t0) / batch;
    if (r >= 3) best.set(name, Math.min(best.get(name), ns));
  }
}

const base = best.get('baseline: await fn()');
const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
console.log(`\n## @nines/chaos in-process faults — ${new Date().toISOString().slice(0, 10)}\n`);
console.log(`Machine: ${cpu} (${os.cpus().length} cores), Node ${process.version}\n`);
console.log(
  `${rounds} interleaved rounds of ${batch.toLocaleString('en')} calls; fastest round.\n`,
);
console.log('| scenario | ns/call | vs bare |');
console.log('|---|---:|---:|');
for (const [name, ns] of best) {
  console.log(`| ${name} | ${ns.toFixed(1)} | ${(ns / base).toFixed(2)}x |`);
}
faults.clear();
busy.clear();
