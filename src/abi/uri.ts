// Stream URIs: the schemes DkStreamOpen knows and the grammar of the addresses they carry. The
// one place the library OS, the monitor, the extensions and the kernel learn them, so that a
// URI means the same thing at every layer (docs/abi.md, docs/network.md).
//
//   file:PATH dir:PATH                  a path, mapped by the monitor through the mounts
//   stdin: stdout: stderr: null: reset: the picoprocess's own streams: no grant needed
//   pipe: pipe.server:NAME pipe.client:NAME inherit:N
//   dev:fb dev:input                    the picoprocess's display and input devices
//   tcp:ADDR:PORT udp:ADDR:PORT dns:NAME                     network, connect grants
//   tcp.server:ADDR:PORT udp.bind:ADDR:PORT http.server:ADDR:PORT   network, listen grants
//
// ADDR is an IP literal (src/abi/ip.ts), IPv6 in brackets: "tcp:[::1]:80".
//
// Below the monitor a path may carry its mount root: "file:ROOT/./REST" (beneathPath) asks the
// host to resolve REST beneath ROOT, from a descriptor of ROOT, never leaving it (host/kernel/files).

import { parseIp, type IpAddress } from './ip.ts';

export type SchemeKind = 'path' | 'local' | 'device' | 'network';

export interface SchemeSpec {
  kind: SchemeKind;
  /** Network schemes: which grants of the manifest's [network] table allow it. */
  direction?: 'connect' | 'listen';
}

export const SCHEMES: Readonly<Record<string, SchemeSpec>> = {
  file: { kind: 'path' },
  dir: { kind: 'path' },
  stdin: { kind: 'local' },
  stdout: { kind: 'local' },
  stderr: { kind: 'local' },
  null: { kind: 'local' },
  reset: { kind: 'local' },
  pipe: { kind: 'local' },
  'pipe.server': { kind: 'local' },
  'pipe.client': { kind: 'local' },
  inherit: { kind: 'local' },
  dev: { kind: 'device' },
  tcp: { kind: 'network', direction: 'connect' },
  udp: { kind: 'network', direction: 'connect' },
  dns: { kind: 'network', direction: 'connect' },
  'tcp.server': { kind: 'network', direction: 'listen' },
  // Receiving on a port; each datagram sent is checked as a connect to its destination.
  'udp.bind': { kind: 'network', direction: 'listen' },
  'http.server': { kind: 'network', direction: 'listen' },
};

/** The devices behind dev: URIs. */
export const DEVICE_URIS: ReadonlySet<string> = new Set(['dev:fb', 'dev:input']);

/** The schemes a host's network driver opens. */
export const NETWORK_SCHEMES: ReadonlySet<string> = new Set(Object.keys(SCHEMES).filter((s) => SCHEMES[s]!.kind === 'network'));

/** The scheme of a URI, known or not; null when it has none ("" or no colon). */
export function schemeOf(uri: string): string | null {
  const colon = uri.indexOf(':');
  return colon <= 0 ? null : uri.slice(0, colon);
}

/** The spec of a URI's scheme, or undefined when the scheme is unknown. */
export function schemeSpec(scheme: string): SchemeSpec | undefined {
  return Object.hasOwn(SCHEMES, scheme) ? SCHEMES[scheme] : undefined;
}

// ---- paths resolved beneath a root ----

/**
 * The mark between a root and the rest of a path: '/./' means '/' to POSIX, so a host that
 * ignored it would open the same object; a normalised path (the monitor's) never contains it.
 */
const BENEATH_MARK = '/./';

/**
 * ROOT (normalised, absolute) and the components below it, as one path for file: and dir: URIs.
 * The root itself is named as it is: it is trusted as written (links in it are followed).
 */
export function beneathPath(root: string, rest: readonly string[]): string {
  return rest.length === 0 ? root : (root === '/' ? '' : root) + BENEATH_MARK + rest.join('/');
}

/** The root and the rest of a path made by beneathPath (the first mark splits); null when it has none. */
export function splitBeneath(path: string): { root: string; rest: string } | null {
  const at = path.indexOf(BENEATH_MARK);
  return at < 0 ? null : { root: path.slice(0, at) || '/', rest: path.slice(at + BENEATH_MARK.length) };
}

// ---- addresses ----

export interface SocketAddress {
  /** The literal, without brackets, lowercase: "127.0.0.1", "::1". */
  host: string;
  port: number;
  family: 4 | 6;
}

/** Longest "ADDR:PORT" text: a bracketed IPv6 literal with an IPv4 tail and a 5-digit port. */
const SOCKET_ADDRESS_MAX = 64;
export const DNS_NAME_MAX = 253;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/**
 * Splits "HOST:PORT" or "[V6]:PORT" at its last colon; the host keeps its brackets. A bare IPv6
 * address (colons and no brackets) is null: it must be bracketed to carry a port.
 */
export function splitHostPort(text: string): [host: string, port: string] | null {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') return null;
    return [text.slice(0, end + 1), text.slice(end + 2)];
  }
  const i = text.lastIndexOf(':');
  if (i <= 0) return null;
  const host = text.slice(0, i);
  if (host.includes(':')) return null;
  return [host, text.slice(i + 1)];
}

/** A port written as 0-65535 (at most five digits), or null. */
export function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

/** "127.0.0.1:80" or "[::1]:80" -> an address (IP literals only), or null. */
export function parseSocketAddress(text: string): SocketAddress | null {
  if (typeof text !== 'string' || text.length > SOCKET_ADDRESS_MAX) return null;
  const parts = splitHostPort(text);
  if (!parts) return null;
  const [bracketed, portText] = parts;
  const v6 = bracketed.startsWith('[');
  const host = v6 ? bracketed.slice(1, -1) : bracketed;
  const ip: IpAddress | null = parseIp(host);
  if (!ip || (ip.family === 6) !== v6) return null;
  const port = parsePort(portText);
  if (port === null) return null;
  return { host: host.toLowerCase(), port, family: ip.family };
}

/** An address as URIs write it: "127.0.0.1:80", "[::1]:80". */
export function formatAddress(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A DNS host name: labels of letters, digits and inner hyphens, at most 253 characters. */
export function isHostName(name: string): boolean {
  return name.length > 0 && name.length <= DNS_NAME_MAX && name.split('.').every((l) => LABEL.test(l));
}

/** What dns: may look up: a host name (one trailing dot allowed) or an IP literal. */
export function isResolvableName(name: string): boolean {
  if (parseIp(name) !== null) return true;
  return isHostName(name.endsWith('.') ? name.slice(0, -1) : name);
}
