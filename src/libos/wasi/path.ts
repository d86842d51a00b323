// path_* calls: open, create and remove directories, unlink, rename, links, stat, times.
// Paths are joined onto the directory descriptor's guest path here (with cap-std's lexical
// checks) and go down as guest URIs; the monitor maps them onto the manifest's mounts and
// resolves symbolic links inside them.

import { Access, Create, OpenOption, QueryOption, StreamSide, type Handle } from '../../abi/dk.ts';
import { isDkError } from '../../abi/errors.ts';
import { Errno, Fdflags, Lookupflags, Oflags, Rights } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import { timesUpdate, writeFilestat } from './filestat.ts';
import { encodeUtf8 } from '../core/memory.ts';
import { filetypeOf } from '../core/fds.ts';
import { resolveIn, resolvePath, type ResolvedPath as Resolved } from '../core/paths.ts';
import type { WasiState } from '../core/state.ts';

export function pathCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;

  function resolve(dirfd: number, ptr: number, len: number): Resolved | number {
    return resolvePath(os, dirfd, ptr, len);
  }

  /** Open the entry itself (no data access) for delete, rename, set-times. */
  function openEntry(p: Resolved, follow: boolean): Handle | number {
    const h = dk.streamOpen('file:' + p.path, 0, 0, OpenOption.PATH_ONLY | (follow ? 0 : OpenOption.NO_FOLLOW));
    return isDkError(h) ? -errnoOf(h) : h;
  }

  function kindOf(h: Handle): string | number {
    const a = dk.streamAttributesQueryByHandle(h);
    return isDkError(a) ? -errnoOf(a) : a.kind;
  }

  function withEntry(p: Resolved, follow: boolean, fn: (h: Handle, kind: string) => number): number {
    const h = openEntry(p, follow);
    if (h < 0) return -h;
    try {
      const kind = kindOf(h);
      if (typeof kind === 'number') return -kind;
      return fn(h, kind);
    } finally {
      dk.objectClose(h);
    }
  }

  return {
    path_open(
      dirfd: number,
      dirflags: number,
      pathPtr: number,
      pathLen: number,
      oflags: number,
      rightsBase: bigint,
      _rightsInheriting: bigint,
      fdflags: number,
      fdPtr: number,
    ): number {
      const dir = os.fds.get(dirfd);
      if (!dir) return Errno.BADF;
      if (dir.kind !== 'directory') return dir.kind === 'file' ? Errno.NOTDIR : Errno.BADF;
      const p = resolveIn(os, dir, pathPtr, pathLen);
      if (typeof p === 'number') return p;
      if (oflags & ~0xf) return Errno.INVAL;
      if (fdflags & (Fdflags.DSYNC | Fdflags.SYNC | Fdflags.RSYNC)) return Errno.NOTSUP;
      const wantDir = (oflags & Oflags.DIRECTORY) !== 0 || p.trailingSlash;
      if (wantDir && oflags & Oflags.CREAT) return Errno.INVAL;
      let access = 0;
      if (rightsBase & Rights.FD_READ) access |= Access.READ;
      if (rightsBase & Rights.FD_WRITE) access |= Access.WRITE;
      let create = 0;
      if (oflags & Oflags.CREAT) create |= Create.CREATE;
      if (oflags & Oflags.EXCL && oflags & Oflags.CREAT) create |= Create.EXCLUSIVE;
      if (oflags & Oflags.TRUNC) create |= Create.TRUNCATE;
      let options = 0;
      if (!(dirflags & Lookupflags.SYMLINK_FOLLOW)) options |= OpenOption.NO_FOLLOW;
      if (wantDir) options |= OpenOption.DIRECTORY;
      const h = dk.streamOpen('file:' + p.path, access, create, options);
      if (isDkError(h)) return errnoOf(h);
      const a = dk.streamAttributesQueryByHandle(h);
      if (isDkError(a)) {
        dk.objectClose(h);
        return errnoOf(a);
      }
      const isDir = a.kind === 'directory';
      if (wantDir && !isDir) {
        dk.objectClose(h);
        return Errno.NOTDIR;
      }
      const fd = os.fds.add({
        kind: isDir ? 'directory' : 'file',
        handle: h,
        guestPath: p.path.replace(/\/+$/, '') || '/',
        preopen: null,
        filetype: filetypeOf(a),
        position: 0,
        append: !isDir && (fdflags & Fdflags.APPEND) !== 0,
        nonblocking: (fdflags & Fdflags.NONBLOCK) !== 0,
        readable: (access & Access.READ) !== 0,
        writable: (access & Access.WRITE) !== 0,
      });
      mem.refresh();
      mem.setU32(fdPtr, fd);
      return Errno.SUCCESS;
    },

    path_create_directory(dirfd: number, pathPtr: number, pathLen: number): number {
      const p = resolve(dirfd, pathPtr, pathLen);
      if (typeof p === 'number') return p;
      const h = dk.streamOpen('dir:' + p.path, 0, Create.CREATE | Create.EXCLUSIVE, 0);
      if (isDkError(h)) return errnoOf(h);
      dk.objectClose(h);
      return Errno.SUCCESS;
    },

    path_remove_directory(dirfd: number, pathPtr: number, pathLen: number): number {
      const p = resolve(dirfd, pathPtr, pathLen);
      if (typeof p === 'number') return p;
      // rmdir(".") is EINVAL on Linux and in wasmtime, whatever "." is.
      if (/(^|\/)\.\/*$/.test(p.path)) return Errno.INVAL;
      return withEntry(p, false, (h, kind) => {
        if (kind !== 'directory') return Errno.NOTDIR;
        const r = dk.streamDelete(h, StreamSide.BOTH);
        return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
      });
    },

    path_unlink_file(dirfd: number, pathPtr: number, pathLen: number): number {
      const p = resolve(dirfd, pathPtr, pathLen);
      if (typeof p === 'number') return p;
      return withEntry(p, false, (h, kind) => {
        if (kind === 'directory') return Errno.ISDIR;
        if (p.trailingSlash) return Errno.NOTDIR;
        const r = dk.streamDelete(h, StreamSide.BOTH);
        return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
      });
    },

    path_rename(fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
      const from = resolve(fd, oldPtr, oldLen);
      if (typeof from === 'number') return from;
      const to = resolve(newFd, newPtr, newLen);
      if (typeof to === 'number') return to;
      return withEntry(from, false, (h, kind) => {
        if (kind !== 'directory' && (from.trailingSlash || to.trailingSlash)) return Errno.NOTDIR;
        const r = dk.streamRename(h, 'file:' + to.path);
        return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
      });
    },

    path_link(oldFd: number, oldFlags: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
      // Linking what a symbolic link points to is not offered (wasmtime: EINVAL).
      if (oldFlags & Lookupflags.SYMLINK_FOLLOW) return Errno.INVAL;
      const from = resolve(oldFd, oldPtr, oldLen);
      if (typeof from === 'number') return from;
      const to = resolve(newFd, newPtr, newLen);
      if (typeof to === 'number') return to;
      if (from.trailingSlash || to.trailingSlash) {
        const a = dk.streamAttributesQuery('file:' + from.path, QueryOption.NO_FOLLOW);
        if (isDkError(a)) return errnoOf(a);
        if (a.kind === 'directory') return Errno.PERM;
        if (from.trailingSlash) return Errno.NOTDIR;
        // "new/" names a directory that a link to a file cannot be (wasmtime: ENOENT, or EEXIST if it exists).
        const b = dk.streamAttributesQuery('file:' + to.path, QueryOption.NO_FOLLOW);
        return isDkError(b) ? Errno.NOENT : Errno.EXIST;
      }
      const src = dk.streamAttributesQuery('file:' + from.path, QueryOption.NO_FOLLOW);
      if (isDkError(src)) return errnoOf(src);
      if (src.kind === 'directory') return Errno.PERM;
      const r = dk.streamLinkCreate('file:' + to.path, 'file:' + from.path, false);
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },

    path_symlink(oldPtr: number, oldLen: number, dirfd: number, newPtr: number, newLen: number): number {
      mem.refresh();
      const target = mem.string(oldPtr, oldLen);
      if (target === null) return Errno.ILSEQ;
      if (target.includes('\0')) return Errno.INVAL;
      // cap-std refuses a link that would lead out of the directory tree from anywhere.
      if (target.startsWith('/')) return Errno.PERM;
      const link = resolve(dirfd, newPtr, newLen);
      if (typeof link === 'number') return link;
      if (link.trailingSlash) {
        const a = dk.streamAttributesQuery('file:' + link.path, QueryOption.NO_FOLLOW);
        return isDkError(a) ? Errno.NOENT : Errno.EXIST;
      }
      const r = dk.streamLinkCreate('file:' + link.path, target, true);
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },

    path_readlink(dirfd: number, pathPtr: number, pathLen: number, buf: number, bufLen: number, bufusedPtr: number): number {
      const p = resolve(dirfd, pathPtr, pathLen);
      if (typeof p === 'number') return p;
      const a = dk.streamAttributesQuery('file:' + p.path, QueryOption.NO_FOLLOW);
      if (isDkError(a)) return errnoOf(a);
      if (a.kind !== 'symlink' || a.linkTarget === undefined) return Errno.INVAL;
      const bytes = encodeUtf8(a.linkTarget).subarray(0, bufLen);
      mem.refresh();
      mem.write(buf, bytes);
      mem.setU32(bufusedPtr, bytes.length);
      return Errno.SUCCESS;
    },

    path_filestat_get(dirfd: number, flags: number, pathPtr: number, pathLen: number, ptr: number): number {
      const p = resolve(dirfd, pathPtr, pathLen);
      if (typeof p === 'number') return p;
      const follow = (flags & Lookupflags.SYMLINK_FOLLOW) !== 0;
      const a = dk.streamAttributesQuery('file:' + p.path, follow ? 0 : QueryOption.NO_FOLLOW);
      if (isDkError(a)) return errnoOf(a);
      writeFilestat(mem, ptr, a);
      return Errno.SUCCESS;
    },

    path_filestat_set_times(dirfd: number, flags: number, pathPtr: number, pathLen: number, atim: bigint, mtim: bigint, fstFlags: number): number {
      const update = timesUpdate(atim, mtim, fstFlags);
      if (typeof update === 'number') return update;
      const p = resolve(dirfd, pathPtr, pathLen);
      if (typeof p === 'number') return p;
      return withEntry(p, (flags & Lookupflags.SYMLINK_FOLLOW) !== 0, (h) => {
        const r = dk.streamAttributesSetByHandle(h, update);
        return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
      });
    },
  };
}
