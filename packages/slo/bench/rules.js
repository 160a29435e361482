// Time to generate Prometheus rules for 1,000 SLOs and write them as a rule file; target: both
// together under 1 s. Run after a build: `npm run bench -w @nines/slo`.
import { prometheusRules, toRulesYaml } from '../dist/index.js';

const N = 1000;
const TARGET_MS = 1000;
const slos = Array.from({ length: N }, (_, i) => ({
  name: `slo-${i}`,
  service: `service-${i % 50}`,
  objective: [0.99, 0.999, 0.9995][i % 3],
  window: { type: 'rolling', days: [30, 28, 7][i % 3] },
  sli:
    i % 2 === 0
      ? { type: 'availability' }
      : { type: 'latency', thresholdSeconds: 0.2, buckets: [0.1, 0.2, 0.5] },
  budgeting: { type: 'occurrences' },
  alerting: { page: true, ticket: true },
  labels: { team: `team-${i % 7}`, 'app.kubernetes.io/part-of': 'shop' },
}));

// Warm-up, so the timing reflects steady-state code rather than the first compile.
toRulesYaml(prometheusRules(slos.slice(0, 50)));

const t0 = process.hrtime.bigint();
const rules = prometheusRules(slos);
const t1 = process.hrtime.bigint();
const yaml = toRulesYaml(rules);
const t2 = process.hrtime.bigint();

const count = rules.groups.reduce((n, g) => n + g.rules.length, 0);
const ms = (a, b) => Number(b - a) / 1e6;
const total = ms(t0, t2);
console.log(
  `\nPrometheus rules for ${N} SLOs (${count} rules, ${(yaml.length / 1e6).toFixed(1)} MB YAML)`,
);
console.log(`  prometheusRules(): ${ms(t0, t1).toFixed(1)} ms`);
console.log(`  toRulesYaml():     ${ms(t1, t2).toFixed(1)} ms`);
console.log(
  `  total:             ${total.toFixed(1)} ms (target < ${TARGET_MS} ms: ${total < TARGET_MS ? 'met' : 'MISSED'})`,
);
