// Stream URIs as the monitor sorts them: paths it maps through the mounts, local streams it
// lets through, network endpoints it checks against the grants, and everything else refused.
// The schemes and their kinds are the ABI's (src/abi/uri.ts).

import { DkError, type DkErrorCode } from '../abi/errors.ts';
import { DEVICE_URIS, isResolvableName, schemeOf, schemeSpec } from '../abi/uri.ts';
import { endpointMatches, parseEndpoint, hostMatches, type Endpoint } from './network/pattern.ts';
import type { NetworkGrants } from './manifest/manifest.ts';

export type ClassifiedUri =
  | { kind: 'path'; scheme: 'file' | 'dir'; path: string }
  | { kind: 'local'; scheme: string }
  | { kind: 'network'; scheme: string; direction: 'connect' | 'listen'; endpoint: Endpoint | { host: string; port: null } };

export function classifyUri(uri: string): ClassifiedUri | DkErrorCode {
  const scheme = schemeOf(uri);
  const spec = scheme === null ? undefined : schemeSpec(scheme);
  if (scheme === null || spec === undefined) return DkError.INVALID_ARGUMENT;
  const rest = uri.slice(scheme.length + 1);
  if (scheme === 'file' || scheme === 'dir') return { kind: 'path', scheme, path: rest };
  if (spec.kind === 'local') return { kind: 'local', scheme };
  if (spec.kind === 'device') return DEVICE_URIS.has(uri) ? { kind: 'local', scheme } : DkError.INVALID_ARGUMENT;
  const direction = spec.direction!;
  const text = rest.startsWith('//') ? rest.slice(2) : rest;
  const endpoint = parseEndpoint(text);
  if (endpoint) return { kind: 'network', scheme, direction, endpoint };
  // dns: names a host to look up; a port is optional.
  if (scheme === 'dns' && isResolvableName(text)) {
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
