// Path resolution of the library OS: a (directory descriptor, guest path) pair to an absolute
// guest path, lexically, with the checks wasmtime's cap-std makes. Links are not followed
// here: the monitor resolves the raw path below.

import { Errno } from './constants.ts';
import type { Description, FdTable } from './fds.ts';
import type { GuestMemory } from './memory.ts';

/** An absolute guest path, and whether the guest wrote it with a trailing slash. */
export interface ResolvedPath {
  path: string;
  trailingSlash: boolean;
}

/** What resolving a path reads of the library OS state (WasiState). */
interface PathScope {
  readonly fds: FdTable;
  readonly mem: GuestMemory;
}

/**
 * Resolve (dirfd, path) to an absolute guest path, as wasmtime's cap-std does lexically:
 * the directory must be a directory descriptor, the path relative, valid UTF-8 without NUL,
 * and `..` may not climb above the directory (EPERM). Returns the path or an errno.
 */
export function resolvePath(os: PathScope, dirfd: number, ptr: number, len: number): ResolvedPath | number {
  const dir = os.fds.get(dirfd);
  if (!dir || dir.kind !== 'directory') return Errno.BADF;
  return resolveIn(os, dir, ptr, len);
}

/** resolvePath in a directory description the caller has looked up already. */
export function resolveIn(os: PathScope, dir: Description, ptr: number, len: number): ResolvedPath | number {
  os.mem.refresh();
  const rel = os.mem.string(ptr, len);
  if (rel === null) return Errno.ILSEQ;
  return joinGuestPath(dir.guestPath, rel);
}

/** `/`, `/a/b` (no trailing slash, no repeated slashes). */
export function normalizeGuestRoot(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}

/** Join a relative WASI path onto a directory's guest path with the lexical checks of cap-std. */
export function joinGuestPath(base: string, rel: string): ResolvedPath | number {
  if (rel.includes('\0')) return Errno.INVAL;
  if (rel.length === 0) return Errno.NOENT;
  if (rel.startsWith('/')) return Errno.PERM;
  let depth = 0;
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (--depth < 0) return Errno.PERM;
    } else depth++;
  }
  const trailingSlash = rel.endsWith('/');
  // The raw path goes down: `..` after a symbolic link must be resolved by whoever follows
  // links (the monitor), not collapsed here.
  return { path: (base === '/' ? '' : base) + '/' + rel, trailingSlash };
}
