// udp: on the real network (node:dgram): a connected datagram socket. Each write sends one
// datagram to the address of the URI; each read returns one datagram from it (cut to the
// buffer, as recv() cuts). Datagrams arriving while DGRAM_QUEUE are unread are dropped, as a
// full socket buffer drops them.

import * as dgram from 'node:dgram';
import { DkError } from '../../abi/errors.ts';
import type { DkResult } from '../../abi/dk.ts';
import { formatAddress, type SocketAddress } from '../common/net-driver.ts';
import { SocketStream } from '../common/net-socket.ts';
import { dkErrorOfNode } from './net-errors.ts';

/** Largest UDP payload (IPv4). */
export const UDP_MAX = 65507;
/** Bytes queued for sending before writes answer WOULD_BLOCK. */
const SEND_QUEUE_HIGH = 256 * 1024;

export class NodeUdpSocket extends SocketStream {
  private readonly socket: dgram.Socket;

  constructor(addr: SocketAddress) {
    super(`udp:${formatAddress(addr)}`, true, true);
    this.socket = dgram.createSocket(addr.family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (msg: Buffer) => this.deliver(msg));
    this.socket.on('error', (e) => this.failed(dkErrorOfNode(e)));
    this.socket.on('close', () => this.ended());
    this.socket.connect(addr.port, addr.host, () => {
      const l = this.socket.address();
      this.opened(`udp:${formatAddress({ host: l.address, port: l.port })}`, this.uri);
    });
  }

  protected send(data: Uint8Array): DkResult<number> {
    if (data.length > UDP_MAX) return DkError.INVALID_ARGUMENT; // EMSGSIZE: too big for one datagram
    this.socket.send(Buffer.from(data), (e) => {
      if (e) this.failed(dkErrorOfNode(e));
      else this.changed();
    });
    return data.length;
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
