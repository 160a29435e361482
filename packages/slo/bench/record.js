// Cost of SloTracker.record() and memory per SLO, at 1e3 and 1e8 recorded events.
// Run after a build: `npm run bench -w @nines/slo` (node --expose-gc bench/record.js).
import { sloTracker } from '../dist/index.js';

const slo = {
  name: 'bench',
  service: 'bench',
  objective: 0.999,
  window: { type: 'rolling', days: 30 },
  sli: { type: 'latency', thresholdSeconds: 0.2, buckets: [0.1, 0.2, 0.5] },
  budgeting: { type: 'occurrences' },
  alerting: { page: true, ticket: true },
  labels: {},
};

const gc = globalThis.gc ?? (() => {});

function heapBytes() {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** ns per call of `record(event)` over `n` calls, after a warm-up. */
function timeRecord(tracker, event, n) {
  for (let i = 0; i < 1e6; i++) tracker.record(event);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) tracker.record(event);
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Bytes each tracker adds to the heap, measured over `count` trackers fed `events` each. */
function bytesPerSlo(events, count) {
  const before = heapBytes();
  const trackers = [];
  for (let i = 0; i < count; i++) {
    const t = sloTracker({ ...slo, name: `bench-${i}` });
    if (events <= 1e4) for (let e = 0; e < events; e++) t.record({ good: e % 1000 !== 0 });
    else t.record({ good: events - events / 1000, bad: events / 1000 });
    trackers.push(t);
  }
  const after = heapBytes();
  return { perSlo: Math.round((after - before) / count), arrays: trackers[0].memoryBytes };
}

const rows = [];
const good = { good: true };
const latency = { durationMs: 120 };
const counts = { good: 1000, bad: 1 };

rows.push([
  'record({ good: true }), default (coarse) clock',
  timeRecord(sloTracker(slo), good, 2e7),
]);
rows.push([
  'record({ durationMs }), default (coarse) clock',
  timeRecord(sloTracker(slo), latency, 2e7),
]);
rows.push([
  'record({ good: true }), clock: Date',
  timeRecord(sloTracker(slo, { clock: Date }), good, 2e7),
]);
rows.push([
  'record({ good: 1000, bad: 1 }) per event',
  timeRecord(sloTracker(slo), counts, 1e7) / 1001,
]);

console.log(`node ${process.version}, ${process.arch}`);
console.log('\nrecord() cost');
for (const [name, ns] of rows) console.log(`  ${name.padEnd(48)} ${ns.toFixed(2).padStart(8)} ns`);

// 1e8 single calls through the default clock, to show the cost does not grow with the count.
const big = sloTracker(slo);
const t0 = process.hrtime.bigint();
for (let i = 0; i < 1e8; i++) big.record(good);
const ns = Number(process.hrtime.bigint() - t0) / 1e8;
console.log(
  `  ${'1e8 calls of record({ good: true })'.padEnd(48)} ${ns.toFixed(2).padStart(8)} ns`,
);
console.log(`  total after 1e8 calls: ${big.window(60_000 * 60 * 6).total}`);

console.log('\nmemory per SLO (30-day rolling window, 1-minute resolution)');
for (const events of [1e3, 1e8]) {
  const { perSlo, arrays } = bytesPerSlo(events, 200);
  console.log(
    `  ${events.toExponential(0).padEnd(6)} events: ${perSlo} bytes per SLO on the heap (bucket arrays: ${arrays})`,
  );
}

const alerts = sloTracker(slo);
alerts.record({ good: 1e6, bad: 10 });
const n = 10_000;
const a0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) alerts.evaluateAlerts();
console.log(
  `\nevaluateAlerts(): ${(Number(process.hrtime.bigint() - a0) / n / 1000).toFixed(1)} us`,
);
