// Reading the migration wire (migrate.ts) with every bound a peer could push on: a line is
// refused past its maximum length (searched for its newline once, in the chunks as they come,
// so a long line costs its length and not its length squared), a connection past its total
// bytes, and a wait past its idle time. A failure ends the reads with one MigrationError.

import type { Socket } from 'node:net';

export class MigrationError extends Error {}

export class FrameReader {
  private chunks: Buffer[] = [];
  /** Bytes in `chunks`. */
  private length = 0;
  /** How many of those were searched for a newline already. */
  private scanned = 0;
  private waiting: (() => void) | null = null;
  private ended = false;
  private failure: MigrationError | null = null;
  private received = 0;
  private discarding = false;
  /** The peer sent more than `limit`: the reads end once the buffer is used up. */
  private over = false;
  /** Most bytes the peer may send on this connection, from its start. */
  limit: number;
  /** Longest wait for the next bytes, in ms. */
  idleMs: number;

  private readonly socket: Socket;

  constructor(socket: Socket, limit: number, idleMs: number) {
    this.socket = socket;
    this.limit = limit;
    this.idleMs = idleMs;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.end());
    socket.on('close', () => this.end());
    socket.on('error', () => this.end());
  }

  private onData(d: Buffer): void {
    this.received += d.length;
    if (this.discarding) {
      // What comes after a refusal is dropped, up to a bound; then the connection is cut.
      if (this.received > this.limit) this.socket.destroy();
      return;
    }
    if (this.failure || this.over) return;
    // The chunk that crosses the limit is kept (a read may find its line in it, or say which
    // line was too long); nothing after it.
    this.over = this.received > this.limit;
    this.chunks.push(d);
    this.length += d.length;
    this.wake();
  }

  private end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  /** End the reads (a pending one and every later one) with `error`. */
  fail(error: MigrationError): void {
    if (this.failure) return;
    this.failure = error;
    this.chunks = [];
    this.length = 0;
    this.wake();
  }

  /** Drop everything from now on; past `budget` more bytes, cut the connection. */
  discard(budget: number): void {
    this.fail(new MigrationError('the connection was closed'));
    this.discarding = true;
    this.limit = this.received + budget;
  }

  private async more(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.over) this.fail(new MigrationError(`the peer sent more than ${this.limit} bytes`));
    if (this.failure) throw this.failure;
    if (this.ended) throw new MigrationError('the connection closed early');
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.waiting = resolve;
      timer = setTimeout(() => this.fail(new MigrationError(`no data for ${this.idleMs / 1000} s`)), this.idleMs);
    });
    clearTimeout(timer);
    if (this.failure) throw this.failure;
  }

  /** The first `n` buffered bytes, removed from the buffer (a copy of its own). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafeSlow(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    this.scanned = Math.max(0, this.scanned - n);
    return out;
  }

  /** The offset of the first buffered newline, searching only bytes not searched before; -1 if none. */
  private newline(): number {
    let start = 0;
    for (const c of this.chunks) {
      const end = start + c.length;
      if (end > this.scanned) {
        const i = c.indexOf(10, Math.max(0, this.scanned - start));
        if (i >= 0) return start + i;
      }
      start = end;
    }
    this.scanned = this.length;
    return -1;
  }

  /** The next line (without its newline) as text; refused past `max` bytes. */
  async line(max: number, what = 'a line'): Promise<string> {
    for (;;) {
      const nl = this.newline();
      if (nl > max || (nl < 0 && this.length > max)) {
        this.fail(new MigrationError(`${what} is longer than ${max} bytes`));
        throw this.failure;
      }
      if (nl >= 0) return this.take(nl + 1).toString('utf8', 0, nl);
      await this.more();
    }
  }

  /** The next line as JSON; refused past `max` bytes or when it is not JSON. */
  async json<T>(max: number, what = 'a line'): Promise<T> {
    const text = await this.line(max, what);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new MigrationError(`${what} is not JSON`);
    }
  }

  /** Exactly `n` bytes. */
  async bytes(n: number): Promise<Buffer> {
    while (this.length < n) await this.more();
    return this.take(n);
  }
}

export const line = (o: unknown): string => JSON.stringify(o) + '\n';
