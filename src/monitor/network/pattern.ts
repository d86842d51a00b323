// Network grants: "host:port" patterns of a manifest's [network] table, parsed once into
// data and matched against the endpoints of network stream URIs.
//
//   host: "*" | "*.example.com" (any subdomain, not the apex) | "example.com" |
//         "10.0.0.1" | "10.0.0.0/8" | "[::1]" | "[fd00::/8]"
//   port: "*" | 0..65535 | "8000-8100"
//
// Names match names only and CIDRs match address literals only: the monitor does not resolve
// names itself, so a name grant never silently widens into the addresses it resolves to.
// Addresses, names and ports are read with the ABI's grammar (src/abi/ip.ts, src/abi/uri.ts).
//
// An address is judged in its canonical spelling (canonicalIp): an IPv4 address written as
// IPv6 (::ffff:a.b.c.d, ::a.b.c.d) is that IPv4 address, on both sides. A guest's
// "[::ffff:127.0.0.1]" is 127.0.0.1, which an IPv6 grant such as "[::/0]" does not cover; a
// grant "[::ffff:10.0.0.0/104]" is "10.0.0.0/8". An IPv6 block that only partly lies in those
// spellings (e.g. "[::/0]", "[::/96]") stays an IPv6 block: it covers IPv6 addresses only.

import { canonicalIp, ipValue, parseIp, parseIPv4, parseIPv6 } from '../../abi/ip.ts';
import { isHostName, parsePort, splitHostPort } from '../../abi/uri.ts';

export type HostPattern =
  | { kind: 'any' }
  | { kind: 'name'; name: string }
  | { kind: 'suffix'; suffix: string } // "*.example.com" -> ".example.com"
  | { kind: 'cidr'; family: 4 | 6; base: bigint; prefix: number };

export interface EndpointPattern {
  /** The text as the manifest wrote it, for summaries and messages. */
  text: string;
  host: HostPattern;
  portMin: number;
  portMax: number;
}

/** An IPv4 or IPv6 literal as one number (32 or 128 bits), or null. */
export function ipv4Value(s: string): bigint | null {
  const bytes = parseIPv4(s);
  return bytes && ipValue(bytes);
}
export function ipv6Value(s: string): bigint | null {
  const bytes = parseIPv6(s);
  return bytes && ipValue(bytes);
}

/** An address literal in its canonical spelling, as family and number; null for a name. */
export function addressOf(host: string): { family: 4 | 6; value: bigint } | null {
  const a = parseIp(host);
  if (a === null) return null;
  const c = canonicalIp(a);
  return { family: c.family, value: ipValue(c.bytes) };
}

/**
 * An IPv6 block that lies wholly in the IPv6 spellings of IPv4 addresses (::ffff:0:0/96, or
 * ::/96 beyond :: and ::1) as the IPv4 block it spells; any other block as it is.
 */
function canonicalCidr(base: bigint, prefix: number): HostPattern {
  const top = base >> 32n;
  const low = base & 0xffffffffn;
  if (prefix >= 96 && (top === 0xffffn || (top === 0n && low > 1n))) return { kind: 'cidr', family: 4, base: low, prefix: prefix - 96 };
  return { kind: 'cidr', family: 6, base, prefix };
}

function parseCidr(text: string, family: 4 | 6): HostPattern | string {
  const [addr, prefixText, extra] = text.split('/');
  if (extra !== undefined) return `bad address "${text}"`;
  const bits = family === 4 ? 32 : 128;
  const base = family === 4 ? ipv4Value(addr!) : ipv6Value(addr!);
  if (base === null) return `bad IPv${family} address "${addr}"`;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      return `bad CIDR prefix "/${prefixText}" (0-${bits})`;
    }
    prefix = Number(prefixText);
  }
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  if ((base & ~mask & ((1n << BigInt(bits)) - 1n)) !== 0n) {
    return `CIDR "${text}" has host bits set below the /${prefix} prefix`;
  }
  return family === 6 ? canonicalCidr(base, prefix) : { kind: 'cidr', family, base, prefix };
}

function parsePortRange(text: string): [number, number] | string {
  if (text === '*') return [0, 65535];
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return `bad port "${text}": expected 0-65535, a range "LOW-HIGH" or "*"`;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535) return `port ${Math.max(lo, hi)} out of range 0-65535`;
  if (hi < lo) return `port range "${text}" is empty`;
  return [lo, hi];
}

function parseHostPattern(host: string): HostPattern | string {
  if (host === '*') return { kind: 'any' };
  if (host.startsWith('[') && host.endsWith(']')) return parseCidr(host.slice(1, -1), 6);
  if (/^[\d./]+$/.test(host)) return parseCidr(host, 4);
  if (host.startsWith('*.')) {
    const rest = host.slice(2);
    if (!isHostName(rest)) return `bad wildcard host "${host}"`;
    return { kind: 'suffix', suffix: '.' + rest.toLowerCase() };
  }
  if (host.includes('*')) return `bad host "${host}": "*" is allowed alone or as a leading "*." only`;
  if (!isHostName(host)) return `bad host name "${host}"`;
  return { kind: 'name', name: host.toLowerCase() };
}

/** Parses one "host:port" grant; a string is the error message. */
export function parseEndpointPattern(text: string): EndpointPattern | string {
  const parts = splitHostPort(text);
  if (!parts) return `expected "host:port" (IPv6 as "[addr]:port"), got "${text}"`;
  const host = parseHostPattern(parts[0]);
  if (typeof host === 'string') return host;
  const port = parsePortRange(parts[1]);
  if (typeof port === 'string') return port;
  return { text, host, portMin: port[0], portMax: port[1] };
}

/** A concrete endpoint a guest asks for: "example.com:443", "10.1.2.3:80", "[::1]:8080". */
export interface Endpoint {
  host: string;
  port: number;
}

export function parseEndpoint(text: string): Endpoint | null {
  const parts = splitHostPort(text);
  if (!parts) return null;
  const [host, portText] = parts;
  const port = parsePort(portText);
  if (port === null) return null;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (host.startsWith('[') ? parseIPv6(bare) === null : !(parseIPv4(bare) !== null || isHostName(bare))) return null;
  return { host: bare.toLowerCase(), port };
}

export function hostMatches(pattern: HostPattern, host: string): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'name':
      return host === pattern.name;
    case 'suffix':
      return host.endsWith(pattern.suffix) && host.length > pattern.suffix.length;
    case 'cidr': {
      const addr = addressOf(host);
      if (addr === null || addr.family !== pattern.family) return false;
      const shift = BigInt((pattern.family === 4 ? 32 : 128) - pattern.prefix);
      return addr.value >> shift === pattern.base >> shift;
    }
  }
}

export function endpointMatches(pattern: EndpointPattern, ep: Endpoint): boolean {
  return ep.port >= pattern.portMin && ep.port <= pattern.portMax && hostMatches(pattern.host, ep.host);
}
