// The Node host's file system: node:fs synchronous calls on the real file system, errno
// codes mapped to DkError codes. Every call catches: the host never throws on guest input.
//
// Limits of node:fs, documented rather than hidden:
// - Times are set through utimes/futimes/lutimes, which take seconds as a double: a time is
//   kept to about a quarter of a microsecond, not to the nanosecond. A time left unchanged
//   (null) is read back with stat and written again, with the same rounding.
// - readdir gives no inode numbers: each entry is lstat'ed for its ino.
// - Files are opened with O_NONBLOCK so a FIFO can never block the event loop at open;
//   openFileStream then refuses FIFOs and sockets (NOT_SUPPORTED). A character device that
//   has nothing to give (a terminal) answers WOULD_BLOCK; its event is always set, as for files.
// - Names are strings: node:fs decodes a directory entry that is not valid UTF-8 lossily
//   (U+FFFD), and such an entry cannot be opened by the name readdir gave.
// - readable/writable of a path query come from access(2): two more system calls.
//
// A path marked with its root (abi/uri.ts: "ROOT/./REST", what the monitor sends) is resolved
// beneath ROOT without a race: ROOT is opened once and held; each directory of REST is opened
// with O_DIRECTORY|O_NOFOLLOW relative to the descriptor of its parent, through
// /proc/PID/fd/N/NAME (Linux's openat, since node:fs has none); a symbolic link on the way is
// read relative to its directory and followed only while it stays beneath ROOT (an absolute
// target, or '..' above ROOT, is NOT_CAPABLE); the operation then acts on /proc/PID/fd/DIR/NAME
// and never follows a last link the walk did not check. So a directory swapped for a link at
// any moment leads nowhere outside ROOT: the kernel itself enforces what the walk decided.

import * as fs from 'node:fs';
import type { DirEntry, DkResult, StreamKind } from '../../abi/dk.ts';
import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import { splitBeneath } from '../../abi/uri.ts';
import { nodeChildProcess } from './lazy-builtins.ts';
import { OpenFlag, type FileStat, type FileSystem, type FileTime } from '../kernel/files/files.ts';

const ERRNO: Record<string, DkErrorCode> = {
  ENOENT: DkError.NOT_FOUND,
  EEXIST: DkError.ALREADY_EXISTS,
  EACCES: DkError.ACCESS_DENIED,
  EPERM: DkError.ACCESS_DENIED,
  ENOTDIR: DkError.NOT_A_DIRECTORY,
  EISDIR: DkError.IS_A_DIRECTORY,
  ENOTEMPTY: DkError.DIRECTORY_NOT_EMPTY,
  ENAMETOOLONG: DkError.NAME_TOO_LONG,
  ELOOP: DkError.SYMLINK_LOOP,
  EXDEV: DkError.CROSS_DEVICE,
  ENOSPC: DkError.NO_SPACE,
  EDQUOT: DkError.NO_SPACE,
  EROFS: DkError.READ_ONLY,
  EFBIG: DkError.FILE_TOO_LARGE,
  EINVAL: DkError.INVALID_ARGUMENT,
  EBADF: DkError.BAD_HANDLE,
  EBUSY: DkError.BUSY,
  EAGAIN: DkError.WOULD_BLOCK,
  EINTR: DkError.INTERRUPTED,
  EOVERFLOW: DkError.OVERFLOW,
  ENOTSUP: DkError.NOT_SUPPORTED,
  EOPNOTSUPP: DkError.NOT_SUPPORTED,
  ENOMEM: DkError.NO_MEMORY,
};

/** The DkError for anything node:fs threw: an errno, or Node's own argument errors. */
export function dkErrorOf(e: unknown): DkErrorCode {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return DkError.IO_ERROR;
  const mapped = ERRNO[code];
  if (mapped !== undefined) return mapped;
  // ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE, ...: Node refused the argument before any syscall.
  if (code.startsWith('ERR_')) return DkError.INVALID_ARGUMENT;
  return DkError.IO_ERROR;
}

const C = fs.constants;
const STAT_BIGINT = { bigint: true } as const;

function kindOf(st: fs.BigIntStats | fs.Dirent): StreamKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isFIFO()) return 'pipe';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

function toFileStat(st: fs.BigIntStats): FileStat {
  return {
    kind: kindOf(st),
    size: Number(st.size),
    dev: st.dev,
    ino: st.ino,
    nlink: st.nlink,
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

/** Seconds as node:fs wants them (a double: for present-day times its step is 2^-22 s, about 240 ns). */
function seconds(t: bigint): number {
  return Number(t / 1_000_000_000n) + Number(t % 1_000_000_000n) / 1e9;
}

/** Both times for a utimes-like call: 'now' is the wall clock, null keeps what stat says. */
function timesFor(atime: FileTime, mtime: FileTime, current: () => fs.BigIntStats): [number, number] {
  const now = Date.now() / 1000;
  let st: fs.BigIntStats | undefined;
  const pick = (t: FileTime, which: 'atimeNs' | 'mtimeNs'): number => {
    if (t === 'now') return now;
    if (t !== null) return seconds(t);
    st ??= current();
    return seconds(st[which]);
  };
  return [pick(atime, 'atimeNs'), pick(mtime, 'mtimeNs')];
}

/**
 * node:fs sets times from a double of seconds, which cannot carry every nanosecond (see
 * seconds(): a time may land up to half a step off). When the time that landed is not the
 * one asked for, set it exactly with coreutils' touch, which takes nanoseconds (rare:
 * explicit times only).
 */
function exactTimes(path: string, noFollow: boolean, atime: FileTime, mtime: FileTime, stat: () => fs.BigIntStats): void {
  const st = stat();
  const fix: [string, bigint][] = [];
  if (typeof atime === 'bigint' && st.atimeNs !== atime) fix.push(['-a', atime]);
  if (typeof mtime === 'bigint' && st.mtimeNs !== mtime) fix.push(['-m', mtime]);
  for (const [flag, t] of fix) {
    if (t < 0n) continue;
    const date = `@${t / 1_000_000_000n}.${(t % 1_000_000_000n).toString().padStart(9, '0')}`;
    nodeChildProcess().spawnSync('touch', ['-c', flag, ...(noFollow ? ['-h'] : []), `--date=${date}`, '--', path], { stdio: 'ignore' });
  }
}

/** A directory's entries, with their inode numbers (readdir gives none: each entry is lstat'ed). */
function listDir(path: string): DirEntry[] {
  const entries: DirEntry[] = [];
  const base = path.endsWith('/') ? path : path + '/';
  for (const d of fs.readdirSync(path, { withFileTypes: true })) {
    let ino: bigint;
    try {
      ino = fs.lstatSync(base + d.name, STAT_BIGINT).ino;
    } catch (e) {
      if (dkErrorOf(e) === DkError.NOT_FOUND) continue; // removed meanwhile: no longer an entry
      throw e;
    }
    entries.push({ name: d.name, kind: kindOf(d), ino });
  }
  return entries;
}

/** utimes (follow) or lutimes of a path, to the nanosecond (exactTimes). Throws node:fs errors. */
function setPathTimes(path: string, follow: boolean, atime: FileTime, mtime: FileTime): 0 {
  const stat = () => (follow ? fs.statSync(path, STAT_BIGINT) : fs.lstatSync(path, STAT_BIGINT));
  // A time that stays must stay to the nanosecond: keep what stat said before.
  const before = atime === null || mtime === null ? stat() : null;
  const [a, m] = timesFor(atime, mtime, () => before!);
  if (follow) fs.utimesSync(path, a, m);
  else fs.lutimesSync(path, a, m);
  exactTimes(path, !follow, atime ?? before!.atimeNs, mtime ?? before!.mtimeNs, stat);
  return 0;
}

/** Linux's MAXSYMLINKS: more links in one walk is a loop. */
const MAX_SYMLINKS = 40;
/** Roots held open at once (one per mount in use); the oldest is closed past this. */
const MAX_ROOTS = 64;

/** A name in a held directory, as a path the kernel resolves from that descriptor (openat). */
function at(dirFd: number, name: string): string {
  return `/proc/${process.pid}/fd/${dirFd}/${name}`;
}

/** Where a walk beneath a root ended: the held directory and the last name ('.' for itself). */
interface Place {
  dir: number;
  name: string;
  /** Descriptors the walk opened: closed by the caller once the operation is done. */
  opened: number[];
}

export class NodeFileSystem implements FileSystem {
  /** Roots opened once, by path (trusted as the manifest wrote them: links in them are followed). */
  private readonly roots = new Map<string, number>();

  private rootFd(root: string): number {
    let fd = this.roots.get(root);
    if (fd !== undefined) {
      // Still the directory the root names? One replaced by whoever owns the host is taken anew.
      const held = fs.fstatSync(fd, STAT_BIGINT);
      const now = fs.statSync(root, { bigint: true, throwIfNoEntry: false });
      if (now !== undefined && now.ino === held.ino && now.dev === held.dev) return fd;
      this.roots.delete(root);
      fs.closeSync(fd);
    }
    fd = fs.openSync(root, C.O_RDONLY | C.O_DIRECTORY);
    if (this.roots.size >= MAX_ROOTS) {
      const [oldest, oldFd] = this.roots.entries().next().value!;
      this.roots.delete(oldest);
      fs.closeSync(oldFd);
    }
    this.roots.set(root, fd);
    return fd;
  }

  /**
   * Walks REST of a marked path beneath its root (see the top of this file); followLast: follow a
   * symbolic link in the last component (still beneath the root). Throws node:fs errors or a DkError.
   */
  private walk(root: string, rest: string, followLast: boolean): Place {
    const opened: number[] = [];
    try {
      const dirs = [this.rootFd(root)];
      const todo = rest
        .split('/')
        .filter((c) => c !== '' && c !== '.')
        .reverse();
      // A trailing slash wants a directory: the last name is then checked as one.
      const slash = rest.endsWith('/') && todo.length > 0;
      let links = 0;
      while (todo.length > 0) {
        const name = todo.pop()!;
        if (name === '..') {
          if (dirs.length === 1) throw DkError.NOT_CAPABLE;
          dirs.pop();
          continue;
        }
        const dir = dirs[dirs.length - 1]!;
        const isLast = todo.length === 0;
        if (isLast && !followLast && !slash) return { dir, name, opened };
        let fd: number;
        try {
          fd = fs.openSync(at(dir, name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (isLast && code === 'ENOENT') return { dir, name, opened };
          if (code !== 'ENOTDIR' && code !== 'ELOOP') throw e;
          const st = fs.lstatSync(at(dir, name));
          if (!st.isSymbolicLink()) {
            if (isLast && !slash) return { dir, name, opened };
            throw DkError.NOT_A_DIRECTORY;
          }
          if (isLast && !followLast) return { dir, name, opened }; // "link/": the caller's call says what it is
          if (++links > MAX_SYMLINKS) throw DkError.SYMLINK_LOOP;
          const target = fs.readlinkSync(at(dir, name), 'utf8');
          if (target.startsWith('/')) throw DkError.NOT_CAPABLE; // the host cannot know what it means beneath the root
          if (target === '') throw DkError.NOT_FOUND;
          const body = target.split('/').filter((c) => c !== '' && c !== '.');
          for (let i = body.length - 1; i >= 0; i--) todo.push(body[i]!);
          continue;
        }
        opened.push(fd);
        dirs.push(fd);
      }
      return { dir: dirs[dirs.length - 1]!, name: '.', opened };
    } catch (e) {
      for (const fd of opened) fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * Runs op on the path a FileSystem call names: as it is, or, for a path marked with its root,
   * on /proc/PID/fd/DIR/NAME after a walk beneath the root. Returns op's result or a DkError.
   */
  private on<T>(path: string, followLast: boolean, op: (p: string, beneath: boolean) => T): DkResult<T> {
    const split = splitBeneath(path);
    if (split === null) {
      try {
        return op(path, false) as DkResult<T>;
      } catch (e) {
        return dkErrorOf(e);
      }
    }
    let place: Place;
    try {
      place = this.walk(split.root, split.rest, followLast);
    } catch (e) {
      return typeof e === 'number' ? (e as DkErrorCode) : dkErrorOf(e);
    }
    try {
      return op(at(place.dir, place.name), true) as DkResult<T>;
    } catch (e) {
      return dkErrorOf(e);
    } finally {
      for (const fd of place.opened) fs.closeSync(fd);
    }
  }

  stat(path: string): DkResult<FileStat> {
    // Beneath a root the walk has followed every link: the last name is no link it did not check.
    return this.on(path, true, (p, beneath) => toFileStat(beneath ? fs.lstatSync(p, STAT_BIGINT) : fs.statSync(p, STAT_BIGINT)));
  }

  lstat(path: string): DkResult<FileStat> {
    return this.on(path, false, (p) => toFileStat(fs.lstatSync(p, STAT_BIGINT)));
  }

  access(path: string): DkResult<{ readable: boolean; writable: boolean }> {
    return this.on(path, true, (p) => {
      const can = (mode: number): boolean => {
        try {
          fs.accessSync(p, mode);
          return true;
        } catch (e) {
          const err = dkErrorOf(e);
          if (err === DkError.ACCESS_DENIED || err === DkError.READ_ONLY) return false;
          throw e;
        }
      };
      return { readable: can(C.R_OK), writable: can(C.W_OK) };
    });
  }

  open(path: string, flags: number): DkResult<number> {
    const rw = flags & (OpenFlag.READ | OpenFlag.WRITE);
    let f = rw === (OpenFlag.READ | OpenFlag.WRITE) ? C.O_RDWR : rw === OpenFlag.WRITE ? C.O_WRONLY : C.O_RDONLY;
    if (flags & OpenFlag.APPEND) f |= C.O_APPEND;
    if (flags & OpenFlag.CREATE) f |= C.O_CREAT;
    if (flags & OpenFlag.EXCLUSIVE) f |= C.O_EXCL;
    if (flags & OpenFlag.TRUNCATE) f |= C.O_TRUNC;
    if (flags & OpenFlag.NO_FOLLOW) f |= C.O_NOFOLLOW;
    if (flags & OpenFlag.DIRECTORY) f |= C.O_DIRECTORY;
    f |= C.O_NONBLOCK;
    // O_CREAT|O_EXCL never follows a last link; beneath a root no last link is followed by the open.
    const followLast = (flags & OpenFlag.NO_FOLLOW) === 0 && (flags & (OpenFlag.CREATE | OpenFlag.EXCLUSIVE)) !== (OpenFlag.CREATE | OpenFlag.EXCLUSIVE);
    const r = this.on(path, followLast, (p, beneath) => {
      try {
        return fs.openSync(p, beneath ? f | C.O_NOFOLLOW : f, 0o666);
      } catch (e) {
        // A FIFO without a reader, a socket: not something a file: stream can hold.
        if ((e as { code?: unknown }).code === 'ENXIO') return DkError.NOT_SUPPORTED;
        throw e;
      }
    });
    return r;
  }

  close(fd: number): DkResult<0> {
    try {
      fs.closeSync(fd);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  fstat(fd: number): DkResult<FileStat> {
    try {
      return toFileStat(fs.fstatSync(fd, STAT_BIGINT));
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  read(fd: number, buffer: Uint8Array, position: number): DkResult<number> {
    try {
      return fs.readSync(fd, buffer, 0, buffer.length, position);
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  write(fd: number, data: Uint8Array, position: number | null): DkResult<number> {
    try {
      return fs.writeSync(fd, data, 0, data.length, position);
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  ftruncate(fd: number, length: number): DkResult<0> {
    try {
      fs.ftruncateSync(fd, length);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  fsync(fd: number): DkResult<0> {
    try {
      fs.fsyncSync(fd);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  futimes(fd: number, atime: FileTime, mtime: FileTime): DkResult<0> {
    try {
      // A time that stays must stay to the nanosecond: keep what stat said before.
      const before = atime === null || mtime === null ? fs.fstatSync(fd, STAT_BIGINT) : null;
      const [a, m] = timesFor(atime, mtime, () => before!);
      fs.futimesSync(fd, a, m);
      exactTimes(`/proc/${process.pid}/fd/${fd}`, false, atime ?? before!.atimeNs, mtime ?? before!.mtimeNs, () => fs.fstatSync(fd, STAT_BIGINT));
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  /** The entries of the directory a descriptor holds (it names the directory, not a path). */
  readdirFd(fd: number): DkResult<DirEntry[]> {
    try {
      return listDir(`/proc/${process.pid}/fd/${fd}`);
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  readdir(path: string): DkResult<DirEntry[]> {
    return this.on(path, true, (p, beneath) => {
      if (!beneath) return listDir(p);
      // Open what the walk found without following it, then list that descriptor.
      const fd = fs.openSync(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      try {
        return listDir(`/proc/${process.pid}/fd/${fd}`);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  mkdir(path: string): DkResult<0> {
    return this.on(path, false, (p) => {
      fs.mkdirSync(p, 0o777);
      return 0 as const;
    });
  }

  unlink(path: string): DkResult<0> {
    return this.on(path, false, (p) => {
      fs.unlinkSync(p);
      return 0 as const;
    });
  }

  rmdir(path: string): DkResult<0> {
    return this.on(path, false, (p) => {
      fs.rmdirSync(p);
      return 0 as const;
    });
  }

  rename(from: string, to: string): DkResult<0> {
    return this.on(from, false, (a) => this.on(to, false, (b) => (fs.renameSync(a, b), 0 as const)));
  }

  symlink(target: string, path: string): DkResult<0> {
    return this.on(path, false, (p) => (fs.symlinkSync(target, p), 0 as const));
  }

  link(existing: string, newPath: string): DkResult<0> {
    return this.on(existing, false, (a) => this.on(newPath, false, (b) => (fs.linkSync(a, b), 0 as const)));
  }

  readlink(path: string): DkResult<string> {
    return this.on(path, false, (p) => fs.readlinkSync(p, 'utf8'));
  }

  utimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0> {
    // Beneath a root the walk has followed every link: set the times of what it found, unfollowed.
    return this.on(path, true, (p, beneath) => setPathTimes(p, !beneath, atime, mtime));
  }

  lutimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0> {
    return this.on(path, false, (p) => setPathTimes(p, false, atime, mtime));
  }
}
