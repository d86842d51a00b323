// The per-call checks of the security monitor: the primitives that carry paths, bytes or
// quotas, each with its own check before the host sees the call (the others only get the
// wrapper's argument and handle-quota checks, monitor.ts). Called with the monitor's state as
// `this`, their arguments already type-checked. Paths go through the mount rules (mounts.ts).

import {
  Access,
  Create,
  NO_OFFSET,
  OpenOption,
  Prot,
  QueryOption,
  StreamSide,
  type AttributesUpdate,
  type Dk,
  type DkMethod,
  type DkResult,
  type Handle,
  type StreamAttributes,
} from '../abi/dk.ts';
import { DkError, isDkError } from '../abi/errors.ts';
import { linkCreate, openInherited, openPath, readOnlyHandle, removeRefused, rename } from './mounts.ts';
import type { SecurityMonitor } from './state.ts';
import { classifyUri, networkAllowed } from './uri.ts';

/** Checked primitives: a Dk method with the monitor as `this`. */
export type CheckedPrimitives = { [K in DkMethod]?: (this: SecurityMonitor, ...args: Parameters<Dk[K]>) => ReturnType<Dk[K]> };

/** The primitives with checks of their own. */
export const CHECKED: CheckedPrimitives = {
  // --- memory
  virtualMemoryAlloc(addr, size, prot) {
    if (this.memory + size > this.policy.limits.memory) return DkError.QUOTA_EXCEEDED;
    const r = this.lower.virtualMemoryAlloc(addr, size, prot);
    if (!isDkError(r)) this.memory += size;
    return r;
  },
  virtualMemoryFree(addr, size) {
    const r = this.lower.virtualMemoryFree(addr, size);
    if (r === 0) this.memory = Math.max(0, this.memory - size);
    return r;
  },

  // --- processes
  processCreate(uri, args, stdio) {
    if (stdio.some((h) => this.net.isDatagram(h))) return DkError.NOT_CAPABLE; // its writes would go unchecked
    if (this.children >= this.policy.limits.children) return DkError.QUOTA_EXCEEDED;
    if (uri.startsWith('fork:')) {
      // A copy of the caller (drawbridge fork): the launcher checks that the snapshot the
      // token names was taken of this very picoprocess; it runs with the same grants.
      const h = this.lower.processCreate(uri, args, stdio);
      if (!isDkError(h)) this.children++;
      return h;
    }
    const u = classifyUri(uri);
    if (isDkError(u)) return u;
    if (u.kind !== 'path' || u.scheme !== 'file') return DkError.INVALID_ARGUMENT;
    const r = this.resolver.resolve(u.path, true);
    if (isDkError(r)) return r;
    if (r.final === null) return DkError.NOT_FOUND;
    const h = this.lower.processCreate(`file:${r.hostPath}`, args, stdio);
    if (!isDkError(h)) this.children++;
    return h;
  },

  // --- streams
  streamOpen(uri, access, create, options) {
    const u = classifyUri(uri);
    if (isDkError(u)) return u;
    if (u.kind === 'network') {
      if (!this.net.allowsOpen(u, options)) return DkError.NOT_CAPABLE;
      const h = this.lower.streamOpen(uri, access, create, options);
      if (!isDkError(h)) this.net.opened(h, u);
      return h;
    }
    if (u.kind === 'local') return openLocal(this, uri, access, create, options);
    const hash = this.trusted !== null && u.scheme === 'file' ? this.trusted.hashFor(u.path) : undefined;
    if (hash === undefined) return openPath(this, u.scheme, u.path, access, create, options);
    // A trusted file: read-only, and hashed through the handle just opened (trusted-files.ts).
    if ((access & Access.WRITE) !== 0 || (create & (Create.TRUNCATE | Create.EXCLUSIVE)) !== 0) return DkError.NOT_CAPABLE;
    const h = openPath(this, u.scheme, u.path, access, create & ~Create.CREATE, options);
    if (isDkError(h) || (options & OpenOption.PATH_ONLY) !== 0) return h;
    const verified = this.trusted!.verifyOpened(this.lower, h, hash);
    if (verified !== 0) {
      this.lower.objectClose(h);
      return verified;
    }
    return h;
  },
  streamRead(h, offset, buffer) {
    if (offset !== NO_OFFSET && offset + buffer.length > Number.MAX_SAFE_INTEGER) return DkError.INVALID_ARGUMENT;
    if (this.trusted?.has(h)) return this.trusted.read(this.lower, h, offset, buffer);
    const n = this.lower.streamRead(h, offset, buffer);
    if (n > 0 && this.net.watching) this.net.read(h, buffer, n); // addresses a dns: lookup answered
    return n;
  },
  streamWrite(h, offset, data) {
    if (offset !== NO_OFFSET && offset + data.length > Number.MAX_SAFE_INTEGER) return DkError.INVALID_ARGUMENT;
    if (readOnlyHandle(this, h)) return DkError.READ_ONLY;
    // A frame buffer is an array of fixed size: drawing into it fills nothing, so it is not counted.
    if (this.handles.get(h)?.frameBuffer) return this.lower.streamWrite(h, offset, data);
    // A write that would pass the limit is refused whole: nothing is written.
    if (this.bytesWritten + data.length > this.policy.limits.bytesWritten) return DkError.QUOTA_EXCEEDED;
    if (this.net.isDatagram(h)) {
      const refused = this.net.checkDatagram(data); // its destination, as a udp: connect
      if (refused !== 0) return refused;
    }
    const r = this.lower.streamWrite(h, offset, data);
    if (!isDkError(r)) this.bytesWritten += r;
    return r;
  },
  streamMap(h, addr, prot, offset, size) {
    if (offset < 0) return DkError.INVALID_ARGUMENT;
    if (this.trusted?.has(h)) return DkError.NOT_SUPPORTED; // a mapping would be read unchecked
    if ((prot & Prot.WRITE) !== 0 && readOnlyHandle(this, h)) return DkError.READ_ONLY;
    const fresh = addr === 0;
    if (fresh && this.memory + size > this.policy.limits.memory) return DkError.QUOTA_EXCEEDED;
    const r = this.lower.streamMap(h, addr, prot, offset, size);
    if (fresh && !isDkError(r)) {
      this.memory += size;
      (this.mapped ??= new Map()).set(r, size);
    }
    return r;
  },
  streamUnmap(addr, size) {
    const r = this.lower.streamUnmap(addr, size);
    const counted = this.mapped?.get(addr);
    if (r === 0 && counted !== undefined) {
      this.mapped!.delete(addr);
      this.memory = Math.max(0, this.memory - counted);
    }
    return r;
  },
  streamSetLength(h, length) {
    return readOnlyHandle(this, h) ? DkError.READ_ONLY : this.lower.streamSetLength(h, length);
  },
  // Moving a file's position changes nothing on the mount: only times are refused there.
  streamAttributesSetByHandle(h, update: AttributesUpdate) {
    if (readOnlyHandle(this, h) && (update.atimeNs !== undefined || update.mtimeNs !== undefined)) return DkError.READ_ONLY;
    return this.lower.streamAttributesSetByHandle(h, update);
  },
  streamDelete(h, side) {
    const refused = side === StreamSide.BOTH ? removeRefused(this, h) : null;
    return refused ?? this.lower.streamDelete(h, side);
  },
  streamRename(h, newUri) {
    return rename(this, h, newUri);
  },
  streamLinkCreate(linkUri, target, symbolic) {
    return linkCreate(this, linkUri, target, symbolic);
  },
  streamAttributesQuery(uri, options) {
    const u = classifyUri(uri);
    if (isDkError(u)) return u;
    if (u.kind === 'network' && !networkAllowed(this.policy.network, u)) return DkError.NOT_CAPABLE;
    if (u.kind !== 'path') return sanitise(this.lower.streamAttributesQuery(uri, options));
    const r = this.resolver.resolve(u.path, (options & QueryOption.NO_FOLLOW) === 0);
    if (isDkError(r)) return r;
    // The walk has just looked the final object up; that answer is the one to give.
    return r.final === null ? DkError.NOT_FOUND : sanitise(r.final);
  },
  streamAttributesQueryByHandle(h) {
    return notePeer(this, sanitise(this.lower.streamAttributesQueryByHandle(h)));
  },

  // --- devices
  frameBufferExport(width, height, format) {
    this.nextInfo = { mount: null, isMountRoot: false, refs: 1, frameBuffer: true };
    return this.lower.frameBufferExport(width, height, format);
  },

  // --- handles
  objectReference(h) {
    const r = this.lower.objectReference(h);
    const info = this.handles.get(h);
    if (r === 0 && info) info.refs++;
    return r;
  },
  objectClose(h) {
    const r = this.lower.objectClose(h);
    const info = this.handles.get(h);
    if (r === 0 && info && --info.refs <= 0) {
      this.handles.delete(h);
      this.net.closed(h);
      this.trusted?.closed(h);
    }
    return r;
  },
};

/** Remember the peer URI of an anonymous pipe the picoprocess looked at (openLocal lets it open that one). */
function notePeer(m: SecurityMonitor, a: DkResult<StreamAttributes>): DkResult<StreamAttributes> {
  if (!isDkError(a) && a.peerUri !== undefined) (m.peers ??= new Set()).add(a.peerUri);
  return a;
}

/**
 * Local streams. The other end of an anonymous pipe may be opened only by the picoprocess
 * that made the pipe (its peer URI is host-wide and guessable; a child gets its end as a
 * handle, not a URI). Named pipes live in the manifest's pipe namespace, so tenants of one
 * host cannot reach each other's.
 */
function openLocal(m: SecurityMonitor, uri: string, access: number, create: number, options: number): DkResult<Handle> {
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon);
  if (scheme === 'pipe' && uri.length > 'pipe:'.length) {
    if (!m.peers?.has(uri)) return DkError.NOT_CAPABLE;
    m.peers.delete(uri);
  }
  if ((scheme === 'pipe.server' || scheme === 'pipe.client') && m.policy.pipeNamespace) {
    const name = uri.slice(colon + 1);
    if (name.includes('/')) return DkError.INVALID_ARGUMENT;
    return m.lower.streamOpen(`${scheme}:${m.policy.pipeNamespace}/${name}`, access, create, options);
  }
  if (scheme === 'inherit') return openInherited(m, uri, access, create, options);
  return m.lower.streamOpen(uri, access, create, options);
}

/**
 * Attributes as the guest may see them: only the fields of StreamAttributes, so that nothing a
 * host adds (a host path, say) leaks. linkTarget is the text the guest stored; peerUri names
 * the other end of an anonymous pipe and is passed through.
 */
function sanitise(a: DkResult<StreamAttributes>): DkResult<StreamAttributes> {
  if (isDkError(a)) return a;
  const out: StreamAttributes = {
    kind: a.kind,
    size: a.size,
    readable: a.readable,
    writable: a.writable,
    dev: a.dev,
    ino: a.ino,
    nlink: a.nlink,
    atimeNs: a.atimeNs,
    mtimeNs: a.mtimeNs,
    ctimeNs: a.ctimeNs,
  };
  if (a.linkTarget !== undefined) out.linkTarget = a.linkTarget;
  if (a.peerUri !== undefined) out.peerUri = a.peerUri;
  if (a.localUri !== undefined) out.localUri = a.localUri;
  if (a.terminal !== undefined) out.terminal = a.terminal;
  if (a.position !== undefined) out.position = a.position;
  if (a.peerWritable !== undefined) out.peerWritable = a.peerWritable;
  if (a.peerReadable !== undefined) out.peerReadable = a.peerReadable;
  if (a.shared !== undefined) out.shared = a.shared;
  if (a.statusFlags !== undefined) out.statusFlags = a.statusFlags;
  return out;
}
