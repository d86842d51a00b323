// The memory host's file system: a deterministic in-memory tree of inodes (files,
// directories, symbolic links), with hard links, link counts, inode numbers and times,
// following Linux for everything the Dk exposes: path walk with '.', '..' (physical, as
// the kernel does) and trailing slashes, 40 symbolic links at most per walk, NAME_MAX and
// PATH_MAX, which error when (the order of checks follows fs/namei.c), relatime for atime.
//
// What it does not model: permissions and owners (every call runs as the owner with all
// rights; `access` says readable and writable), devices, FIFOs and sockets. Directory sizes
// are 4096 as on ext4. Files are sparse (file-bytes.ts) and at most 16 TiB (ext4's limit).

import type { DirEntry, DkResult, StreamKind } from '../../abi/dk.ts';
import { DkError } from '../../abi/errors.ts';
import { splitBeneath } from '../../abi/uri.ts';
import { SparseBytes } from './file-bytes.ts';
import { MAX_NAME_BYTES, MAX_PATH_BYTES, utf8Length } from '../kernel/files/paths.ts';
import { OpenFlag, type FileStat, type FileSystem, type FileTime } from '../kernel/files/files.ts';

/** Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;
/** ext4's largest file with 4 KiB blocks (EFBIG past it). */
export const MAX_FILE_SIZE = 2 ** 44;
const DIR_SIZE = 4096;
/** relatime: an atime older than this is refreshed even if it is newer than mtime/ctime. */
const DAY_NS = 86_400_000_000_000n;

interface Meta {
  readonly ino: bigint;
  nlink: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}
interface FileNode extends Meta {
  readonly kind: 'file';
  readonly bytes: SparseBytes;
}
interface DirNode extends Meta {
  readonly kind: 'directory';
  readonly entries: Map<string, Node>;
  /** Physical parent, for '..'; the root is its own parent. */
  parent: DirNode;
}
interface LinkNode extends Meta {
  readonly kind: 'symlink';
  readonly target: string;
}
type Node = FileNode | DirNode | LinkNode;

interface OpenFile {
  readonly node: Node;
  readonly flags: number;
}

/** How the last component of a path is looked up. */
const Last = {
  /** Follow a symbolic link (stat, open, utimes). */
  FOLLOW: 0,
  /** Do not follow, unless a trailing slash asks for a directory (lstat, O_NOFOLLOW, readlink). */
  NO_FOLLOW: 1,
  /** The entry itself, never followed (mkdir, unlink, rmdir, rename, symlink, link's new name). */
  ENTRY: 2,
} as const;

/** Where a walk ended: the directory holding the last name, and what it names (if anything). */
interface Found {
  dir: DirNode;
  name: string;
  node: Node | undefined;
  /** The path (or the link body that ended it) had a trailing slash: a directory is wanted. */
  slash: boolean;
  /** The last name is '.', '..' or the root itself: not an entry that can be made or removed. */
  special: boolean;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c.length > 0);
}

export interface MemoryFileSystemOptions {
  /** Wall-clock nanoseconds for timestamps ('now', creation, writes). */
  now: () => bigint;
  /** st_dev of every object (default 1). */
  dev?: bigint;
}

export class MemoryFileSystem implements FileSystem {
  private readonly now: () => bigint;
  private readonly dev: bigint;
  private nextIno = 2n; // ext4's root is inode 2
  private readonly root: DirNode;
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 3;

  constructor(options: MemoryFileSystemOptions) {
    this.now = options.now;
    this.dev = options.dev ?? 1n;
    const t = this.now();
    const root = { kind: 'directory', ino: this.nextIno++, nlink: 2, atimeNs: t, mtimeNs: t, ctimeNs: t, entries: new Map() } as unknown as DirNode;
    root.parent = root;
    this.root = root;
  }

  // ---- path walk ------------------------------------------------------------------------

  /**
   * A path marked with its root (abi/uri.ts) is walked beneath the root only: '..' above it and
   * an absolute link target are NOT_CAPABLE, as on the node host (file-system.ts).
   */
  private walk(path: string, last: number): DkResult<Found> {
    if (utf8Length(path) > MAX_PATH_BYTES) return DkError.NAME_TOO_LONG;
    const split = splitBeneath(path);
    let base: DirNode | null = null;
    if (split !== null) {
      const root = this.lookup(split.root, Last.FOLLOW);
      if (typeof root === 'number') return root;
      if (root.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
      base = root;
      path = split.rest;
    }
    const todo = components(path).reverse(); // pop() gives the next component
    let slash = path.endsWith('/');
    let dir = base ?? this.root;
    let links = 0;
    if (todo.length === 0) return { dir, name: '/', node: dir, slash: false, special: true };
    for (;;) {
      const name = todo.pop()!;
      if (name.length > MAX_NAME_BYTES / 3 && utf8Length(name) > MAX_NAME_BYTES) return DkError.NAME_TOO_LONG;
      if (name === '..' && dir === base) return DkError.NOT_CAPABLE;
      const node = name === '.' ? dir : name === '..' ? dir.parent : dir.entries.get(name);
      const isLast = todo.length === 0;
      if (node?.kind === 'symlink' && (!isLast || last === Last.FOLLOW || (last === Last.NO_FOLLOW && slash))) {
        if (++links > MAX_SYMLINKS) return DkError.SYMLINK_LOOP;
        if (base !== null && node.target.startsWith('/')) return DkError.NOT_CAPABLE;
        if (node.target.startsWith('/')) dir = this.root;
        const body = components(node.target);
        if (isLast && node.target.endsWith('/')) slash = true;
        if (body.length === 0) {
          // The link points at '/': that is where the walk is if nothing follows.
          if (isLast) return { dir, name: '/', node: dir, slash, special: true };
          continue;
        }
        for (let i = body.length - 1; i >= 0; i--) todo.push(body[i]!);
        continue;
      }
      if (isLast) return { dir, name, node, slash, special: name === '.' || name === '..' };
      if (node === undefined) return DkError.NOT_FOUND;
      if (node.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
      dir = node;
    }
  }

  /** An existing object, as stat/lstat/utimes find it. */
  private lookup(path: string, last: number): DkResult<Node> {
    const f = this.walk(path, last);
    if (typeof f === 'number') return f;
    if (f.node === undefined) return DkError.NOT_FOUND;
    if (f.slash && f.node.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
    return f.node;
  }

  // ---- inodes and times -----------------------------------------------------------------

  private meta(): Meta {
    const t = this.now();
    return { ino: this.nextIno++, nlink: 1, atimeNs: t, mtimeNs: t, ctimeNs: t };
  }

  /** A directory's entries changed. */
  private changed(dir: DirNode): void {
    dir.mtimeNs = dir.ctimeNs = this.now();
  }

  /** relatime, Linux's default: refresh atime only if it is not newer than mtime/ctime, or a day old. */
  private accessed(node: Node): void {
    const t = this.now();
    if (node.atimeNs <= node.mtimeNs || node.atimeNs <= node.ctimeNs || t - node.atimeNs >= DAY_NS) node.atimeNs = t;
  }

  private setTimes(node: Node, atime: FileTime, mtime: FileTime): DkResult<0> {
    if (atime === null && mtime === null) return 0;
    const t = this.now();
    if (atime !== null) node.atimeNs = atime === 'now' ? t : atime;
    if (mtime !== null) node.mtimeNs = mtime === 'now' ? t : mtime;
    node.ctimeNs = t;
    return 0;
  }

  private statOf(node: Node): FileStat {
    const size = node.kind === 'file' ? node.bytes.size : node.kind === 'directory' ? DIR_SIZE : utf8Length(node.target);
    return {
      kind: node.kind as StreamKind,
      size,
      dev: this.dev,
      ino: node.ino,
      nlink: BigInt(node.nlink),
      atimeNs: node.atimeNs,
      mtimeNs: node.mtimeNs,
      ctimeNs: node.ctimeNs,
    };
  }

  private isAncestorOrSelf(ancestor: DirNode, dir: DirNode): boolean {
    for (let d = dir; ; d = d.parent) {
      if (d === ancestor) return true;
      if (d === this.root) return false;
    }
  }

  // ---- FileSystem -----------------------------------------------------------------------

  stat(path: string): DkResult<FileStat> {
    const node = this.lookup(path, Last.FOLLOW);
    return typeof node === 'number' ? node : this.statOf(node);
  }

  lstat(path: string): DkResult<FileStat> {
    const node = this.lookup(path, Last.NO_FOLLOW);
    return typeof node === 'number' ? node : this.statOf(node);
  }

  access(path: string): DkResult<{ readable: boolean; writable: boolean }> {
    const node = this.lookup(path, Last.FOLLOW);
    return typeof node === 'number' ? node : { readable: true, writable: true };
  }

  open(path: string, flags: number): DkResult<number> {
    const create = (flags & OpenFlag.CREATE) !== 0;
    const exclusive = create && (flags & OpenFlag.EXCLUSIVE) !== 0;
    if (create && (flags & OpenFlag.DIRECTORY) !== 0) return DkError.INVALID_ARGUMENT; // Linux >= 6.4
    // O_CREAT|O_EXCL never follows a final symbolic link: it fails on it with EEXIST.
    const f = this.walk(path, (flags & OpenFlag.NO_FOLLOW) !== 0 || exclusive ? Last.NO_FOLLOW : Last.FOLLOW);
    if (typeof f === 'number') return f;
    if (create && f.slash) return DkError.IS_A_DIRECTORY;
    let node = f.node;
    if (node === undefined) {
      if (!create) return DkError.NOT_FOUND;
      if (f.dir.nlink === 0) return DkError.NOT_FOUND; // the directory was removed
      node = { kind: 'file', bytes: new SparseBytes(), ...this.meta() };
      f.dir.entries.set(f.name, node);
      this.changed(f.dir);
    } else {
      // do_open, then may_open, in that order.
      if (exclusive) return DkError.ALREADY_EXISTS;
      if (create && node.kind === 'directory') return DkError.IS_A_DIRECTORY;
      if (((flags & OpenFlag.DIRECTORY) !== 0 || f.slash) && node.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
      if (node.kind === 'symlink') return DkError.SYMLINK_LOOP;
      if (node.kind === 'directory' && (flags & (OpenFlag.WRITE | OpenFlag.TRUNCATE)) !== 0) return DkError.IS_A_DIRECTORY;
      if (node.kind === 'file' && (flags & OpenFlag.TRUNCATE) !== 0) {
        node.bytes.truncate(0);
        node.mtimeNs = node.ctimeNs = this.now();
      }
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { node, flags });
    return fd;
  }

  close(fd: number): DkResult<0> {
    return this.fds.delete(fd) ? 0 : DkError.BAD_HANDLE;
  }

  fstat(fd: number): DkResult<FileStat> {
    const of = this.fds.get(fd);
    return of === undefined ? DkError.BAD_HANDLE : this.statOf(of.node);
  }

  read(fd: number, buffer: Uint8Array, position: number): DkResult<number> {
    const of = this.fds.get(fd);
    if (of === undefined || (of.flags & OpenFlag.READ) === 0) return DkError.BAD_HANDLE;
    if (of.node.kind !== 'file') return DkError.IS_A_DIRECTORY;
    const n = of.node.bytes.read(position, buffer);
    this.accessed(of.node);
    return n;
  }

  write(fd: number, data: Uint8Array, position: number | null): DkResult<number> {
    const of = this.fds.get(fd);
    if (of === undefined || (of.flags & OpenFlag.WRITE) === 0) return DkError.BAD_HANDLE;
    const node = of.node;
    if (node.kind !== 'file') return DkError.IS_A_DIRECTORY;
    // O_APPEND wins over a position, as pwrite(2) does on Linux.
    const at = position === null || (of.flags & OpenFlag.APPEND) !== 0 ? node.bytes.size : position;
    if (data.length === 0) return 0;
    if (at >= MAX_FILE_SIZE) return DkError.FILE_TOO_LARGE;
    const count = Math.min(data.length, MAX_FILE_SIZE - at);
    node.bytes.write(at, count === data.length ? data : data.subarray(0, count));
    node.mtimeNs = node.ctimeNs = this.now();
    return count;
  }

  ftruncate(fd: number, length: number): DkResult<0> {
    const of = this.fds.get(fd);
    if (of === undefined) return DkError.BAD_HANDLE;
    if (of.node.kind !== 'file' || (of.flags & OpenFlag.WRITE) === 0) return DkError.INVALID_ARGUMENT;
    if (length > MAX_FILE_SIZE) return DkError.FILE_TOO_LARGE;
    of.node.bytes.truncate(length);
    of.node.mtimeNs = of.node.ctimeNs = this.now();
    return 0;
  }

  fsync(fd: number): DkResult<0> {
    return this.fds.has(fd) ? 0 : DkError.BAD_HANDLE;
  }

  futimes(fd: number, atime: FileTime, mtime: FileTime): DkResult<0> {
    const of = this.fds.get(fd);
    return of === undefined ? DkError.BAD_HANDLE : this.setTimes(of.node, atime, mtime);
  }

  readdir(path: string): DkResult<DirEntry[]> {
    return this.list(this.lookup(path, Last.FOLLOW));
  }

  readdirFd(fd: number): DkResult<DirEntry[]> {
    const of = this.fds.get(fd);
    return of === undefined ? DkError.BAD_HANDLE : this.list(of.node);
  }

  private list(node: DkResult<Node>): DkResult<DirEntry[]> {
    if (typeof node === 'number') return node;
    if (node.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
    const entries: DirEntry[] = [];
    for (const [name, child] of node.entries) entries.push({ name, kind: child.kind, ino: child.ino });
    this.accessed(node);
    return entries;
  }

  mkdir(path: string): DkResult<0> {
    const f = this.walk(path, Last.ENTRY);
    if (typeof f === 'number') return f;
    if (f.special || f.node !== undefined) return DkError.ALREADY_EXISTS;
    if (f.dir.nlink === 0) return DkError.NOT_FOUND;
    const dir = { kind: 'directory', entries: new Map(), parent: f.dir, ...this.meta(), nlink: 2 } as DirNode;
    f.dir.entries.set(f.name, dir);
    f.dir.nlink++;
    this.changed(f.dir);
    return 0;
  }

  unlink(path: string): DkResult<0> {
    const f = this.walk(path, Last.ENTRY);
    if (typeof f === 'number') return f;
    if (f.special) return DkError.IS_A_DIRECTORY;
    const node = f.node;
    if (node === undefined) return DkError.NOT_FOUND;
    if (node.kind === 'directory') return DkError.IS_A_DIRECTORY;
    if (f.slash) return DkError.NOT_A_DIRECTORY;
    f.dir.entries.delete(f.name);
    node.nlink--;
    node.ctimeNs = this.now();
    this.changed(f.dir);
    return 0;
  }

  rmdir(path: string): DkResult<0> {
    const f = this.walk(path, Last.ENTRY);
    if (typeof f === 'number') return f;
    if (f.special) return f.name === '.' ? DkError.INVALID_ARGUMENT : f.name === '..' ? DkError.DIRECTORY_NOT_EMPTY : DkError.BUSY;
    const node = f.node;
    if (node === undefined) return DkError.NOT_FOUND;
    if (node.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
    if (node.entries.size > 0) return DkError.DIRECTORY_NOT_EMPTY;
    f.dir.entries.delete(f.name);
    f.dir.nlink--;
    node.nlink = 0;
    node.ctimeNs = this.now();
    this.changed(f.dir);
    return 0;
  }

  rename(from: string, to: string): DkResult<0> {
    const a = this.walk(from, Last.ENTRY);
    if (typeof a === 'number') return a;
    const b = this.walk(to, Last.ENTRY);
    if (typeof b === 'number') return b;
    if (a.special || b.special) return DkError.BUSY;
    const src = a.node;
    if (src === undefined) return DkError.NOT_FOUND;
    const dst = b.node;
    if (src.kind !== 'directory' && (a.slash || b.slash)) return DkError.NOT_A_DIRECTORY;
    // A directory cannot move into itself; a directory holding the source cannot be replaced.
    if (src.kind === 'directory' && this.isAncestorOrSelf(src, b.dir)) return DkError.INVALID_ARGUMENT;
    if (dst?.kind === 'directory' && this.isAncestorOrSelf(dst, a.dir)) return DkError.DIRECTORY_NOT_EMPTY;
    if (src === dst) return 0; // two names of one inode: rename(2) does nothing
    if (dst !== undefined) {
      if (src.kind === 'directory') {
        if (dst.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
        if (dst.entries.size > 0) return DkError.DIRECTORY_NOT_EMPTY;
      } else if (dst.kind === 'directory') {
        return DkError.IS_A_DIRECTORY;
      }
    }
    if (b.dir.nlink === 0) return DkError.NOT_FOUND;
    const t = this.now();
    a.dir.entries.delete(a.name);
    if (dst !== undefined) {
      if (dst.kind === 'directory') {
        dst.nlink = 0;
        b.dir.nlink--;
      } else {
        dst.nlink--;
      }
      dst.ctimeNs = t;
    }
    b.dir.entries.set(b.name, src);
    if (src.kind === 'directory') {
      a.dir.nlink--;
      b.dir.nlink++;
      src.parent = b.dir;
    }
    src.ctimeNs = t;
    this.changed(a.dir);
    this.changed(b.dir);
    return 0;
  }

  symlink(target: string, path: string): DkResult<0> {
    if (target.length === 0) return DkError.NOT_FOUND;
    if (utf8Length(target) > MAX_PATH_BYTES) return DkError.NAME_TOO_LONG;
    const f = this.walk(path, Last.ENTRY);
    if (typeof f === 'number') return f;
    if (f.special || f.node !== undefined) return DkError.ALREADY_EXISTS;
    if (f.slash) return DkError.NOT_FOUND; // a new non-directory name with '/' at the end
    if (f.dir.nlink === 0) return DkError.NOT_FOUND;
    f.dir.entries.set(f.name, { kind: 'symlink', target, ...this.meta() });
    this.changed(f.dir);
    return 0;
  }

  link(existing: string, newPath: string): DkResult<0> {
    const node = this.lookup(existing, Last.NO_FOLLOW);
    if (typeof node === 'number') return node;
    const f = this.walk(newPath, Last.ENTRY);
    if (typeof f === 'number') return f;
    if (f.special || f.node !== undefined) return DkError.ALREADY_EXISTS;
    if (f.slash) return DkError.NOT_FOUND;
    if (node.kind === 'directory') return DkError.ACCESS_DENIED; // EPERM: no hard links to directories
    if (f.dir.nlink === 0) return DkError.NOT_FOUND;
    f.dir.entries.set(f.name, node);
    node.nlink++;
    node.ctimeNs = this.now();
    this.changed(f.dir);
    return 0;
  }

  readlink(path: string): DkResult<string> {
    const node = this.lookup(path, Last.NO_FOLLOW);
    if (typeof node === 'number') return node;
    if (node.kind !== 'symlink') return DkError.INVALID_ARGUMENT;
    this.accessed(node);
    return node.target;
  }

  utimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0> {
    const node = this.lookup(path, Last.FOLLOW);
    return typeof node === 'number' ? node : this.setTimes(node, atime, mtime);
  }

  lutimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0> {
    const node = this.lookup(path, Last.NO_FOLLOW);
    return typeof node === 'number' ? node : this.setTimes(node, atime, mtime);
  }

  // ---- conveniences for setting up a memory host (not part of FileSystem) ----------------

  /** mkdir -p. */
  mkdirs(path: string): DkResult<0> {
    let prefix = '';
    for (const c of components(path)) {
      prefix += '/' + c;
      const made = this.mkdir(prefix);
      if (made !== 0 && made !== DkError.ALREADY_EXISTS) return made;
    }
    const st = this.stat(path);
    if (typeof st === 'number') return st;
    return st.kind === 'directory' ? 0 : DkError.NOT_A_DIRECTORY;
  }

  /** Create or replace a file's contents, making its parent directories. */
  writeFile(path: string, data: Uint8Array): DkResult<0> {
    const cut = path.lastIndexOf('/');
    if (cut > 0) {
      const made = this.mkdirs(path.slice(0, cut));
      if (made !== 0) return made;
    }
    const fd = this.open(path, OpenFlag.WRITE | OpenFlag.CREATE | OpenFlag.TRUNCATE);
    if (fd < 0) return fd as DkResult<never>;
    const n = this.write(fd, data, 0);
    this.close(fd);
    return n < 0 ? (n as DkResult<never>) : 0;
  }

  /** The whole contents of a file. */
  readFile(path: string): DkResult<Uint8Array> {
    const fd = this.open(path, OpenFlag.READ);
    if (fd < 0) return fd as DkResult<never>;
    const st = this.fstat(fd);
    if (typeof st === 'number') return st;
    const out = new Uint8Array(st.size);
    const n = this.read(fd, out, 0);
    this.close(fd);
    return n < 0 ? (n as DkResult<never>) : out;
  }
}
