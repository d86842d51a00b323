// The network grants as the monitor applies them to what a picoprocess really reaches.
//
// The host connects to IP literals only (tcp:ADDR:PORT, udp:ADDR:PORT; a name there is
// INVALID_ARGUMENT), so the address the monitor checks is the address the host connects to:
// no check on a name followed by a different answer at connect time (DNS rebinding).
// A connect is allowed when
//   - a grant covers the address itself (a CIDR, or "*"), or
//   - the address came out of a dns: lookup, through this monitor, of a name a grant covers,
//     and that grant covers the port. Such addresses are remembered per picoprocess.
// An answer of a name grant that points inside the host's own or private networks
// (loopback, unspecified, link-local, RFC 1918, shared 100.64/10, fc00::/7, fec0::/10) is
// not taken: that is how a rebinding attack reaches internal services. Only a CIDR grant
// opens those (or the name "localhost", which means loopback by definition). An IPv6 answer
// that carries an IPv4 address is judged by that IPv4 address too: the IPv6 spellings of it
// (::ffff:a.b.c.d, ::a.b.c.d, which are that address: src/abi/ip.ts) and the forms that lead
// to it through a translator or relay (NAT64 64:ff9b::/96, 6to4 2002::/16).
//
// Listening (tcp.server:, http.server: with CREATE) needs a listen grant for the address
// asked for; taking a connection (ACCEPT) needs none: the host lets a picoprocess accept only
// on servers it opened itself, which were checked when they were opened.
//
// A bound UDP socket (udp.bind:ADDR:PORT) needs a listen grant to be bound (it receives on
// that port), and each datagram written to it names its destination in a first line
// "udp:ADDR:PORT\n" (host/kernel/net/datagram.ts): that destination is checked as a udp:
// connect would be, on every write. Such a handle cannot be handed to a child (its monitor
// would not know to check its writes).

import { OpenOption, type Handle } from '../../abi/dk.ts';
import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import type { NetworkGrants } from '../manifest/manifest.ts';
import { embeddedIPv4, ipValue, parseIp } from '../../abi/ip.ts';
import { addressOf, hostMatches, type EndpointPattern } from './pattern.ts';
import { classifyUri, networkAllowed, type ClassifiedUri } from '../uri.ts';

type NetworkUri = Extract<ClassifiedUri, { kind: 'network' }>;

/** "4:N" / "6:N": one key per address whatever its spelling (::1 = 0:0::1, ::ffff:1.2.3.4 = 1.2.3.4). */
function addressKey(text: string): string | null {
  const a = addressOf(text);
  return a === null ? null : `${a.family}:${a.value}`;
}

const INTERNAL_V4: [bigint, number][] = [
  [0x00000000n, 8], // "this network", 0.0.0.0
  [0x7f000000n, 8], // loopback
  [0x0a000000n, 8], // RFC 1918
  [0xac100000n, 12],
  [0xc0a80000n, 16],
  [0xa9fe0000n, 16], // link-local (cloud metadata services)
  [0x64400000n, 10], // shared address space (carrier-grade NAT)
];
const INTERNAL_V6: [bigint, number][] = [
  [0n, 128], // unspecified
  [1n, 128], // loopback
  [0xfcn << 120n, 7], // unique local
  [0xfe80n << 112n, 10], // link-local
  [0xfec0n << 112n, 10], // site-local (deprecated, still routed inside some networks)
];

function inBlocks(v: bigint, bits: number, blocks: [bigint, number][]): boolean {
  return blocks.some(([base, prefix]) => v >> BigInt(bits - prefix) === base >> BigInt(bits - prefix));
}

/**
 * Whether an address literal points inside the host's own or private networks. An IPv6
 * address that carries an IPv4 one (embeddedIPv4) is judged by it as well. Exported for tests.
 */
export function isInternalAddress(text: string): boolean {
  const a = parseIp(text);
  if (a === null) return false;
  if (a.family === 4) return inBlocks(ipValue(a.bytes), 32, INTERNAL_V4);
  if (inBlocks(ipValue(a.bytes), 128, INTERNAL_V6)) return true;
  const v4 = embeddedIPv4(a.bytes);
  return v4 !== null && inBlocks(ipValue(v4), 32, INTERNAL_V4);
}

export class NetworkGate {
  private readonly grants: NetworkGrants;
  // Made on first use: most picoprocesses never look a name up or bind a datagram socket, and
  // a host starts thousands of them (bench/density.ts).
  /** Open dns: handles: the grants that matched the name, and the text read so far. */
  private lookups: Map<Handle, { name: string; grants: EndpointPattern[]; partial: string }> | null = null;
  /** Addresses from granted lookups: address key -> the grants (their ports) that allow it. */
  private resolved: Map<string, Set<EndpointPattern>> | null = null;

  /** Open udp.bind: handles: their writes name a destination to check. */
  private datagram: Set<Handle> | null = null;

  constructor(grants: NetworkGrants) {
    this.grants = grants;
  }

  /** Whether DkStreamOpen of this network URI may go down to the host. */
  allowsOpen(u: NetworkUri, options: number): boolean {
    if (u.direction === 'listen' && (options & OpenOption.ACCEPT) !== 0) return true;
    if (networkAllowed(this.grants, u)) return true;
    if (u.direction !== 'connect' || u.endpoint.port === null) return false;
    const key = addressKey(u.endpoint.host);
    const via = key === null ? undefined : this.resolved?.get(key);
    if (via === undefined) return false;
    const port = u.endpoint.port;
    for (const g of via) if (port >= g.portMin && port <= g.portMax) return true;
    return false;
  }

  /** A network stream was opened (after allowsOpen): note what its later calls need. */
  opened(h: Handle, u: NetworkUri): void {
    if (u.scheme === 'dns') this.lookupOpened(h, u);
    else if (u.scheme === 'udp.bind') (this.datagram ??= new Set()).add(h);
  }

  /** Whether h is a bound datagram socket (its writes carry their destination). */
  isDatagram(h: Handle): boolean {
    return this.datagram !== null && this.datagram.has(h);
  }

  /** A write on a bound datagram socket: 0 when its destination is granted, else the refusal. */
  checkDatagram(data: Uint8Array): 0 | DkErrorCode {
    if (data.length === 0) return 0; // sends nothing: asks whether the bind has settled
    let line = '';
    for (let i = 0; i < data.length && i < 80; i++) {
      if (data[i] === 10) {
        const u = classifyUri(line);
        if (typeof u === 'number') return u;
        if (u.kind !== 'network' || u.scheme !== 'udp' || u.endpoint.port === null) return DkError.INVALID_ARGUMENT;
        return this.allowsOpen(u, 0) ? 0 : DkError.NOT_CAPABLE;
      }
      line += String.fromCharCode(data[i]!);
    }
    return DkError.INVALID_ARGUMENT; // no destination line
  }

  /** A dns: handle was opened: remember which grants its answers may use. */
  lookupOpened(h: Handle, u: NetworkUri): void {
    const name = u.endpoint.host;
    const grants = this.grants.connect.filter((g) => g.host.kind !== 'cidr' && hostMatches(g.host, name));
    if (grants.length > 0) (this.lookups ??= new Map()).set(h, { name, grants, partial: '' });
  }

  /** Whether a dns: handle is open (reads need a look: the hot path asks this first). */
  get watching(): boolean {
    return this.lookups !== null && this.lookups.size !== 0;
  }

  /** n bytes were read from handle h into buffer (only dns: handles matter). */
  read(h: Handle, buffer: Uint8Array, n: number): void {
    const l = this.lookups?.get(h);
    if (l === undefined) return;
    const text = l.partial + new TextDecoder().decode(buffer.subarray(0, n));
    const lines = text.split('\n');
    l.partial = lines.pop()!.slice(0, 64);
    for (const line of lines) {
      const address = line.trim();
      const key = addressKey(address);
      if (key === null) continue;
      if (isInternalAddress(address) && l.name !== 'localhost') continue;
      const resolved = (this.resolved ??= new Map());
      let set = resolved.get(key);
      if (set === undefined) resolved.set(key, (set = new Set()));
      for (const g of l.grants) set.add(g);
    }
  }

  closed(h: Handle): void {
    this.lookups?.delete(h);
    this.datagram?.delete(h);
  }
}
