// File and directory streams (file:, dir: URIs), shared by every host.
//
// A host supplies a FileSystem (file-system.ts): synchronous, path-based calls on absolute
// POSIX paths with Linux semantics, errors returned as DkError codes. This module turns Dk
// stream requests into calls on it, so the rules of the ABI (flags, hostile arguments, which
// error when) are written once and both hosts behave the same; the conformance test proves it.

import { Access, Create, OpenOption, QueryOption, type DkResult, type StreamAttributes } from '../../../abi/dk.ts';
import { DkError } from '../../../abi/errors.ts';
import { FileStream } from './stream.ts';
import { checkPath, parseFileUri, utf8Length } from './paths.ts';
import { OpenFlag, type FileStat, type FileSystem } from './file-system.ts';

export { checkPath, parseFileUri } from './paths.ts';
export { FileStream } from './stream.ts';
export { OpenFlag, type FileStat, type FileSystem, type FileTime } from './file-system.ts';

const ACCESS_BITS = Access.READ | Access.WRITE | Access.APPEND;
const CREATE_BITS = Create.CREATE | Create.EXCLUSIVE | Create.TRUNCATE;
const FILE_OPTIONS = OpenOption.NO_FOLLOW | OpenOption.DIRECTORY | OpenOption.PATH_ONLY;

function isFlags(value: unknown, allowed: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && (value & ~allowed) === 0;
}

/**
 * DkStreamOpen for file: and dir: URIs. `path` is the URI after the scheme.
 * - access: READ / WRITE / APPEND (APPEND implies WRITE).
 * - create: CREATE / EXCLUSIVE / TRUNCATE; on dir: CREATE makes the directory (mkdir), and
 *   without EXCLUSIVE an existing one is opened.
 * - options: NO_FOLLOW, DIRECTORY (dir: implies it), PATH_ONLY (like O_PATH: a handle on the
 *   entry itself, no data access; access and file-creation bits are ignored, as O_PATH does).
 * Nothing is changed on the file system by a call that fails its argument checks.
 */
export function openFileStream(fs: FileSystem, path: string, dirUri: boolean, access: number, create: number, options: number): DkResult<FileStream> {
  const bad = checkPath(path);
  if (bad !== 0) return bad;
  if (!isFlags(access, ACCESS_BITS) || !isFlags(create, CREATE_BITS) || !isFlags(options, FILE_OPTIONS)) {
    return DkError.INVALID_ARGUMENT;
  }
  const noFollow = (options & OpenOption.NO_FOLLOW) !== 0;
  const wantDir = dirUri || (options & OpenOption.DIRECTORY) !== 0;
  const pathOnly = (options & OpenOption.PATH_ONLY) !== 0;
  const writes = (access & (Access.WRITE | Access.APPEND)) !== 0;

  if (dirUri) {
    // A directory is never opened for writing or truncated; refuse before mkdir so a failed
    // call has no side effect (calls must be restartable).
    if (!pathOnly && (writes || (create & Create.TRUNCATE) !== 0)) return DkError.IS_A_DIRECTORY;
    if ((create & Create.CREATE) !== 0) {
      const made = fs.mkdir(path);
      if (made === DkError.ALREADY_EXISTS) {
        if ((create & Create.EXCLUSIVE) !== 0) return DkError.ALREADY_EXISTS;
      } else if (made !== 0) {
        return made;
      }
    }
    create = 0;
  } else if (wantDir && (create & Create.CREATE) !== 0 && !pathOnly) {
    // O_CREAT | O_DIRECTORY is EINVAL on Linux >= 6.4; make it so everywhere.
    return DkError.INVALID_ARGUMENT;
  }

  if (pathOnly) {
    const st = noFollow ? fs.lstat(path) : fs.stat(path);
    if (typeof st === 'number') return st;
    if (wantDir && st.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
    return new FileStream(fs, path, dirUri, -1, st.kind, access, options);
  }

  let flags = 0;
  if ((access & Access.READ) !== 0) flags |= OpenFlag.READ;
  if (writes) flags |= OpenFlag.WRITE;
  if ((access & Access.APPEND) !== 0) flags |= OpenFlag.APPEND;
  if ((create & Create.CREATE) !== 0) flags |= OpenFlag.CREATE;
  if ((create & Create.EXCLUSIVE) !== 0) flags |= OpenFlag.EXCLUSIVE;
  if ((create & Create.TRUNCATE) !== 0) flags |= OpenFlag.TRUNCATE;
  if (noFollow) flags |= OpenFlag.NO_FOLLOW;
  if (wantDir) flags |= OpenFlag.DIRECTORY;

  const fd = fs.open(path, flags);
  if (fd < 0) return fd as DkResult<never>;
  const st = fs.fstat(fd);
  if (typeof st === 'number') {
    fs.close(fd);
    return st;
  }
  // FIFOs and sockets would block the host or need readiness tracking that files lack:
  // they are pipes, opened through pipe URIs, not file:.
  if (st.kind === 'pipe' || st.kind === 'socket') {
    fs.close(fd);
    return DkError.NOT_SUPPORTED;
  }
  return new FileStream(fs, path, dirUri, fd, st.kind, access, options);
}

/** DkStreamAttributesQuery for file: and dir: URIs; QueryOption.NO_FOLLOW gives the link itself. */
export function queryFileAttributes(fs: FileSystem, path: string, options: number): DkResult<StreamAttributes> {
  const bad = checkPath(path);
  if (bad !== 0) return bad;
  if (!isFlags(options, QueryOption.NO_FOLLOW)) return DkError.INVALID_ARGUMENT;
  const st = (options & QueryOption.NO_FOLLOW) !== 0 ? fs.lstat(path) : fs.stat(path);
  if (typeof st === 'number') return st;
  return pathAttributes(fs, path, st);
}

/**
 * Attributes of the object at `path` whose stat is `st`. readable/writable say what the host
 * lets this process do there; a symbolic link itself is readable (readlink) but not writable.
 */
export function pathAttributes(fs: FileSystem, path: string, st: FileStat): DkResult<StreamAttributes> {
  if (st.kind === 'symlink') {
    const target = fs.readlink(path);
    if (typeof target === 'number') return target;
    return { ...st, readable: true, writable: false, linkTarget: target };
  }
  const perm = fs.access(path);
  if (typeof perm === 'number') return perm;
  return { ...st, readable: perm.readable, writable: perm.writable };
}

/** Longest symbolic link body Linux takes (PATH_MAX, with its NUL). */
const MAX_LINK_TARGET_BYTES = 4095;

/**
 * DkStreamLinkCreate. Symbolic: a link at linkPath holding `target` as free text (it may
 * dangle). Hard: `target` is a file: URI of the object to link to (a link to a directory is
 * refused by the file system with ACCESS_DENIED, as link(2) says EPERM).
 */
export function createFileLink(fs: FileSystem, linkPath: string, target: string, symbolic: boolean): DkResult<0> {
  const bad = checkPath(linkPath);
  if (bad !== 0) return bad;
  if (typeof target !== 'string' || typeof symbolic !== 'boolean') return DkError.INVALID_ARGUMENT;
  if (symbolic) {
    if (target.length === 0) return DkError.NOT_FOUND; // symlink(2) says ENOENT for ""
    if (target.includes('\0') || !target.isWellFormed()) return DkError.INVALID_ARGUMENT;
    if (utf8Length(target) > MAX_LINK_TARGET_BYTES) return DkError.NAME_TOO_LONG;
    return fs.symlink(target, linkPath);
  }
  const parsed = parseFileUri(target);
  if (typeof parsed === 'number') return parsed;
  return fs.link(parsed.path, linkPath);
}
