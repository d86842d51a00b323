// IP address literals, the one parser every layer uses: the kernel (which URIs a host may
// open), the monitor (grants, CIDR blocks, the internal-address filter) and the library OS
// (sockaddr bytes). One grammar, so that no layer can read an address differently from
// another.
//
//   IPv4: four decimal parts 0-255 without leading zeros ("10.0.0.1"; "010.0.0.1" is refused,
//         since some resolvers read it as octal).
//   IPv6: eight groups of 1-4 hex digits, at most one "::" standing for one or more zero
//         groups, optionally ending in an IPv4 literal ("::ffff:127.0.0.1"); no zone ("%eth0").
//
// And one normalisation (canonicalIp, at the end): an IPv6 spelling of an IPv4 address is
// that IPv4 address, for every layer that judges addresses.

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

const V4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;
/** Longest IPv6 literal: eight groups of four and seven colons, or six and an IPv4 tail. */
const IPV6_MAX = 45;

/** The 4 bytes of an IPv4 literal, or null. */
export function parseIPv4(text: string): Uint8Array | null {
  if (text.length > 15) return null;
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!V4_PART.test(p)) return null;
    out[i] = Number(p);
  }
  return out;
}

/** The 16 bytes of an IPv6 literal (without brackets), or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > IPV6_MAX) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups: number[][] = [];
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h]!;
    const out: number[] = [];
    groups.push(out);
    if (half === '') continue;
    const items = half.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (item.includes('.') && i === items.length - 1 && h === halves.length - 1) {
        const v4 = parseIPv4(item);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (HEX_GROUP.test(item)) out.push(parseInt(item, 16));
      else return null;
    }
  }
  const head = groups[0]!;
  const tail = groups[1] ?? [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const bytes = new Uint8Array(16);
  const put = (g: number, at: number) => {
    bytes[2 * at] = g >> 8;
    bytes[2 * at + 1] = g & 0xff;
  };
  head.forEach((g, i) => put(g, i));
  tail.forEach((g, i) => put(g, 8 - tail.length + i));
  return bytes;
}

/** An IPv4 or IPv6 literal (IPv6 without brackets), or null. */
export function parseIp(text: string): IpAddress | null {
  if (typeof text !== 'string') return null;
  if (text.includes(':')) {
    const bytes = parseIPv6(text);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIPv4(text);
  return bytes && { family: 4, bytes };
}

/** Whether text is an IP literal of the family (any family when none is given). */
export function isIp(text: string, family?: 4 | 6): boolean {
  const a = parseIp(text);
  return a !== null && (family === undefined || a.family === family);
}

/** The address as one number (32 or 128 bits), for prefix comparisons. */
export function ipValue(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

// ---- one address, one verdict ----
//
// An IPv4 address has IPv6 spellings that reach the same host: IPv4-mapped (::ffff:a.b.c.d,
// what a dual-stack socket connects to) and IPv4-compatible (::a.b.c.d, deprecated; :: and ::1
// are not, they are IPv6's own unspecified and loopback addresses). canonicalIp turns them into
// the IPv4 address, so that a grant or a check judges an address once whatever its spelling.
// Other IPv6 forms carry an IPv4 address without being it: NAT64 (64:ff9b::a.b.c.d, RFC 6052)
// reaches a.b.c.d through a translator, 6to4 (2002:AABB:CCDD::/48, RFC 3056) through a relay.
// embeddedIPv4 reads those too, for checks that must judge where an address leads.

/** The IPv4-mapped prefix ::ffff:0:0/96, as the value of the top 96 bits. */
const MAPPED_TOP = 0xffffn;
/** The NAT64 well-known prefix 64:ff9b::/96, as the value of the top 96 bits. */
const NAT64_TOP = 0x0064ff9b0000000000000000n;
/** The 6to4 prefix 2002::/16, as the value of the top 16 bits. */
const SIX_TO_FOUR_TOP = 0x2002n;

function v4Bytes(v: bigint): Uint8Array {
  const n = Number(v & 0xffffffffn);
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** The IPv4 address an IPv6 address is a spelling of (IPv4-mapped or IPv4-compatible), or null. */
export function sameIPv4(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length !== 16) return null;
  const v = ipValue(bytes);
  const top = v >> 32n;
  if (top === MAPPED_TOP) return v4Bytes(v);
  if (top === 0n && v > 1n) return v4Bytes(v); // ::a.b.c.d, but not :: or ::1
  return null;
}

/** The address in its one canonical spelling: an IPv6 spelling of an IPv4 address is that IPv4 address. */
export function canonicalIp(a: IpAddress): IpAddress {
  const v4 = a.family === 6 ? sameIPv4(a.bytes) : null;
  return v4 === null ? a : { family: 4, bytes: v4 };
}

/** parseIp, then canonicalIp: null for anything that is no IP literal. */
export function parseCanonicalIp(text: string): IpAddress | null {
  const a = parseIp(text);
  return a && canonicalIp(a);
}

/** Whether text is a loopback address literal (127.0.0.0/8, ::1), whatever its spelling. */
export function isLoopbackIp(text: string): boolean {
  const a = parseCanonicalIp(text);
  return a !== null && (a.family === 4 ? a.bytes[0] === 127 : ipValue(a.bytes) === 1n);
}

/**
 * The IPv4 address an IPv6 address leads to: the one it is a spelling of (sameIPv4), or the
 * one a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address carries; null for any other.
 */
export function embeddedIPv4(bytes: Uint8Array): Uint8Array | null {
  const same = sameIPv4(bytes);
  if (same !== null || bytes.length !== 16) return same;
  const v = ipValue(bytes);
  if (v >> 32n === NAT64_TOP) return v4Bytes(v);
  if (v >> 112n === SIX_TO_FOUR_TOP) return v4Bytes(v >> 80n);
  return null;
}
