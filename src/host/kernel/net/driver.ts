// The network of a host: what tcp:, tcp.server:, udp:, dns: and http.server: URIs open.
// Each host brings a driver (host/node: the real network through node:net, node:dgram,
// node:dns, node:http; host/memory: a loopback network of its own). The URI syntax and the
// dispatch are shared here, so both hosts answer the same codes for the same bad input.
//
// URIs (docs/network.md):
//   tcp:ADDR:PORT          connect (ADDR an IP literal, IPv6 in brackets: tcp:[::1]:80)
//   tcp.server:ADDR:PORT   with CREATE: listen (PORT 0 = any; attributes' localUri says which);
//                          with ACCEPT and the bound URI: take one pending connection
//   udp:ADDR:PORT          a connected datagram socket: each write one datagram, each read one
//   udp.bind:ADDR:PORT     a bound datagram socket (PORT 0 = any): datagrams from anyone, to
//                          anyone; the address beside the payload (host/kernel/net/datagram.ts)
//   dns:NAME               read gives the addresses NAME resolves to, one per line ("\n")
//   http.server:ADDR:PORT  with CREATE: serve HTTP; with ACCEPT: one request as a stream pair
//
// Names are refused in tcp:/udp:/*.server: (INVALID_ARGUMENT): a guest resolves with dns:
// first, so the address the monitor checks is the address the host connects to.

import { DkError } from '../../../abi/errors.ts';
import { Create, OpenOption, type DkResult } from '../../../abi/dk.ts';
import type { StreamObject } from '../kobject.ts';
import { formatAddress, isResolvableName, parseSocketAddress, type SocketAddress } from '../../../abi/uri.ts';

/** Connections a listening socket queues before the host stops accepting more. */
export const LISTEN_BACKLOG = 511;

export interface NetworkDriver {
  readonly name: string;
  connectTcp(addr: SocketAddress): DkResult<StreamObject>;
  /** owner: the picoprocess id; ACCEPT finds only the owner's own servers. */
  listenTcp(owner: number, addr: SocketAddress): DkResult<StreamObject>;
  connectUdp(addr: SocketAddress): DkResult<StreamObject>;
  /** A bound datagram socket (udp.bind:): there is nothing to accept, so no owner. */
  bindUdp(addr: SocketAddress): DkResult<StreamObject>;
  resolve(name: string): DkResult<StreamObject>;
  listenHttp(owner: number, addr: SocketAddress): DkResult<StreamObject>;
  /** Take one pending connection (or request) of the owner's server bound at `uri`. */
  accept(owner: number, uri: string): DkResult<StreamObject>;
}

/** DkStreamOpen of a network URI (scheme already known to be one of NETWORK_SCHEMES). */
export function openNetworkStream(driver: NetworkDriver, owner: number, scheme: string, rest: string, create: number, options: number): DkResult<StreamObject> {
  // "tcp://host:port" is accepted as well as "tcp:host:port".
  const text = rest.startsWith('//') ? rest.slice(2) : rest;
  if (scheme === 'dns') return isResolvableName(text) ? driver.resolve(text.toLowerCase()) : DkError.INVALID_ARGUMENT;
  const addr = parseSocketAddress(text);
  if (addr === null) return DkError.INVALID_ARGUMENT;
  if (scheme === 'tcp' || scheme === 'udp') {
    if (addr.port === 0) return DkError.INVALID_ARGUMENT; // no one listens on port 0
    return scheme === 'tcp' ? driver.connectTcp(addr) : driver.connectUdp(addr);
  }
  if (scheme === 'udp.bind') {
    // Binding is the open itself (any create bits); there is nothing to accept.
    return (options & OpenOption.ACCEPT) !== 0 ? DkError.INVALID_ARGUMENT : driver.bindUdp(addr);
  }
  // tcp.server: / http.server:
  if ((options & OpenOption.ACCEPT) !== 0) {
    if (addr.port === 0) return DkError.INVALID_ARGUMENT; // accept names the bound port
    return driver.accept(owner, `${scheme}:${formatAddress(addr)}`);
  }
  if ((create & Create.CREATE) === 0) return DkError.INVALID_ARGUMENT; // neither listen nor accept
  return scheme === 'tcp.server' ? driver.listenTcp(owner, addr) : driver.listenHttp(owner, addr);
}

/** The servers of each picoprocess by bound URI, for ACCEPT (a picoprocess accepts only its own). */
export class ServerTable<S extends { accept(): DkResult<StreamObject> }> {
  private readonly byKey = new Map<string, S>();

  add(owner: number, uri: string, server: S): void {
    this.byKey.set(`${owner} ${uri}`, server);
  }
  remove(owner: number, uri: string, server: S): void {
    const key = `${owner} ${uri}`;
    if (this.byKey.get(key) === server) this.byKey.delete(key);
  }
  accept(owner: number, uri: string): DkResult<StreamObject> {
    const s = this.byKey.get(`${owner} ${uri}`);
    return s === undefined ? DkError.NOT_FOUND : s.accept();
  }
}

/** A driver for hosts without a network: every network URI is NOT_SUPPORTED. */
export class NoNetwork implements NetworkDriver {
  readonly name = 'none';
  connectTcp(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  listenTcp(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  connectUdp(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  bindUdp(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  resolve(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  listenHttp(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  accept(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
}
