// One SLO definition, used in process and compiled for Prometheus. Runnable from the repository
// root after `npm run build`:
//
//   node packages/slo/examples/quickstart.mjs
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_ERROR_BUDGET_POLICY,
  evaluatePolicy,
  loadSloFile,
  prometheusRules,
  sloTracker,
} from '@nines/slo';

// 1. The orders service's SLOs; the first one is 99.9 % availability over a 30-day rolling window.
const slos = await loadSloFile(fileURLToPath(new URL('./orders.nines.yaml', import.meta.url)));
const slo = slos[0];

// 2. Measure it in process. A simulated clock replays a month in a fraction of a second:
//    1,000 requests a minute, and on the last day 10 minutes in which every request fails.
let now = Date.UTC(2026, 10, 1);
const tracker = sloTracker(slo, { clock: { now: () => now } });
tracker.onAlertFired((e) => console.log(`  ${iso(now)}  ${e.severity} alert fires`));
tracker.onAlertResolved((e) => console.log(`  ${iso(now)}  ${e.severity} alert resolves`));
const minute = 60_000;
const outageStart = now + 29 * 1_440 * minute;
console.log(`${slo.service}/${slo.name}: objective ${slo.objective * 100} %, 30-day window`);
for (let m = 0; m < 30 * 1_440; m++) {
  const down = now >= outageStart && now < outageStart + 10 * minute;
  // Ten 100-request slices a minute, so the alerts are evaluated as often as Prometheus would.
  for (let s = 0; s < 10; s++) {
    tracker.record(down ? { good: 0, bad: 100 } : { good: 100, bad: 0 });
    tracker.evaluateAlerts();
    now += 6_000;
  }
}

// 3. Where the budget stands, and what the error budget policy says.
const b = tracker.budget();
console.log(`attainment ${(tracker.attainment() * 100).toFixed(3)} %`);
console.log(
  `budget: ${b.budgetMinutes.toFixed(1)} min of full outage, ${b.remainingMinutes.toFixed(1)} min left (${(b.remaining * 100).toFixed(1)} %)`,
);
const policy = evaluatePolicy(DEFAULT_ERROR_BUDGET_POLICY, { budgetRemaining: b.remaining });
console.log(`policy: ${policy.state}, deploys ${policy.freeze ? 'frozen' : 'allowed'}`);

// 4. The same definitions as Prometheus recording and alerting rules.
const rules = prometheusRules(slos);
const count = rules.groups.reduce((n, g) => n + g.rules.length, 0);
console.log(`prometheus: ${rules.groups.length} rule groups, ${count} rules`);

function iso(t) {
  return new Date(t).toISOString().slice(5, 16).replace('T', ' ');
}
