// What a host supplies for file: and dir: streams (files.ts): a FileSystem of synchronous,
// path-based calls on absolute POSIX paths with Linux semantics, and the terms they use.
// On its own so that the stream object (stream.ts) and the opener (files.ts) both name it
// without importing each other.

import type { DkResult, DirEntry, StreamKind } from '../../../abi/dk.ts';

/** What stat(2) says about an object, in the ABI's own terms. */
export interface FileStat {
  kind: StreamKind;
  size: number;
  dev: bigint;
  ino: bigint;
  nlink: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Host-neutral open(2) flags; each FileSystem maps them to its own. */
export const OpenFlag = {
  READ: 1,
  WRITE: 2,
  /** Every write goes to the end (O_APPEND); needs WRITE. */
  APPEND: 4,
  CREATE: 8,
  EXCLUSIVE: 16,
  TRUNCATE: 32,
  /** O_NOFOLLOW: a symbolic link as last component fails with SYMLINK_LOOP. */
  NO_FOLLOW: 64,
  /** O_DIRECTORY: anything but a directory fails with NOT_A_DIRECTORY. */
  DIRECTORY: 128,
} as const;

/** A time to set: nanoseconds since the epoch, the host's current time, or null to keep it. */
export type FileTime = bigint | 'now' | null;

/**
 * A host's file system. Paths are absolute POSIX paths (already checked by checkPath); every
 * call follows Linux semantics, including trailing slashes, '.', '..' and symbolic links, and
 * returns a DkError code instead of throwing. `fd`s are host-private numbers from open().
 *
 * A path marked with a root (abi/uri.ts, "ROOT/./REST": what the monitor sends) is resolved
 * beneath ROOT only, as openat2's RESOLVE_BENEATH does: from a held descriptor of ROOT, one
 * component at a time, following a symbolic link only while it stays beneath ROOT; '..' above
 * ROOT or an absolute link target is NOT_CAPABLE. No step re-reads a path another process can
 * change between a check and a use, so what the monitor resolved cannot be swapped for a way out.
 */
export interface FileSystem {
  stat(path: string): DkResult<FileStat>;
  lstat(path: string): DkResult<FileStat>;
  /** What this host process may do with the object (access(2) R_OK / W_OK). */
  access(path: string): DkResult<{ readable: boolean; writable: boolean }>;
  /** open(2) with OpenFlag bits; opening a directory (without WRITE/TRUNCATE/CREATE) works. */
  open(path: string, flags: number): DkResult<number>;
  close(fd: number): DkResult<0>;
  fstat(fd: number): DkResult<FileStat>;
  /** pread(2). Hot path. */
  read(fd: number, buffer: Uint8Array, position: number): DkResult<number>;
  /** pwrite(2); position null writes at the end (for APPEND descriptors). Hot path. */
  write(fd: number, data: Uint8Array, position: number | null): DkResult<number>;
  ftruncate(fd: number, length: number): DkResult<0>;
  fsync(fd: number): DkResult<0>;
  futimes(fd: number, atime: FileTime, mtime: FileTime): DkResult<0>;
  /** Entries of a directory, without '.' and '..', in the host's order. */
  readdir(path: string): DkResult<DirEntry[]>;
  /** Entries of the directory an open descriptor holds (wherever it is now), as readdir. */
  readdirFd(fd: number): DkResult<DirEntry[]>;
  mkdir(path: string): DkResult<0>;
  unlink(path: string): DkResult<0>;
  rmdir(path: string): DkResult<0>;
  rename(from: string, to: string): DkResult<0>;
  /** symlink(2): a link at `path` holding `target` (free text; may dangle). */
  symlink(target: string, path: string): DkResult<0>;
  /** link(2): does not follow a symbolic link at `existing`. */
  link(existing: string, newPath: string): DkResult<0>;
  readlink(path: string): DkResult<string>;
  utimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0>;
  lutimes(path: string, atime: FileTime, mtime: FileTime): DkResult<0>;
}
