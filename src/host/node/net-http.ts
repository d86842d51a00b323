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

import * as http from 'node:http';
import type * as net from 'node:net';
import { DkError } from '../../abi/errors.ts';
import type { DkResult } from '../../abi/dk.ts';
import { formatAddress, LISTEN_BACKLOG, type ServerTable, type SocketAddress } from '../common/net-driver.ts';
import { ServerStream, SocketStream } from '../common/net-socket.ts';
import { dkErrorOfNode } from './net-errors.ts';
import { TX_HIGH } from './net-tcp.ts';

/** Longest response head the guest may write. */
export const HTTP_HEAD_MAX = 64 * 1024;
const HOP_BY_HOP = new Set(['connection', 'transfer-encoding', 'keep-alive']);
const CRLFCRLF = Buffer.from('\r\n\r\n');

function requestHead(req: http.IncomingMessage): Buffer {
  let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'transfer-encoding') continue;
    text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return Buffer.from(text + '\r\n', 'latin1');
}

export class HttpRequestStream extends SocketStream {
  private readonly req: http.IncomingMessage;
  private readonly res: http.ServerResponse;
  /** The response head as written so far, until it is complete. */
  private head: Buffer | null = Buffer.alloc(0);

  constructor(uri: string, req: http.IncomingMessage, res: http.ServerResponse) {
    super(uri, false);
    this.req = req;
    this.res = res;
    const sock = req.socket;
    if (sock.localAddress !== undefined && sock.localPort !== undefined) this.localUri = `${uri.split(':')[0]}:${formatAddress({ host: sock.localAddress, port: sock.localPort })}`;
    if (sock.remoteAddress !== undefined && sock.remotePort !== undefined) this.peerUri = `tcp:${formatAddress({ host: sock.remoteAddress, port: sock.remotePort })}`;
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
    const soFar = Buffer.concat([this.head, data]);
    const end = soFar.indexOf(CRLFCRLF);
    if (end < 0) {
      if (soFar.length > HTTP_HEAD_MAX) return DkError.INVALID_ARGUMENT;
      this.head = soFar;
      return data.length;
    }
    const ok = this.writeHead(soFar.subarray(0, end).toString('latin1'));
    if (ok !== 0) return ok;
    this.head = null;
    const body = soFar.subarray(end + 4);
    if (body.length > 0) this.res.write(body);
    return data.length;
  }

  /** Parse "HTTP/1.1 200 OK\r\nName: value..." and send it. */
  private writeHead(text: string): DkResult<0> {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (m === null) return DkError.INVALID_ARGUMENT;
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) return DkError.INVALID_ARGUMENT;
      const name = line.slice(0, colon).trim();
      if (HOP_BY_HOP.has(name.toLowerCase())) continue;
      headers.push([name, line.slice(colon + 1).trim()]);
    }
    try {
      this.res.writeHead(Number(m[1]), m[2] ?? '', headers);
    } catch {
      return DkError.INVALID_ARGUMENT; // a status or header Node refuses
    }
    return 0;
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
  private readonly owner: number;
  private readonly table: ServerTable<ServerStream>;

  constructor(owner: number, addr: SocketAddress, table: ServerTable<ServerStream>) {
    super(`http.server:${formatAddress(addr)}`, LISTEN_BACKLOG);
    this.owner = owner;
    this.table = table;
    this.server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
      const s = new HttpRequestStream(this.uri, req, res);
      if (!this.enqueue(s)) {
        res.writeHead(503).end();
        s.release();
      }
    });
    this.server.on('error', (e) => this.failed(dkErrorOfNode(e)));
    this.server.on('listening', () => {
      const a = this.server.address() as net.AddressInfo;
      const uri = `http.server:${formatAddress({ host: a.address, port: a.port })}`;
      this.listening(uri);
      if (!this.isClosed) this.table.add(this.owner, uri, this);
    });
    this.server.listen({ host: addr.host, port: addr.port, backlog: LISTEN_BACKLOG, exclusive: true, ipv6Only: addr.family === 6 });
  }

  protected closeListener(): void {
    if (this.localUri !== undefined) this.table.remove(this.owner, this.localUri, this);
    this.server.close();
    this.server.closeIdleConnections();
  }
}
