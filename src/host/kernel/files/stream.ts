// The stream object behind a file: or dir: handle: a host descriptor (or, for PATH_ONLY, just
// the path) plus the access the handle grants. Every check the ABI promises happens here, so
// a FileSystem only sees calls that are allowed and well-formed.
//
// Everything on an open handle uses the object it opened (its descriptor): read, write,
// attributes, times, length, and enumerate (a directory renamed away and replaced, even by a
// link, is still listed as the directory the handle opened). Only what acts on a directory
// entry rather than an object (delete, rename, everything on a PATH_ONLY handle) uses the
// entry the handle's current URI names, as unlink(2)/rename(2) do; a URI from the monitor is
// marked with its mount root, so that too is resolved beneath the mount (file-system.ts).
// A rename through the handle updates its URI; a rename by anyone else is not seen.

import {
  Access,
  NO_OFFSET,
  OpenOption,
  StatusFlag,
  StreamSide,
  type AttributesUpdate,
  type DirEntry,
  type DkResult,
  type StreamAttributes,
  type StreamKind,
} from '../../../abi/dk.ts';
import { DkError, type DkErrorCode } from '../../../abi/errors.ts';
import { KObject, StreamObject } from '../kobject.ts';
import { AlwaysReady } from '../readiness.ts';
import type { FileSystem, FileTime } from './file-system.ts';
import { parseFileUri } from './paths.ts';

const MIN_TIME = -(1n << 63n);
const MAX_TIME = (1n << 63n) - 1n;

/** undefined (keep), 'now', or a bigint of nanoseconds that fits a 64-bit timespec. */
function toFileTime(value: unknown): FileTime | DkErrorCode {
  if (value === undefined) return null;
  if (value === 'now') return 'now';
  if (typeof value === 'bigint' && value >= MIN_TIME && value <= MAX_TIME) return value;
  return DkError.INVALID_ARGUMENT;
}

/**
 * Linux's MAX_RW_COUNT: one read or write moves at most this much (a short count, not an
 * error); node:fs would refuse a longer one outright, so both hosts cap here alike.
 */
const MAX_RW = 0x7ffff000;

function isOffset(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export class FileStream extends StreamObject {
  readonly kind: StreamKind;
  /** The entry this handle names now (changes when renamed through the handle). */
  path: string;
  /** Opened through dir: (its URI keeps that scheme). */
  readonly dirUri: boolean;
  /** The host descriptor; -1 for a PATH_ONLY handle and once released. */
  fd: number;
  readonly access: number;
  readonly options: number;
  readonly pathOnly: boolean;
  readonly readable: boolean;
  readonly writable: boolean;
  /**
   * The position of this open stream: where a read or write with offset NO_OFFSET happens, and
   * what it advances. It belongs to the object, so every handle on it shares it, in every
   * picoprocess that holds one (a fork child inherits its parent's open files this way, the
   * POSIX open file description). Streams read and written at explicit offsets never move it.
   */
  position = 0;
  private readonly append: boolean;
  private readonly fs: FileSystem;
  private released = false;

  constructor(fs: FileSystem, path: string, dirUri: boolean, fd: number, kind: StreamKind, access: number, options: number) {
    super();
    this.fs = fs;
    this.path = path;
    this.dirUri = dirUri;
    this.fd = fd;
    this.kind = kind;
    this.access = access;
    this.options = options;
    this.pathOnly = (options & OpenOption.PATH_ONLY) !== 0;
    // A directory is readable (enumerable) but never writable; a PATH_ONLY handle is neither.
    const dataAccess = !this.pathOnly && kind !== 'directory';
    this.readable = !this.pathOnly && (access & Access.READ) !== 0;
    this.append = dataAccess && (access & Access.APPEND) !== 0;
    this.writable = dataAccess && (access & (Access.WRITE | Access.APPEND)) !== 0;
  }

  get uri(): string {
    return (this.dirUri ? 'dir:' : 'file:') + this.path;
  }

  /** Why a data operation is refused: no data access on a PATH_ONLY handle, gone once released. */
  private noData(): DkErrorCode {
    return this.released ? DkError.BAD_HANDLE : DkError.ACCESS_DENIED;
  }

  /** Files never block: a wait on the handle itself is always satisfied. */
  override isSignalled(): boolean {
    return true;
  }

  override read(offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.fd < 0) return this.noData();
    if (this.kind === 'directory') return DkError.IS_A_DIRECTORY;
    if (!this.readable) return DkError.ACCESS_DENIED;
    if (!(buffer instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
    if (buffer.length > MAX_RW) buffer = buffer.subarray(0, MAX_RW);
    if (offset === NO_OFFSET) {
      const n = this.fs.read(this.fd, buffer, this.position);
      if (n > 0) this.position += n;
      return n;
    }
    if (!isOffset(offset)) return DkError.INVALID_ARGUMENT;
    return this.fs.read(this.fd, buffer, offset);
  }

  override write(offset: number, data: Uint8Array): DkResult<number> {
    if (this.fd < 0) return this.noData();
    if (this.kind === 'directory') return DkError.IS_A_DIRECTORY;
    if (!this.writable) return DkError.ACCESS_DENIED;
    if (!(data instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
    if (data.length > MAX_RW) data = data.subarray(0, MAX_RW);
    // An append stream always writes at the end: the offset is not looked at.
    if (this.append) return this.fs.write(this.fd, data, null);
    let at = offset === NO_OFFSET ? this.position : offset;
    if (!isOffset(at)) return DkError.INVALID_ARGUMENT;
    if ((this.statusFlags & StatusFlag.APPEND) !== 0) {
      // O_APPEND set with F_SETFL (shared by every holder): at the end of the file as it is now.
      const st = this.fs.fstat(this.fd);
      if (typeof st === 'number') return st;
      at = st.size;
    }
    if (at + data.length > Number.MAX_SAFE_INTEGER) return DkError.FILE_TOO_LARGE;
    const n = this.fs.write(this.fd, data, at);
    if (offset === NO_OFFSET && n > 0) this.position = at + n;
    return n;
  }

  override setLength(length: number): DkResult<0> {
    if (this.fd < 0) return this.noData();
    if (this.kind === 'directory') return DkError.IS_A_DIRECTORY;
    if (!this.writable) return DkError.ACCESS_DENIED;
    if (!isOffset(length)) return DkError.INVALID_ARGUMENT;
    return this.fs.ftruncate(this.fd, length);
  }

  override flush(): DkResult<0> {
    if (this.fd < 0) return this.noData();
    return this.fs.fsync(this.fd);
  }

  override delete(side: number): DkResult<0> {
    if (this.released) return DkError.BAD_HANDLE;
    if (side === StreamSide.READ || side === StreamSide.WRITE) return DkError.WRONG_HANDLE_TYPE; // no halves to shut
    if (side !== StreamSide.BOTH) return DkError.INVALID_ARGUMENT;
    return this.kind === 'directory' ? this.fs.rmdir(this.path) : this.fs.unlink(this.path);
  }

  override rename(newUri: string): DkResult<0> {
    if (this.released) return DkError.BAD_HANDLE;
    const target = parseFileUri(newUri);
    if (typeof target === 'number') return target;
    // dir: names a directory: like a trailing slash, rename(2) says ENOTDIR for anything else.
    if (target.dir && this.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
    const done = this.fs.rename(this.path, target.path);
    if (done === 0) this.path = target.path;
    return done;
  }

  override enumerate(): DkResult<DirEntry[]> {
    if (this.fd < 0) return this.noData();
    if (this.kind !== 'directory') return DkError.WRONG_HANDLE_TYPE;
    return this.fs.readdirFd(this.fd);
  }

  override attributes(): DkResult<StreamAttributes> {
    if (this.released) return DkError.BAD_HANDLE;
    const noFollow = (this.options & OpenOption.NO_FOLLOW) !== 0;
    const st = this.fd >= 0 ? this.fs.fstat(this.fd) : noFollow ? this.fs.lstat(this.path) : this.fs.stat(this.path);
    if (typeof st === 'number') return st;
    const attrs: StreamAttributes = { ...st, readable: this.readable, writable: this.writable };
    if (this.fd >= 0 && this.kind === 'file') attrs.position = this.position;
    if (st.kind === 'symlink') {
      const target = this.fs.readlink(this.path);
      if (typeof target === 'number') return target;
      attrs.linkTarget = target;
    }
    return attrs;
  }

  override setAttributes(update: AttributesUpdate): DkResult<0> {
    if (this.released) return DkError.BAD_HANDLE;
    if (typeof update !== 'object' || update === null) return DkError.INVALID_ARGUMENT;
    const atime = toFileTime(update.atimeNs);
    const mtime = toFileTime(update.mtimeNs);
    if (typeof atime === 'number' || typeof mtime === 'number') return DkError.INVALID_ARGUMENT;
    const position: unknown = update.position;
    if (position !== undefined) {
      // Only a data stream has a position (a directory or PATH_ONLY handle has none).
      if (this.fd < 0 || this.kind !== 'file') return this.fd < 0 ? this.noData() : DkError.WRONG_HANDLE_TYPE;
      if (!isOffset(position)) return DkError.INVALID_ARGUMENT;
    }
    if (atime !== null || mtime !== null) {
      const r = this.fd >= 0 ? this.fs.futimes(this.fd, atime, mtime) : this.setPathTimes(atime, mtime);
      if (r !== 0) return r;
    }
    if (position !== undefined) this.position = position as number;
    return 0;
  }

  private setPathTimes(atime: FileTime, mtime: FileTime): DkResult<0> {
    // A PATH_ONLY handle opened with NO_FOLLOW may name a symbolic link: set the link's times.
    return (this.options & OpenOption.NO_FOLLOW) !== 0 ? this.fs.lutimes(this.path, atime, mtime) : this.fs.utimes(this.path, atime, mtime);
  }

  override readiness(side: number): DkResult<KObject> {
    if (this.released) return DkError.BAD_HANDLE;
    if (side !== StreamSide.BOTH && side !== StreamSide.READ && side !== StreamSide.WRITE) return DkError.INVALID_ARGUMENT;
    return new AlwaysReady();
  }

  override release(): void {
    if (this.released) return;
    this.released = true;
    if (this.fd >= 0) this.fs.close(this.fd);
    this.fd = -1;
  }
}
