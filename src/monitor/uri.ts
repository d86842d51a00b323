// Stream URIs as the monitor sorts them: paths it maps through the mounts, local streams it
// lets through, network endpoints it checks against the grants, and everything else refused.

import { DkError, type DkErrorCode } from '../abi/errors.ts';
import { endpointMatches, parseEndpoint, hostMatches, type Endpoint } from './network/pattern.ts';
import type { NetworkGrants } from './manifest/manifest.ts';

export type ClassifiedUri =
  | { kind: 'path'; scheme: 'file' | 'dir'; path: string }
  | { kind: 'local'; scheme: string }
  | { kind: 'network'; scheme: string; direction: 'connect' | 'listen'; endpoint: Endpoint | { host: string; port: null } };

/** Streams of the picoprocess itself or of the host's devices: no grant needed. */
const LOCAL_SCHEMES = new Set(['stdin', 'stdout', 'stderr', 'null', 'reset', 'pipe', 'pipe.server', 'pipe.client', 'inherit']);
const DEVICES = new Set(['dev:fb', 'dev:input']);
const NETWORK_SCHEMES: Record<string, 'connect' | 'listen'> = {
  tcp: 'connect',
  udp: 'connect',
  'udp.bind': 'listen', // receiving on a port; each datagram sent is checked as a connect
  dns: 'connect',
  'tcp.server': 'listen',
  'http.server': 'listen',
};

export function classifyUri(uri: string): ClassifiedUri | DkErrorCode {
  const colon = uri.indexOf(':');
  if (colon <= 0) return DkError.INVALID_ARGUMENT;
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  if (scheme === 'file' || scheme === 'dir') return { kind: 'path', scheme, path: rest };
  if (LOCAL_SCHEMES.has(scheme)) return { kind: 'local', scheme };
  if (scheme === 'dev') return DEVICES.has(uri) ? { kind: 'local', scheme } : DkError.INVALID_ARGUMENT;
  const direction = NETWORK_SCHEMES[scheme];
  if (direction === undefined) return DkError.INVALID_ARGUMENT;
  const text = rest.startsWith('//') ? rest.slice(2) : rest;
  const endpoint = parseEndpoint(text);
  if (endpoint) return { kind: 'network', scheme, direction, endpoint };
  // dns: names a host to look up; a port is optional.
  if (scheme === 'dns' && /^[A-Za-z0-9.-]{1,253}$/.test(text)) {
    return { kind: 'network', scheme, direction, endpoint: { host: text.toLowerCase(), port: null } };
  }
  return DkError.INVALID_ARGUMENT;
}

/** Whether the manifest's network grants allow this endpoint. */
export function networkAllowed(grants: NetworkGrants, u: Extract<ClassifiedUri, { kind: 'network' }>): boolean {
  const rules = u.direction === 'listen' ? grants.listen : grants.connect;
  const ep = u.endpoint;
  if (ep.port === null) return rules.some((r) => hostMatches(r.host, ep.host));
  return rules.some((r) => endpointMatches(r, ep as Endpoint));
}
