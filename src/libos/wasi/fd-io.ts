// fd_read, fd_write, fd_pread, fd_pwrite, fd_seek, fd_tell: the data path.
//
// These are the hot calls. A regular file is read and written in place, straight between
// guest memory and the host (positional reads and writes; the position lives here, in the
// library OS, so a checkpoint sees it). Streams that can be empty or full (stdin, pipes,
// stdout on a full pipe) answer WOULD_BLOCK: the call then waits on the stream's event and
// is issued again from the start, so nothing happens twice. On a non-blocking descriptor the
// answer is EAGAIN, through os.wouldBlock (a spinning guest still lets the event loop turn).

import { NO_OFFSET, StreamSide } from '../../abi/dk.ts';
import { DkError, isDkError } from '../../abi/errors.ts';
import { Errno, Whence } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { Description } from '../core/fds.ts';
import type { WasiState } from '../core/state.ts';
import { GuestFault } from '../core/memory.ts';
import { GuestError } from '../core/throws.ts';
import { RETRY } from '../core/wait.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** The most one write copies from several iovecs (see gather): a datagram's most, 64 KiB. */
const GATHER_MAX = 65536;
const NO_BYTES = new Uint8Array(0);

export function fdIoCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;

  /** Read a file at `offset` into the iovecs; returns bytes read or -errno. */
  function readFileAt(desc: Description, iovs: number, iovsLen: number, offset: number): number {
    let total = 0;
    for (let i = 0; i < iovsLen; i++) {
      const ptr = mem.u32(iovs + 8 * i);
      const len = mem.u32(iovs + 8 * i + 4);
      if (len === 0) continue;
      // NO_OFFSET: at the stream's own (shared) position, which the host advances.
      const n = dk.streamRead(desc.handle, offset === NO_OFFSET ? NO_OFFSET : offset + total, mem.bytes(ptr, len));
      if (isDkError(n)) return total > 0 ? total : -errnoOf(n);
      total += n;
      if (n < len) break;
    }
    return total;
  }

  /** One read from a stream without position into the first non-empty iovec. */
  function readStream(desc: Description, iovs: number, iovsLen: number, nreadPtr: number): number {
    mem.refresh();
    for (let i = 0; i < iovsLen; i++) {
      const ptr = mem.u32(iovs + 8 * i);
      const len = mem.u32(iovs + 8 * i + 4);
      if (len === 0) continue;
      const n = dk.streamRead(desc.handle, NO_OFFSET, mem.bytes(ptr, len));
      if (n === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
      if (isDkError(n)) return errnoOf(n);
      mem.refresh();
      mem.setU32(nreadPtr, n);
      return Errno.SUCCESS;
    }
    mem.setU32(nreadPtr, 0);
    return Errno.SUCCESS;
  }

  /**
   * The iovecs of one write as one buffer: a view of guest memory when there is one non-empty
   * iovec, else a copy of them into the scratch buffer, of at most GATHER_MAX bytes. Past that
   * (or past a first iovec bigger than it, which goes alone, uncopied) the write is short, as
   * writev may be and as wasmtime's is (it writes the first non-empty iovec only): iovecs may
   * name the same memory again and again, and their sum must not decide what the host holds.
   * Every iovec is checked against memory, written or not. With `whole` (a datagram, which is
   * sent whole or not at all) null instead of a short write.
   */
  function gather(iovs: number, iovsLen: number, whole: boolean): Uint8Array | null {
    let first: Uint8Array | null = null;
    let total = 0;
    let count = 0;
    let full = false;
    for (let i = 0; i < iovsLen; i++) {
      const ptr = mem.u32(iovs + 8 * i);
      const len = mem.u32(iovs + 8 * i + 4);
      if (len === 0) continue;
      if (first === null) {
        first = mem.bytes(ptr, len);
        total = len;
        count = 1;
        continue;
      }
      if (ptr + len > mem.u8.length) throw new GuestFault(`${len} bytes at ${ptr}`);
      if (full || total + len > GATHER_MAX) {
        full = true;
        continue;
      }
      count++;
      total += len;
    }
    if (full && whole) return null;
    if (count <= 1) return first ?? NO_BYTES;
    if (os.scratch.length < total) os.scratch = new Uint8Array(Math.min(GATHER_MAX, Math.max(total, os.scratch.length * 2)));
    const out = os.scratch.subarray(0, total);
    let at = 0;
    for (let i = 0; i < iovsLen && at < total; i++) {
      const len = mem.u32(iovs + 8 * i + 4);
      if (len === 0) continue;
      out.set(mem.bytes(mem.u32(iovs + 8 * i), len), at);
      at += len;
    }
    return out;
  }

  /** One write of the gathered iovecs to a stream without position. */
  function writeStream(desc: Description, iovs: number, iovsLen: number, nwrittenPtr: number): number {
    mem.refresh();
    const data = gather(iovs, iovsLen, os.sockets.get(desc)?.type === 'dgram');
    if (data === null) return Errno.MSGSIZE; // no datagram is this big (UDP: 65 507 bytes at most)
    if (data.length === 0) {
      mem.setU32(nwrittenPtr, 0);
      return Errno.SUCCESS;
    }
    const n = dk.streamWrite(desc.handle, NO_OFFSET, data);
    if (n === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
    if (isDkError(n)) return errnoOf(n);
    mem.refresh();
    mem.setU32(nwrittenPtr, n);
    return Errno.SUCCESS;
  }

  /** Write the iovecs to a file at `offset`; bytes written or -errno. */
  function writeFileAt(desc: Description, iovs: number, iovsLen: number, offset: number): number {
    const data = gather(iovs, iovsLen, false)!;
    if (data.length === 0) return 0;
    const n = dk.streamWrite(desc.handle, offset, data);
    return isDkError(n) ? -errnoOf(n) : n;
  }

  function fileSize(desc: Description): number {
    const a = dk.streamAttributesQueryByHandle(desc.handle);
    return isDkError(a) ? desc.position : a.size;
  }

  /** Where a descriptor is: its own position, or the shared one of its host stream (fork). */
  function positionOf(desc: Description): number {
    if (!desc.shared) return desc.position;
    const a = dk.streamAttributesQueryByHandle(desc.handle);
    return isDkError(a) || a.position === undefined ? desc.position : a.position;
  }

  function setPosition(desc: Description, pos: number): void {
    if (desc.shared) dk.streamAttributesSetByHandle(desc.handle, { position: pos });
    else desc.position = pos;
  }

  function toOffset(offset: bigint): number {
    return offset > MAX_SAFE ? -1 : Number(offset);
  }

  return {
    fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number): number | Promise<number> {
      const desc = os.fds.get(fd);
      if (!desc) return Errno.BADF;
      if (desc.kind === 'file') {
        if (!desc.readable) return Errno.BADF;
        mem.refresh();
        const n = readFileAt(desc, iovs, iovsLen, desc.shared ? NO_OFFSET : desc.position);
        if (n < 0) return -n;
        if (!desc.shared) desc.position += n;
        mem.refresh();
        mem.setU32(nreadPtr, n);
        return Errno.SUCCESS;
      }
      if (desc.kind !== 'stdin' && desc.kind !== 'stream') return Errno.BADF;
      const r = readStream(desc, iovs, iovsLen, nreadPtr);
      if (r === Errno.AGAIN) return os.wouldBlock(r, () => readStream(desc, iovs, iovsLen, nreadPtr));
      if (r !== RETRY) return r;
      return os.waitAndRetry(desc.handle, StreamSide.READ, () => readStream(desc, iovs, iovsLen, nreadPtr));
    },

    fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
      const desc = os.fds.get(fd);
      if (!desc) return Errno.BADF;
      if (desc.kind === 'stdin' || desc.kind === 'stream') return Errno.SPIPE;
      if (desc.kind !== 'file' || !desc.readable) return Errno.BADF;
      const at = toOffset(offset);
      if (at < 0) return Errno.INVAL;
      mem.refresh();
      const n = readFileAt(desc, iovs, iovsLen, at);
      if (n < 0) return -n;
      mem.refresh();
      mem.setU32(nreadPtr, n);
      return Errno.SUCCESS;
    },

    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number | Promise<number> {
      const desc = os.fds.get(fd);
      if (!desc) return Errno.BADF;
      if (desc.kind === 'file') {
        if (!desc.writable) return Errno.BADF;
        mem.refresh();
        // Append is done here, not by the host, so that fd_fdstat_set_flags can turn it on
        // and off: the write goes at the current end of the file. A shared description (fork)
        // writes at the host stream's position, and the host appends if its APPEND flag is set.
        const at = desc.shared ? NO_OFFSET : desc.append ? fileSize(desc) : desc.position;
        const n = writeFileAt(desc, iovs, iovsLen, at);
        if (n < 0) return -n;
        if (at !== NO_OFFSET) setPosition(desc, at + n);
        mem.refresh();
        mem.setU32(nwrittenPtr, n);
        return Errno.SUCCESS;
      }
      if (desc.kind !== 'stdout' && desc.kind !== 'stderr' && desc.kind !== 'stream') return Errno.BADF;
      const r = writeStream(desc, iovs, iovsLen, nwrittenPtr);
      if (r === Errno.AGAIN) return os.wouldBlock(r, () => writeStream(desc, iovs, iovsLen, nwrittenPtr));
      if (r !== RETRY) return r;
      return os.waitAndRetry(desc.handle, StreamSide.WRITE, () => writeStream(desc, iovs, iovsLen, nwrittenPtr));
    },

    fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
      const desc = os.fds.get(fd);
      if (!desc) return Errno.BADF;
      if (desc.kind === 'stdout' || desc.kind === 'stderr' || desc.kind === 'stream') return Errno.SPIPE;
      if (desc.kind !== 'file' || !desc.writable) return Errno.BADF;
      const at = toOffset(offset);
      if (at < 0) return Errno.INVAL;
      mem.refresh();
      // Linux pwrite semantics, as wasmtime: in append mode the offset is ignored (for a shared
      // description, by the host, which holds its APPEND flag).
      const n = writeFileAt(desc, iovs, iovsLen, desc.append && !desc.shared ? fileSize(desc) : at);
      if (n < 0) return -n;
      mem.refresh();
      mem.setU32(nwrittenPtr, n);
      return Errno.SUCCESS;
    },

    fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
      if (whence >>> 0 > Whence.END) throw new GuestError(`invalid whence ${whence >>> 0}`);
      const desc = os.fds.get(fd);
      if (!desc) return Errno.BADF;
      if (desc.kind !== 'file') return desc.kind === 'directory' ? Errno.BADF : Errno.SPIPE;
      let pos: bigint;
      if (whence === Whence.SET && offset >= 0n) pos = offset;
      else if (whence === Whence.CUR) pos = BigInt(positionOf(desc)) + offset;
      else if (whence === Whence.END) pos = BigInt(fileSize(desc)) + offset;
      else return Errno.INVAL;
      if (pos < 0n) return Errno.INVAL;
      if (pos > MAX_SAFE) return Errno.OVERFLOW;
      setPosition(desc, Number(pos));
      mem.refresh();
      mem.setU64(newOffsetPtr, pos);
      return Errno.SUCCESS;
    },

    fd_tell(fd: number, offsetPtr: number): number {
      const desc = os.fds.get(fd);
      if (!desc) return Errno.BADF;
      if (desc.kind !== 'file') return desc.kind === 'directory' ? Errno.BADF : Errno.SPIPE;
      mem.refresh();
      mem.setU64(offsetPtr, BigInt(positionOf(desc)));
      return Errno.SUCCESS;
    },
  };
}
