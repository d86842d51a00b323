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

import * as fs from 'node:fs';
import type { DirEntry, DkResult, StreamKind } from '../../abi/dk.ts';
import { DkError, type DkErrorCode } from '../../abi/errors.ts';
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

export class NodeFileSystem implements FileSystem {
  stat(path: string): DkResult<FileStat> {
    try {
      return toFileStat(fs.statSync(path, STAT_BIGINT));
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  lstat(path: string): DkResult<FileStat> {
    try {
      return toFileStat(fs.lstatSync(path, STAT_BIGINT));
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  access(path: string): DkResult<{ readable: boolean; writable: boolean }> {
    const can = (mode: number): boolean | DkErrorCode => {
      try {
        fs.accessSync(path, mode);
        return true;
      } catch (e) {
        const err = dkErrorOf(e);
        return err === DkError.ACCESS_DENIED || err === DkError.READ_ONLY ? false : err;
      }
    };
    const readable = can(C.R_OK);
    if (typeof readable === 'number') return readable;
    const writable = can(C.W_OK);
    if (typeof writable === 'number') return writable;
    return { readable, writable };
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
    try {
      return fs.openSync(path, f, 0o666);
    } catch (e) {
      // A FIFO without a reader, a socket: not something a file: stream can hold.
      if ((e as { code?: unknown }).code === 'ENXIO') return DkError.NOT_SUPPORTED;
      return dkErrorOf(e);
    }
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

  readdir(path: string): DkResult<DirEntry[]> {
    try {
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
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  mkdir(path: string): DkResult<0> {
    try {
      fs.mkdirSync(path, 0o777);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  unlink(path: string): DkResult<0> {
    try {
      fs.unlinkSync(path);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  rmdir(path: string): DkResult<0> {
    try {
      fs.rmdirSync(path);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  rename(from: string, to: string): DkResult<0> {
    try {
      fs.renameSync(from, to);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  symlink(target: string, path: string): DkResult<0> {
    try {
      fs.symlinkSync(target, path);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  link(existing: string, newPath: string): DkResult<0> {
    try {
      fs.linkSync(existing, newPath);
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  readlink(path: string): DkResult<string> {
    try {
      return fs.readlinkSync(path, 'utf8');
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  utimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0> {
    try {
      // A time that stays must stay to the nanosecond: keep what stat said before.
      const before = atime === null || mtime === null ? fs.statSync(path, STAT_BIGINT) : null;
      const [a, m] = timesFor(atime, mtime, () => before!);
      fs.utimesSync(path, a, m);
      exactTimes(path, false, atime ?? before!.atimeNs, mtime ?? before!.mtimeNs, () => fs.statSync(path, STAT_BIGINT));
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }

  lutimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0> {
    try {
      // A time that stays must stay to the nanosecond: keep what stat said before.
      const before = atime === null || mtime === null ? fs.lstatSync(path, STAT_BIGINT) : null;
      const [a, m] = timesFor(atime, mtime, () => before!);
      fs.lutimesSync(path, a, m);
      exactTimes(path, true, atime ?? before!.atimeNs, mtime ?? before!.mtimeNs, () => fs.lstatSync(path, STAT_BIGINT));
      return 0;
    } catch (e) {
      return dkErrorOf(e);
    }
  }
}
