// What a socket has received and the guest has not read yet: a queue of chunks the driver
// handed over (Node's Buffers, a loopback peer's copies), taken without copying them again.
// Byte mode: a read takes as many bytes as fit, across chunks. Datagram mode: a read takes
// one whole chunk (cut to the buffer, the rest lost, as recv() cuts) and reports where it
// came from.
//
// Not shared with pipes.ts: a pipe copies the writer's bytes (guest memory, reused at once)
// into a fixed ring with no allocation, while a socket's chunks are already the host's and
// are queued as they are; one class for both would add a copy here or an allocation there.

import { copyBytes } from '../bytes.ts';

const EMPTY = new Uint8Array(0);

export class RxQueue {
  private readonly chunks: Uint8Array[] = [];
  /** Datagram mode: the source URI of each chunk (parallel to chunks). */
  private readonly sources: (string | undefined)[] = [];
  private head = 0;
  /** Bytes queued. */
  bytes = 0;
  /** Datagram mode: the source of the datagram last taken. */
  lastSource: string | undefined;

  get count(): number {
    return this.chunks.length - this.head;
  }

  push(chunk: Uint8Array, source?: string): void {
    this.chunks.push(chunk);
    if (source !== undefined || this.sources.length !== 0) this.sources[this.chunks.length - 1] = source;
    this.bytes += chunk.length;
  }

  /** Byte mode: fill buffer from the front of the queue; returns bytes taken. */
  takeBytes(buffer: Uint8Array): number {
    let n = 0;
    while (n < buffer.length && this.bytes > 0) {
      const c = this.chunks[this.head]!;
      const k = Math.min(c.length, buffer.length - n);
      copyBytes(buffer, n, c, 0, k);
      n += k;
      this.bytes -= k;
      if (k === c.length) this.chunks[this.head++] = EMPTY;
      else this.chunks[this.head] = c.subarray(k);
    }
    this.compact();
    return n;
  }

  /** Datagram mode: one datagram into buffer (cut to fit); returns bytes copied. */
  takeDatagram(buffer: Uint8Array): number {
    const d = this.chunks[this.head]!;
    const n = Math.min(d.length, buffer.length);
    copyBytes(buffer, 0, d, 0, n);
    this.lastSource = this.sources[this.head];
    this.chunks[this.head] = EMPTY;
    this.sources[this.head] = undefined;
    this.head++;
    this.bytes -= d.length;
    this.compact();
    return n;
  }

  clear(): void {
    this.chunks.length = 0;
    this.sources.length = 0;
    this.head = 0;
    this.bytes = 0;
  }

  /** Drop the taken slots once they are most of the array. */
  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      if (this.sources.length !== 0) this.sources.splice(0, this.head);
      this.head = 0;
    }
  }
}
