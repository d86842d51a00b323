// The node host's network driver: the real network, through Node's own modules.

import type { DkResult } from '../../../abi/dk.ts';
import type { StreamObject } from '../../kernel/kobject.ts';
import { ServerTable, type NetworkDriver } from '../../kernel/net/driver.ts';
import { type SocketAddress } from '../../../abi/uri.ts';
import type { ServerStream } from '../../kernel/net/socket.ts';
import { connectTcp, NodeTcpServer } from './tcp.ts';
import { NodeUdpBound, NodeUdpSocket } from './udp.ts';
import { resolveName } from './dns.ts';
import { NodeHttpServer } from './http.ts';

export class NodeNetwork implements NetworkDriver {
  readonly name = 'node';
  private readonly servers = new ServerTable<ServerStream>();

  connectTcp(addr: SocketAddress): DkResult<StreamObject> {
    return connectTcp(addr);
  }
  listenTcp(owner: number, addr: SocketAddress): DkResult<StreamObject> {
    return new NodeTcpServer(owner, addr, this.servers);
  }
  connectUdp(addr: SocketAddress): DkResult<StreamObject> {
    return new NodeUdpSocket(addr);
  }
  bindUdp(addr: SocketAddress): DkResult<StreamObject> {
    return new NodeUdpBound(addr);
  }
  resolve(name: string): DkResult<StreamObject> {
    return resolveName(name);
  }
  listenHttp(owner: number, addr: SocketAddress): DkResult<StreamObject> {
    return new NodeHttpServer(owner, addr, this.servers);
  }
  accept(owner: number, uri: string): DkResult<StreamObject> {
    return this.servers.accept(owner, uri);
  }
}
