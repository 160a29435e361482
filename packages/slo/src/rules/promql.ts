/**
 * PromQL building blocks for the generated rules: durations, numbers, `le` values, label names
 * and the NaN-safe error-ratio expressions.
 */
import { METRICS, type Slo } from '../model.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A duration in ms as a Prometheus duration in its largest whole unit (`5m`, `1d`, `30d`), so
 * that 24 h and 1 d give the same record name.
 *
 * @internal
 */
export function promDuration(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`;
  if (ms % SECOND === 0) return `${ms / SECOND}s`;
  return `${ms}ms`;
}

/**
 * A number for PromQL: 12 significant digits, so float noise (`1 - 0.999` is
 * `0.0010000000000000009`) does not leak into the rules. JavaScript's own exponent form
 * (`1e-7`) is valid PromQL.
 *
 * @internal
 */
export function promNumber(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/**
 * A histogram bucket boundary as the `le` label value the service exposes. JavaScript clients
 * (prom-client, the OpenTelemetry Prometheus exporter used by @nines/telemetry) write
 * `String(boundary)`: `0.2`, `1`, `2.5`. Prometheus 2.x keeps that text as is.
 *
 * @internal
 */
export function leValue(seconds: number): string {
  return seconds === Number.POSITIVE_INFINITY ? '+Inf' : String(seconds);
}

/** A PromQL or label-value string literal (Go escapes are a superset of JSON's). */
export function promString(value: string): string {
  return JSON.stringify(value);
}

/**
 * A label name Prometheus accepts (`[a-zA-Z_][a-zA-Z0-9_]*`, no reserved `__` prefix): other
 * characters become `_` (`app.kubernetes.io/team` -> `app_kubernetes_io_team`).
 *
 * @internal
 */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  // Names starting with `__` are reserved for Prometheus' internal labels.
  s = s.replace(/^_{2,}/, '_');
  return s === '' ? '_' : s;
}

/** `{a="b"}` -> `a="b"`; validates the braces. */
function matchers(selector: string, field: string): string {
  const s = selector.trim();
  if (s === '') return '';
  if (!s.startsWith('{') || !s.endsWith('}')) {
    throw new Error(`${field} must be a label selector in braces like {service_name="orders"}`);
  }
  return s.slice(1, -1).trim().replace(/,$/, '');
}

function withMatchers(metric: string, inner: string, extra?: string): string {
  const all = [inner, extra].filter((m) => m !== undefined && m !== '').join(',');
  return `${metric}{${all}}`;
}

const WINDOW_PLACEHOLDER = /\{\{\s*\.window\s*\}\}/g;

/** Fills Sloth's `{{.window}}` placeholder. */
function fill(query: string, window: string): string {
  return query.replace(WINDOW_PLACEHOLDER, window);
}

/**
 * `bad / total` that is 0, not NaN, without traffic: the division only happens where the total
 * is above 0 (`> 0` drops the sample otherwise), an absent bad series counts as 0, and
 * `or vector(0)` gives the ratio 0 when there is no traffic at all, as the in-process engine does.
 */
function safeRatio(bad: string, total: string): string {
  return `(\n  (${bad})\n/\n  (${total} > 0)\n) or vector(0)`;
}

/** Builds an SLO's SLI error-ratio expression for a window. */
export type ErrorRatioBuilder = (window: string) => string;

/**
 * The error-ratio expression of an SLO's SLI for one window: explicit queries when the SLI has
 * them, else the {@link METRICS} histogram selected by the service label.
 *
 * @internal
 */
export function errorRatio(slo: Slo, field: string): ErrorRatioBuilder {
  const sli = slo.sli;
  if (sli.type === 'latency') {
    const histogram = sli.prometheus?.histogram ?? METRICS.httpServerDuration;
    const inner =
      sli.prometheus === undefined
        ? `${METRICS.labels.service}=${promString(slo.service)}`
        : matchers(sli.prometheus.selector ?? '', `${field}.sli.prometheus.selector`);
    const count = withMatchers(`${histogram}_count`, inner);
    const bucket = withMatchers(
      `${histogram}_bucket`,
      inner,
      `le=${promString(leValue(sli.thresholdSeconds))}`,
    );
    return (w) =>
      safeRatio(
        `sum(rate(${count}[${w}])) - (sum(rate(${bucket}[${w}])) or vector(0))`,
        `sum(rate(${count}[${w}]))`,
      );
  }
  const q = sli.prometheus;
  if (q === undefined) {
    const service = `${METRICS.labels.service}=${promString(slo.service)}`;
    const total = withMatchers(`${METRICS.httpServerDuration}_count`, service);
    const bad = withMatchers(
      `${METRICS.httpServerDuration}_count`,
      service,
      `${METRICS.labels.status}=~"5.."`,
    );
    return (w) => safeRatio(`sum(rate(${bad}[${w}])) or vector(0)`, `sum(rate(${total}[${w}]))`);
  }
  if ((q.bad === undefined) === (q.good === undefined)) {
    throw new Error(`${field}.sli.prometheus must set exactly one of "good" and "bad"`);
  }
  if (q.windowed === true) {
    for (const [k, v] of Object.entries(q)) {
      if (typeof v === 'string' && v.match(WINDOW_PLACEHOLDER) === null) {
        throw new Error(`${field}.sli.prometheus.${k} must contain the {{.window}} placeholder`);
      }
    }
    return (w) => {
      const total = `(${fill(q.total, w)})`;
      return q.bad !== undefined
        ? safeRatio(`(${fill(q.bad, w)}) or vector(0)`, total)
        : safeRatio(`${total} - ((${fill(q.good as string, w)}) or vector(0))`, total);
    };
  }
  return (w) => {
    const total = `sum(rate(${q.total}[${w}]))`;
    return q.bad !== undefined
      ? safeRatio(`sum(rate(${q.bad}[${w}])) or vector(0)`, total)
      : safeRatio(`${total} - (sum(rate(${q.good}[${w}])) or vector(0))`, total);
  };
}
