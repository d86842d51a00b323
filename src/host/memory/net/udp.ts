// UDP on the loopback network: udp:ADDR:PORT (connected) and udp.bind:ADDR:PORT (bound) as
// on the node host, in memory and deterministic. A datagram goes straight into the receive
// queue of the socket bound at its destination (exact address, else the any-address of its
// family); nobody bound there, or a full queue, and it is dropped, as UDP drops it. A
// connected socket holds an ephemeral port of its own and takes datagrams from its peer only.

import { DkError } from '../../../abi/errors.ts';
import type { DkResult, StreamAttributes } from '../../../abi/dk.ts';
import type { StreamObject } from '../../kernel/kobject.ts';
import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';
import { SocketStream } from '../../kernel/net/socket.ts';
import { splitDatagram, UDP_MAX } from '../../kernel/net/datagram.ts';
import { isAny, LoopbackPorts } from './ports.ts';

class LoopbackDatagramSocket extends SocketStream {
  private readonly udp: LoopbackUdp;
  /** Bound address (its port chosen). */
  readonly local: SocketAddress;
  /** Connected: the only peer it sends to and hears from; null when bound. */
  private readonly peer: SocketAddress | null;
  private readonly key: string;

  constructor(udp: LoopbackUdp, uri: string, local: SocketAddress, peer: SocketAddress | null) {
    super(uri, false, true);
    this.udp = udp;
    this.local = local;
    this.peer = peer;
    this.key = udp.ports.add(local, this);
    const scheme = peer === null ? 'udp.bind' : 'udp';
    this.opened(`${scheme}:${formatAddress(local)}`, peer === null ? undefined : `udp:${formatAddress(peer)}`);
  }

  /** Whether a datagram from `from` is for this socket. */
  hears(from: SocketAddress): boolean {
    const p = this.peer;
    return p === null || (p.port === from.port && p.host === from.host);
  }

  protected send(data: Uint8Array): DkResult<number> {
    if (this.peer !== null) {
      if (data.length > UDP_MAX) return DkError.INVALID_ARGUMENT;
      this.udp.route(this.local, this.peer, data);
      return data.length;
    }
    const d = splitDatagram(data);
    if (typeof d === 'number') return d;
    if (d.to.family !== this.local.family) return DkError.ADDRESS_NOT_AVAILABLE;
    this.udp.route(this.local, d.to, d.payload);
    return data.length;
  }
  protected canSend(): boolean {
    return true; // delivered at once (or dropped): nothing waits to be sent
  }
  protected pauseInput(): void {}
  protected resumeInput(): void {}
  protected endOutput(): void {}
  protected destroy(): void {
    this.udp.ports.remove(this.key, this);
  }
  override attributes(): DkResult<StreamAttributes> {
    const a = super.attributes();
    const from = this.lastSource;
    if (this.peer === null && typeof a !== 'number' && from !== undefined) a.peerUri = from;
    return a;
  }
}

/** The UDP half of a loopback network. */
export class LoopbackUdp {
  readonly ports = new LoopbackPorts<LoopbackDatagramSocket>();

  bind(addr: SocketAddress): DkResult<StreamObject> {
    if (!LoopbackPorts.bindable(addr.host)) return DkError.ADDRESS_NOT_AVAILABLE;
    let port = addr.port;
    if (port === 0) port = this.ports.ephemeral(addr.family, addr.host);
    else if (this.ports.taken(addr.family, addr.host, port)) return DkError.ADDRESS_IN_USE;
    if (port === 0) return DkError.ADDRESS_IN_USE;
    const local = { ...addr, port };
    return new LoopbackDatagramSocket(this, `udp.bind:${formatAddress(local)}`, local, null);
  }

  connect(to: SocketAddress): DkResult<StreamObject> {
    // The local end: the destination's own host when it is loopback (what a real stack picks
    // for a loopback route), an ephemeral port.
    const host = LoopbackPorts.bindable(to.host) && !isAny(to.host) ? to.host : to.family === 4 ? '127.0.0.1' : '::1';
    const port = this.ports.ephemeral(to.family, host);
    if (port === 0) return DkError.ADDRESS_IN_USE;
    return new LoopbackDatagramSocket(this, `udp:${formatAddress(to)}`, { host, port, family: to.family }, to);
  }

  /** One datagram from `from` (a bound address) to `to`: a copy into the receiver's queue. */
  route(from: SocketAddress, to: SocketAddress, payload: Uint8Array): void {
    const dest = this.ports.find(to);
    if (dest === undefined) return;
    // Sent from an any-address: the source is the destination's host, as on a loopback route.
    const source = isAny(from.host) ? { ...from, host: to.host } : from;
    if (!dest.hears(source)) return;
    dest.deliver(payload.slice(), `udp:${formatAddress(source)}`);
  }
}
