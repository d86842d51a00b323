// Pipes: anonymous pairs (pipe:) and named ones (pipe.server:NAME / pipe.client:NAME).
//
// Every pipe is bidirectional, like a socketpair: each end reads what the other end writes,
// through two one-way channels. (A one-way pipe is the same thing with one half shut:
// DkStreamDelete(h, READ or WRITE).) Each channel is a bounded ring buffer: a write takes what
// fits and returns WOULD_BLOCK only when nothing fits (backpressure); a read returns what is
// there, WOULD_BLOCK when empty, and 0 (end of stream) once the writing end is shut and the
// buffer drained; a write after the reading end is gone fails with BROKEN_PIPE.
//
// A read at an offset >= 0 peeks instead of consuming (PipeEnd.read): what a checkpoint uses to
// save the contents of a pipe (docs/snapshot.md).
//
// DkStreamOpen's access bits do not narrow a pipe end: both halves stay usable until shut
// with DkStreamDelete (the LibOS enforces O_RDONLY/O_WRONLY on its descriptors).
//
// Names and pending anonymous peers are host-wide (PipeRegistry, one per host), so that
// picoprocesses of one host can connect to each other.

import { DkError } from '../../abi/errors.ts';
import { StreamSide, type DkResult, type StreamAttributes } from '../../abi/dk.ts';
import { StreamObject, type KObject } from './kobject.ts';
import { ReadinessHub, type ReadySource } from './readiness.ts';
import { copyBytes } from './bytes.ts';

export const PIPE_CAPACITY = 64 * 1024;
/** Connections a pipe server queues before clients get CONNECTION_REFUSED. */
export const PIPE_BACKLOG = 128;
export const PIPE_NAME_MAX = 255;

/** One direction: a ring buffer between a writing end and a reading end. */
class Channel {
  private readonly buf = new Uint8Array(PIPE_CAPACITY);
  private head = 0;
  length = 0;
  readerOpen = true;
  writerOpen = true;
  reader: PipeEnd | null = null;
  writer: PipeEnd | null = null;

  write(data: Uint8Array): DkResult<number> {
    if (!this.readerOpen) return DkError.BROKEN_PIPE;
    const room = PIPE_CAPACITY - this.length;
    if (data.length === 0) return 0;
    if (room === 0) return DkError.WOULD_BLOCK;
    const n = data.length < room ? data.length : room;
    let tail = this.head + this.length;
    if (tail >= PIPE_CAPACITY) tail -= PIPE_CAPACITY;
    const first = PIPE_CAPACITY - tail < n ? PIPE_CAPACITY - tail : n;
    copyBytes(this.buf, tail, data, 0, first);
    if (first < n) copyBytes(this.buf, 0, data, first, n - first);
    const wasEmpty = this.length === 0;
    this.length += n;
    // Only an empty -> non-empty change alters readiness of the reader.
    if (wasEmpty) this.reader?.changed();
    return n;
  }

  read(out: Uint8Array): DkResult<number> {
    if (this.length === 0) return this.writerOpen ? DkError.WOULD_BLOCK : 0;
    if (out.length === 0) return 0;
    const n = out.length < this.length ? out.length : this.length;
    const first = PIPE_CAPACITY - this.head < n ? PIPE_CAPACITY - this.head : n;
    copyBytes(out, 0, this.buf, this.head, first);
    if (first < n) copyBytes(out, first, this.buf, 0, n - first);
    const wasFull = this.length === PIPE_CAPACITY;
    this.head += n;
    if (this.head >= PIPE_CAPACITY) this.head -= PIPE_CAPACITY;
    this.length -= n;
    if (wasFull) this.writer?.changed();
    return n;
  }

  /** Copy what is buffered from `skip` bytes on into `out`, consuming nothing (a peek). */
  peek(skip: number, out: Uint8Array): number {
    if (skip >= this.length) return 0;
    const avail = this.length - skip;
    const n = out.length < avail ? out.length : avail;
    let from = this.head + skip;
    if (from >= PIPE_CAPACITY) from -= PIPE_CAPACITY;
    const first = PIPE_CAPACITY - from < n ? PIPE_CAPACITY - from : n;
    copyBytes(out, 0, this.buf, from, first);
    if (first < n) copyBytes(out, first, this.buf, 0, n - first);
    return n;
  }

  readReady(): boolean {
    return this.length > 0 || !this.writerOpen;
  }
  writeReady(): boolean {
    return this.length < PIPE_CAPACITY || !this.readerOpen;
  }

  shutReader(): void {
    if (!this.readerOpen) return;
    this.readerOpen = false;
    this.length = 0; // nobody will read it
    this.writer?.changed();
    this.reader?.changed();
  }
  shutWriter(): void {
    if (!this.writerOpen) return;
    this.writerOpen = false;
    this.reader?.changed();
  }
}

export class PipeEnd extends StreamObject implements ReadySource {
  readonly kind = 'pipe';
  readonly uri: string;
  readonly id: bigint;
  private readonly rx: Channel;
  private readonly tx: Channel;
  private readonly hub = new ReadinessHub(this);
  /** For the end pipe: returned, the URI that opens its peer (kept in its attributes). */
  peerUri: string | undefined;
  /** Called once when the last reference goes (the registry forgets an unclaimed peer). */
  onRelease: (() => void) | null = null;

  constructor(uri: string, id: bigint, rx: Channel, tx: Channel) {
    super();
    this.uri = uri;
    this.id = id;
    this.rx = rx;
    this.tx = tx;
    rx.reader = this;
    tx.writer = this;
  }

  /**
   * offset NO_OFFSET reads and consumes. An offset >= 0 peeks: it copies the bytes buffered for
   * this end from that offset on and consumes nothing (like PeekNamedPipe); 0 past the end.
   * That is how a checkpoint sees a pipe's contents without disturbing the program.
   */
  override read(offset: number, buffer: Uint8Array): DkResult<number> {
    if (!this.rx.readerOpen) return 0; // this end shut its reading half: nothing more comes
    if (offset >= 0) return this.rx.peek(offset, buffer);
    return this.rx.read(buffer);
  }
  override write(_offset: number, data: Uint8Array): DkResult<number> {
    if (!this.tx.writerOpen) return DkError.BROKEN_PIPE; // this end shut its writing half
    return this.tx.write(data);
  }
  override flush(): DkResult<0> {
    return 0;
  }
  override delete(side: number): DkResult<0> {
    if (side === StreamSide.READ || side === StreamSide.BOTH) this.rx.shutReader();
    if (side === StreamSide.WRITE || side === StreamSide.BOTH) this.tx.shutWriter();
    return 0;
  }
  isReady(side: number): boolean {
    const r = !this.rx.readerOpen || this.rx.readReady();
    const w = !this.tx.writerOpen || this.tx.writeReady();
    return side === StreamSide.READ ? r : side === StreamSide.WRITE ? w : r || w;
  }
  /** Waiting on the pipe handle itself waits for data to read. */
  override isSignalled(): boolean {
    return this.isReady(StreamSide.READ);
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  override attributes(): DkResult<StreamAttributes> {
    const attrs: StreamAttributes = {
      kind: 'pipe',
      size: this.rx.length,
      readable: this.rx.readerOpen,
      writable: this.tx.writerOpen,
      dev: 0n,
      ino: this.id,
      nlink: 1n,
      atimeNs: 0n,
      mtimeNs: 0n,
      ctimeNs: 0n,
    };
    if (this.peerUri !== undefined) attrs.peerUri = this.peerUri;
    attrs.peerWritable = this.rx.writerOpen;
    attrs.peerReadable = this.tx.readerOpen;
    return attrs;
  }
  /** A channel changed: wake readiness events and waiters on this end. */
  changed(): void {
    this.hub.changed();
    this.notify();
  }
  override release(): void {
    this.rx.shutReader();
    this.tx.shutWriter();
    const f = this.onRelease;
    this.onRelease = null;
    f?.();
  }
}

/** Two connected ends. */
function pair(uriA: string, uriB: string, id: bigint): [PipeEnd, PipeEnd] {
  const ab = new Channel();
  const ba = new Channel();
  return [new PipeEnd(uriA, id, ba, ab), new PipeEnd(uriB, id, ab, ba)];
}

export class PipeServer extends StreamObject implements ReadySource {
  readonly kind = 'pipe-server';
  readonly uri: string;
  readonly name: string;
  private readonly registry: PipeRegistry;
  private readonly backlog: PipeEnd[] = [];
  private readonly hub = new ReadinessHub(this);
  private closed = false;

  constructor(name: string, registry: PipeRegistry) {
    super();
    this.name = name;
    this.uri = `pipe.server:${name}`;
    this.registry = registry;
  }
  /** A client connects: queue the server's end. */
  connect(): DkResult<PipeEnd> {
    if (this.closed) return DkError.NOT_FOUND;
    if (this.backlog.length >= PIPE_BACKLOG) return DkError.CONNECTION_REFUSED;
    const [client, server] = pair(`pipe.client:${this.name}`, this.uri, this.registry.newId());
    this.backlog.push(server);
    this.hub.changed();
    this.notify();
    return client;
  }
  override accept(): DkResult<StreamObject> {
    return this.backlog.shift() ?? DkError.WOULD_BLOCK;
  }
  isReady(side: number): boolean {
    return side === StreamSide.WRITE ? false : this.backlog.length > 0;
  }
  override isSignalled(): boolean {
    return this.backlog.length > 0;
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  override attributes(): DkResult<StreamAttributes> {
    return {
      kind: 'pipe-server',
      size: this.backlog.length,
      readable: true,
      writable: false,
      dev: 0n,
      ino: 0n,
      nlink: 1n,
      atimeNs: 0n,
      mtimeNs: 0n,
      ctimeNs: 0n,
    };
  }
  /** BOTH: stop listening now (the name is free again). */
  override delete(side: number): DkResult<0> {
    if (side !== StreamSide.BOTH) return DkError.WRONG_HANDLE_TYPE;
    this.close();
    return 0;
  }
  override release(): void {
    this.close();
  }
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.registry.unlisten(this);
    // Unaccepted connections: the clients see end of stream / BROKEN_PIPE.
    for (const end of this.backlog.splice(0)) end.release();
    this.hub.changed();
  }
}

/** Host-wide names of pipe servers and unclaimed ends of anonymous pipes. */
export class PipeRegistry {
  private readonly servers = new Map<string, PipeServer>();
  private readonly unclaimed = new Map<string, PipeEnd>();
  private nextAnon = 1;
  private nextId = 1n;

  /** Pipe identities (their inode numbers), per host so a deterministic host stays so. */
  newId(): bigint {
    return this.nextId++;
  }

  static checkName(name: string): DkResult<0> {
    if (name.length === 0) return DkError.INVALID_ARGUMENT;
    if (name.length > PIPE_NAME_MAX) return DkError.NAME_TOO_LONG;
    return 0;
  }

  listen(name: string): DkResult<PipeServer> {
    const bad = PipeRegistry.checkName(name);
    if (bad !== 0) return bad;
    if (this.servers.has(name)) return DkError.ALREADY_EXISTS;
    const server = new PipeServer(name, this);
    this.servers.set(name, server);
    return server;
  }
  unlisten(server: PipeServer): void {
    if (this.servers.get(server.name) === server) this.servers.delete(server.name);
  }
  server(name: string): PipeServer | undefined {
    return this.servers.get(name);
  }
  connect(name: string): DkResult<PipeEnd> {
    const bad = PipeRegistry.checkName(name);
    if (bad !== 0) return bad;
    const server = this.servers.get(name);
    return server ? server.connect() : DkError.NOT_FOUND;
  }

  /**
   * pipe: makes a pair and returns one end; its peerUri (pipe:peer/N) opens the other end
   * exactly once. If the returned end goes away first, the peer is forgotten (NOT_FOUND).
   */
  anonymous(): PipeEnd {
    const key = `peer/${this.nextAnon++}`;
    const peerUri = `pipe:${key}`;
    const [mine, peer] = pair('pipe:', peerUri, this.newId());
    mine.peerUri = peerUri;
    this.unclaimed.set(key, peer);
    mine.onRelease = () => {
      const p = this.unclaimed.get(key);
      if (p) {
        this.unclaimed.delete(key);
        p.release();
      }
    };
    return mine;
  }
  /** Open the other end of an anonymous pipe by the rest of its URI ("peer/N"). */
  claim(key: string): DkResult<PipeEnd> {
    const peer = this.unclaimed.get(key);
    if (!peer) return DkError.NOT_FOUND;
    this.unclaimed.delete(key);
    return peer;
  }
}
