// The security monitor: a Dk-to-Dk layer that checks every call against the manifest's grants
// and quotas before the host (PAL) sees it (DESIGN.md, "Security monitor and manifest").
//
// Every primitive is wrapped, generically from PRIMITIVES in abi/spec.ts: its arguments are
// checked against their declared types (args.ts), handle-creating primitives count against the
// handle quota, and an exception escaping the host becomes IO_ERROR (and is counted, so tests
// notice). Only the primitives that carry paths, bytes or quotas have their own checks below.
//
// Handles: the monitor never invents or renumbers handles; it passes the host's numbers
// through (the host's per-picoprocess table is what isolates picoprocesses) and keeps, per
// handle, the mount a file handle came from, so handle-based writes on a read-only mount and
// renames across mounts can be refused.

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
import { DkError, isDkError, type DkErrorCode } from '../abi/errors.ts';
import { PRIMITIVES } from '../abi/spec.ts';
import { checkArgs } from './args.ts';
import { NAME_MAX, PATH_MAX, pathComponents, utf8Length } from './guest-path.ts';
import type { MonitorPolicy, MountGrant } from './policy.ts';
import { PathResolver, type Resolved } from './resolve.ts';
import { classifyUri, networkAllowed } from './uri.ts';
import { NetworkGate } from './network/resolved.ts';

export type { MonitorPolicy, MountGrant } from './policy.ts';
export { policyFromManifest } from './policy.ts';

export interface MonitorUsage {
  /** Handles open now (created through the monitor, not yet closed). */
  handles: number;
  bytesWritten: number;
  children: number;
  /** Bytes committed through DkVirtualMemoryAlloc and fresh DkStreamMap regions. */
  memory: number;
  /** Exceptions the host threw (turned into IO_ERROR): a host bug when not 0. */
  internalErrors: number;
}

interface HandleInfo {
  /** The mount a file or directory handle was opened in; null for every other object. */
  mount: MountGrant | null;
  isMountRoot: boolean;
  /** References taken with DkObjectReference, plus the one from creation. */
  refs: number;
}

const WRITE_ACCESS = Access.WRITE | Access.APPEND;
/** The mount an inherited file that cannot be written is taken to be on (openInherited). */
const INHERITED_READ_ONLY: MountGrant = { host: '', guest: '', readOnly: true };

type AnyFn = (...args: any[]) => unknown;

/** Checked primitives: a Dk method with the monitor as `this`. */
type CheckedPrimitives = { [K in DkMethod]?: (this: SecurityMonitor, ...args: Parameters<Dk[K]>) => ReturnType<Dk[K]> };

/** What createMonitor returns: every Dk method, on the prototype (built in SecurityMonitor). */
class MonitoredDk {
  readonly monitor: SecurityMonitor;
  constructor(monitor: SecurityMonitor) {
    this.monitor = monitor;
  }
}

export class SecurityMonitor {
  readonly dk: Dk;
  private readonly lower: Dk;
  private readonly policy: MonitorPolicy;
  private readonly resolver: PathResolver;
  /** Network grants applied to resolved addresses (monitor/network/resolved.ts). */
  private readonly net: NetworkGate;
  private readonly handles = new Map<Handle, HandleInfo>();
  /** Set by an override that created a handle, read by the generic wrapper that records it. */
  private nextInfo: HandleInfo | null = null;
  /** Fresh regions of DkStreamMap (addr 0), so DkStreamUnmap can release their accounting. */
  private mapped: Map<number, number> | null = null;
  private bytesWritten = 0;
  private children = 0;
  private memory = 0;
  private internalErrors = 0;
  /** The last exception a host threw, for debugging. */
  lastInternalError: unknown = undefined;

  constructor(lower: Dk, policy: MonitorPolicy) {
    this.lower = lower;
    this.policy = policy;
    this.resolver = new PathResolver(policy.mounts, (hostPath, follow) =>
      lower.streamAttributesQuery(`file:${hostPath}`, follow ? 0 : QueryOption.NO_FOLLOW),
    );
    this.net = new NetworkGate(policy.network);
    this.dk = new MonitoredDk(this) as unknown as Dk;
  }

  usage(): MonitorUsage {
    return {
      handles: this.handles.size,
      bytesWritten: this.bytesWritten,
      children: this.children,
      memory: this.memory,
      internalErrors: this.internalErrors,
    };
  }

  // -------------------------------------------------------------------------------------------
  // The Dk the monitor hands out
  //
  // Its methods live once on MonitoredDk.prototype, built here from PRIMITIVES and the checked
  // primitives below, and find the monitor through `this`: a picoprocess's start then allocates
  // two objects for its monitor instead of ~140 closures and bound functions (14 KiB of heap
  // each, which the density benchmark's start rate paid again in garbage collection).

  static {
    const checked = SecurityMonitor.checked();
    const proto = MonitoredDk.prototype as unknown as Record<DkMethod, AnyFn>;
    const generic = {} as Record<DkMethod, AnyFn>;
    for (const spec of PRIMITIVES) {
      const method = spec.method;
      const own = checked[method] as AnyFn | undefined;
      const createsHandle = spec.result === 'handle';
      generic[method] = proto[method] = function (this: MonitoredDk, ...args: unknown[]): unknown {
        const m = this.monitor;
        const bad = checkArgs(spec, args);
        if (bad !== 0) return spec.blocking ? Promise.resolve(bad) : bad;
        if (createsHandle && m.handles.size >= m.policy.limits.handles) return DkError.QUOTA_EXCEEDED;
        m.nextInfo = null;
        let result: unknown;
        try {
          result = own ? own.apply(m, args) : (m.lower as unknown as Record<DkMethod, AnyFn>)[method](...args);
        } catch (e) {
          return m.hostThrew(e);
        }
        if (spec.blocking) return (result as Promise<unknown>).catch((e: unknown) => m.hostThrew(e));
        if (createsHandle && typeof result === 'number' && result > 0) {
          m.handles.set(result, m.nextInfo ?? { mount: null, isMountRoot: false, refs: 1 });
        }
        return result;
      };
    }
    // The hot primitives (a clock read, a stream read or write per guest syscall) skip the
    // generic wrapper's argument array and table-driven checks when their arguments are plainly
    // well-formed: the inline guards below accept a subset of what checkArgs accepts, and
    // anything else still takes the generic path, with the same checks and error codes.
    const slowTime = generic.systemTimeQuery;
    proto.systemTimeQuery = function (this: MonitoredDk, clock: number): unknown {
      if (clock !== 0 && clock !== 1) return slowTime.call(this, clock);
      try {
        return this.monitor.lower.systemTimeQuery(clock);
      } catch (e) {
        return this.monitor.hostThrew(e);
      }
    };
    for (const method of ['streamRead', 'streamWrite'] as const) {
      const slow = generic[method];
      const impl = checked[method]! as AnyFn;
      proto[method] = function (this: MonitoredDk, h: number, offset: number, buffer: Uint8Array): unknown {
        if (!((h | 0) === h && h > 0 && (offset === -1 || (offset >= 0 && offset <= 0x7fffffffffff && offset === Math.floor(offset))) && buffer instanceof Uint8Array)) {
          return slow.call(this, h, offset, buffer);
        }
        try {
          return impl.call(this.monitor, h, offset, buffer);
        } catch (e) {
          return this.monitor.hostThrew(e);
        }
      };
    }
  }

  /** Peer URIs of the anonymous pipes this picoprocess made: the only ones it may open. */
  private peers: Set<string> | null = null;

  private notePeer(a: DkResult<StreamAttributes>): DkResult<StreamAttributes> {
    if (!isDkError(a) && a.peerUri !== undefined) (this.peers ??= new Set()).add(a.peerUri);
    return a;
  }

  /**
   * Local streams. The other end of an anonymous pipe may be opened only by the picoprocess
   * that made the pipe (its peer URI is host-wide and guessable; a child gets its end as a
   * handle, not a URI). Named pipes live in the manifest's pipe namespace, so tenants of one
   * host cannot reach each other's.
   */
  private openLocal(uri: string, access: number, create: number, options: number): DkResult<Handle> {
    const colon = uri.indexOf(':');
    const scheme = uri.slice(0, colon);
    if (scheme === 'pipe' && uri.length > 'pipe:'.length) {
      if (!this.peers?.has(uri)) return DkError.NOT_CAPABLE;
      this.peers.delete(uri);
    }
    if ((scheme === 'pipe.server' || scheme === 'pipe.client') && this.policy.pipeNamespace) {
      const name = uri.slice(colon + 1);
      if (name.includes('/')) return DkError.INVALID_ARGUMENT;
      return this.lower.streamOpen(`${scheme}:${this.policy.pipeNamespace}/${name}`, access, create, options);
    }
    if (scheme === 'inherit') return this.openInherited(uri, access, create, options);
    return this.lower.streamOpen(uri, access, create, options);
  }

  /**
   * inherit:N, a stream a fork parent passed on (its monitor checked it when it was opened,
   * under the same manifest). Which mount it came from is not known here: one that cannot be
   * written is taken to be on a read-only mount, so that its times cannot be changed either.
   */
  private openInherited(uri: string, access: number, create: number, options: number): DkResult<Handle> {
    const h = this.lower.streamOpen(uri, access, create, options);
    if (isDkError(h)) return h;
    const a = this.lower.streamAttributesQueryByHandle(h);
    if (!isDkError(a) && (a.kind === 'file' || a.kind === 'directory') && !a.writable) {
      this.nextInfo = { mount: INHERITED_READ_ONLY, isMountRoot: false, refs: 1 };
    }
    return h;
  }

  private hostThrew(e: unknown): DkErrorCode {
    this.internalErrors++;
    this.lastInternalError = e;
    return DkError.IO_ERROR;
  }

  private mountOf(h: Handle): MountGrant | null {
    return this.handles.get(h)?.mount ?? null;
  }

  /** Handle-based changes to the object behind a handle: refused on a read-only mount. */
  private readOnlyHandle(h: Handle): boolean {
    return this.mountOf(h)?.readOnly === true;
  }

  // -------------------------------------------------------------------------------------------
  // The checked primitives

  /** The primitives with checks of their own (called with the monitor as `this`, arguments already type-checked). */
  private static checked(): CheckedPrimitives {
    return {
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
        if (u.kind === 'local') return this.openLocal(uri, access, create, options);
        return this.openPath(u.scheme, u.path, access, create, options);
      },
      streamRead(h, offset, buffer) {
        if (offset !== NO_OFFSET && offset + buffer.length > Number.MAX_SAFE_INTEGER) return DkError.INVALID_ARGUMENT;
        const n = this.lower.streamRead(h, offset, buffer);
        if (n > 0 && this.net.watching) this.net.read(h, buffer, n); // addresses a dns: lookup answered
        return n;
      },
      streamWrite(h, offset, data) {
        if (offset !== NO_OFFSET && offset + data.length > Number.MAX_SAFE_INTEGER) return DkError.INVALID_ARGUMENT;
        if (this.readOnlyHandle(h)) return DkError.READ_ONLY;
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
        if ((prot & Prot.WRITE) !== 0 && this.readOnlyHandle(h)) return DkError.READ_ONLY;
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
        return this.readOnlyHandle(h) ? DkError.READ_ONLY : this.lower.streamSetLength(h, length);
      },
      // Moving a file's position changes nothing on the mount: only times are refused there.
      streamAttributesSetByHandle(h, update: AttributesUpdate) {
        if (this.readOnlyHandle(h) && (update.atimeNs !== undefined || update.mtimeNs !== undefined)) return DkError.READ_ONLY;
        return this.lower.streamAttributesSetByHandle(h, update);
      },
      streamDelete(h, side) {
        const info = this.handles.get(h);
        if (side === StreamSide.BOTH && info?.mount) {
          if (info.mount.readOnly) return DkError.READ_ONLY;
          if (info.isMountRoot) return DkError.BUSY; // a mount point is not the guest's to remove
        }
        return this.lower.streamDelete(h, side);
      },
      streamRename(h, newUri) {
        return this.rename(h, newUri);
      },
      streamLinkCreate(linkUri, target, symbolic) {
        return this.linkCreate(linkUri, target, symbolic);
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
        return this.notePeer(sanitise(this.lower.streamAttributesQueryByHandle(h)));
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
        }
        return r;
      },
    };
  }

  /** DkStreamOpen of file: and dir: URIs. */
  private openPath(scheme: 'file' | 'dir', path: string, access: number, create: number, options: number): DkResult<Handle> {
    // O_CREAT|O_EXCL never follows a final link (POSIX): an existing link is "exists".
    const followFinal = (options & OpenOption.NO_FOLLOW) === 0 && (create & Create.EXCLUSIVE) === 0;
    const r = this.resolver.resolve(path, followFinal);
    if (isDkError(r)) return r;
    const exists = r.final !== null;
    const writes =
      (access & WRITE_ACCESS) !== 0 ||
      (create & (Create.TRUNCATE | Create.EXCLUSIVE)) !== 0 ||
      ((create & Create.CREATE) !== 0 && !exists);
    if (r.mount.readOnly && writes) return DkError.READ_ONLY;
    if (exists && (create & Create.EXCLUSIVE) !== 0) return DkError.ALREADY_EXISTS;
    // The walk did not follow a final link only because the caller said NO_FOLLOW: a link
    // there is an error, unless PATH_ONLY asks for the link itself.
    if (r.final?.kind === 'symlink' && (options & OpenOption.PATH_ONLY) === 0) return DkError.SYMLINK_LOOP;
    // On a read-only mount CREATE of an existing object is a no-op; drop it so that a file
    // removed meanwhile is not created behind the monitor's back.
    const hostCreate = r.mount.readOnly ? 0 : create;
    // The monitor resolved every link; the host must follow none (a link appearing now is a race).
    const h = this.lower.streamOpen(`${scheme}:${r.hostPath}`, access, hostCreate, options | OpenOption.NO_FOLLOW);
    if (isDkError(h)) return h;
    if (r.final !== null && !this.sameObject(h, r.final)) {
      this.lower.objectClose(h);
      return DkError.NOT_CAPABLE;
    }
    this.nextInfo = { mount: r.mount, isMountRoot: r.isMountRoot, refs: 1 };
    return h;
  }

  /**
   * Check-then-use race: the object opened must be the one the walk checked. Without it, an
   * intermediate directory swapped for a link to /etc between the walk and the open would let
   * the host follow it. (A newly created file has nothing to compare with: documented limit.)
   */
  private sameObject(h: Handle, seen: StreamAttributes): boolean {
    const now = this.lower.streamAttributesQueryByHandle(h);
    if (isDkError(now)) return false;
    return now.dev === seen.dev && now.ino === seen.ino;
  }

  private rename(h: Handle, newUri: string): DkResult<0> {
    const info = this.handles.get(h);
    const u = classifyUri(newUri);
    if (isDkError(u)) return u;
    if (u.kind !== 'path') return DkError.INVALID_ARGUMENT;
    if (!info) {
      // Not a handle this monitor gave out: let the host say BAD_HANDLE, never rename it.
      const a = this.lower.streamAttributesQueryByHandle(h);
      return isDkError(a) ? a : DkError.NOT_CAPABLE;
    }
    if (!info.mount) return DkError.WRONG_HANDLE_TYPE;
    const r = this.resolver.resolve(u.path, false);
    if (isDkError(r)) return r;
    if (r.mount !== info.mount) return DkError.CROSS_DEVICE;
    if (r.mount.readOnly) return DkError.READ_ONLY;
    if (info.isMountRoot || r.isMountRoot) return DkError.BUSY;
    return this.lower.streamRename(h, `${u.scheme}:${r.hostPath}`);
  }

  private linkCreate(linkUri: string, target: string, symbolic: boolean): DkResult<0> {
    const u = classifyUri(linkUri);
    if (isDkError(u)) return u;
    if (u.kind !== 'path') return DkError.INVALID_ARGUMENT;
    const link = this.resolver.resolve(u.path, false);
    if (isDkError(link)) return link;
    if (link.mount.readOnly) return DkError.READ_ONLY;
    if (link.final !== null) return DkError.ALREADY_EXISTS;
    const linkHost = `${u.scheme}:${link.hostPath}`;
    if (symbolic) {
      // Stored as given, checked when followed (resolve.ts interprets it in the guest namespace).
      if (target === '' || target.includes('\0')) return DkError.INVALID_ARGUMENT;
      if (utf8Length(target) > PATH_MAX) return DkError.NAME_TOO_LONG;
      if (pathComponents(target).some((c) => utf8Length(c) > NAME_MAX)) return DkError.NAME_TOO_LONG;
      return this.lower.streamLinkCreate(linkHost, target, true);
    }
    // A hard link names an existing object, by URI or by absolute guest path.
    const t = target.startsWith('/') ? ({ kind: 'path', scheme: 'file', path: target } as const) : classifyUri(target);
    if (isDkError(t)) return t;
    if (t.kind !== 'path') return DkError.INVALID_ARGUMENT;
    const tr: Resolved | DkErrorCode = this.resolver.resolve(t.path, false); // link(2) does not follow
    if (isDkError(tr)) return tr;
    if (tr.final === null) return DkError.NOT_FOUND;
    if (tr.mount !== link.mount) return DkError.CROSS_DEVICE;
    // The host takes a hard link's target as a file: URI (host/kernel/files/files.ts).
    return this.lower.streamLinkCreate(linkHost, `file:${tr.hostPath}`, false);
  }
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

/** Wraps `lower` in a security monitor enforcing `policy`. */
export function createMonitor(lower: Dk, policy: MonitorPolicy): Dk {
  return new SecurityMonitor(lower, policy).dk;
}

/** The usage counters of a Dk made by createMonitor (undefined for any other Dk). */
export function monitorUsage(dk: Dk): MonitorUsage | undefined {
  return dk instanceof MonitoredDk ? dk.monitor.usage() : undefined;
}
