/**
 * `host:port` parsing for listen and upstream addresses, in the forms Go's `net` package accepts
 * (`localhost:0`, `127.0.0.1:8080`, `[::1]:0`).
 */

/** A parsed `host:port`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Splits `host:port`. Returns an error message (Go's wording) instead of throwing, so callers can
 * attach the right status.
 */
export function splitHostPort(address: string): HostPort | string {
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end < 0) return `address ${address}: missing ']' in address`;
    host = address.slice(1, end);
    if (address[end + 1] !== ':') return `address ${address}: missing port in address`;
    portText = address.slice(end + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) return `address ${address}: missing port in address`;
    host = address.slice(0, colon);
    if (host.includes(':')) return `address ${address}: too many colons in address`;
    portText = address.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return `address ${address}: invalid port`;
  }
  return { host, port: Number(portText) };
}

/** Formats a bound address as Go prints it: IPv6 in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
