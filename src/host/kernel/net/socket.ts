// The stream objects of network URIs, shared by every host's network driver: a connected
// socket (bytes or datagrams), a listening server, and a name lookup. A driver subclasses them
// and feeds in what its network delivers (data, end of stream, errors, connections); the
// guest-facing rules live here once:
// - Nothing blocks. A read with nothing buffered, a write the send buffer cannot take, an
//   accept with no pending connection answer WOULD_BLOCK; the readiness event of that side
//   (DkStreamGetEvent) is signalled when trying again can make progress.
// - Opening never waits either: a connect or a listen settles later. Until then reads, writes
//   and accepts answer WOULD_BLOCK and the WRITE readiness is not signalled; a failure is
//   then answered by every operation (CONNECTION_REFUSED, ADDRESS_IN_USE, ...).
// - Backpressure: incoming bytes are buffered up to RX_HIGH, then the driver is asked to pause
//   its input (node: socket.pause()) until the guest has read below RX_LOW.
// - DkStreamDelete(READ) / (WRITE) is shutdown: READ drops what is buffered and reads end of
//   stream from then on; WRITE sends end of stream to the peer (half-close). BOTH does both.

import { DkError, type DkErrorCode } from '../../../abi/errors.ts';
import { StreamSide, type DkResult, type StreamAttributes } from '../../../abi/dk.ts';
import { StreamObject, type KObject } from '../kobject.ts';
import { ReadinessHub, type ReadySource } from '../readiness.ts';
import { copyBytes } from '../bytes.ts';
import { RxQueue } from './rx-queue.ts';

/** Buffered incoming bytes above which the driver pauses its input. */
export const RX_HIGH = 256 * 1024;
/** ... and below which it resumes. */
export const RX_LOW = 64 * 1024;
/** Most bytes one write takes (the rest is the guest's to write again). */
export const TX_CHUNK = 256 * 1024;
/** Datagrams a udp: socket queues before it drops new ones (as a full socket buffer does). */
export const DGRAM_QUEUE = 256;

function socketAttributes(size: number, readable: boolean, writable: boolean, ino: bigint): StreamAttributes {
  return { kind: 'socket', size, readable, writable, dev: 0n, ino, nlink: 1n, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n };
}

let nextIno = 1n;

export abstract class SocketStream extends StreamObject implements ReadySource {
  readonly kind = 'socket';
  readonly uri: string;
  /** Bound local address, as a URI of the same scheme (attributes' localUri). */
  localUri: string | undefined;
  /** The remote end, as a URI (attributes' peerUri). */
  peerUri: string | undefined;
  protected readonly hub = new ReadinessHub(this);
  protected readonly ino = nextIno++;
  /** Each read returns one whole chunk (datagrams) instead of as many bytes as fit. */
  protected readonly datagram: boolean;

  private readonly rx = new RxQueue();
  private paused = false;
  protected connecting: boolean;
  protected failure: DkErrorCode | 0 = 0;
  protected eof = false;
  protected readShut = false;
  protected writeShut = false;
  protected released = false;

  constructor(uri: string, connecting: boolean, datagram = false) {
    super();
    this.uri = uri;
    this.connecting = connecting;
    this.datagram = datagram;
  }

  // ---- what a driver implements ----

  /** Send bytes (a view the caller may reuse: copy it). Returns how many were taken, or WOULD_BLOCK. */
  protected abstract send(data: Uint8Array): DkResult<number>;
  /** Whether send() would take bytes now. */
  protected abstract canSend(): boolean;
  /** Stop / restart delivering input (backpressure). */
  protected abstract pauseInput(): void;
  protected abstract resumeInput(): void;
  /** Half-close: end of stream to the peer once queued bytes are sent. */
  protected abstract endOutput(): void;
  /** Tear the connection down (the last reference is gone). */
  protected abstract destroy(): void;

  // ---- what a driver calls ----

  /** The connection is up. */
  opened(localUri?: string, peerUri?: string): void {
    this.connecting = false;
    if (localUri !== undefined) this.localUri = localUri;
    if (peerUri !== undefined) this.peerUri = peerUri;
    this.changed();
  }
  /**
   * Incoming bytes; `chunk` becomes the stream's (the driver must not reuse it). A datagram
   * may say where it came from (`udp:ADDR:PORT`), which a bound socket reports as peerUri.
   */
  deliver(chunk: Uint8Array, source?: string): void {
    if (this.readShut || this.released) return;
    if (chunk.length === 0 && !this.datagram) return; // (an empty datagram is a datagram)
    if (this.datagram && this.rx.count >= DGRAM_QUEUE) return;
    const wasEmpty = this.rx.count === 0;
    this.rx.push(chunk, source);
    if (!this.datagram && !this.paused && this.rx.bytes >= RX_HIGH) {
      this.paused = true;
      this.pauseInput();
    }
    if (wasEmpty) this.inputArrived();
  }
  /** Bytes arrived where there were none: wake readers (a driver may defer it, host/node/net/batch.ts). */
  protected inputArrived(): void {
    this.changed();
  }
  /** The peer sent end of stream. */
  ended(): void {
    if (this.eof) return;
    this.eof = true;
    this.changed();
  }
  /** The connection failed or broke; every later operation answers code (after buffered data). */
  failed(code: DkErrorCode): void {
    if (this.failure !== 0) return;
    this.failure = code;
    this.connecting = false;
    this.changed();
  }
  /** The send buffer has room again, or anything else that may wake a waiter changed. */
  changed(): void {
    this.hub.changed();
    this.notify();
  }

  // ---- the stream operations ----

  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.readShut) return 0;
    if (this.rx.count > 0) return this.take(buffer);
    if (this.failure !== 0) return this.failure;
    if (this.eof) return 0;
    return DkError.WOULD_BLOCK;
  }

  private take(buffer: Uint8Array): number {
    const n = this.datagram ? this.rx.takeDatagram(buffer) : this.rx.takeBytes(buffer);
    if (this.paused && this.rx.bytes <= RX_LOW) {
      this.paused = false;
      this.resumeInput();
    }
    this.inputTaken();
    return n;
  }

  /** Bytes received and not read yet. */
  get buffered(): number {
    return this.rx.bytes;
  }
  /** The source of the datagram last read (bound datagram sockets report it as peerUri). */
  protected get lastSource(): string | undefined {
    return this.rx.lastSource;
  }
  /** The guest read some input (a loopback peer may have room to send again). */
  protected inputTaken(): void {}

  override write(_offset: number, data: Uint8Array): DkResult<number> {
    if (this.writeShut) return DkError.BROKEN_PIPE;
    if (this.failure !== 0) return this.failure;
    if (this.connecting) return DkError.WOULD_BLOCK;
    if (data.length === 0) return 0; // also how a caller asks "connected yet?"
    if (!this.canSend()) return DkError.WOULD_BLOCK;
    return this.send(this.datagram || data.length <= TX_CHUNK ? data : data.subarray(0, TX_CHUNK));
  }

  override flush(): DkResult<0> {
    return 0;
  }

  override delete(side: number): DkResult<0> {
    if (side === StreamSide.READ || side === StreamSide.BOTH) {
      if (!this.readShut) {
        this.readShut = true;
        this.rx.clear();
        if (this.paused) {
          this.paused = false;
          this.resumeInput(); // what comes now is dropped by deliver()
        }
      }
    }
    if (side === StreamSide.WRITE || side === StreamSide.BOTH) {
      if (!this.writeShut) {
        this.writeShut = true;
        if (this.failure === 0) this.endOutput();
      }
    }
    this.changed();
    return 0;
  }

  isReady(side: number): boolean {
    const r = this.readShut || this.rx.count > 0 || this.eof || this.failure !== 0;
    const w = this.writeShut || this.failure !== 0 || (!this.connecting && this.canSend());
    return side === StreamSide.READ ? r : side === StreamSide.WRITE ? w : r || w;
  }
  /** Waiting on the socket handle itself waits for something to read. */
  override isSignalled(): boolean {
    return this.isReady(StreamSide.READ);
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  override attributes(): DkResult<StreamAttributes> {
    const a = socketAttributes(this.rx.bytes, !this.readShut, !this.writeShut && this.failure === 0, this.ino);
    if (this.localUri !== undefined) a.localUri = this.localUri;
    if (this.peerUri !== undefined) a.peerUri = this.peerUri;
    return a;
  }
  override release(): void {
    if (this.released) return;
    this.released = true;
    this.rx.clear();
    this.destroy();
  }
}

/** A listening socket (tcp.server:, http.server:): a queue of accepted streams. */
export abstract class ServerStream extends StreamObject implements ReadySource {
  readonly kind = 'socket';
  readonly uri: string;
  localUri: string | undefined;
  private readonly hub = new ReadinessHub(this);
  private readonly backlog: StreamObject[] = [];
  private readonly ino = nextIno++;
  private binding = true;
  private failure: DkErrorCode | 0 = 0;
  protected closed = false;
  /** Most connections queued; past it the driver refuses or holds new ones. */
  readonly backlogMax: number;

  constructor(uri: string, backlogMax: number) {
    super();
    this.uri = uri;
    this.backlogMax = backlogMax;
  }

  /** Stop listening; release queued streams. */
  protected abstract closeListener(): void;

  /** The listen succeeded: bound at localUri. */
  listening(localUri: string): void {
    this.binding = false;
    this.localUri = localUri;
    this.changed();
  }
  failed(code: DkErrorCode): void {
    this.binding = false;
    if (this.failure === 0) this.failure = code;
    this.changed();
  }
  /** A new connection for accept(); false when the backlog is full (the caller drops it). */
  enqueue(s: StreamObject): boolean {
    if (this.closed || this.backlog.length >= this.backlogMax) return false;
    this.backlog.push(s);
    if (this.backlog.length === 1) this.changed();
    return true;
  }
  get pending(): number {
    return this.backlog.length;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  private changed(): void {
    this.hub.changed();
    this.notify();
  }

  override accept(): DkResult<StreamObject> {
    if (this.failure !== 0) return this.failure;
    if (this.closed) return DkError.NOT_CONNECTED;
    const s = this.backlog.shift();
    if (s === undefined) return DkError.WOULD_BLOCK;
    this.accepted();
    return s;
  }
  /** A connection left the backlog (a driver holding connections may take one more). */
  protected accepted(): void {}

  /** READ: a connection is pending (or the listen failed). WRITE: the listen has settled. */
  isReady(side: number): boolean {
    const r = this.backlog.length > 0 || this.failure !== 0 || this.closed;
    const w = !this.binding;
    return side === StreamSide.READ ? r : side === StreamSide.WRITE ? w : r || w;
  }
  override isSignalled(): boolean {
    return this.isReady(StreamSide.READ);
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  /** A failed listen answers its error here too, so a caller can learn why. */
  override attributes(): DkResult<StreamAttributes> {
    if (this.failure !== 0) return this.failure;
    const a = socketAttributes(this.backlog.length, true, false, this.ino);
    if (this.localUri !== undefined) a.localUri = this.localUri;
    return a;
  }
  /** Any side: stop listening (the address is free again). */
  override delete(_side: number): DkResult<0> {
    this.close();
    return 0;
  }
  override release(): void {
    this.close();
  }
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.backlog.splice(0)) if (s.refs === 0) s.release();
    this.closeListener();
    this.changed();
  }
}

/** dns:NAME: pending until the lookup answers, then the addresses one per line, then end. */
export class ResolverStream extends StreamObject implements ReadySource {
  readonly kind = 'unknown';
  readonly uri: string;
  private readonly hub = new ReadinessHub(this);
  private answer: Uint8Array | null = null;
  private failure: DkErrorCode | 0 = 0;
  private pos = 0;

  constructor(uri: string) {
    super();
    this.uri = uri;
  }
  resolved(addresses: readonly string[]): void {
    if (this.answer !== null || this.failure !== 0) return;
    this.answer = new TextEncoder().encode(addresses.map((a) => a + '\n').join(''));
    this.hub.changed();
    this.notify();
  }
  failed(code: DkErrorCode): void {
    if (this.answer !== null || this.failure !== 0) return;
    this.failure = code;
    this.hub.changed();
    this.notify();
  }
  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.failure !== 0) return this.failure;
    if (this.answer === null) return DkError.WOULD_BLOCK;
    const n = Math.min(buffer.length, this.answer.length - this.pos);
    copyBytes(buffer, 0, this.answer, this.pos, n);
    this.pos += n;
    return n;
  }
  isReady(side: number): boolean {
    return side !== StreamSide.WRITE && (this.answer !== null || this.failure !== 0);
  }
  override isSignalled(): boolean {
    return this.isReady(StreamSide.READ);
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  override delete(_side: number): DkResult<0> {
    return 0;
  }
  override attributes(): DkResult<StreamAttributes> {
    return { ...socketAttributes(this.answer === null ? 0 : this.answer.length - this.pos, true, false, 0n), kind: 'unknown' };
  }
}
