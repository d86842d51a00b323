// Guest path resolution: the monitor's own walk, one component at a time, so that neither '..'
// nor a symbolic link can leave the mounts the manifest grants.
//
// The guest sees one namespace: the mount points, and the directories above them (virtual,
// empty apart from the mount points). Symbolic links are read from the host with NO_FOLLOW and
// their targets interpreted in that GUEST namespace (absolute: from the guest root; relative:
// from the link's directory), '..' is applied to the path resolved so far (POSIX semantics:
// "link/.." is the parent of the link's target) and may not climb above the guest root. A component
// outside every mount and not above one is refused (NOT_CAPABLE) without asking the host,
// so a refused path reveals nothing about the host file system.

import type { DkResult, StreamAttributes } from '../abi/dk.ts';
import { beneathPath } from '../abi/uri.ts';
import { DkError, isDkError, type DkErrorCode } from '../abi/errors.ts';
import { NAME_MAX, PATH_MAX, isUnder, joinPath, pathComponents, utf8Length } from './guest-path.ts';
import type { MountGrant } from './policy.ts';

/** Linux's limit (MAXSYMLINKS): more links in one resolution is a loop. */
export const MAX_SYMLINKS = 40;

export interface Resolved {
  guestPath: string;
  hostPath: string;
  mount: MountGrant;
  /** Whether the path is the mount point itself (it cannot be deleted, renamed or replaced). */
  isMountRoot: boolean;
  /**
   * The final object as the walk saw it (a symbolic link itself when not followed), or null
   * when it does not exist (a create may make it).
   */
  final: StreamAttributes | null;
}

export class PathResolver {
  /** Longest guest path first, so the first match is the most specific mount. */
  private readonly mounts: readonly MountGrant[];
  /** Asks the host about a host path without following a final symbolic link. */
  private readonly query: (hostPath: string, follow: boolean) => DkResult<StreamAttributes>;

  constructor(mounts: readonly MountGrant[], query: (hostPath: string, follow: boolean) => DkResult<StreamAttributes>) {
    this.mounts = [...mounts].sort((a, b) => b.guest.length - a.guest.length);
    this.query = query;
  }

  mountFor(guestPath: string): MountGrant | undefined {
    return this.mounts.find((m) => isUnder(guestPath, m.guest));
  }

  /** A directory above some mount point: it exists in the guest namespace, virtually. */
  private isVirtualDir(guestPath: string): boolean {
    return this.mounts.some((m) => isUnder(m.guest, guestPath));
  }

  /**
   * The host path of a guest path inside mount m, marked with its mount root (abi/uri.ts
   * beneathPath): the host resolves the rest one component at a time from a descriptor of the
   * root and refuses to leave it, so a directory swapped for a link between this walk and the
   * host's use of the path can lead nowhere outside the mount.
   */
  toHost(m: MountGrant, guestPath: string): string {
    const rest = guestPath === m.guest ? [] : pathComponents(guestPath.slice(m.guest === '/' ? 0 : m.guest.length));
    return beneathPath(m.host, rest);
  }

  /** Validates path text: absolute, no NUL, within NAME_MAX and PATH_MAX. */
  static checkText(path: string): DkErrorCode | 0 {
    if (path.includes('\0')) return DkError.INVALID_ARGUMENT;
    if (!path.startsWith('/')) return DkError.INVALID_ARGUMENT;
    if (utf8Length(path) > PATH_MAX) return DkError.NAME_TOO_LONG;
    for (const c of path.split('/')) if (c.length > NAME_MAX / 4 && utf8Length(c) > NAME_MAX) return DkError.NAME_TOO_LONG;
    return 0;
  }

  /**
   * Resolves a guest path to a host path inside one mount.
   * followFinal: whether a symbolic link in the last component is followed.
   */
  resolve(path: string, followFinal: boolean): Resolved | DkErrorCode {
    const bad = PathResolver.checkText(path);
    if (bad !== 0) return bad;
    const pending = pathComponents(path).reverse(); // pop() takes the next component
    const resolved: string[] = [];
    let links = 0;
    // Attributes of '/' + resolved, when the last step looked them up; null: not looked up.
    let final: StreamAttributes | null = null;
    let exists = true;

    while (pending.length > 0) {
      const name = pending.pop()!;
      if (name === '..') {
        // Climbing above the guest root is an escape attempt: refused, as cap-std (wasmtime)
        // refuses a path that leaves its directory, rather than clamped.
        if (resolved.length === 0) return DkError.NOT_CAPABLE;
        resolved.pop();
        final = null;
        continue;
      }
      const isLast = pending.length === 0;
      const guest = joinPath('/', [...resolved, name]);
      const mount = this.mountFor(guest);
      if (!mount) {
        if (!this.isVirtualDir(guest)) return DkError.NOT_CAPABLE;
        resolved.push(name);
        final = null;
        continue;
      }
      const isRoot = guest === mount.guest;
      // A mount point is trusted as the manifest wrote it: the host may follow links in it.
      const attrs = this.query(this.toHost(mount, guest), isRoot);
      if (attrs === DkError.NOT_FOUND && isLast) {
        resolved.push(name);
        exists = false;
        break;
      }
      if (isDkError(attrs)) return attrs;
      if (attrs.kind === 'symlink' && !isRoot && (!isLast || followFinal)) {
        if (++links > MAX_SYMLINKS) return DkError.SYMLINK_LOOP;
        const target = attrs.linkTarget ?? '';
        if (target === '') return DkError.NOT_FOUND; // as Linux does for an empty link
        if (target.includes('\0')) return DkError.INVALID_ARGUMENT;
        if (utf8Length(target) > PATH_MAX) return DkError.NAME_TOO_LONG;
        const parts = pathComponents(target);
        if (parts.some((p) => utf8Length(p) > NAME_MAX)) return DkError.NAME_TOO_LONG;
        if (target.startsWith('/')) resolved.length = 0;
        for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
        final = null;
        continue;
      }
      if (!isLast && attrs.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
      resolved.push(name);
      final = attrs;
    }

    const guestPath = joinPath('/', resolved);
    const mount = this.mountFor(guestPath);
    if (!mount) return DkError.NOT_CAPABLE;
    const hostPath = this.toHost(mount, guestPath);
    const isMountRoot = guestPath === mount.guest;
    if (exists && final === null) {
      // The path ended on '..' or a mount point's ancestor chain: look the directory up.
      const attrs = this.query(hostPath, isMountRoot);
      if (isDkError(attrs)) return attrs;
      final = attrs;
    }
    return { guestPath, hostPath, mount, isMountRoot, final: exists ? final : null };
  }
}
