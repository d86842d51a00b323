// tcp: and tcp.server: on the real network (node:net). Node delivers data and connections
// through events; the stream objects of host/kernel/net/socket.ts buffer them for the guest's
// non-blocking reads and accepts and signal readiness. Backpressure in: socket.pause() while
// the guest has RX_HIGH bytes unread. Backpressure out: a write answers WOULD_BLOCK while
// Node's send buffer (writableLength) holds TX_HIGH bytes; 'drain' wakes the writer.

import type * as net from 'node:net';
import { nodeNet } from '../lazy-builtins.ts';
import type { DkResult } from '../../../abi/dk.ts';
import { LISTEN_BACKLOG, type ServerTable } from '../../kernel/net/driver.ts';
import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';
import { ServerStream, SocketStream } from '../../kernel/net/socket.ts';
import { dkErrorOfNode } from './errors.ts';
import { notifyLater } from './batch.ts';
import { NodeListener } from './listen.ts';

/** Bytes Node may hold unsent before writes answer WOULD_BLOCK. */
export const TX_HIGH = 64 * 1024;

function endpointUri(scheme: string, host: string | undefined, port: number | undefined): string | undefined {
  if (host === undefined || port === undefined) return undefined;
  return `${scheme}:${formatAddress({ host: host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host, port })}`;
}

export class NodeTcpSocket extends SocketStream {
  private readonly socket: net.Socket;

  /** A connection: `socket` is connecting (connect) or connected (accepted). */
  constructor(uri: string, socket: net.Socket, connected: boolean) {
    super(uri, !connected);
    this.socket = socket;
    socket.setNoDelay(true); // request/response traffic: no Nagle delay
    socket.on('data', (chunk: Buffer) => this.deliver(chunk));
    socket.on('end', () => this.ended());
    socket.on('error', (e) => this.failed(dkErrorOfNode(e)));
    socket.on('close', () => {
      this.ended();
      this.changed();
    });
    socket.on('drain', () => this.changed());
    if (connected) this.addresses();
    else socket.once('connect', () => this.addresses());
  }

  /** Readers wake after this turn's other deliveries (host/node/net/batch.ts). */
  protected override inputArrived(): void {
    notifyLater(this);
  }

  private addresses(): void {
    this.opened(endpointUri('tcp', this.socket.localAddress, this.socket.localPort), endpointUri('tcp', this.socket.remoteAddress, this.socket.remotePort));
  }

  protected send(data: Uint8Array): DkResult<number> {
    // The guest's memory is reused at once: Node must get its own copy.
    this.socket.write(Buffer.from(data));
    return data.length;
  }
  protected canSend(): boolean {
    return !this.socket.destroyed && this.socket.writableLength < TX_HIGH;
  }
  protected pauseInput(): void {
    this.socket.pause();
  }
  protected resumeInput(): void {
    this.socket.resume();
  }
  protected endOutput(): void {
    this.socket.end();
  }
  protected destroy(): void {
    // Unsent bytes the guest was told were written still go out: end, then destroy on close.
    if (this.writeShut || this.failure !== 0) {
      if (this.failure !== 0) this.socket.destroy();
      else this.socket.resume(); // nobody reads any more: let the peer's FIN arrive
      return;
    }
    this.socket.end();
    this.socket.resume();
    // A peer that never closes its side must not keep the socket forever.
    this.socket.setTimeout(30_000, () => this.socket.destroy());
  }
}

export function connectTcp(addr: SocketAddress): DkResult<NodeTcpSocket> {
  const socket = nodeNet().connect({ host: addr.host, port: addr.port, allowHalfOpen: true, family: addr.family });
  return new NodeTcpSocket(`tcp:${formatAddress(addr)}`, socket, false);
}

export class NodeTcpServer extends ServerStream {
  private readonly listener: NodeListener;

  constructor(owner: number, addr: SocketAddress, table: ServerTable<ServerStream>) {
    super(`tcp.server:${formatAddress(addr)}`, LISTEN_BACKLOG);
    const server = nodeNet().createServer({ allowHalfOpen: true });
    server.on('connection', (socket) => {
      const s = new NodeTcpSocket('tcp.server:', socket, true);
      if (!this.enqueue(s)) socket.destroy(); // backlog full: the client sees a reset
    });
    this.listener = new NodeListener(this, server, 'tcp.server', owner, addr, table);
  }

  protected closeListener(): void {
    this.listener.close();
  }
}
