// The memory host's network: a loopback network of its own, in memory, deterministic, with no
// real I/O. tcp.server: listens on 127.0.0.0/8, ::1 or the any-address (0.0.0.0, ::); tcp:
// connects to a listener of this host (any picoprocess of it). Everything settles at once:
// a refused connect or a taken address is answered by DkStreamOpen itself (the node host
// answers the same codes, later, from the stream). dns: knows "localhost", IP literals and the
// names the embedder adds. udp: and http.server: need a real network: NOT_SUPPORTED here.

import { DkError } from '../../abi/errors.ts';
import type { DkResult } from '../../abi/dk.ts';
import type { StreamObject } from './kobject.ts';
import { formatAddress, LISTEN_BACKLOG, ServerTable, type NetworkDriver, type SocketAddress } from './net-driver.ts';
import { ResolverStream, ServerStream, SocketStream } from './net-socket.ts';

/** Bytes in flight one way before the writer gets WOULD_BLOCK (a socket buffer's size). */
export const LOOPBACK_WINDOW = 256 * 1024;
export const EPHEMERAL_FIRST = 49152;

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}
function isAny(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

class LoopbackSocket extends SocketStream {
  peer: LoopbackSocket | null = null;

  protected send(data: Uint8Array): DkResult<number> {
    const peer = this.peer;
    if (peer === null || peer.released) return DkError.BROKEN_PIPE;
    const n = Math.min(data.length, LOOPBACK_WINDOW - peer.buffered);
    if (n <= 0) return DkError.WOULD_BLOCK;
    peer.deliver(data.slice(0, n)); // a copy: the guest reuses its buffer
    return n;
  }
  protected canSend(): boolean {
    const peer = this.peer;
    return peer === null || peer.released || peer.readShutNow || peer.buffered < LOOPBACK_WINDOW;
  }
  get readShutNow(): boolean {
    return this.readShut;
  }
  protected override inputTaken(): void {
    this.peer?.changed(); // the writer may have room again
  }
  protected pauseInput(): void {}
  protected resumeInput(): void {}
  protected endOutput(): void {
    this.peer?.ended();
  }
  protected destroy(): void {
    const peer = this.peer;
    this.peer = null;
    if (peer !== null) {
      peer.ended();
      peer.changed();
    }
  }
}

class LoopbackServer extends ServerStream {
  private readonly net: LoopbackNetwork;
  readonly key: string;
  readonly owner: number;

  constructor(net: LoopbackNetwork, owner: number, bound: SocketAddress) {
    super(`tcp.server:${formatAddress(bound)}`, LISTEN_BACKLOG);
    this.net = net;
    this.owner = owner;
    this.key = formatAddress(bound);
    this.listening(this.uri);
  }
  protected closeListener(): void {
    this.net.unlisten(this);
  }
}

export class LoopbackNetwork implements NetworkDriver {
  readonly name = 'loopback';
  private readonly listeners = new Map<string, LoopbackServer>();
  private readonly servers = new ServerTable<LoopbackServer>();
  private readonly hosts = new Map<string, string[]>([['localhost', ['127.0.0.1', '::1']]]);
  private nextPort = EPHEMERAL_FIRST;

  /** Make dns: answer `addresses` for `name` (a stand-in for /etc/hosts). */
  addHost(name: string, addresses: readonly string[]): void {
    this.hosts.set(name.toLowerCase(), [...addresses]);
  }

  private listenerFor(addr: SocketAddress): LoopbackServer | undefined {
    const any = addr.family === 4 ? '0.0.0.0' : '::';
    return this.listeners.get(formatAddress(addr)) ?? this.listeners.get(formatAddress({ host: any, port: addr.port }));
  }
  private portTaken(family: 4 | 6, host: string, port: number): boolean {
    for (const s of this.listeners.values()) {
      const a = s.localUri!.slice('tcp.server:'.length);
      const i = a.lastIndexOf(':');
      const h = a.slice(0, i).replace(/^\[|\]$/g, '');
      if (Number(a.slice(i + 1)) !== port || h.includes(':') !== (family === 6)) continue;
      if (h === host || isAny(h) || isAny(host)) return true;
    }
    return false;
  }

  connectTcp(addr: SocketAddress): DkResult<StreamObject> {
    const server = isLoopback(addr.host) ? this.listenerFor(addr) : undefined;
    if (server === undefined || server.pending >= server.backlogMax) return DkError.CONNECTION_REFUSED;
    const client = new LoopbackSocket(`tcp:${formatAddress(addr)}`, false);
    const accepted = new LoopbackSocket('tcp.server:', false);
    client.peer = accepted;
    accepted.peer = client;
    const clientPort = this.ephemeral(addr.family, addr.host);
    const clientUri = `tcp:${formatAddress({ host: addr.host, port: clientPort })}`;
    client.opened(clientUri, `tcp:${formatAddress(addr)}`);
    accepted.opened(`tcp:${formatAddress(addr)}`, clientUri);
    server.enqueue(accepted);
    return client;
  }

  listenTcp(owner: number, addr: SocketAddress): DkResult<StreamObject> {
    if (!isLoopback(addr.host) && !isAny(addr.host)) return DkError.ADDRESS_NOT_AVAILABLE;
    let port = addr.port;
    if (port === 0) port = this.ephemeral(addr.family, addr.host);
    else if (this.portTaken(addr.family, addr.host, port)) return DkError.ADDRESS_IN_USE;
    const server = new LoopbackServer(this, owner, { ...addr, port });
    this.listeners.set(server.key, server);
    this.servers.add(owner, server.uri, server);
    return server;
  }

  unlisten(server: LoopbackServer): void {
    if (this.listeners.get(server.key) === server) this.listeners.delete(server.key);
    this.servers.remove(server.owner, server.uri, server);
  }

  private ephemeral(family: 4 | 6, host: string): number {
    for (let tries = 0; tries < 16384; tries++) {
      const p = this.nextPort++;
      if (this.nextPort > 65535) this.nextPort = EPHEMERAL_FIRST;
      if (!this.portTaken(family, host, p)) return p;
    }
    return 0;
  }

  connectUdp(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  listenHttp(): DkResult<StreamObject> {
    return DkError.NOT_SUPPORTED;
  }
  resolve(name: string): DkResult<StreamObject> {
    const s = new ResolverStream(`dns:${name}`);
    const bare = name.endsWith('.') ? name.slice(0, -1) : name;
    const known = this.hosts.get(bare);
    if (known !== undefined) s.resolved(known);
    else if (/^[\d.]+$/.test(bare) || bare.includes(':')) s.resolved([bare]);
    else s.failed(DkError.NOT_FOUND);
    return s;
  }
  accept(owner: number, uri: string): DkResult<StreamObject> {
    return this.servers.accept(owner, uri);
  }
}
