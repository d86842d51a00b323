// The state of the WASI library OS inside one picoprocess, which every syscall family shares:
// the descriptor table (with stdio, the pre-opened directories and listening sockets opened at
// the start), guest memory, the socket state, the clocks. It sees only the Dk ABI. Waiting is
// in wait.ts (WasiState extends WaitState), checkpoints in save.ts, paths in paths.ts.

import { Access, Clock, Create, OpenOption, StatusFlag, type Dk, type Handle, type StreamAttributes } from '../../abi/dk.ts';
import { isDkError } from '../../abi/errors.ts';
import { Filetype } from './constants.ts';
import { errnoName, errnoOf } from './errno.ts';
import { FdTable, type DescKind, type Description } from './fds.ts';
import { GuestMemory } from './memory.ts';
import { normalizeGuestRoot } from './paths.ts';
import { refreshShared, reopenLibOs, saveForFork, saveLibOs, type SavedLibOs } from './save.ts';
import type { SocketInfo } from './socket.ts';
import { WaitState } from './wait.ts';
import { PreopenError } from './throws.ts';

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

/** The scratch buffer before its first use (of length 0: nothing is ever written to it). */
const NO_SCRATCH = new Uint8Array(0);

export class WasiState extends WaitState {
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
  /** Registers a child process handle in the drawbridge process table; returns its pid. */
  adoptChild: ((h: Handle) => number) | null = null;

  constructor(dk: Dk, options: WasiOptions, saved?: SavedLibOs) {
    super(dk);
    this.args = options.args;
    this.env = options.env;
    if (saved) {
      reopenLibOs(this, saved);
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
      kind: 'stream',
      handle: h,
      guestPath: '',
      preopen: null,
      filetype: Filetype.SOCKET_STREAM,
      position: 0,
      append: false,
      nonblocking: false,
      readable: true,
      writable: false,
    };
    this.sockets.set(desc, { type: 'stream', family: uri.includes('[') ? 6 : 4, state: 'listening', bound: null, acceptUri: null });
    this.fds.add(desc);
  }

  /**
   * Plain data for a checkpoint. Pipes follow when this picoprocess holds every open end of
   * them (pipe-snapshot.ts); one shared with a child is refused with the reason.
   */
  save(): SavedLibOs | string {
    return saveLibOs(this);
  }

  /**
   * What a fork child gets: save()'s data with the streams shared, not copied, and the handles
   * for DkProcessCreate (save.ts, saveForFork).
   */
  saveForFork(): { saved: SavedLibOs; handles: Handle[] } | string {
    return saveForFork(this);
  }

  /** A description's O_APPEND and O_NONBLOCK (StatusFlag bits): of a shared one, the host stream's. */
  statusFlags(d: Description): number {
    if (d.shared) refreshShared(this.dk, d);
    return (d.append ? StatusFlag.APPEND : 0) | (d.nonblocking ? StatusFlag.NONBLOCK : 0);
  }

  /** Whether a call on `d` that would wait fails with EAGAIN instead (O_NONBLOCK). */
  nonblocking(d: Description): boolean {
    return d.shared ? (this.statusFlags(d) & StatusFlag.NONBLOCK) !== 0 : d.nonblocking;
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
      kind,
      handle: isDkError(h) ? 0 : h,
      guestPath: '',
      preopen: null,
      filetype,
      position: 0,
      append: false,
      nonblocking: false,
      readable: access === Access.READ,
      writable: access === Access.WRITE,
    });
  }

  private openPreopen(p: Preopen): void {
    const path = normalizeGuestRoot(p.guestPath);
    const h = this.dk.streamOpen('dir:' + path, Access.READ, 0, OpenOption.DIRECTORY);
    if (isDkError(h)) throw new PreopenError(path, errnoName(errnoOf(h)));
    this.fds.add({
      kind: 'directory',
      handle: h,
      guestPath: path,
      preopen: p.name ?? p.guestPath,
      filetype: Filetype.DIRECTORY,
      position: 0,
      append: false,
      nonblocking: false,
      readable: true,
      writable: false,
    });
  }

  /** Close every descriptor (at exit). */
  closeAll(): void {
    for (const [fd] of [...this.fds.entries()]) {
      const d = this.fds.remove(fd);
      if (d && d.handle) this.closeHandle(d.handle);
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
