// The memory host's network: a loopback network of its own, in memory, deterministic, with no
// real I/O. tcp.server: and http.server: listen, udp.bind: binds, on 127.0.0.0/8, ::1 or the
// any-address (0.0.0.0, ::); tcp: and udp: reach what is bound on this host (any picoprocess
// of it). Everything settles at once: a refused connect or a taken address is answered by
// DkStreamOpen itself (the node host answers the same codes, later, from the stream). dns:
// knows "localhost", IP literals and the names the embedder adds.
//   TCP: host/memory/net/socket.ts (connections), host/memory/net/http.ts (the host's HTTP server);
//   UDP: host/memory/net/udp.ts; ports and the any-address rules: host/memory/net/ports.ts.

import { DkError } from '../../../abi/errors.ts';
import type { DkResult } from '../../../abi/dk.ts';
import type { StreamObject } from '../../kernel/kobject.ts';
import { LISTEN_BACKLOG, ServerTable, type NetworkDriver } from '../../kernel/net/driver.ts';
import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';
import { ResolverStream, ServerStream } from '../../kernel/net/socket.ts';
import { LoopbackSocket, type LoopbackPeer } from './socket.ts';
import { isLoopback, LoopbackPorts } from './ports.ts';
import { LoopbackUdp } from './udp.ts';
import { LoopbackHttpServer } from './http.ts';

export { LOOPBACK_WINDOW } from './socket.ts';
export { EPHEMERAL_FIRST } from './ports.ts';

/** What listens on a TCP port: a guest's tcp.server: or the host's http.server:. */
interface TcpListener extends ServerStream {
  readonly owner: number;
  /** A client connected; the end it talks to (null: refused). */
  incoming(client: LoopbackSocket, clientUri: string): LoopbackPeer | null;
}

/** tcp.server: connections queue for the guest to accept. */
class LoopbackServer extends ServerStream implements TcpListener {
  readonly owner: number;
  private readonly unlisten: () => void;

  constructor(owner: number, bound: SocketAddress, unlisten: () => void) {
    super(`tcp.server:${formatAddress(bound)}`, LISTEN_BACKLOG);
    this.owner = owner;
    this.unlisten = unlisten;
    this.listening(this.uri);
  }
  incoming(client: LoopbackSocket, clientUri: string): LoopbackPeer | null {
    const accepted = new LoopbackSocket('tcp.server:', false);
    accepted.peer = client;
    accepted.opened(client.peerUri, clientUri);
    return this.enqueue(accepted) ? accepted : null;
  }
  protected closeListener(): void {
    this.unlisten();
  }
}

export class LoopbackNetwork implements NetworkDriver {
  readonly name = 'loopback';
  private readonly tcp = new LoopbackPorts<TcpListener>();
  private readonly udp = new LoopbackUdp();
  private readonly servers = new ServerTable<TcpListener>();
  private readonly hosts = new Map<string, string[]>([['localhost', ['127.0.0.1', '::1']]]);

  /** Make dns: answer `addresses` for `name` (a stand-in for /etc/hosts). */
  addHost(name: string, addresses: readonly string[]): void {
    this.hosts.set(name.toLowerCase(), [...addresses]);
  }

  connectTcp(addr: SocketAddress): DkResult<StreamObject> {
    const server = isLoopback(addr.host) ? this.tcp.find(addr) : undefined;
    if (server === undefined || server.pending >= server.backlogMax) return DkError.CONNECTION_REFUSED;
    const client = new LoopbackSocket(`tcp:${formatAddress(addr)}`, false);
    const clientUri = `tcp:${formatAddress({ host: addr.host, port: this.tcp.ephemeral(addr.family, addr.host) })}`;
    client.opened(clientUri, `tcp:${formatAddress(addr)}`);
    const end = server.incoming(client, clientUri);
    if (end === null) return DkError.CONNECTION_REFUSED;
    client.peer = end;
    return client;
  }

  /** Bind a TCP listener (port 0: an ephemeral one) made by `make`. */
  private listen(owner: number, addr: SocketAddress, make: (bound: SocketAddress, unlisten: () => void) => TcpListener): DkResult<StreamObject> {
    if (!LoopbackPorts.bindable(addr.host)) return DkError.ADDRESS_NOT_AVAILABLE;
    let port = addr.port;
    if (port === 0) port = this.tcp.ephemeral(addr.family, addr.host);
    else if (this.tcp.taken(addr.family, addr.host, port)) return DkError.ADDRESS_IN_USE;
    if (port === 0) return DkError.ADDRESS_IN_USE;
    const bound = { ...addr, port };
    let key = '';
    const server = make(bound, () => {
      this.tcp.remove(key, server);
      this.servers.remove(owner, server.uri, server);
    });
    key = this.tcp.add(bound, server);
    this.servers.add(owner, server.uri, server);
    return server;
  }

  listenTcp(owner: number, addr: SocketAddress): DkResult<StreamObject> {
    return this.listen(owner, addr, (bound, unlisten) => new LoopbackServer(owner, bound, unlisten));
  }
  listenHttp(owner: number, addr: SocketAddress): DkResult<StreamObject> {
    return this.listen(owner, addr, (bound, unlisten) => new LoopbackHttpServer(owner, bound, unlisten));
  }
  connectUdp(addr: SocketAddress): DkResult<StreamObject> {
    return this.udp.connect(addr);
  }
  bindUdp(addr: SocketAddress): DkResult<StreamObject> {
    return this.udp.bind(addr);
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
