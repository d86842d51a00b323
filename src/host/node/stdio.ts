// The real standard streams of the Node.js process, for picoprocesses whose stdio is 'inherit'.
//
// stdin must never block the event loop: a regular file on fd 0 is read with readSync (it
// cannot block); anything else (TTY, pipe, socket) is read asynchronously through
// process.stdin into a buffer, and a read with nothing buffered answers WOULD_BLOCK while the
// READ readiness event waits for data. process.stdin flows only while a guest wants data
// (a WOULD_BLOCK read, a readiness event) and pauses when the buffer is full, so an idle
// stdin never keeps the host alive.
//
// stdout/stderr go through output-buffer.ts: written at once to a terminal, coalesced into
// few writes to a pipe or file (in order with each other). A non-blocking fd that is full
// (EAGAIN) answers WOULD_BLOCK; the WRITE readiness event is set again after a short
// back-off, when the write is worth retrying.

import { fstatSync, readSync, type Stats } from 'node:fs';
import { output } from './output-buffer.ts';
import { isTerminal } from './lazy-builtins.ts';
import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import { StreamSide, type DkResult, type StreamAttributes, type StreamKind } from '../../abi/dk.ts';
import { StreamObject, type KObject } from '../kernel/kobject.ts';
import { ReadinessHub, type ReadySource } from '../kernel/readiness.ts';
import { copyBytes } from '../kernel/bytes.ts';

/** Buffered stdin bytes before process.stdin is paused. */
const STDIN_HIGH_WATER = 64 * 1024;
/** Back-off before a full stdout/stderr is worth writing again. */
const OUTPUT_RETRY_MS = 2;

function errnoCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
}
function mapIoError(e: unknown): DkErrorCode {
  switch (errnoCode(e)) {
    case 'EAGAIN':
    case 'EWOULDBLOCK':
      return DkError.WOULD_BLOCK;
    case 'EPIPE':
      return DkError.BROKEN_PIPE;
    case 'EBADF':
      return DkError.BAD_HANDLE;
    case 'EINTR':
      return DkError.INTERRUPTED;
    case 'ENOSPC':
      return DkError.NO_SPACE;
    case 'EACCES':
    case 'EPERM':
      return DkError.ACCESS_DENIED;
    default:
      return DkError.IO_ERROR;
  }
}
function statOf(fd: number): Stats | null {
  try {
    return fstatSync(fd);
  } catch {
    return null; // closed fd: behaves as null:
  }
}
function kindOf(st: Stats | null): StreamKind {
  if (st === null) return 'char-device';
  if (st.isFile()) return 'file';
  if (st.isFIFO()) return 'pipe';
  if (st.isSocket()) return 'socket';
  return 'char-device';
}
function attributesOf(fd: number, readable: boolean, writable: boolean, size: number): StreamAttributes {
  const st = statOf(fd);
  const ns = (ms: number | undefined): bigint => BigInt(Math.round((ms ?? 0) * 1e6));
  return {
    kind: kindOf(st),
    terminal: st !== null && isTerminal(fd, st),
    size: st?.isFile() ? st.size : size,
    readable,
    writable,
    dev: BigInt(st?.dev ?? 0),
    ino: BigInt(st?.ino ?? 0),
    nlink: BigInt(st?.nlink ?? 1),
    atimeNs: ns(st?.atimeMs),
    mtimeNs: ns(st?.mtimeMs),
    ctimeNs: ns(st?.ctimeMs),
  };
}

export class InheritedStdin extends StreamObject implements ReadySource {
  readonly kind = 'char-device';
  readonly uri = 'stdin:';
  private readonly mode: 'file' | 'stream' | 'closed';
  private readonly chunks: Uint8Array[] = [];
  private head = 0; // read position in chunks[0]
  private buffered = 0;
  private ended = false;
  private failed: DkErrorCode | 0 = 0;
  private listening = false;
  private readonly hub = new ReadinessHub(this);

  constructor() {
    super();
    const st = statOf(0);
    this.mode = st === null ? 'closed' : st.isFile() ? 'file' : 'stream';
    this.hub.onDemand = () => this.want();
  }

  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.mode === 'file') {
      try {
        return readSync(0, buffer, 0, buffer.length, null);
      } catch (e) {
        return mapIoError(e);
      }
    }
    if (this.mode === 'closed') return 0;
    if (this.buffered === 0) {
      if (this.ended) return 0;
      if (this.failed !== 0) return this.failed;
      this.want();
      return DkError.WOULD_BLOCK;
    }
    let n = 0;
    while (n < buffer.length && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length - this.head, buffer.length - n);
      copyBytes(buffer, n, c, this.head, take);
      n += take;
      this.head += take;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.buffered -= n;
    if (this.buffered === 0) this.hub.changed();
    return n;
  }
  isReady(side: number): boolean {
    if (side === StreamSide.WRITE) return false;
    return this.mode !== 'stream' || this.buffered > 0 || this.ended || this.failed !== 0;
  }
  override isSignalled(): boolean {
    return this.isReady(StreamSide.READ);
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  override attributes(): DkResult<StreamAttributes> {
    return attributesOf(0, true, false, this.buffered);
  }
  /** A guest wants data: let process.stdin flow. */
  private want(): void {
    if (this.mode !== 'stream' || this.ended || this.failed !== 0) return;
    if (!this.listening) {
      this.listening = true;
      process.stdin.on('data', this.onData);
      process.stdin.on('end', this.onEnd);
      process.stdin.on('error', this.onError);
    }
    if (this.buffered < STDIN_HIGH_WATER) process.stdin.resume();
  }
  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    if (bytes.length === 0) return;
    const wasEmpty = this.buffered === 0;
    this.chunks.push(bytes);
    this.buffered += bytes.length;
    if (this.buffered >= STDIN_HIGH_WATER) process.stdin.pause();
    if (wasEmpty) this.changed();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.changed();
  };
  private readonly onError = (e: unknown): void => {
    this.failed = mapIoError(e);
    this.changed();
  };
  private changed(): void {
    this.hub.changed();
    this.notify();
  }
  /** Every picoprocess let go: stop reading (buffered bytes stay for the next one). */
  override release(): void {
    if (this.listening && this.mode === 'stream') process.stdin.pause();
  }
}

export class InheritedOutput extends StreamObject implements ReadySource {
  readonly kind = 'char-device';
  readonly uri: string;
  private readonly fd: 1 | 2;
  private blocked = false;
  private readonly hub = new ReadinessHub(this);

  constructor(fd: 1 | 2) {
    super();
    this.fd = fd;
    this.uri = fd === 1 ? 'stdout:' : 'stderr:';
  }
  override write(_offset: number, data: Uint8Array): DkResult<number> {
    if (this.blocked) return DkError.WOULD_BLOCK;
    if (data.length === 0) return 0;
    const r = output.write(this.fd, data);
    if (typeof r === 'number') return r;
    if (r === 'again') {
      this.blocked = true;
      setTimeout(this.unblock, OUTPUT_RETRY_MS);
      return DkError.WOULD_BLOCK;
    }
    return mapIoError(r.error);
  }
  private readonly unblock = (): void => {
    if (output.stalled && output.flush() === 'again') {
      setTimeout(this.unblock, OUTPUT_RETRY_MS);
      return;
    }
    this.blocked = false;
    this.hub.changed();
    this.notify();
  };
  override flush(): DkResult<0> {
    const r = output.flush();
    return r === 0 ? 0 : r === 'again' ? DkError.WOULD_BLOCK : mapIoError(r.error);
  }
  override release(): void {
    output.flushAll();
  }
  isReady(side: number): boolean {
    return side !== StreamSide.READ && !this.blocked;
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  override attributes(): DkResult<StreamAttributes> {
    return attributesOf(this.fd, false, true, 0);
  }
}
