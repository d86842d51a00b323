// Coalescing of the host's real stdout/stderr when they are not terminals.
//
// One write(2) through node:fs costs several times what the rest of a guest's fd_write costs
// (docs/performance.md, "Output buffering and lazy built-ins"), and programs that write a byte
// or a line at a time (or a C program whose stdout is unbuffered) would pay it per call.
// When fd 1 or 2 is a pipe or a file, guest writes are copied into one host buffer and
// written in one call when:
//   - the buffer is full (64 KiB), or a write goes to the other stream (stdout and stderr
//     stay in the order the guest wrote them);
//   - the event loop turns (setImmediate): whenever a guest waits, sleeps or ends;
//   - a picoprocess flushes (DkStreamFlush) or lets go of the stream, and at process exit.
// A terminal is written through at once: an interactive user sees every byte as it comes.
// So is a write that comes when nothing went out for WRITE_THROUGH_AFTER_MS (with what was
// pending): the first line of a run, or a progress line now and then, is not held back until
// the guest next waits (time to first output), while a burst of small writes is coalesced.
// Nothing acknowledged is dropped: a full pipe (EAGAIN) keeps the bytes and reports
// WOULD_BLOCK for new ones until they are out.

import { writeSync } from 'node:fs';
import { isTerminal } from './lazy-builtins.ts';

const CAPACITY = 64 * 1024;
const WRITE_THROUGH_AFTER_MS = 20;

export type WriteOutcome = number | 'again' | { error: unknown };

class OutputCoalescer {
  private readonly buf = new Uint8Array(CAPACITY);
  private len = 0;
  private fd = 0;
  private scheduled = false;
  private readonly terminal = new Map<number, boolean>();
  /** Date.now() of the last write(2). */
  private lastOut = 0;
  /** The last flush could not write everything (EAGAIN): new bytes must wait. */
  stalled = false;

  constructor() {
    process.on('exit', () => this.flushAll());
  }

  private isTerminal(fd: number): boolean {
    let t = this.terminal.get(fd);
    if (t === undefined) this.terminal.set(fd, (t = isTerminal(fd)));
    return t;
  }

  write(fd: number, data: Uint8Array): WriteOutcome {
    const quiet = Date.now() - this.lastOut >= WRITE_THROUGH_AFTER_MS;
    if (this.len > 0 && (quiet || this.fd !== fd || this.len + data.length > CAPACITY)) {
      const r = this.flush();
      if (r !== 0) return r;
    }
    if (this.isTerminal(fd) || data.length >= CAPACITY || quiet) {
      if (this.len > 0) return 'again';
      try {
        this.lastOut = Date.now();
        return writeSync(fd, data);
      } catch (e) {
        return isAgain(e) ? 'again' : { error: e };
      }
    }
    this.buf.set(data, this.len);
    this.len += data.length;
    this.fd = fd;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onTick);
    }
    return data.length;
  }

  private readonly onTick = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** Write out what is pending: 0 when done, 'again' when the fd is full, or the error. */
  flush(): 0 | 'again' | { error: unknown } {
    let off = 0;
    if (this.len > 0) this.lastOut = Date.now();
    try {
      while (off < this.len) off += writeSync(this.fd, this.buf, off, this.len - off);
      this.len = 0;
      this.stalled = false;
      return 0;
    } catch (e) {
      this.buf.copyWithin(0, off, this.len);
      this.len -= off;
      if (isAgain(e)) {
        this.stalled = true;
        return 'again';
      }
      // The reader is gone (EPIPE) or the fd is closed: nothing more can be delivered.
      this.len = 0;
      return { error: e };
    }
  }

  flushAll(): void {
    for (let i = 0; i < 1000 && this.len > 0; i++) if (this.flush() !== 'again') break;
  }

  pendingFor(fd: number): number {
    return this.fd === fd ? this.len : 0;
  }
}

function isAgain(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e ? (e as { code: unknown }).code : '';
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

export const output = new OutputCoalescer();

/** Write out whatever guests wrote to the real stdout/stderr (the CLI calls it before its own messages). */
export function flushInheritedOutput(): void {
  output.flushAll();
}
