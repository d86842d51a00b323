// The standard streams of a picoprocess started through the public API: stdin from bytes, a
// Node stream or later writes (a StdinFeed, as the daemon's picoprocesses have), and stdout and
// stderr collected, streamed, written to a Writable or handed to a function. The guest cannot
// be made to wait for its output, so output its embedder has not taken is bounded: past
// `maxBuffer` bytes unread the picoprocess is stopped, as child_process.exec stops a child.

import { Readable, type Writable } from 'node:stream';
import type { OutputSink, StdinSource } from '../host/kernel/host.ts';
import { StdinFeed } from '../server/stdin-feed.ts';
import { DrawbridgeError } from './errors.ts';
import type { OutputOption, StdinOption } from './options.ts';

/** Most bytes of stdin a write may leave queued for the guest at once (StdinFeed's own bound). */
const PIECE = 64 * 1024;

/** A StdinFeed that tells writers waiting for room when the guest has read. */
export class PipedStdin extends StdinFeed {
  private waiting: (() => void)[] = [];

  override read(offset: number, buffer: Uint8Array): ReturnType<StdinFeed['read']> {
    const n = super.read(offset, buffer);
    if (typeof n === 'number' && n > 0) this.wake();
    return n;
  }

  override close(): void {
    super.close();
    this.wake();
  }

  /** Queue `bytes` for the guest, waiting while more than the feed's limit would wait unread; rejects once it is closed. */
  async give(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const piece = bytes.subarray(at, at + PIECE);
      if (this.isClosed) throw new DrawbridgeError('stdio', 'stdin is closed (closeStdin was called, or the picoprocess ended)');
      if (this.feed(piece)) at += piece.length;
      else await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }
}

const encoder = new TextEncoder();
const bytesOf = (chunk: Uint8Array | string): Uint8Array => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk);

/** What startCommand gets for stdin: a source, or a feed (stdioStreams) that `pipe` writes; `pump` reads a stream into it. */
export function stdinFor(option: StdinOption | undefined, fallback: 'pipe' | 'ignore'): { source: StdinSource; feed: PipedStdin | null } {
  const o = option ?? fallback;
  if (o === 'inherit') return { source: 'inherit', feed: null };
  if (o === 'ignore') return { source: 'null', feed: null };
  if (typeof o === 'string' && o !== 'pipe') return { source: encoder.encode(o), feed: null };
  if (o instanceof Uint8Array) return { source: o, feed: null };
  const feed = new PipedStdin();
  if (o !== 'pipe') void pump(o as AsyncIterable<Uint8Array | string>, feed);
  return { source: 'null', feed };
}

/** Read a stream into the guest's stdin as it reads; end of input at its end (or its error). */
async function pump(source: AsyncIterable<Uint8Array | string>, feed: PipedStdin): Promise<void> {
  try {
    for await (const chunk of source) {
      if (feed.isClosed) break;
      await feed.give(bytesOf(chunk));
    }
  } catch {
    // The source failed, or the picoprocess ended while a write waited: end of input either way.
  } finally {
    feed.close();
  }
}

/** One output stream of a picoprocess: the sink the kernel writes to, and what the embedder reads. */
export interface Output {
  sink: OutputSink;
  /** `'pipe'` in a handle: the stream to read. */
  readable: Readable | null;
  /** `'pipe'` in run(): what was written. */
  collected(): Uint8Array;
  /** The picoprocess ended: end the readable. */
  end(): void;
}

/**
 * The output `option` asks for. `overflow` is called once when more than `maxBuffer` bytes wait
 * unread (collected, in the readable, or in a Writable's buffer).
 */
export function outputFor(option: OutputOption | undefined, mode: 'collect' | 'stream', maxBuffer: number, overflow: (unread: number) => void): Output {
  const o = option ?? 'pipe';
  const none = { readable: null, collected: () => new Uint8Array(0), end: () => {} };
  if (o === 'inherit') return { sink: 'inherit', ...none };
  if (o === 'ignore') return { sink: 'null', ...none };
  let over = false;
  const check = (unread: number) => {
    if (!over && unread > maxBuffer) {
      over = true;
      overflow(unread);
    }
  };
  if (typeof o === 'function') return { sink: (b) => o(b.slice()), ...none };
  if (o !== 'pipe') {
    const w = o as Writable;
    return {
      sink: (b) => {
        w.write(b.slice());
        check(w.writableLength);
      },
      ...none,
    };
  }
  if (mode === 'collect') {
    const chunks: Uint8Array[] = [];
    let size = 0;
    return {
      sink: (b) => {
        if (over) return;
        chunks.push(b.slice());
        size += b.length;
        check(size);
      },
      readable: null,
      collected: () => Buffer.concat(chunks),
      end: () => {},
    };
  }
  const readable = new Readable({ read() {} });
  return {
    sink: (b) => {
      if (over) return;
      readable.push(b.slice());
      check(readable.readableLength);
    },
    readable,
    collected: () => new Uint8Array(0),
    end: () => void readable.push(null),
  };
}
