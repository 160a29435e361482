// npm run bench: nines' policies against cockatiel 3.2.1, opossum 9 and a bare `await fn()`, all
// in this one process run, with the ratios that @nines/resilience promises.
import * as cockatiel from 'cockatiel';
import Opossum from 'opossum';
import * as nines from '../dist/index.js';
import { machine, measure, ratio, table } from './harness.js';

const noop = async () => {};
const fail = async () => {
  throw new Error('down');
};
const quick = process.argv.includes('--quick');

// --- nines
const ninesBreaker = nines.circuitBreaker();
const ninesConsecutive = nines.circuitBreaker({ window: { type: 'consecutive', failures: 5 } });
const ninesTimeout = nines.timeout(1_000);
const ninesRetry = nines.retry();
const ninesComposed = nines.wrap(nines.retry(), nines.circuitBreaker(), nines.timeout(1_000));
const ninesOpen = nines.circuitBreaker({ openMs: 1e9 });
// Never opens: measures what an open breaker saves, a call that fails.
const ninesFailing = nines.circuitBreaker({ window: { type: 'consecutive', failures: 1e9 } });
for (let i = 0; i < 5; i++) await ninesOpen.execute(fail).catch(() => {});
if (ninesOpen.state !== 'open')
  throw new Error(`expected the nines breaker open, got ${ninesOpen.state}`);

// --- cockatiel 3.2.1: its cheapest breaker (consecutive), cooperative timeout, retry with backoff
const { handleAll } = cockatiel;
const cockBreaker = cockatiel.circuitBreaker(handleAll, {
  halfOpenAfter: 30_000,
  breaker: new cockatiel.ConsecutiveBreaker(5),
});
const cockTimeout = cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Cooperative);
const cockRetry = cockatiel.retry(handleAll, {
  maxAttempts: 4,
  backoff: new cockatiel.ExponentialBackoff(),
});
const cockComposed = cockatiel.wrap(
  cockatiel.retry(handleAll, { maxAttempts: 4, backoff: new cockatiel.ExponentialBackoff() }),
  cockatiel.circuitBreaker(handleAll, {
    halfOpenAfter: 30_000,
    breaker: new cockatiel.ConsecutiveBreaker(5),
  }),
  cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Cooperative),
);
const cockOpen = cockatiel.circuitBreaker(handleAll, {
  halfOpenAfter: 1e9,
  breaker: new cockatiel.ConsecutiveBreaker(1),
});
await cockOpen.execute(fail).catch(() => {});

// --- opossum 9, tuned (no timeout, no percentiles, no snapshots) and with its defaults
const opTuned = new Opossum(noop, {
  timeout: false,
  rollingPercentilesEnabled: false,
  enableSnapshots: false,
});
const opDefault = new Opossum(noop, {});

// The floor of any retry: it must see the outcome before its caller does, so the caller awaits
// a promise derived from the operation's (one more promise and reaction than a bare await).
const pass = (value) => value;
const rethrow = (err) => {
  throw err;
};

const scenarios = [
  { name: 'baseline: await fn()', op: noop },
  { name: 'floor: await fn().then(pass, rethrow)', op: () => noop().then(pass, rethrow) },
  { name: 'nines circuitBreaker() (default: time window)', op: () => ninesBreaker.execute(noop) },
  { name: 'nines circuitBreaker (consecutive)', op: () => ninesConsecutive.execute(noop) },
  { name: 'cockatiel circuitBreaker (consecutive)', op: () => cockBreaker.execute(noop) },
  { name: 'opossum (tuned)', op: () => opTuned.fire() },
  { name: 'opossum (defaults)', op: () => opDefault.fire() },
  { name: 'nines timeout(1000)', op: () => ninesTimeout.execute(noop) },
  { name: 'cockatiel timeout(1000, cooperative)', op: () => cockTimeout.execute(noop) },
  { name: 'nines retry()', op: () => ninesRetry.execute(noop) },
  { name: 'cockatiel retry(exponential)', op: () => cockRetry.execute(noop) },
  { name: 'nines wrap(retry, breaker, timeout)', op: () => ninesComposed.execute(noop) },
  { name: 'cockatiel wrap(retry, breaker, timeout)', op: () => cockComposed.execute(noop) },
  { name: 'nines open breaker rejects', op: () => ninesOpen.execute(noop), kind: 'rejecting' },
  {
    name: 'nines closed breaker, failing call',
    op: () => ninesFailing.execute(fail),
    kind: 'rejecting',
  },
  { name: 'cockatiel open breaker rejects', op: () => cockOpen.execute(noop), kind: 'rejecting' },
  {
    name: 'nines breaker, 1,000 in flight',
    op: () => ninesBreaker.execute(noop),
    kind: 'concurrent',
  },
  {
    name: 'cockatiel breaker, 1,000 in flight',
    op: () => cockBreaker.execute(noop),
    kind: 'concurrent',
  },
];

const options = quick
  ? { rounds: 3, warmup: 1, batch: 5_000 }
  : { rounds: 30, warmup: 3, batch: 10_000 };
const results = await measure(scenarios, options);
const ns = (name) => results.get(name).min;

const checks = [
  ratio(
    'breaker.execute ops/s, nines default / cockatiel consecutive',
    ns('cockatiel circuitBreaker (consecutive)') /
      ns('nines circuitBreaker() (default: time window)'),
    'min',
    1.5,
  ),
  ratio(
    'breaker.execute ops/s, nines consecutive / cockatiel consecutive',
    ns('cockatiel circuitBreaker (consecutive)') / ns('nines circuitBreaker (consecutive)'),
    'min',
    1.5,
  ),
  ratio(
    'retry+breaker+timeout ops/s, nines / cockatiel',
    ns('cockatiel wrap(retry, breaker, timeout)') / ns('nines wrap(retry, breaker, timeout)'),
    'min',
    10,
  ),
  ratio(
    'retry+breaker+timeout time, nines / bare await fn()',
    ns('nines wrap(retry, breaker, timeout)') / ns('baseline: await fn()'),
    'max',
    3,
  ),
  ratio(
    'open breaker: rejecting time / time of the failing call it replaces (nines)',
    ns('nines open breaker rejects') / ns('nines closed breaker, failing call'),
    'max',
    1,
  ),
  ratio(
    'open breaker rejection ops/s, nines / cockatiel',
    ns('cockatiel open breaker rejects') / ns('nines open breaker rejects'),
    'min',
    1,
  ),
];

console.log(`\n## @nines/resilience — ${new Date().toISOString().slice(0, 10)}\n`);
console.log(`Machine: ${machine()}\n`);
console.log(
  `Each scenario: ${options.rounds} interleaved rounds of ${options.batch.toLocaleString('en-US')} operations (after ${options.warmup} warm-up rounds); ratios compare fastest rounds.\n`,
);
console.log(table(results));
console.log(
  `\nFloor of any retry (a reaction that sees the outcome first) / bare await fn(): ${(ns('floor: await fn().then(pass, rethrow)') / ns('baseline: await fn()')).toFixed(2)}x`,
);
console.log('\n| ratio | measured | target | |\n|---|---:|---:|---|');
for (const c of checks) console.log(c.row);
const missed = checks.filter((c) => !c.ok).length;
console.log(missed ? `\n${missed} target(s) not met.` : '\nAll targets met.');
process.exitCode = missed ? 1 : 0;
