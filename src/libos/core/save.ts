// What a checkpoint keeps of the library OS (SavedLibOs: plain data), how it is taken (save,
// and saveForFork for a fork child, which shares the streams instead of copying them) and how
// a restored picoprocess reopens every descriptor from it. WasiState (state.ts) calls these.

import { Access, Clock, Create, OpenOption, StatusFlag, type Dk, type Handle } from '../../abi/dk.ts';
import { isDkError } from '../../abi/errors.ts';
import { errnoName, errnoOf } from './errno.ts';
import type { Description, FdTable } from './fds.ts';
import { restorePipes, savePipes, type SavedPipeEnd } from './pipe-snapshot.ts';
import type { SocketInfo } from './socket.ts';

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

/** What a checkpoint reads of the library OS state (WasiState) and a restore fills in. */
interface SavedState {
  readonly dk: Dk;
  readonly fds: FdTable;
  readonly sockets: WeakMap<Description, SocketInfo>;
  readonly args: readonly string[];
  readonly env: readonly string[];
  monotonicOffset: bigint;
  now(clock: number): bigint;
  monotonicNow(): bigint;
}

/**
 * Plain data for a checkpoint. Pipes follow when this picoprocess holds every open end of
 * them (pipe-snapshot.ts); one shared with a child is refused with the reason.
 */
export function saveLibOs(os: SavedState): SavedLibOs | string {
  const fds: SavedDescriptor[] = [];
  const pipeEnds: { fd: number; handle: Handle }[] = [];
  for (const [fd, d] of os.fds.entries()) if (d.kind === 'stream' && !os.sockets.has(d)) pipeEnds.push({ fd, handle: d.handle });
  const pipes = pipeEnds.length > 0 ? savePipes(os.dk, pipeEnds) : new Map<number, SavedPipeEnd>();
  if (typeof pipes === 'string') return pipes;
  for (const [fd, d] of os.fds.entries()) {
    // A description shared with a fork keeps its position and status flags in the host stream.
    if (d.shared) refreshShared(os.dk, d);
    const { handle: _handle, shared: _shared, ...rest } = d;
    if (d.kind === 'stream') {
      const info = os.sockets.get(d);
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
  return { args: [...os.args], env: [...os.env], fds, monotonicNs: os.monotonicNow().toString() };
}

/**
 * Copy what a shared description (fork) keeps in the host stream into `d`: the position of a
 * file and the file status flags, which the other process may have changed.
 */
export function refreshShared(dk: Dk, d: Description): void {
  const a = dk.streamAttributesQueryByHandle(d.handle);
  if (isDkError(a)) return;
  if (d.kind === 'file' && a.position !== undefined) d.position = a.position;
  const flags = a.statusFlags ?? 0;
  d.append = (flags & StatusFlag.APPEND) !== 0;
  d.nonblocking = (flags & StatusFlag.NONBLOCK) !== 0;
}

/**
 * What a fork child gets: the same data as saveLibOs, except that every descriptor but the
 * directories (reopened by path, as a restore does) is shared, not copied: `handles` are for
 * DkProcessCreate (entries 0-2: the child's stdio, then one per shared descriptor, which
 * the child opens with inherit:N). Files and streams become shared here in the parent too:
 * from now on a file's position and every one's status flags (O_APPEND, O_NONBLOCK) live in
 * the host stream, one for both (POSIX's open file description).
 */
export function saveForFork(os: SavedState): { saved: SavedLibOs; handles: Handle[] } | string {
  const handles: Handle[] = [0, 1, 2].map((fd) => os.fds.get(fd)?.handle ?? 0);
  const fds: SavedDescriptor[] = [];
  for (const [fd, d] of os.fds.entries()) {
    const { handle: _handle, shared: _shared, ...rest } = d;
    if (d.kind === 'directory' || d.handle === 0) {
      fds.push({ fd, ...rest });
      continue;
    }
    if ((d.kind === 'file' || d.kind === 'stream') && !d.shared) {
      const statusFlags = (d.append ? StatusFlag.APPEND : 0) | (d.nonblocking ? StatusFlag.NONBLOCK : 0);
      const r = os.dk.streamAttributesSetByHandle(d.handle, d.kind === 'file' ? { position: d.position, statusFlags } : { statusFlags });
      if (isDkError(r)) return `descriptor ${fd} cannot share its position and flags (${errnoName(errnoOf(r))})`;
      d.shared = true;
    }
    const saved: SavedDescriptor = { fd, ...rest, inherit: handles.length };
    const info = os.sockets.get(d);
    if (info) saved.socket = { type: info.type, family: info.family, listen: info.acceptUri, state: info.state, bound: info.bound };
    handles.push(d.handle);
    fds.push(saved);
  }
  return { saved: { args: [...os.args], env: [...os.env], fds, monotonicNs: os.monotonicNow().toString() }, handles };
}

/** Reopen every descriptor of a checkpoint: the same guest paths, modes and positions. */
export function reopenLibOs(os: SavedState, saved: SavedLibOs): void {
  const byFd = [...saved.fds].sort((a, b) => a.fd - b.fd);
  const pipeEnds = byFd.filter((s): s is SavedDescriptor & { pipe: SavedPipeEnd } => s.pipe !== undefined && s.inherit === undefined);
  const pipes = pipeEnds.length > 0 ? restorePipes(os.dk, pipeEnds) : new Map<number, Handle>();
  if (typeof pipes === 'string') throw new Error(`cannot reopen a pipe: ${pipes}`);
  for (const s of byFd) {
    if (s.inherit !== undefined || s.pipe) {
      reopenShared(os, s, s.pipe && s.inherit === undefined ? pipes.get(s.fd)! : 0);
      continue;
    }
    if (s.socket) {
      reopenSocket(os, s);
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
    let h = os.dk.streamOpen(uri, access, 0, options);
    if (isDkError(h) && (s.kind === 'stdin' || s.kind === 'stdout' || s.kind === 'stderr')) h = os.dk.streamOpen('null:', access, 0, 0);
    if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (${uri}): ${errnoName(errnoOf(h))}`);
    // Descriptor numbers are the guest's: put each back at its own number.
    const { fd: _fd, ...rest } = s;
    const fd = os.fds.add({ ...rest, handle: h });
    if (fd !== s.fd) os.fds.renumber(fd, s.fd);
  }
  const now = os.now(Clock.MONOTONIC);
  const then = BigInt(saved.monotonicNs);
  os.monotonicOffset = then > now ? then - now : 0n;
}

/**
 * A descriptor whose stream is not reopened by URI: a pipe remade by restorePipes (`handle`),
 * or, in a fork child, the parent's own stream (inherit:N; files and streams then share its
 * position and status flags).
 */
function reopenShared(os: SavedState, s: SavedDescriptor, handle: Handle): void {
  const { fd: _fd, socket, pipe: _pipe, inherit, ...rest } = s;
  if (inherit !== undefined) {
    const h = os.dk.streamOpen(`inherit:${inherit}`, 0, 0, 0);
    if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (shared with the parent): ${errnoName(errnoOf(h))}`);
    handle = h;
  }
  const desc: Description = { ...rest, handle };
  if (inherit !== undefined && (s.kind === 'file' || s.kind === 'stream')) desc.shared = true;
  if (socket) os.sockets.set(desc, { type: socket.type, family: socket.family, state: socket.state, bound: socket.bound, acceptUri: socket.listen });
  const fd = os.fds.add(desc);
  if (fd !== s.fd) os.fds.renumber(fd, s.fd);
}

/** A socket of a checkpoint: listening again, or a connection closed by its peer. */
function reopenSocket(os: SavedState, s: SavedDescriptor): void {
  const sock = s.socket!;
  const { fd: _fd, socket: _socket, ...rest } = s;
  let handle = 0;
  let state = sock.state;
  if (sock.listen !== null) {
    const h = os.dk.streamOpen(sock.listen, Access.READ, Create.CREATE, 0);
    if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (listen again on ${sock.listen}): ${errnoName(errnoOf(h))}`);
    handle = h;
  } else if (state === 'connected' || state === 'connecting') {
    // The peer did not follow: the connection reads and writes as reset (ECONNRESET).
    const h = os.dk.streamOpen('reset:', Access.READ | Access.WRITE, 0, 0);
    if (isDkError(h)) throw new Error(`cannot reopen descriptor ${s.fd} (a reset connection): ${errnoName(errnoOf(h))}`);
    handle = h;
    state = 'connected';
  }
  const desc: Description = { ...rest, handle };
  os.sockets.set(desc, { type: sock.type, family: sock.family, state, bound: sock.bound, acceptUri: null });
  const fd = os.fds.add(desc);
  if (fd !== s.fd) os.fds.renumber(fd, s.fd);
}
