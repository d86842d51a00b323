// http.server: on the loopback network: the host speaks HTTP/1.1 itself, in memory, so that a
// guest's server behaves as on the node host (docs/network.md): each request reaches the
// guest as one stream (read: the head as text, then the decoded body, then end of stream;
// write: the response head as text, then the body), taken with DkStreamOpen(ACCEPT).
//
// One HttpConnection per TCP connection a client (a tcp: stream of this network) opens:
//  - requests are served one at a time, in order: a pipelined request waits in the input
//    until the response before it is complete (so responses cannot be reordered);
//  - bodies: Content-Length or chunked (decoded); a request head over HTTP_HEAD_MAX is 431,
//    a malformed one 400, and the connection closes;
//  - responses: a guest head with Content-Length is followed by its body as written; without
//    one the host frames the body chunked (HTTP/1.0 clients: raw, then close); Connection is
//    the host's (keep-alive unless the client asked to close or spoke HTTP/1.0);
//  - flow control both ways: the client's writes wait while LOOPBACK_WINDOW bytes are unread
//    here, the guest's body reads pause the input (the socket stream's RX_HIGH), and the
//    guest's response writes wait while the client has LOOPBACK_WINDOW bytes unread.

import { DkError } from '../../../abi/errors.ts';
import type { DkResult } from '../../../abi/dk.ts';
import { LISTEN_BACKLOG } from '../../kernel/net/driver.ts';
import { formatAddress, type SocketAddress } from '../../../abi/uri.ts';
import { ServerStream, SocketStream } from '../../kernel/net/socket.ts';
import { HTTP_HEAD_MAX, ResponseHeadBuffer, headEnd, latin1, requestHeadText, type ResponseHead } from '../../kernel/net/http-head.ts';
import { LOOPBACK_WINDOW, type LoopbackPeer, type LoopbackSocket } from './socket.ts';

const encoder = new TextEncoder();
const CRLF = encoder.encode('\r\n');
const LAST_CHUNK = encoder.encode('0\r\n\r\n');

/** One request as the guest sees it. */
class LoopbackHttpRequest extends SocketStream {
  private readonly conn: HttpConnection;
  private head: ResponseHeadBuffer | null = new ResponseHeadBuffer();
  finished = false;

  constructor(conn: HttpConnection, uri: string, headText: string) {
    super(uri, false);
    this.conn = conn;
    this.localUri = conn.serverUri;
    this.peerUri = conn.clientUri;
    this.deliver(encoder.encode(headText));
  }

  protected send(data: Uint8Array): DkResult<number> {
    if (this.finished || this.conn.closed) return DkError.BROKEN_PIPE;
    if (this.head === null) {
      this.conn.body(data);
      return data.length;
    }
    const done = this.head.push(data);
    if (done === null) return data.length;
    if (typeof done === 'number') return done;
    this.head = null;
    this.conn.writeHead(done.head);
    if (done.body.length > 0) this.conn.body(done.body);
    return data.length;
  }
  protected canSend(): boolean {
    return this.finished || this.conn.closed || this.conn.clientRoom();
  }
  protected pauseInput(): void {
    this.conn.paused = true;
  }
  protected resumeInput(): void {
    this.conn.paused = false;
    this.conn.pump();
  }
  protected endOutput(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.head !== null) {
      this.head = null;
      this.conn.writeHead({ status: 502, reason: 'Bad Gateway', headers: [] }); // never completed its head
    }
    this.conn.responseDone(this);
  }
  protected destroy(): void {
    this.endOutput();
  }
}

/** The host's end of one client connection. */
class HttpConnection implements LoopbackPeer {
  readonly server: LoopbackHttpServer;
  readonly client: LoopbackSocket;
  readonly serverUri: string;
  readonly clientUri: string;
  private input = new Uint8Array(4096);
  private inLen = 0;
  private clientEof = false;
  closed = false;
  /** The guest holds RX_HIGH bytes of body unread: stop feeding it. */
  paused = false;
  /** The request being served, until its response is complete. */
  private current: LoopbackHttpRequest | null = null;
  /** Body left to pass on: bytes (Content-Length), or -1 while decoding chunks. */
  private bodyLeft = 0;
  /** Chunked: bytes left of the current chunk; -1 between chunks; -2 in the trailers. */
  private chunkLeft = -1;
  private keepAlive = true;
  private http10 = false;
  private headOnly = false;
  /** Response framing: chunked, or raw (Content-Length, HTTP/1.0, no body). */
  private chunked = false;

  constructor(server: LoopbackHttpServer, client: LoopbackSocket, clientUri: string) {
    this.server = server;
    this.client = client;
    this.serverUri = server.localUri!;
    this.clientUri = clientUri;
  }

  // ---- LoopbackPeer: what the client's socket does to us ----
  get gone(): boolean {
    return this.closed;
  }
  get buffered(): number {
    return this.inLen;
  }
  get readShutNow(): boolean {
    return false;
  }
  deliver(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.inLen + chunk.length > this.input.length) {
      const grown = new Uint8Array(Math.max(this.input.length * 2, this.inLen + chunk.length));
      grown.set(this.input.subarray(0, this.inLen));
      this.input = grown;
    }
    this.input.set(chunk, this.inLen);
    this.inLen += chunk.length;
    this.pump();
  }
  ended(): void {
    if (this.clientEof) return;
    this.clientEof = true;
    if (this.client.gone) {
      // The client is gone altogether: nobody reads a response.
      this.current?.failed(DkError.CONNECTION_RESET);
      this.close();
      return;
    }
    this.pump();
  }
  changed(): void {
    this.current?.changed(); // the client read: a waiting response writer may go on
  }

  // ---- input: requests and their bodies ----

  private consume(n: number): void {
    this.input.copyWithin(0, n, this.inLen);
    this.inLen -= n;
    this.client.changed(); // room in the window again
  }

  /** Move what can move: a new request's head, the current one's body. */
  pump(): void {
    if (this.closed) return;
    if (this.current === null) {
      if (!this.startRequest()) return;
    }
    const req = this.current!;
    while (!this.paused && this.bodyLeft !== 0 && this.inLen > 0) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, this.inLen);
        req.deliver(this.input.slice(0, n));
        this.bodyLeft -= n;
        this.consume(n);
        if (this.bodyLeft === 0) req.ended();
      } else if (!this.chunkStep(req)) break;
    }
    // The client ended mid-body and nothing more can move: the request is cut.
    if (this.bodyLeft !== 0 && this.clientEof && !this.paused) req.failed(DkError.CONNECTION_RESET);
  }

  /** No request in progress (what closing the server may cut). */
  get idle(): boolean {
    return this.current === null;
  }

  /** One step of chunked decoding; false when more input is needed. */
  private chunkStep(req: LoopbackHttpRequest): boolean {
    if (this.chunkLeft > 0) {
      const n = Math.min(this.chunkLeft, this.inLen);
      req.deliver(this.input.slice(0, n));
      this.chunkLeft -= n;
      this.consume(n);
      if (this.chunkLeft === 0) this.chunkLeft = -3; // the CRLF after the data
      return true;
    }
    const eol = this.lineEnd();
    if (eol < 0) {
      if (this.inLen > 1024) this.reject(400, 'Bad Request');
      return false;
    }
    const line = latin1(this.input, 0, eol);
    this.consume(eol + 2);
    if (this.chunkLeft === -3) {
      if (line !== '') return this.reject(400, 'Bad Request');
      this.chunkLeft = -1;
    } else if (this.chunkLeft === -2) {
      if (line === '') {
        this.bodyLeft = 0; // trailers done: the body is complete
        req.ended();
      }
    } else {
      const size = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(line);
      if (size === null) return this.reject(400, 'Bad Request');
      const n = parseInt(size[1]!, 16);
      this.chunkLeft = n === 0 ? -2 : n;
    }
    return true;
  }

  private lineEnd(): number {
    for (let i = 1; i < this.inLen; i++) if (this.input[i] === 10 && this.input[i - 1] === 13) return i - 1;
    return -1;
  }

  /** Parse the next request head, if complete, and queue its stream for the guest. */
  private startRequest(): boolean {
    const end = headEnd(this.input, 0, this.inLen);
    if (end < 0) {
      if (this.inLen > HTTP_HEAD_MAX) this.reject(431, 'Request Header Fields Too Large');
      else if (this.clientEof) this.close();
      return false;
    }
    const lines = latin1(this.input, 0, end - 4).split('\r\n');
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0]!);
    if (m === null) return this.reject(400, 'Bad Request');
    const raw: string[] = [];
    let length = 0;
    let chunked = false;
    let connection = '';
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) return this.reject(400, 'Bad Request');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) return this.reject(400, 'Bad Request');
        length = Number(value);
      } else if (lower === 'transfer-encoding')
        chunked = value
          .toLowerCase()
          .split(',')
          .map((v) => v.trim())
          .includes('chunked');
      else if (lower === 'connection') connection = value.toLowerCase();
      raw.push(name, value);
    }
    this.consume(end);
    this.http10 = m[3] === '0';
    this.keepAlive = this.http10 ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection);
    this.headOnly = m[1] === 'HEAD';
    this.bodyLeft = chunked ? -1 : length;
    this.chunkLeft = -1;
    const req = new LoopbackHttpRequest(this, this.server.uri, requestHeadText(m[1]!, m[2]!, `1.${m[3]}`, raw));
    if (this.bodyLeft === 0) req.ended();
    this.current = req;
    if (!this.server.enqueue(req)) {
      this.current = null;
      req.release();
      return this.reject(503, 'Service Unavailable');
    }
    return true;
  }

  // ---- output: the response ----

  clientRoom(): boolean {
    return this.client.gone || this.client.buffered < LOOPBACK_WINDOW;
  }

  private send(bytes: Uint8Array): void {
    if (!this.client.gone) this.client.deliver(bytes);
  }

  writeHead(head: ResponseHead): void {
    const noBody = this.headOnly || (head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304;
    const hasLength = head.headers.some(([n]) => n.toLowerCase() === 'content-length');
    if (this.http10 && !hasLength) this.keepAlive = false; // the end of the body is the close
    this.chunked = !noBody && !hasLength && !this.http10;
    let text = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
    for (const [n, v] of head.headers) text += `${n}: ${v}\r\n`;
    if (this.chunked) text += 'Transfer-Encoding: chunked\r\n';
    text += `Connection: ${this.keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
    this.send(encoder.encode(text));
    if (noBody) this.chunked = false;
  }

  body(data: Uint8Array): void {
    if (this.headOnly) return;
    if (!this.chunked) {
      this.send(data.slice());
      return;
    }
    const size = encoder.encode(data.length.toString(16) + '\r\n');
    const framed = new Uint8Array(size.length + data.length + 2);
    framed.set(size, 0);
    framed.set(data, size.length);
    framed.set(CRLF, size.length + data.length);
    this.send(framed);
  }

  responseDone(req: LoopbackHttpRequest): void {
    if (req !== this.current || this.closed) return;
    if (this.chunked) this.send(LAST_CHUNK.slice());
    this.current = null;
    if (this.bodyLeft !== 0) this.keepAlive = false; // a body nobody read: the connection cannot go on
    if (this.server.isClosed) this.keepAlive = false;
    if (!this.keepAlive) this.close();
    else this.pump(); // a pipelined request may be waiting
  }

  /** Answer an error the host found itself, then close. */
  private reject(status: number, reason: string): false {
    this.send(encoder.encode(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
    this.close();
    return false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.forget(this);
    const req = this.current;
    this.current = null;
    if (req !== null && !req.finished) req.failed(DkError.CONNECTION_RESET);
    if (!this.client.gone) {
      this.client.ended();
      this.client.changed();
    }
  }
}

/** A listening http.server: of the loopback network. */
export class LoopbackHttpServer extends ServerStream {
  readonly owner: number;
  private readonly unlisten: () => void;
  private readonly connections = new Set<HttpConnection>();

  constructor(owner: number, bound: SocketAddress, unlisten: () => void) {
    super(`http.server:${formatAddress(bound)}`, LISTEN_BACKLOG);
    this.owner = owner;
    this.unlisten = unlisten;
    this.listening(this.uri);
  }

  /** A client connected: the host's end of it. */
  incoming(client: LoopbackSocket, clientUri: string): LoopbackPeer {
    const c = new HttpConnection(this, client, clientUri);
    this.connections.add(c);
    return c;
  }
  forget(c: HttpConnection): void {
    this.connections.delete(c);
  }
  protected closeListener(): void {
    this.unlisten();
    // Idle connections close; one with a request in progress finishes it first.
    for (const c of [...this.connections]) if (c.idle) c.close();
  }
}
