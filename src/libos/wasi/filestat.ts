// The filestat record (64 bytes) and time updates, shared by fd_* and path_* calls.

import type { AttributesUpdate, StreamAttributes } from '../../abi/dk.ts';
import { Errno, Fstflags } from '../core/constants.ts';
import type { GuestMemory } from '../core/memory.ts';
import { filetypeOf } from '../core/fds.ts';

export function writeFilestat(mem: GuestMemory, ptr: number, a: StreamAttributes): void {
  mem.refresh();
  mem.bytes(ptr, 64).fill(0);
  mem.setU64(ptr, a.dev);
  mem.setU64(ptr + 8, a.ino);
  mem.setU8(ptr + 16, filetypeOf(a));
  mem.setU64(ptr + 24, a.nlink);
  mem.setU64(ptr + 32, BigInt(a.size));
  mem.setU64(ptr + 40, a.atimeNs);
  mem.setU64(ptr + 48, a.mtimeNs);
  mem.setU64(ptr + 56, a.ctimeNs);
}

/** The filestat of stdio, as wasmtime reports it: only the file type. */
export function writeStdioFilestat(mem: GuestMemory, ptr: number, filetype: number): void {
  mem.refresh();
  mem.bytes(ptr, 64).fill(0);
  mem.setU8(ptr + 16, filetype);
}

/** fst_flags to a Dk attributes update; EINVAL when a time is both given and "now". */
export function timesUpdate(atim: bigint, mtim: bigint, flags: number): AttributesUpdate | number {
  if ((flags & Fstflags.ATIM && flags & Fstflags.ATIM_NOW) || (flags & Fstflags.MTIM && flags & Fstflags.MTIM_NOW)) {
    return Errno.INVAL;
  }
  if (flags & ~0xf) return Errno.INVAL;
  const update: AttributesUpdate = {};
  if (flags & Fstflags.ATIM) update.atimeNs = atim;
  else if (flags & Fstflags.ATIM_NOW) update.atimeNs = 'now';
  if (flags & Fstflags.MTIM) update.mtimeNs = mtim;
  else if (flags & Fstflags.MTIM_NOW) update.mtimeNs = 'now';
  return update;
}
