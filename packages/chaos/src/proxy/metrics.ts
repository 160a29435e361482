import type { ProxyStats } from './types.js';

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * Renders the proxies' traffic counters in the Prometheus text format 0.0.4: bytes per proxy and
 * direction, connections opened and open now, and failed upstream dials.
 *
 * @example
 * renderProxyMetrics(registry.stats());
 * // nines_proxy_bytes_total{proxy="redis",direction="upstream"} 1024 ...
 */
export function renderProxyMetrics(stats: readonly ProxyStats[]): string {
  const families: [name: string, type: string, help: string, rows: string[]][] = [
    ['nines_proxy_bytes_total', 'counter', 'Bytes forwarded by the proxy, by direction.', []],
    ['nines_proxy_connections_total', 'counter', 'Client connections accepted.', []],
    ['nines_proxy_connections_active', 'gauge', 'Client connections open now.', []],
    [
      'nines_proxy_upstream_errors_total',
      'counter',
      'Connections whose upstream could not be reached or failed.',
      [],
    ],
  ];
  for (const s of stats) {
    const p = `proxy="${escapeLabel(s.name)}"`;
    families[0]![3].push(`nines_proxy_bytes_total{${p},direction="upstream"} ${s.bytesUpstream}`);
    families[0]![3].push(
      `nines_proxy_bytes_total{${p},direction="downstream"} ${s.bytesDownstream}`,
    );
    families[1]![3].push(`nines_proxy_connections_total{${p}} ${s.connectionsTotal}`);
    families[2]![3].push(`nines_proxy_connections_active{${p}} ${s.connectionsActive}`);
    families[3]![3].push(`nines_proxy_upstream_errors_total{${p}} ${s.upstreamErrors}`);
  }
  let out = '';
  for (const [name, type, help, rows] of families) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const r of rows) out += `${r}\n`;
  }
  return out;
}
