// A small benchmark harness that follows the usual rules for sub-microsecond async work:
// policies are built once outside the timed loop, each scenario gets its own loop function (so
// the JIT does not share call-site feedback between scenarios), rounds of all scenarios are
// interleaved (so drift of the machine hits every scenario alike), each sample batches many
// awaits, and the median of the rounds is reported with its spread. No forced gc() between
// samples: a full collection before each sample made V8 run the next one several times slower,
// which measured the collector's aftermath rather than the code.
//
// Ratios use each scenario's fastest round. On a shared virtual machine, noise from neighbours
// only ever adds time, often 50 % or more for whole seconds; the fastest of many interleaved
// rounds is the stable estimate of a scenario's own cost (the median is reported beside it).
import os from 'node:os';

const loopSource = {
  sequential: 'return async function loop(n) { for (let i = 0; i < n; i++) await op(); };',
  rejecting:
    'return async function loop(n) { for (let i = 0; i < n; i++) { try { await op(); } catch {} } };',
  concurrent:
    'return async function loop(n) { const w = new Array(1000); for (let i = 0; i < n; i += 1000) { for (let j = 0; j < 1000; j++) w[j] = op(); await Promise.all(w); } };',
};

function makeLoop(kind, op) {
  // new Function gives every scenario its own code object and feedback.
  return new Function('op', loopSource[kind])(op);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs every scenario for `rounds` interleaved rounds of `batch` operations each.
 * A scenario is `{ name, op, kind?: 'sequential' | 'rejecting' | 'concurrent' }`.
 * Returns a map name -> { ns (median), min, max, opsPerSec (from min) }.
 */
export async function measure(scenarios, { rounds = 15, warmup = 3, batch = 20_000 } = {}) {
  const loops = scenarios.map((s) => ({ ...s, loop: makeLoop(s.kind ?? 'sequential', s.op) }));
  const samples = new Map(loops.map((s) => [s.name, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    // Rotate the order each round so no scenario always runs right after the same neighbour.
    for (let k = 0; k < loops.length; k++) {
      const s = loops[(k + r) % loops.length];
      const t0 = process.hrtime.bigint();
      await s.loop(batch);
      const ns = Number(process.hrtime.bigint() - t0) / batch;
      if (r >= warmup) samples.get(s.name).push(ns);
    }
  }
  const results = new Map();
  for (const [name, xs] of samples) {
    const ns = median(xs);
    const min = Math.min(...xs);
    results.set(name, { ns, min, max: Math.max(...xs), opsPerSec: 1e9 / min });
  }
  return results;
}

/** A one-line description of the machine and runtime, for BENCHMARKS.md. */
export function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'} (${cpus.length} cores), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Prints a Markdown table of the results. */
export function table(results) {
  const lines = [
    '| scenario | ns/op (fastest round) | median | slowest | ops/s (fastest) |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const [name, r] of results) {
    lines.push(
      `| ${name} | ${fmt(r.min, 1)} | ${fmt(r.ns, 1)} | ${fmt(r.max)} | ${fmt(r.opsPerSec)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * A ratio check. `kind` 'min' means value must be >= target, 'max' means <= target.
 * Returns a Markdown row and whether it met the target.
 */
export function ratio(label, value, kind, target) {
  const ok = kind === 'min' ? value >= target : value <= target;
  return {
    ok,
    row: `| ${label} | ${fmt(value, 2)}x | ${kind === 'min' ? '>=' : '<='} ${target}x | ${ok ? 'met' : 'NOT MET'} |`,
  };
}
