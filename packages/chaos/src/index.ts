/**
 * @nines/chaos: a Toxiproxy-compatible TCP fault proxy, driven from code or through the
 * Toxiproxy 2.x HTTP API. (In-process faults and experiments whose steady state is an SLO follow.)
 */
export { createProxyAdmin, type ProxyAdmin, type ProxyAdminOptions } from './proxy/admin.js';
export { renderProxyMetrics } from './proxy/metrics.js';
export {
  createProxyRegistry,
  PopulateError,
  type ProxyRegistryOptions,
} from './proxy/registry.js';
export { isToxicType, TOXIC_ATTRIBUTES } from './proxy/toxics.js';
export {
  ProxyApiError,
  type ProxyInput,
  type ProxyJSON,
  type ProxyRegistry,
  type ProxyStats,
  type Stream,
  type ToxicInput,
  type ToxicJSON,
  type ToxicType,
  type ToxicUpdate,
} from './proxy/types.js';
