// Network grants: "host:port" patterns of a manifest's [network] table, parsed once into
// data and matched against the endpoints of network stream URIs.
//
//   host: "*" | "*.example.com" (any subdomain, not the apex) | "example.com" |
//         "10.0.0.1" | "10.0.0.0/8" | "[::1]" | "[fd00::/8]"
//   port: "*" | 0..65535 | "8000-8100"
//
// Names match names only and CIDRs match address literals only: the monitor does not resolve
// names itself, so a name grant never silently widens into the addresses it resolves to.

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

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

function isHostName(s: string): boolean {
  return s.length <= 253 && s.split('.').every((l) => LABEL.test(l));
}

export function parseIPv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p.startsWith('0'))) return null;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

export function parseIPv6(s: string): bigint | null {
  if (!/^[0-9a-f:.]+$/i.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-f]{1,4}$/i.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function parseCidr(text: string, family: 4 | 6): HostPattern | string {
  const [addr, prefixText, extra] = text.split('/');
  if (extra !== undefined) return `bad address "${text}"`;
  const bits = family === 4 ? 32 : 128;
  const base = family === 4 ? parseIPv4(addr!) : parseIPv6(addr!);
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
  return { kind: 'cidr', family, base, prefix };
}

/** Splits "host:port" / "[v6]:port"; the port part is whatever follows the last colon. */
function splitHostPort(text: string): [string, string] | null {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') return null;
    return [text.slice(0, end + 1), text.slice(end + 2)];
  }
  const i = text.lastIndexOf(':');
  if (i <= 0) return null;
  const host = text.slice(0, i);
  if (host.includes(':')) return null; // a bare IPv6 address must be bracketed
  return [host, text.slice(i + 1)];
}

function parsePort(text: string): [number, number] | string {
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
  const port = parsePort(parts[1]);
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
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return null;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (host.startsWith('[') ? parseIPv6(bare) === null : !(parseIPv4(bare) !== null || isHostName(bare))) return null;
  return { host: bare.toLowerCase(), port: Number(portText) };
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
      const bits = pattern.family === 4 ? 32 : 128;
      const addr = pattern.family === 4 ? parseIPv4(host) : host.includes(':') ? parseIPv6(host) : null;
      if (addr === null) return false;
      const shift = BigInt(bits - pattern.prefix);
      return addr >> shift === pattern.base >> shift;
    }
  }
}

export function endpointMatches(pattern: EndpointPattern, ep: Endpoint): boolean {
  return ep.port >= pattern.portMin && ep.port <= pattern.portMax && hostMatches(pattern.host, ep.host);
}
