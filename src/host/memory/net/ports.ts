// The port space of one protocol on a loopback network (TCP listeners, bound UDP sockets):
// who is bound where, the any-address rules of a real stack, and ephemeral ports.
//  - bindable: 127.0.0.0/8, ::1 and the any-addresses (0.0.0.0, ::); IPv4 and IPv6 apart.
//  - a port is taken for a host when something holds it on that host or on the any-address
//    (and an any-address bind conflicts with every host of its family).
//  - lookups find an exact binding first, then the any-address one.
//  - ephemeral ports count up from 49152 (deterministic), skipping taken ones.

import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';

export const EPHEMERAL_FIRST = 49152;

export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}
export function isAny(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}
export function anyOf(family: 4 | 6): string {
  return family === 4 ? '0.0.0.0' : '::';
}

export class LoopbackPorts<T> {
  private readonly bound = new Map<string, { addr: SocketAddress; holder: T }>();
  private nextPort = EPHEMERAL_FIRST;

  /** Whether a host may bind there at all. */
  static bindable(host: string): boolean {
    return isLoopback(host) || isAny(host);
  }

  /** Whoever receives what is sent to addr. */
  find(addr: SocketAddress): T | undefined {
    return (this.bound.get(formatAddress(addr)) ?? this.bound.get(formatAddress({ host: anyOf(addr.family), port: addr.port })))?.holder;
  }

  taken(family: 4 | 6, host: string, port: number): boolean {
    for (const { addr } of this.bound.values()) {
      if (addr.port !== port || addr.family !== family) continue;
      if (addr.host === host || isAny(addr.host) || isAny(host)) return true;
    }
    return false;
  }

  /** A free port for host (0 when all 16 384 are taken). */
  ephemeral(family: 4 | 6, host: string): number {
    for (let tries = 0; tries < 16384; tries++) {
      const p = this.nextPort++;
      if (this.nextPort > 65535) this.nextPort = EPHEMERAL_FIRST;
      if (!this.taken(family, host, p)) return p;
    }
    return 0;
  }

  /** Take addr (its port already chosen and checked free); the key to release it with. */
  add(addr: SocketAddress, holder: T): string {
    const key = formatAddress(addr);
    this.bound.set(key, { addr, holder });
    return key;
  }
  remove(key: string, holder: T): void {
    if (this.bound.get(key)?.holder === holder) this.bound.delete(key);
  }
}
