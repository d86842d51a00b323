// The descriptor table of the library OS: WASI fd numbers to open descriptions (and the
// filetype a description of a host stream has).
//
// Numbering follows wasmtime exactly, so programs that print or compare fds see the same
// numbers: a closed number is reused highest-first; otherwise the next after the highest
// in use.

import type { Handle, StreamAttributes } from '../../abi/dk.ts';
import { Filetype } from './constants.ts';

export type DescKind = 'stdin' | 'stdout' | 'stderr' | 'file' | 'directory' | 'stream';

/** An open description: what a descriptor refers to, with its position and flags. */
export interface Description {
  kind: DescKind;
  handle: Handle;
  /** Absolute guest path (directories: the base for path_* calls; files: where it was opened). */
  guestPath: string;
  /** The pre-open name for pre-opened directories, else null. */
  preopen: string | null;
  filetype: number;
  position: number;
  /** O_APPEND and O_NONBLOCK (fd_fdstat_set_flags); of a shared description, the last seen. */
  append: boolean;
  nonblocking: boolean;
  readable: boolean;
  writable: boolean;
  /**
   * A file or stream whose open file description is shared with another picoprocess (after a
   * fork, as POSIX says): its position (files) and its file status flags live in the host
   * stream, where either process sees what the other changed. Reads and writes use NO_OFFSET
   * (the host appends when APPEND is set); seek and tell go through the stream's position
   * attribute, O_APPEND and O_NONBLOCK through its statusFlags (WasiState.statusFlags).
   */
  shared?: boolean;
}

/** The WASI filetype of a stream of these attributes. */
export function filetypeOf(attrs: StreamAttributes): number {
  switch (attrs.kind) {
    case 'file':
      return Filetype.REGULAR_FILE;
    case 'directory':
      return Filetype.DIRECTORY;
    case 'symlink':
      return Filetype.SYMBOLIC_LINK;
    case 'char-device':
      return Filetype.CHARACTER_DEVICE;
    case 'socket':
      return Filetype.SOCKET_STREAM;
    default:
      return Filetype.UNKNOWN; // pipes: preview1 has no FIFO type (wasmtime: unknown)
  }
}

export class FdTable {
  private readonly used = new Map<number, Description>();
  private readonly free: number[] = []; // ascending

  get(fd: number): Description | undefined {
    return this.used.get(fd);
  }

  add(desc: Description): number {
    const fd = this.free.length > 0 ? this.free.pop()! : this.highestUsed() + 1;
    this.place(fd, desc);
    return fd;
  }

  /** Remove fd from the table; returns its description (the caller closes the handle). */
  remove(fd: number): Description | undefined {
    const desc = this.used.get(fd);
    if (!desc) return undefined;
    this.used.delete(fd);
    this.insertFree(fd);
    return desc;
  }

  /** Move `from` to `to`; returns what was at `to` (to be closed), as fd_renumber does. */
  renumber(from: number, to: number): Description | undefined {
    const desc = this.used.get(from)!;
    if (from === to) return undefined;
    const old = this.used.get(to);
    this.used.delete(from);
    this.insertFree(from);
    const i = this.free.indexOf(to);
    if (i >= 0) this.free.splice(i, 1);
    this.place(to, desc);
    return old;
  }

  *entries(): IterableIterator<[number, Description]> {
    yield* this.used.entries();
  }

  private place(fd: number, desc: Description): void {
    this.used.set(fd, desc);
  }

  private highestUsed(): number {
    let max = -1;
    for (const fd of this.used.keys()) if (fd > max) max = fd;
    return max;
  }

  private insertFree(fd: number): void {
    let i = this.free.length;
    while (i > 0 && this.free[i - 1]! > fd) i--;
    this.free.splice(i, 0, fd);
  }
}
