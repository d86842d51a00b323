// http.server: on the real network (node:http), in the spirit of HTTP.SYS: the host speaks
// HTTP (parsing, keep-alive, chunked bodies, pipelining) and each request reaches the guest
// as one stream pair, taken with DkStreamOpen(ACCEPT):
//  - read: the request head as HTTP/1.1 text ("GET /path HTTP/1.1\r\nHost: ...\r\n\r\n"),
//    then the request body, decoded (no chunk framing); end of stream where the body ends.
//    Transfer-Encoding is left out of the head: the end of the stream is the end of the body.
//  - write: the response as HTTP text: a status line and headers, a blank line, then the
//    body. The host sends the head once it is complete, with Connection and Transfer-Encoding
//    left to the host (a response without Content-Length goes out chunked). DkStreamDelete
//    (WRITE), or closing the handle, ends the response. A guest that closes without a
//    complete head gets its client a 502.

import type * as http from 'node:http';
import { nodeHttp } from '../lazy-builtins.ts';
import { DkError } from '../../../abi/errors.ts';
import type { DkResult } from '../../../abi/dk.ts';
import { LISTEN_BACKLOG, type ServerTable } from '../../kernel/net/driver.ts';
import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';
import { ServerStream, SocketStream } from '../../kernel/net/socket.ts';
import { requestHeadText, ResponseHeadBuffer } from '../../kernel/net/http-head.ts';
import { dkErrorOfNode } from './errors.ts';
import { NodeListener } from './listen.ts';
import { TX_HIGH } from './tcp.ts';

export { HTTP_HEAD_MAX } from '../../kernel/net/http-head.ts';

function requestHead(req: http.IncomingMessage): Buffer {
  return Buffer.from(requestHeadText(req.method ?? 'GET', req.url ?? '/', req.httpVersion, req.rawHeaders), 'latin1');
}

export class HttpRequestStream extends SocketStream {
  private readonly req: http.IncomingMessage;
  private readonly res: http.ServerResponse;
  /** The response head as written so far, until it is complete (then null). */
  private head: ResponseHeadBuffer | null = new ResponseHeadBuffer();

  constructor(uri: string, req: http.IncomingMessage, res: http.ServerResponse) {
    super(uri, false);
    this.req = req;
    this.res = res;
    const sock = req.socket;
    if (sock.localAddress !== undefined && sock.localPort !== undefined)
      this.localUri = `${uri.split(':')[0]}:${formatAddress({ host: sock.localAddress, port: sock.localPort })}`;
    if (sock.remoteAddress !== undefined && sock.remotePort !== undefined)
      this.peerUri = `tcp:${formatAddress({ host: sock.remoteAddress, port: sock.remotePort })}`;
    this.deliver(requestHead(req));
    req.on('data', (chunk: Buffer) => this.deliver(chunk));
    req.on('end', () => this.ended());
    req.on('error', (e) => this.failed(dkErrorOfNode(e)));
    res.on('drain', () => this.changed());
    res.on('close', () => {
      if (!res.writableFinished) this.failed(DkError.CONNECTION_RESET);
      this.ended();
    });
  }

  protected send(data: Uint8Array): DkResult<number> {
    if (this.res.writableEnded) return DkError.BROKEN_PIPE;
    if (this.head === null) {
      this.res.write(Buffer.from(data));
      return data.length;
    }
    const done = this.head.push(data);
    if (done === null) return data.length;
    if (typeof done === 'number') return done;
    try {
      this.res.writeHead(done.head.status, done.head.reason, done.head.headers);
    } catch {
      return DkError.INVALID_ARGUMENT; // a status or header Node refuses
    }
    this.head = null;
    if (done.body.length > 0) this.res.write(done.body);
    return data.length;
  }

  protected canSend(): boolean {
    return !this.res.writableEnded && this.res.writableLength < TX_HIGH;
  }
  protected pauseInput(): void {
    this.req.pause();
  }
  protected resumeInput(): void {
    this.req.resume();
  }
  protected endOutput(): void {
    if (this.head !== null) {
      if (!this.res.headersSent) this.res.writeHead(502);
      this.head = null;
    }
    this.res.end();
  }
  protected destroy(): void {
    this.req.resume(); // a body nobody reads must not stall the connection
    if (!this.res.writableEnded) this.endOutput();
  }
}

export class NodeHttpServer extends ServerStream {
  private readonly server: http.Server;
  private readonly listener: NodeListener;

  constructor(owner: number, addr: SocketAddress, table: ServerTable<ServerStream>) {
    super(`http.server:${formatAddress(addr)}`, LISTEN_BACKLOG);
    this.server = nodeHttp().createServer({ keepAliveTimeout: 5000 }, (req, res) => {
      const s = new HttpRequestStream(this.uri, req, res);
      if (!this.enqueue(s)) {
        res.writeHead(503).end();
        s.release();
      }
    });
    this.listener = new NodeListener(this, this.server, 'http.server', owner, addr, table);
  }

  protected closeListener(): void {
    this.listener.close();
    this.server.closeIdleConnections();
  }
}
