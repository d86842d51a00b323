// The listening half every node server stream shares (tcp.server:, http.server:): listen on
// the address asked for, report the bound address (port 0: the port the system chose) to the
// stream, enter it in the owner's table of servers for ACCEPT, and undo all that on close.

import type * as net from 'node:net';
import { LISTEN_BACKLOG, type ServerTable } from '../../kernel/net/driver.ts';
import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';
import type { ServerStream } from '../../kernel/net/socket.ts';
import { dkErrorOfNode } from './errors.ts';

export class NodeListener {
  private readonly server: net.Server;
  private readonly stream: ServerStream;
  private readonly owner: number;
  private readonly table: ServerTable<ServerStream>;

  /** Starts listening at once; the stream hears of the outcome (listening() or failed()). */
  constructor(stream: ServerStream, server: net.Server, scheme: string, owner: number, addr: SocketAddress, table: ServerTable<ServerStream>) {
    this.stream = stream;
    this.server = server;
    this.owner = owner;
    this.table = table;
    server.on('error', (e) => stream.failed(dkErrorOfNode(e)));
    server.on('listening', () => {
      const a = server.address() as net.AddressInfo;
      const uri = `${scheme}:${formatAddress({ host: a.address, port: a.port })}`;
      stream.listening(uri);
      if (!stream.isClosed) table.add(owner, uri, stream);
    });
    server.listen({ host: addr.host, port: addr.port, backlog: LISTEN_BACKLOG, exclusive: true, ipv6Only: addr.family === 6 });
  }

  /** Stop listening: out of the table, the port free again. */
  close(): void {
    if (this.stream.localUri !== undefined) this.table.remove(this.owner, this.stream.localUri, this.stream);
    this.server.close();
  }
}
