// A bounded record of one output stream of a picoprocess (its stdout or stderr), kept by the
// daemon so that `drawbridge logs` can show it and follow it.
//
// It keeps the last `capacity` bytes and counts every byte ever written, so a reader asks
// "from offset N" and learns what was dropped in between (older bytes than the ring holds).
// Memory is taken as output comes, in the chunks the guest wrote (copied), never up front:
// a thousand idle picoprocesses that wrote nothing cost a thousand empty arrays, not a
// thousand 64 KiB buffers.
//
// Followers get each chunk as it is appended and a call with null when the stream ends.

export const DEFAULT_OUTPUT_CAPACITY = 64 * 1024;

export type Follower = (chunk: Uint8Array | null) => void;

export class OutputRing {
  readonly capacity: number;
  private chunks: Uint8Array[] = [];
  private held = 0;
  /** Bytes ever appended (the offset just past the last byte). */
  total = 0;
  ended = false;
  private followers: Set<Follower> | null = null;

  constructor(capacity = DEFAULT_OUTPUT_CAPACITY) {
    this.capacity = capacity;
  }

  /** Offset of the oldest byte still held. */
  get start(): number {
    return this.total - this.held;
  }

  /** Start where another ring (of a picoprocess that moved here) was: its bytes held from offset `from`. */
  seed(from: number, bytes: Uint8Array): void {
    this.total = from;
    this.append(bytes);
  }

  append(bytes: Uint8Array): void {
    if (this.ended || bytes.length === 0) return;
    if (this.capacity === 0) {
      // A counter only (a pool worker, whose output is kept by the main thread's ring).
      this.total += bytes.length;
      if (this.followers) for (const f of this.followers) f(bytes);
      return;
    }
    // Keep at most `capacity` of a big write (its tail).
    const kept = bytes.length > this.capacity ? bytes.slice(bytes.length - this.capacity) : bytes.slice();
    this.chunks.push(kept);
    this.held += kept.length;
    this.total += bytes.length;
    while (this.held > this.capacity) {
      const first = this.chunks[0]!;
      const excess = this.held - this.capacity;
      if (first.length <= excess) {
        this.chunks.shift();
        this.held -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.held -= excess;
      }
    }
    if (this.followers) for (const f of this.followers) f(bytes);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.followers) for (const f of this.followers) f(null);
    this.followers = null;
  }

  /** The bytes held from `from` on (clamped to what is held); `dropped`: bytes lost before them. */
  read(from = 0): { bytes: Uint8Array; from: number; dropped: number } {
    const begin = Math.max(from, this.start);
    const skip = begin - this.start;
    const out = new Uint8Array(Math.max(0, this.held - skip));
    let at = 0;
    let pos = 0;
    for (const c of this.chunks) {
      const lo = Math.max(0, skip - pos);
      if (lo < c.length) {
        out.set(c.subarray(lo), at);
        at += c.length - lo;
      }
      pos += c.length;
    }
    return { bytes: out, from: begin, dropped: Math.max(0, begin - Math.max(0, from)) };
  }

  /** Get every later chunk as it comes; null once the stream ends. Returns the unsubscribe. */
  follow(f: Follower): () => void {
    if (this.ended) {
      f(null);
      return () => {};
    }
    (this.followers ??= new Set()).add(f);
    return () => void this.followers?.delete(f);
  }
}
