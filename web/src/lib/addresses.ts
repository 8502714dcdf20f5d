// Where to send data, as the "no data yet" help shows it: Vigil's HTTP
// address as the browser reached it (behind a proxy, the name people
// use), and the OTLP listeners as Vigil reports them in
// /api/v1/status/flags (otlp.grpc_addr, otlp.http_addr), which a
// deployment often moves off the defaults.

export interface SendAddresses {
  /** http: base URL of Vigil's HTTP API ("http://host:9797" plus any route prefix). */
  http: string;
  /** otlpGRPC: host:port of the OTLP/gRPC listener, or null when OTLP is off. */
  otlpGRPC: string | null;
  /** otlpHTTP: base URL of the OTLP/HTTP listener, or null when OTLP is off. */
  otlpHTTP: string | null;
}

export const defaultOTLP = { grpc: ':4317', http: ':4318' };

/**
 * listenAddr turns a listen address into one a client can dial: an
 * unspecified host (":4317", "0.0.0.0:4317", "[::]:4317") becomes the
 * host the browser reached Vigil at. An address without a port is
 * returned as it is.
 */
export function listenAddr(addr: string, browserHost: string): string {
  const m = /^(.*):(\d+)$/.exec(addr.trim());
  if (!m) return addr.trim();
  const host = m[1];
  if (host === '' || host === '0.0.0.0' || host === '[::]' || host === '::') {
    const h = browserHost.includes(':') && !browserHost.startsWith('[') ? `[${browserHost}]` : browserHost;
    return `${h}:${m[2]}`;
  }
  return `${host}:${m[2]}`;
}

/**
 * sendAddresses: the addresses to show. flags is /api/v1/status/flags'
 * answer, or null while it is not known (then the default OTLP ports on
 * the browser's host). loc is what the browser reached: origin
 * ("http://127.0.0.1:9797"), hostname ("127.0.0.1"), and the route prefix.
 */
export function sendAddresses(flags: Record<string, string> | null, loc: { origin: string; hostname: string }, prefix = ''): SendAddresses {
  const off = flags?.['otlp.disabled'] === 'true';
  const grpc = flags?.['otlp.grpc_addr'] || defaultOTLP.grpc;
  const http = flags?.['otlp.http_addr'] || defaultOTLP.http;
  return {
    http: loc.origin + prefix,
    otlpGRPC: off ? null : listenAddr(grpc, loc.hostname),
    otlpHTTP: off ? null : `http://${listenAddr(http, loc.hostname)}`,
  };
}
