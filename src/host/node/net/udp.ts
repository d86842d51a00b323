// udp: and udp.bind: on the real network (node:dgram).
//  - udp:ADDR:PORT, a connected datagram socket: each write sends one datagram to ADDR:PORT;
//    each read returns one datagram from it (cut to the buffer, as recv() cuts).
//  - udp.bind:ADDR:PORT, a bound one (port 0: any free port): reads return datagrams from
//    anyone (the attribute peerUri names the source of the last one), each write carries its
//    destination as a first line "udp:ADDR:PORT\n" (host/kernel/net/datagram.ts).
// Datagrams arriving while DGRAM_QUEUE are unread are dropped, as a full socket buffer drops
// them. The bind settles later, like a listen: WRITE readiness, then an empty write answers
// 0 or the error (ADDRESS_IN_USE, ...).

import type * as dgram from 'node:dgram';
import { nodeDgram } from '../lazy-builtins.ts';
import { DkError } from '../../../abi/errors.ts';
import type { DkResult, StreamAttributes } from '../../../abi/dk.ts';
import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';
import { SocketStream } from '../../kernel/net/socket.ts';
import { splitDatagram, UDP_MAX } from '../../kernel/net/datagram.ts';
import { dkErrorOfNode } from './errors.ts';
import { notifyLater } from './batch.ts';

export { UDP_MAX } from '../../kernel/net/datagram.ts';
/** Bytes queued for sending before writes answer WOULD_BLOCK. */
const SEND_QUEUE_HIGH = 256 * 1024;

function sourceUri(r: dgram.RemoteInfo): string {
  return `udp:${formatAddress({ host: r.address, port: r.port })}`;
}

/** What both kinds share: the dgram socket, its events, and flow control. */
abstract class NodeDatagramSocket extends SocketStream {
  protected readonly socket: dgram.Socket;
  protected readonly family: 4 | 6;

  constructor(uri: string, family: 4 | 6) {
    super(uri, true, true);
    this.family = family;
    // Addresses here are IP literals already (the URI syntax): a lookup that answers at once
    // lets a send reach the kernel inside the guest's write, not a tick later (after which a
    // picoprocess that exited at once would have lost a datagram it was told was sent).
    const literal = (host: string, _family: unknown, cb: (e: Error | null, address: string, family: number) => void): void => cb(null, host, family);
    this.socket = nodeDgram().createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, lookup: literal as never });
    this.socket.on('message', (msg: Buffer, r: dgram.RemoteInfo) => this.deliver(msg, sourceUri(r)));
    this.socket.on('error', (e) => this.failed(dkErrorOfNode(e)));
    this.socket.on('close', () => this.ended());
  }

  protected override inputArrived(): void {
    notifyLater(this);
  }

  /** Send payload (copied: the guest reuses its memory) to `to`, or to the connected peer. */
  protected sendTo(payload: Uint8Array, to: SocketAddress | null): number {
    const done = (e: Error | null): void => {
      if (e) this.failed(dkErrorOfNode(e));
      else this.changed();
    };
    if (to === null) this.socket.send(Buffer.from(payload), done);
    else this.socket.send(Buffer.from(payload), to.port, to.host, done);
    return payload.length;
  }

  protected canSend(): boolean {
    return this.socket.getSendQueueSize() < SEND_QUEUE_HIGH;
  }
  protected pauseInput(): void {}
  protected resumeInput(): void {}
  protected endOutput(): void {}
  protected destroy(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export class NodeUdpSocket extends NodeDatagramSocket {
  constructor(addr: SocketAddress) {
    super(`udp:${formatAddress(addr)}`, addr.family);
    this.socket.connect(addr.port, addr.host, () => {
      const l = this.socket.address();
      this.opened(`udp:${formatAddress({ host: l.address, port: l.port })}`, this.uri);
    });
  }

  protected send(data: Uint8Array): DkResult<number> {
    if (data.length > UDP_MAX) return DkError.INVALID_ARGUMENT; // EMSGSIZE: too big for one datagram
    return this.sendTo(data, null);
  }
}

export class NodeUdpBound extends NodeDatagramSocket {
  constructor(addr: SocketAddress) {
    super(`udp.bind:${formatAddress(addr)}`, addr.family);
    this.socket.bind({ port: addr.port, address: addr.host, exclusive: true }, () => {
      const l = this.socket.address();
      this.opened(`udp.bind:${formatAddress({ host: l.address, port: l.port })}`);
    });
  }

  protected send(data: Uint8Array): DkResult<number> {
    const d = splitDatagram(data);
    if (typeof d === 'number') return d;
    if (d.to.family !== this.family) return DkError.ADDRESS_NOT_AVAILABLE; // EAFNOSUPPORT
    this.sendTo(d.payload, d.to);
    return data.length;
  }

  /** peerUri: where the datagram last read came from. */
  override attributes(): DkResult<StreamAttributes> {
    const a = super.attributes();
    const from = this.lastSource;
    if (typeof a !== 'number' && from !== undefined) a.peerUri = from;
    return a;
  }
}
