// The state of the WASI library OS inside one picoprocess, and the helpers every syscall
// family shares. It sees only the Dk ABI.
//
// Restartable calls: a syscall that must wait does no side effect before its last wait.
// It tries once; on WOULD_BLOCK it waits on the stream's event (DkObjectsWaitAny) and then
// issues the whole call again from the start. A capture can therefore abandon a waiting
// call at any moment and re-issue it after restore.

import { Access, Clock, Create, NO_OFFSET, OpenOption, StatusFlag, StreamSide, type Dk, type Handle, type StreamAttributes } from '../../abi/dk.ts';
import { DkError, isDkError } from '../../abi/errors.ts';
import { Errno, Filetype } from './constants.ts';
import { errnoOf } from './errno.ts';
import { FdTable, type DescKind, type Description } from './fds.ts';
import { GuestMemory } from './memory.ts';
import type { SocketInfo } from '../wasi/sock.ts';
import { restorePipes, savePipes, type SavedPipeEnd } from './pipe-snapshot.ts';

/** Thrown by proc_exit to unwind the guest; the runtime turns it into the exit status. */
export class ProcExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`proc_exit(${code})`);
    this.name = 'ProcExit';
    this.code = code;
  }
}

/** A guest mistake that wasmtime reports as an error, not an errno (e.g. proc_exit(200)). */
export class GuestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestError';
  }
}

export interface Preopen {
  /** The guest path the directory is mounted at, e.g. "/" or "/data". */
  guestPath: string;
  /** The name the guest sees in fd_prestat_dir_name (wasmtime: the GUEST part of --dir). */
  name?: string;
}

export interface WasiOptions {
  args: readonly string[];
  /** NAME=VALUE strings, exactly as the guest sees them. */
  env: readonly string[];
  preopens: readonly Preopen[];
  /**
   * Listening sockets to pre-open after the directories (tcp.server:ADDR:PORT URIs), as
   * wasmtime's --tcplisten does: the guest finds them by fd and calls accept (sock.ts).
   */
  listenSockets?: readonly string[];
}

/** Sentinel: the attempt found nothing ready; wait and retry. */
export const RETRY = -1;
/**
 * Sentinel a waiting call returns when the runtime interrupted its wait to capture the
 * picoprocess: the call did nothing (calls are restartable) and will be issued again after
 * the capture (by the same instance, or by a restored one).
 */
export const INTERRUPTED_CALL = -2;

/** What a checkpoint keeps of a descriptor: its description without the host handle. */
export type SavedDescriptor = Omit<Description, 'handle'> & {
  fd: number;
  /**
   * Sockets: a listening one is listened again at its address when restored; a connected one
   * cannot follow (its peer is elsewhere) and comes back reset (reads and writes ECONNRESET).
   */
  socket?: { type: 'stream' | 'dgram'; family: 4 | 6; listen: string | null; state: SocketInfo['state']; bound: string | null };
  /** A pipe end: its buffered bytes and halves, remade on restore (pipe-snapshot.ts). */
  pipe?: SavedPipeEnd;
  /**
   * Fork only: the stream is not reopened but shared with the parent: the child opens entry
   * `inherit` of DkProcessCreate's handles (inherit:N), so both hold one open description.
   */
  inherit?: number;
};
export interface SavedLibOs {
  args: string[];
  env: string[];
  fds: SavedDescriptor[];
  /** The monotonic clock the guest saw when it was captured, so that it never goes back. */
  monotonicNs: string;
}

export function filetypeOf(attrs: StreamAttributes): number {
  switch (attrs.kind) {
    case 'file': return Filetype.REGULAR_FILE;
    case 'directory': return Filetype.DIRECTORY;
    case 'symlink': return Filetype.SYMBOLIC_LINK;
    case 'char-device': return Filetype.CHARACTER_DEVICE;
    case 'socket': return Filetype.SOCKET_STREAM;
    default: return Filetype.UNKNOWN; // pipes: preview1 has no FIFO type (wasmtime: unknown)
  }
}

/** The scratch buffer before its first use (of length 0: nothing is ever written to it). */
const NO_SCRATCH = new Uint8Array(0);

export class WasiState {
  readonly dk: Dk;
  readonly mem = new GuestMemory();
  readonly fds = new FdTable();
  readonly args: readonly string[];
  readonly env: readonly string[];
  /** Socket state of the descriptors that are sockets (sock.ts); follows the description. */
  readonly sockets = new WeakMap<Description, SocketInfo>();
  /**
   * Scratch buffer for gathering iovecs into one write; grown on first use (fd-io.ts), so an
   * idle picoprocess does not carry 64 KiB it never used (density: docs/serve.md).
   */
  scratch: Uint8Array = NO_SCRATCH;
  /** Added to the host's monotonic clock (non-zero after a restore on another host or later). */
  monotonicOffset = 0n;
  /** Set by the runtime to end waits early for a capture (see INTERRUPTED_CALL). */
  interrupted = false;
  /** Registers a child process handle in the drawbridge process table; returns its pid. */
  adoptChild: ((h: Handle) => number) | null = null;
  private interruptEvent = 0;

  constructor(dk: Dk, options: WasiOptions, saved?: SavedLibOs) {
    this.dk = dk;
    this.args = options.args;
    this.env = options.env;
    if (saved) {
      this.reopen(saved);
      return;
    }
    this.openStdio('stdin:', 'stdin', Access.READ);
    this.openStdio('stdout:', 'stdout', Access.WRITE);
    this.openStdio('stderr:', 'stderr', Access.WRITE);
    for (const p of options.preopens) this.openPreopen(p);
    for (const uri of options.listenSockets ?? []) this.openListener(uri);
  }

  /** A pre-opened listening socket (its listen settles later; accept waits for it). */
  private openListener(uri: string): void {
    const h = this.dk.streamOpen(uri, Access.READ, Create.CREATE, 0);
    if (isDkError(h)) throw new Error(`cannot listen on ${uri}: ${errnoName(errnoOf(h))}`);
    const desc: Description = {
      kind: 'stream', handle: h, guestPath: '', preopen: null, filetype: Filetype.SOCKET_STREAM,
      position: 0, append: false, nonblocking: false, readable: true, writable: false,
    };
    this.sockets.set(desc, { type: 'stream', family: uri.includes('[') ? 6 : 4, state: 'listening', bound: null, acceptUri: null });
    this.fds.add(desc);
  }

  /** The event every wait also waits on, so that the runtime can end it for a capture. */
  interruptHandle(): Handle {
    if (this.interruptEvent === 0) {
      const h = this.dk.notificationEventCreate(false);
      this.interruptEvent = isDkError(h) ? 0 : h;
    }
    return this.interruptEvent;
  }

  interrupt(): void {
    this.interrupted = true;
    const h = this.interruptHandle();
    if (h) this.dk.eventSet(h);
  }

  clearInterrupt(): void {
    this.interrupted = false;
    if (this.interruptEvent) this.dk.eventClear(this.interruptEvent);
  }

  /**
   * Plain data for a checkpoint. Pipes follow when this picoprocess holds every open end of
   * them (pipe-snapshot.ts); one shared with a child is refused with the reason.
   */
  save(): SavedLibOs | string {
    const fds: SavedDescriptor[] = [];
    const pipeEnds: { fd: number; handle: Handle }[] = [];
    for (const [fd, d] of this.fds.entries()) if (d.kind === 'stream' && !this.sockets.has(d)) pipeEnds.push({ fd, handle: d.handle });
    const pipes = pipeEnds.length > 0 ? savePipes(this.dk, pipeEnds) : new Map<number, SavedPipeEnd>();
    if (typeof pipes === 'string') return pipes;
    for (const [fd, d] of this.fds.entries()) {
      // A description shared with a fork keeps its position and status flags in the host stream.
      if (d.shared) this.refreshShared(d);
      const { handle: _handle, shared: _shared, ...rest } = d;
      if (d.kind === 'stream') {
        const info = this.sockets.get(d);
        if (!info) {
          fds.push({ fd, ...rest, pipe: pipes.get(fd)! });
          continue;
        }
        let listen: string | null = null;
        if (info.state === 'listening') {
          listen = info.acceptUri ?? (info.bound ? `tcp.server:${info.bound}` : null);
          if (listen === null) return `descriptor ${fd} is a socket whose listen has not settled yet; try again`;
        }
        fds.push({ fd, ...rest, socket: { type: info.type, family: info.family, listen, state: info.state, bound: info.bound } });
        continue;
      }
      fds.push({ fd, ...rest });
    }
    return { args: [...this.args], env: [...this.env], fds, monotonicNs: this.monotonicNow().toString() };
  }

  /**
   * Copy what a shared description (fork) keeps in the host stream into `d`: the position of a
   * file and the file status flags, which the other process may have changed.
   */
  private refreshShared(d: Description): void {
    const a = this.dk.streamAttributesQueryByHandle(d.handle);
    if (isDkError(a)) return;
    if (d.kind === 'file' && a.position !== undefined) d.position = a.position;
    const flags = a.statusFlags ?? 0;
    d.append = (flags & StatusFlag.APPEND) !== 0;
    d.nonblocking = (flags & StatusFlag.NONBLOCK) !== 0;
  }

  /** A description's O_APPEND and O_NONBLOCK (StatusFlag bits): of a shared one, the host stream's. */
  statusFlags(d: Description): number {
    if (d.shared) this.refreshShared(d);
    return (d.append ? StatusFlag.APPEND : 0) | (d.nonblocking ? StatusFlag.NONBLOCK : 0);
  }

  /** Whether a call on `d` that would wait fails with EAGAIN instead (O_NONBLOCK). */
  nonblocking(d: Description): boolean {
    return d.shared ? (this.statusFlags(d) & StatusFlag.NONBLOCK) !== 0 : d.nonblocking;
  }

  /**
   * What a fork child gets: the same data as save(), except that every descriptor but the
   * directories (reopened by path, as a restore does) is shared, not copied: `handles` are for
   * DkProcessCreate (entries 0-2: the child's stdio, then one per shared descriptor, which
   * the child opens with inherit:N). Files and streams become shared here in the parent too:
   * from now on a file's position and every one's status flags (O_APPEND, O_NONBLOCK) live in
   * the host stream, one for both (POSIX's open file description).
   */
  saveForFork(): { saved: SavedLibOs; handles: Handle[] } | string {
    const handles: Handle[] = [0, 1, 2].map((fd) => this.fds.get(fd)?.handle ?? 0);
    const fds: SavedDescriptor[] = [];
    for (const [fd, d] of this.fds.entries()) {
      const { handle: _handle, shared: _shared, ...rest } = d;
      if (d.kind === 'directory' || d.handle === 0) {
        fds.push({ fd, ...rest });
        continue;
      }
      if ((d.kind === 'file' || d.kind === 'stream') && !d.shared) {
        const statusFlags = (d.append ? StatusFlag.APPEND : 0) | (d.nonblocking ? StatusFlag.NONBLOCK : 0);
        const r = this.dk.streamAttributesSetByHandle(d.handle, d.kind === 'file' ? { position: d.position, statusFlags } : { statusFlags });
        if (isDkError(r)) return `descriptor ${fd} cannot share its position and flags (${errnoName(errnoOf(r))})`;
        d.shared = true;
      }
      const saved: SavedDescriptor = { fd, ...rest, inherit: handles.length };
      const info = this.sockets.get(d);
      if (info) saved.socket = { type: info.type, family: info.family, listen: info.acceptUri, state: info.state, bound: info.bound };
      handles.push(d.handle);
      fds.push(saved);
    }
    return { saved: { args: [...this.args], env: [...this.env], fds, monotonicNs: this.monotonicNow().toString() }, handles };
  }

  /** Reopen every descriptor of a checkpoint: the same guest paths, modes and positions. */
  private reopen(saved: SavedLibOs): void {
    const byFd = [...saved.fds].sort((a, b) => a.fd - b.fd);
    const placed: number[] = [];
    const pipeEnds = byFd.filter((s): s is SavedDescriptor & { pipe: SavedPipeEnd } => s.pipe !== undefined && s.inherit === undefined);
    const pipes = pipeEnds.length > 0 ? restorePipes(this.dk, pipeEnds) : new Map<number, Handle>();
    if (typeof pipes === 'string') throw new Error(`cannot reopen a pipe: ${pipes}`);
    for (const s of byFd) {
      if (s.inherit !== undefined || s.pipe) {
        this.reopenShared(s, s.pipe && s.inherit === undefined ? pipes.get(s.fd)! : 0);
        continue;
      }
      if (s.socket) {
        this.reopenSocket(s);
        continue;
      }
      let uri: string;
      let access = 0;
      let options = 0;
      if (s.kind === 'stdin') [uri, access] = ['stdin:', Access.READ];
      else if (s.kind === 'stdout') [uri, access] = ['stdout:', Access.WRITE];
      else if (s.kind === 'stderr') [uri, access] = ['stderr:', Access.WRITE];
      else if (s.kind === 'directory') [uri, access, options] = ['dir:' + s.guestPath, Access.READ, OpenOption.DIRECTORY];
      else {
        uri = 'file:' + s.guestPath;
        access = (s.readable ? Access.READ : 0) | (s.writable ? Access.WRITE : 0);
      }
      let h = this.dk.streamOpen(uri, access, 0, options);
      if (isDkError(h) && (s.kind === 'stdin' || s.kind === 'stdout' || s.kind === 'stderr')) h = this.dk.streamOpen('null:', access, 0, 0);
      if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (${uri}): ${errnoName(errnoOf(h))}`);
      // Descriptor numbers are the guest's: put each back at its own number.
      const { fd: _fd, ...rest } = s;
      const fd = this.fds.add({ ...rest, handle: h });
      if (fd !== s.fd) {
        this.fds.renumber(fd, s.fd);
      }
      placed.push(s.fd);
    }
    const now = this.now(Clock.MONOTONIC);
    const then = BigInt(saved.monotonicNs);
    this.monotonicOffset = then > now ? then - now : 0n;
  }

  /**
   * A descriptor whose stream is not reopened by URI: a pipe remade by restorePipes (`handle`),
   * or, in a fork child, the parent's own stream (inherit:N; files and streams then share its
   * position and status flags).
   */
  private reopenShared(s: SavedDescriptor, handle: Handle): void {
    const { fd: _fd, socket, pipe: _pipe, inherit, ...rest } = s;
    if (inherit !== undefined) {
      const h = this.dk.streamOpen(`inherit:${inherit}`, 0, 0, 0);
      if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (shared with the parent): ${errnoName(errnoOf(h))}`);
      handle = h;
    }
    const desc: Description = { ...rest, handle };
    if (inherit !== undefined && (s.kind === 'file' || s.kind === 'stream')) desc.shared = true;
    if (socket) this.sockets.set(desc, { type: socket.type, family: socket.family, state: socket.state, bound: socket.bound, acceptUri: socket.listen });
    const fd = this.fds.add(desc);
    if (fd !== s.fd) this.fds.renumber(fd, s.fd);
  }

  /** A socket of a checkpoint: listening again, or a connection closed by its peer. */
  private reopenSocket(s: SavedDescriptor): void {
    const sock = s.socket!;
    const { fd: _fd, socket: _socket, ...rest } = s;
    let handle = 0;
    let state = sock.state;
    if (sock.listen !== null) {
      const h = this.dk.streamOpen(sock.listen, Access.READ, Create.CREATE, 0);
      if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (listen again on ${sock.listen}): ${errnoName(errnoOf(h))}`);
      handle = h;
    } else if (state === 'connected' || state === 'connecting') {
      // The peer did not follow: the connection reads and writes as reset (ECONNRESET).
      const h = this.dk.streamOpen('reset:', Access.READ | Access.WRITE, 0, 0);
      if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (a reset connection): ${errnoName(errnoOf(h))}`);
      handle = h;
      state = 'connected';
    }
    const desc: Description = { ...rest, handle };
    this.sockets.set(desc, { type: sock.type, family: sock.family, state, bound: sock.bound, acceptUri: null });
    const fd = this.fds.add(desc);
    if (fd !== s.fd) this.fds.renumber(fd, s.fd);
  }

  private openStdio(uri: string, kind: DescKind, access: number): void {
    let h = this.dk.streamOpen(uri, access, 0, 0);
    let filetype: number = Filetype.UNKNOWN;
    if (isDkError(h)) {
      // No such stream granted: the descriptor reads as end of file / swallows writes.
      h = this.dk.streamOpen('null:', access, 0, 0);
    } else {
      const attrs = this.dk.streamAttributesQueryByHandle(h);
      // wasmtime: a terminal is a character device, anything else (pipe, file) unknown.
      if (!isDkError(attrs) && attrs.terminal === true) filetype = Filetype.CHARACTER_DEVICE;
    }
    this.fds.add({
      kind, handle: isDkError(h) ? 0 : h, guestPath: '', preopen: null, filetype, position: 0,
      append: false, nonblocking: false, readable: access === Access.READ, writable: access === Access.WRITE,
    });
  }

  private openPreopen(p: Preopen): void {
    const path = normalizeGuestRoot(p.guestPath);
    const h = this.dk.streamOpen('dir:' + path, Access.READ, 0, OpenOption.DIRECTORY);
    if (isDkError(h)) throw new Error(`cannot pre-open ${path}: ${errnoName(errnoOf(h))}`);
    this.fds.add({
      kind: 'directory', handle: h, guestPath: path, preopen: p.name ?? p.guestPath, filetype: Filetype.DIRECTORY,
      position: 0, append: false, nonblocking: false, readable: true, writable: false,
    });
  }

  /** Close every descriptor (at exit). */
  closeAll(): void {
    for (const [fd] of [...this.fds.entries()]) {
      const d = this.fds.remove(fd);
      if (d && d.handle) this.closeHandle(d.handle);
    }
  }

  /**
   * Resolve (dirfd, path) to an absolute guest path, as wasmtime's cap-std does lexically:
   * the directory must be a directory descriptor, the path relative, valid UTF-8 without NUL,
   * and `..` may not climb above the directory (EPERM). Returns the path or an errno.
   */
  resolvePath(dirfd: number, ptr: number, len: number): { path: string; trailingSlash: boolean } | number {
    const dir = this.fds.get(dirfd);
    if (!dir || dir.kind !== 'directory') return Errno.BADF;
    return this.resolveIn(dir, ptr, len);
  }

  resolveIn(dir: Description, ptr: number, len: number): { path: string; trailingSlash: boolean } | number {
    this.mem.refresh();
    const rel = this.mem.string(ptr, len);
    if (rel === null) return Errno.ILSEQ;
    return joinGuestPath(dir.guestPath, rel);
  }

  /**
   * Readiness events of stream handles, made once per handle and side and kept until the
   * handle is closed (closeHandle): a server that polls many descriptors in a loop would
   * otherwise make and close an event per descriptor per poll.
   */
  private readonly readiness = new Map<Handle, [Handle, Handle]>();

  /** The event set while `handle` is ready on `side` (READ or WRITE), or a DkError. */
  readinessEvent(handle: Handle, side: number): Handle | number {
    let pair = this.readiness.get(handle);
    if (!pair) this.readiness.set(handle, (pair = [0, 0]));
    const i = side === StreamSide.WRITE ? 1 : 0;
    if (pair[i] === 0) {
      const ev = this.dk.streamGetEvent(handle, side);
      if (isDkError(ev)) return ev;
      pair[i] = ev;
    }
    return pair[i];
  }

  /** Close a stream handle and the readiness events made for it. */
  closeHandle(handle: Handle): void {
    const pair = this.readiness.get(handle);
    if (pair) {
      this.readiness.delete(handle);
      for (const ev of pair) if (ev !== 0) this.dk.objectClose(ev);
    }
    this.dk.objectClose(handle);
  }

  /** Wait until `handle` is ready on `side`, then run `attempt` again; repeat while it says RETRY. */
  async waitAndRetry(handle: Handle, side: number, attempt: () => number): Promise<number> {
    for (;;) {
      if (this.interrupted) return INTERRUPTED_CALL;
      const ev = this.readinessEvent(handle, side);
      if (isDkError(ev)) return errnoOf(ev);
      const r = await this.dk.objectsWaitAny([ev, this.interruptHandle()], null);
      if (r === 1 || this.interrupted) return INTERRUPTED_CALL;
      if (isDkError(r)) return errnoOf(r);
      const result = attempt();
      if (result !== RETRY) return result;
    }
  }

  /** Attributes of a descriptor's stream, or an errno. */
  attrs(desc: Description): StreamAttributes | number {
    const a = this.dk.streamAttributesQueryByHandle(desc.handle);
    return isDkError(a) ? errnoOf(a) : a;
  }

  now(clock: number): bigint {
    const t = this.dk.systemTimeQuery(clock);
    return typeof t === 'bigint' ? t : 0n;
  }

  monotonicNow(): bigint {
    return this.now(Clock.MONOTONIC) + this.monotonicOffset;
  }
}

/** `/`, `/a/b` (no trailing slash, no repeated slashes). */
export function normalizeGuestRoot(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}

/** Join a relative WASI path onto a directory's guest path with the lexical checks of cap-std. */
export function joinGuestPath(base: string, rel: string): { path: string; trailingSlash: boolean } | number {
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

export function errnoName(errno: number): string {
  for (const [k, v] of Object.entries(Errno)) if (v === errno) return k;
  return String(errno);
}

export { NO_OFFSET, StreamSide, DkError };
