// The mount rules of the security monitor: file: and dir: URIs mapped through the mounts to
// host paths (opened only when the object opened is the one the walk checked), writes and
// times refused on read-only mounts, renames and hard links kept within one mount, and mount
// points that the guest may not remove or rename. Path resolution itself is resolve.ts.

import { Access, Create, OpenOption, type DkResult, type Handle, type StreamAttributes } from '../abi/dk.ts';
import { DkError, isDkError, type DkErrorCode } from '../abi/errors.ts';
import { NAME_MAX, PATH_MAX, pathComponents, utf8Length } from './guest-path.ts';
import type { MountGrant } from './policy.ts';
import type { Resolved } from './resolve.ts';
import type { SecurityMonitor } from './state.ts';
import { classifyUri } from './uri.ts';

const WRITE_ACCESS = Access.WRITE | Access.APPEND;
/** The mount an inherited file that cannot be written is taken to be on (openInherited). */
const INHERITED_READ_ONLY: MountGrant = { host: '', guest: '', readOnly: true };

/** The mount a handle's file or directory is on; null for every other object. */
export function mountOf(m: SecurityMonitor, h: Handle): MountGrant | null {
  return m.handles.get(h)?.mount ?? null;
}

/** Handle-based changes to the object behind a handle: refused on a read-only mount. */
export function readOnlyHandle(m: SecurityMonitor, h: Handle): boolean {
  return mountOf(m, h)?.readOnly === true;
}

/** DkStreamOpen of file: and dir: URIs. */
export function openPath(m: SecurityMonitor, scheme: 'file' | 'dir', path: string, access: number, create: number, options: number): DkResult<Handle> {
  // O_CREAT|O_EXCL never follows a final link (POSIX): an existing link is "exists".
  const followFinal = (options & OpenOption.NO_FOLLOW) === 0 && (create & Create.EXCLUSIVE) === 0;
  const r = m.resolver.resolve(path, followFinal);
  if (isDkError(r)) return r;
  const exists = r.final !== null;
  const writes = (access & WRITE_ACCESS) !== 0 || (create & (Create.TRUNCATE | Create.EXCLUSIVE)) !== 0 || ((create & Create.CREATE) !== 0 && !exists);
  if (r.mount.readOnly && writes) return DkError.READ_ONLY;
  if (exists && (create & Create.EXCLUSIVE) !== 0) return DkError.ALREADY_EXISTS;
  // The walk did not follow a final link only because the caller said NO_FOLLOW: a link
  // there is an error, unless PATH_ONLY asks for the link itself.
  if (r.final?.kind === 'symlink' && (options & OpenOption.PATH_ONLY) === 0) return DkError.SYMLINK_LOOP;
  // On a read-only mount CREATE of an existing object is a no-op; drop it so that a file
  // removed meanwhile is not created behind the monitor's back.
  const hostCreate = r.mount.readOnly ? 0 : create;
  // The monitor resolved every link; the host must follow none (a link appearing now is a race).
  const h = m.lower.streamOpen(`${scheme}:${r.hostPath}`, access, hostCreate, options | OpenOption.NO_FOLLOW);
  if (isDkError(h)) return h;
  if (r.final !== null && !sameObject(m, h, r.final)) {
    m.lower.objectClose(h);
    return DkError.NOT_CAPABLE;
  }
  m.nextInfo = { mount: r.mount, isMountRoot: r.isMountRoot, refs: 1 };
  return h;
}

/**
 * Check-then-use race: the object opened must be the one the walk checked. Without it, an
 * intermediate directory swapped for a link to /etc between the walk and the open would let
 * the host follow it. (A newly created file has nothing to compare with: documented limit.)
 */
function sameObject(m: SecurityMonitor, h: Handle, seen: StreamAttributes): boolean {
  const now = m.lower.streamAttributesQueryByHandle(h);
  if (isDkError(now)) return false;
  return now.dev === seen.dev && now.ino === seen.ino;
}

/**
 * inherit:N, a stream a fork parent passed on (its monitor checked it when it was opened,
 * under the same manifest). Which mount it came from is not known here: one that cannot be
 * written is taken to be on a read-only mount, so that its times cannot be changed either.
 */
export function openInherited(m: SecurityMonitor, uri: string, access: number, create: number, options: number): DkResult<Handle> {
  const h = m.lower.streamOpen(uri, access, create, options);
  if (isDkError(h)) return h;
  const a = m.lower.streamAttributesQueryByHandle(h);
  if (!isDkError(a) && (a.kind === 'file' || a.kind === 'directory') && !a.writable) {
    m.nextInfo = { mount: INHERITED_READ_ONLY, isMountRoot: false, refs: 1 };
  }
  return h;
}

/** DkStreamRename: within the handle's own mount, not of a mount point, not on a read-only mount. */
export function rename(m: SecurityMonitor, h: Handle, newUri: string): DkResult<0> {
  const info = m.handles.get(h);
  const u = classifyUri(newUri);
  if (isDkError(u)) return u;
  if (u.kind !== 'path') return DkError.INVALID_ARGUMENT;
  if (!info) {
    // Not a handle this monitor gave out: let the host say BAD_HANDLE, never rename it.
    const a = m.lower.streamAttributesQueryByHandle(h);
    return isDkError(a) ? a : DkError.NOT_CAPABLE;
  }
  if (!info.mount) return DkError.WRONG_HANDLE_TYPE;
  const r = m.resolver.resolve(u.path, false);
  if (isDkError(r)) return r;
  if (r.mount !== info.mount) return DkError.CROSS_DEVICE;
  if (r.mount.readOnly) return DkError.READ_ONLY;
  if (info.isMountRoot || r.isMountRoot) return DkError.BUSY;
  return m.lower.streamRename(h, `${u.scheme}:${r.hostPath}`);
}

/** DkStreamLinkCreate: a new name on a writable mount; a hard link's target on the same mount. */
export function linkCreate(m: SecurityMonitor, linkUri: string, target: string, symbolic: boolean): DkResult<0> {
  const u = classifyUri(linkUri);
  if (isDkError(u)) return u;
  if (u.kind !== 'path') return DkError.INVALID_ARGUMENT;
  const link = m.resolver.resolve(u.path, false);
  if (isDkError(link)) return link;
  if (link.mount.readOnly) return DkError.READ_ONLY;
  if (link.final !== null) return DkError.ALREADY_EXISTS;
  const linkHost = `${u.scheme}:${link.hostPath}`;
  if (symbolic) {
    // Stored as given, checked when followed (resolve.ts interprets it in the guest namespace).
    if (target === '' || target.includes('\0')) return DkError.INVALID_ARGUMENT;
    if (utf8Length(target) > PATH_MAX) return DkError.NAME_TOO_LONG;
    if (pathComponents(target).some((c) => utf8Length(c) > NAME_MAX)) return DkError.NAME_TOO_LONG;
    return m.lower.streamLinkCreate(linkHost, target, true);
  }
  // A hard link names an existing object, by URI or by absolute guest path.
  const t = target.startsWith('/') ? ({ kind: 'path', scheme: 'file', path: target } as const) : classifyUri(target);
  if (isDkError(t)) return t;
  if (t.kind !== 'path') return DkError.INVALID_ARGUMENT;
  const tr: Resolved | DkErrorCode = m.resolver.resolve(t.path, false); // link(2) does not follow
  if (isDkError(tr)) return tr;
  if (tr.final === null) return DkError.NOT_FOUND;
  if (tr.mount !== link.mount) return DkError.CROSS_DEVICE;
  // The host takes a hard link's target as a file: URI (host/kernel/files/files.ts).
  return m.lower.streamLinkCreate(linkHost, `file:${tr.hostPath}`, false);
}

/** Why removing the object behind `h` (DkStreamDelete of BOTH sides) is refused, or null when it is not. */
export function removeRefused(m: SecurityMonitor, h: Handle): DkErrorCode | null {
  const info = m.handles.get(h);
  if (!info?.mount) return null;
  if (info.mount.readOnly) return DkError.READ_ONLY;
  if (info.isMountRoot) return DkError.BUSY; // a mount point is not the guest's to remove
  return null;
}
