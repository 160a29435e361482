/**
 * Exports a metrics registry over OTLP through the OpenTelemetry SDK: a `MetricProducer` that a
 * `PeriodicExportingMetricReader` merges with the SDK's own instruments, so the same series serve
 * `/metrics` and an OTLP collector.
 */

import { describe, optionsObject } from '@nines/resilience/options';
import { type Attributes, ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { MetricsRegistry, MetricData as RegistryMetricData } from './registry.js';

/** Options of {@link registryMetricProducer}. */
export interface RegistryMetricProducerOptions {
  /** Instrumentation scope of the exported metrics. Default `{ name: '@nines/telemetry' }`. */
  readonly scope?: { readonly name: string; readonly version?: string };
}

/** Attribute names and int flags per label, computed once per metric family shape. */
function attributeNames(m: RegistryMetricData): { names: string[]; ints: boolean[] } {
  const map = m.otel?.attributes ?? {};
  const ints = new Set(m.otel?.intAttributes ?? []);
  return {
    names: m.labelNames.map((l) => map[l] ?? l),
    ints: m.labelNames.map((l) => ints.has(l)),
  };
}

/**
 * Label values as attributes. Empty values are left out (Prometheus treats an empty label as
 * absent: a request without a route has no `http.route`), int labels become numbers.
 */
function attributes(names: string[], ints: boolean[], values: readonly string[]): Attributes {
  const out: Attributes = {};
  for (let i = 0; i < names.length; i++) {
    const v = values[i]!;
    if (v === '') continue;
    const n = ints[i] ? Number(v) : Number.NaN;
    out[names[i]!] = ints[i] && Number.isInteger(n) ? n : v;
  }
  return out;
}

/** The OTel name of a registry metric: its `otel.name`, else the Prometheus name (counters without `_total`). */
function otelName(m: RegistryMetricData): string {
  if (m.otel?.name !== undefined) return m.otel.name;
  return m.type === 'counter' ? m.name.replace(/_total$/, '') : m.name;
}

function toMetricData(m: RegistryMetricData, endMs: number): MetricData {
  const descriptor = {
    name: otelName(m),
    description: m.help,
    unit: m.unit,
    valueType: ValueType.DOUBLE,
  };
  const { names, ints } = attributeNames(m);
  const endTime = millisToHrTime(endMs);
  if (m.type === 'histogram') {
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: m.series.map((s) => ({
        startTime: millisToHrTime(Math.min(s.createdAt, endMs)),
        endTime,
        attributes: attributes(names, ints, s.labelValues),
        value: {
          buckets: { boundaries: [...m.buckets], counts: [...s.counts] },
          sum: s.sum,
          count: s.count,
        },
      })),
    };
  }
  const dataPoints = m.series.map((s) => ({
    startTime: millisToHrTime(Math.min(s.createdAt, endMs)),
    endTime,
    attributes: attributes(names, ints, s.labelValues),
    value: s.value,
  }));
  if (m.type === 'counter') {
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints,
    };
  }
  return {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints,
  };
}

/**
 * A `MetricProducer` reading a registry, for the OpenTelemetry SDK's metric readers: histograms
 * become explicit-bucket histograms (the RED recorder's as `http.server.request.duration` and
 * `http.client.request.duration` in seconds with semconv attribute names), counters monotonic
 * sums, gauges gauges, all cumulative. The reader keeps the SDK's resource (`service.name`
 * belongs there); gauge callbacks run at each collection.
 *
 * @example
 * const reader = new PeriodicExportingMetricReader({
 *   exporter: new OTLPMetricExporter({ url: 'http://collector:4318/v1/metrics' }),
 *   metricProducers: [registryMetricProducer(red.registry)],
 * });
 * new MeterProvider({ readers: [reader] });
 */
export function registryMetricProducer(
  registry: MetricsRegistry,
  options?: RegistryMetricProducerOptions,
): MetricProducer {
  const owner = 'registryMetricProducer';
  if (registry === null || typeof registry !== 'object' || typeof registry.collect !== 'function') {
    throw new TypeError(`${owner}: registry must be a MetricsRegistry, got ${describe(registry)}`);
  }
  const o = optionsObject<RegistryMetricProducerOptions>(owner, options, ['scope']);
  const scope = o.scope ?? { name: '@nines/telemetry' };
  if (
    scope === null ||
    typeof scope !== 'object' ||
    typeof scope.name !== 'string' ||
    scope.name === ''
  ) {
    throw new TypeError(
      `${owner}: option "scope" must be an object with a non-empty "name", got ${describe(scope)}`,
    );
  }
  if (scope.version !== undefined && typeof scope.version !== 'string') {
    throw new TypeError(
      `${owner}: option "scope.version" must be a string, got ${describe(scope.version)}`,
    );
  }
  const resource = emptyResource();
  const instrumentationScope =
    scope.version === undefined
      ? { name: scope.name }
      : { name: scope.name, version: scope.version };
  return {
    async collect(): Promise<CollectionResult> {
      const errors: unknown[] = [];
      let metrics: MetricData[] = [];
      try {
        const end = Date.now();
        metrics = registry.collect().map((m) => toMetricData(m, end));
      } catch (err) {
        errors.push(err);
      }
      return {
        resourceMetrics: { resource, scopeMetrics: [{ scope: instrumentationScope, metrics }] },
        errors,
      };
    },
  };
}
