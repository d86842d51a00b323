// Descriptor calls other than the data path: fdstat, filestat, prestat, close, renumber,
// sync, advise, allocate. Error choices follow wasmtime's preview1 (crates/wasi preview1.rs).

import { StatusFlag } from '../../abi/dk.ts';
import { isDkError } from '../../abi/errors.ts';
import { Errno, Fdflags, Rights } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { Description } from '../core/fds.ts';
import { timesUpdate, writeFilestat, writeStdioFilestat } from './filestat.ts';
import { encodeUtf8 } from '../core/memory.ts';
import type { WasiState } from '../core/state.ts';
import { GuestError } from '../core/throws.ts';

const ALL = (1n << 30n) - 1n;

/** Rights a pre-opened directory reports (wasmtime's hard-coded set, expected by userlands). */
const PREOPEN_BASE =
  Rights.PATH_CREATE_DIRECTORY |
  Rights.PATH_CREATE_FILE |
  Rights.PATH_LINK_SOURCE |
  Rights.PATH_LINK_TARGET |
  Rights.PATH_OPEN |
  Rights.FD_READDIR |
  Rights.PATH_READLINK |
  Rights.PATH_RENAME_SOURCE |
  Rights.PATH_RENAME_TARGET |
  Rights.PATH_SYMLINK |
  Rights.PATH_REMOVE_DIRECTORY |
  Rights.PATH_UNLINK_FILE |
  Rights.PATH_FILESTAT_GET |
  Rights.PATH_FILESTAT_SET_TIMES |
  Rights.FD_FILESTAT_GET |
  Rights.FD_FILESTAT_SET_TIMES;
const PREOPEN_INHERITING =
  PREOPEN_BASE |
  Rights.FD_DATASYNC |
  Rights.FD_READ |
  Rights.FD_SEEK |
  Rights.FD_FDSTAT_SET_FLAGS |
  Rights.FD_SYNC |
  Rights.FD_TELL |
  Rights.FD_WRITE |
  Rights.FD_ADVISE |
  Rights.FD_ALLOCATE |
  Rights.FD_FILESTAT_GET |
  Rights.FD_FILESTAT_SET_SIZE |
  Rights.FD_FILESTAT_SET_TIMES |
  Rights.POLL_FD_READWRITE;

function isStdio(d: Description): boolean {
  return d.kind === 'stdin' || d.kind === 'stdout' || d.kind === 'stderr';
}

export function fdCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;

  function file(fd: number): Description | number {
    const d = os.fds.get(fd);
    return d && d.kind === 'file' ? d : Errno.BADF;
  }

  return {
    fd_advise(fd: number, _offset: bigint, _len: bigint, advice: number): number {
      if (advice >>> 0 > 5) throw new GuestError(`invalid advice ${advice >>> 0}`);
      const d = file(fd);
      return typeof d === 'number' ? d : Errno.SUCCESS;
    },

    fd_allocate(fd: number, _offset: bigint, _len: bigint): number {
      const d = file(fd);
      return typeof d === 'number' ? d : Errno.NOTSUP;
    },

    fd_close(fd: number): number {
      const d = os.fds.remove(fd);
      if (!d) return Errno.BADF;
      if (d.handle) os.closeHandle(d.handle);
      return Errno.SUCCESS;
    },

    fd_datasync(fd: number): number {
      const d = file(fd);
      if (typeof d === 'number') return d;
      const r = dk.streamFlush(d.handle);
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },

    fd_sync(fd: number): number {
      const d = file(fd);
      if (typeof d === 'number') return d;
      const r = dk.streamFlush(d.handle);
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },

    fd_fdstat_get(fd: number, ptr: number): number {
      const d = os.fds.get(fd);
      if (!d) return Errno.BADF;
      let base: bigint;
      let inheriting: bigint;
      let flags = 0;
      if (d.kind === 'stdin') base = inheriting = Rights.FD_READ;
      else if (d.kind === 'stdout' || d.kind === 'stderr') base = inheriting = Rights.FD_WRITE;
      else if (d.preopen !== null) {
        base = PREOPEN_BASE;
        inheriting = PREOPEN_INHERITING;
      } else {
        base = ALL;
        if (d.kind === 'directory') base &= ~(Rights.FD_SEEK | Rights.FD_FILESTAT_SET_SIZE | Rights.PATH_FILESTAT_SET_SIZE);
        if (!d.readable) base &= ~(Rights.FD_READ | Rights.FD_READDIR);
        if (!d.writable) base &= ~Rights.FD_WRITE;
        inheriting = base;
        // Of a description shared with a fork, the host stream's: the other side may have set them.
        const status = os.statusFlags(d);
        if (status & StatusFlag.APPEND) flags |= Fdflags.APPEND;
        if (status & StatusFlag.NONBLOCK) flags |= Fdflags.NONBLOCK;
      }
      mem.refresh();
      mem.bytes(ptr, 24).fill(0);
      mem.setU8(ptr, d.filetype);
      mem.setU16(ptr + 2, flags);
      mem.setU64(ptr + 8, base);
      mem.setU64(ptr + 16, inheriting);
      return Errno.SUCCESS;
    },

    fd_fdstat_set_flags(fd: number, flags: number): number {
      const d = os.fds.get(fd);
      if (!d || (d.kind !== 'file' && d.kind !== 'stream')) return Errno.BADF;
      if (flags & (Fdflags.DSYNC | Fdflags.SYNC | Fdflags.RSYNC)) return Errno.INVAL;
      const append = (flags & Fdflags.APPEND) !== 0 && d.kind === 'file';
      const nonblocking = (flags & Fdflags.NONBLOCK) !== 0;
      if (d.shared) {
        // Shared with a fork: the flags belong to the open description, the host stream.
        const statusFlags = (append ? StatusFlag.APPEND : 0) | (nonblocking ? StatusFlag.NONBLOCK : 0);
        const r = dk.streamAttributesSetByHandle(d.handle, { statusFlags });
        if (isDkError(r)) return errnoOf(r);
      }
      d.append = append;
      d.nonblocking = nonblocking;
      return Errno.SUCCESS;
    },

    fd_fdstat_set_rights(fd: number, _base: bigint, _inheriting: bigint): number {
      // wasmtime 49 keeps no rights since preview1 moved onto preview2: it refuses to change them.
      return os.fds.get(fd) ? Errno.NOTSUP : Errno.BADF;
    },

    fd_filestat_get(fd: number, ptr: number): number {
      const d = os.fds.get(fd);
      if (!d) return Errno.BADF;
      if (isStdio(d)) {
        writeStdioFilestat(mem, ptr, d.filetype);
        return Errno.SUCCESS;
      }
      const a = os.attrs(d);
      if (typeof a === 'number') return a;
      writeFilestat(mem, ptr, a);
      return Errno.SUCCESS;
    },

    fd_filestat_set_size(fd: number, size: bigint): number {
      const d = file(fd);
      if (typeof d === 'number') return d;
      if (!d.writable) return Errno.INVAL;
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) return Errno.FBIG;
      const r = dk.streamSetLength(d.handle, Number(size));
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },

    fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, fstFlags: number): number {
      const update = timesUpdate(atim, mtim, fstFlags);
      if (typeof update === 'number') return update;
      const d = os.fds.get(fd);
      if (!d || (d.kind !== 'file' && d.kind !== 'directory')) return Errno.BADF;
      const r = dk.streamAttributesSetByHandle(d.handle, update);
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },

    fd_prestat_get(fd: number, ptr: number): number {
      const d = os.fds.get(fd);
      if (!d || d.preopen === null) return Errno.BADF;
      mem.refresh();
      mem.setU32(ptr, 0);
      mem.setU32(ptr + 4, encodeUtf8(d.preopen).length);
      return Errno.SUCCESS;
    },

    fd_prestat_dir_name(fd: number, pathPtr: number, pathLen: number): number {
      const d = os.fds.get(fd);
      if (!d) return Errno.BADF;
      if (d.preopen === null) return Errno.NOTDIR;
      const name = encodeUtf8(d.preopen);
      if (name.length > pathLen) return Errno.NAMETOOLONG;
      mem.refresh();
      mem.write(pathPtr, name);
      return Errno.SUCCESS;
    },

    fd_renumber(from: number, to: number): number {
      if (!os.fds.get(from) || !os.fds.get(to)) return Errno.BADF;
      const old = os.fds.renumber(from, to);
      if (old?.handle) os.closeHandle(old.handle);
      return Errno.SUCCESS;
    },
  };
}
