// Capture of a running picoprocess: its Wasm stack, memory, globals and library OS state.
// No Node here: what the capture needs of its host (a clock, the event loop, SHA-256, the
// snapshot encoder, fork's registry) is a CapturePlatform; capture.ts gives Node's, the
// browser host (src/browser/) its own.
//
// JSPI suspends a waiting guest but cannot show its stack; a module prepared with Asyncify
// (prepare.ts) can unwind its stack into linear memory. The two meet at the imports that
// may wait: a prepared module runs under JSPI as usual, and when a capture is requested the
// library OS ends its wait early (INTERRUPTED_CALL; calls are restartable, so nothing
// happened), the import starts an Asyncify unwind instead of returning a result, and the
// entry point returns with the whole stack saved in memory. The snapshot is then plain data.
// To go on (--leave-running, or a restore), the entry point is called again in rewind mode:
// Asyncify rebuilds the frames down to the same import, which is issued again from the start.
//
// A guest that computes without any system call is caught by the tick counter of prepared
// modules (wasm/ticks.ts), which calls drawbridge.tick every few thousand loop iterations.

import type { Manifest } from '../monitor/manifest/manifest.ts';
import { IMPORT_MAX_ARGS, INTERRUPTED_CALL, type SavedLibOs, type WasiLibOs } from '../libos/index.ts';
import { GLOBAL_EXPORT_PREFIX, mutableGlobals } from '../wasm/sections.ts';
import { TICK_GLOBAL_EXPORT, TICK_INTERVAL } from '../wasm/ticks.ts';
import { ASYNCIFY_OPS, bitsOfValue, CONTROL, CONTROL_EXPORT, valueOfBits, type AsyncifyExport } from '../wasm/control.ts';
import { DkError, isDkError } from '../abi/errors.ts';
import { SNAPSHOT_VERSION, type SavedExtension, type Snapshot, type SnapshotMeta } from './snapshot-format.ts';

const ASYNCIFY_UNWINDING = 1;
/** Room for the unwound stack: 1 MiB of frames. */
const DATA_PAGES = 16;
const EINTR = 27;
const ERRNO_AGAIN = 6;
const ERRNO_NOSYS = 52;
const ERRNO_NOTSUP = 58;
/** A computing guest lets the event loop run at least this often (ms). */
const SLICE_MS = 10;

export class CaptureError extends Error {}

/** What a capture needs of the host it runs on. */
export interface CapturePlatform {
  /** Milliseconds from an arbitrary start, for time slices. */
  nowMs(): number;
  /** Call `fn` once the event loop has run the other work that is ready (a slice ends). */
  afterOtherWork(fn: () => void): void;
  /** SHA-256 of `bytes`, lowercase hex (the module a snapshot carries). */
  sha256(bytes: Uint8Array): string;
  /** Encode a snapshot file (snapshot-format.ts encodeSnapshotWith). */
  encode(meta: Omit<SnapshotMeta, 'memory'>, memory: WebAssembly.Memory, module: Uint8Array): Uint8Array;
  /** A snapshot that stays in this process (snapshot-format.ts snapshotInProcessWith). */
  inProcess(meta: Omit<SnapshotMeta, 'memory'>, memory: WebAssembly.Memory, module: Uint8Array): Snapshot;
  /** Keep a fork child's snapshot for its parent; the token DkProcessCreate("fork:TOKEN") names (fork.ts). */
  registerFork(parentId: number, snapshot: Snapshot): string;
}

const globalsOf = new WeakMap<Uint8Array, { index: number; type: string }[]>();

interface Pending {
  /** Move the running program onto another instance of the same module (tier-up). */
  swap?: boolean;
  leaveRunning: boolean;
  resolve(bytes: Uint8Array): void;
  reject(e: Error): void;
  /**
   * Wants the snapshot as an object that stays in this process (fork), not as a file; with
   * the handles the child is to share (WasiState.saveForFork).
   */
  inProcess?: (snapshot: Snapshot, handles: number[]) => void;
}

export interface CaptureSource {
  /** The prepared module's bytes (go into the snapshot) and a name for messages. */
  moduleBytes: Uint8Array;
  moduleName: string;
  args: readonly string[];
  manifest: Manifest;
  /** The extensions' state at capture time (it joins the snapshot). */
  extensions?: () => SavedExtension[];
  /**
   * `moduleBytes` is a module without its rewind versions (prepare.ts cachedRunModule): this
   * reads the whole one, which snapshots carry. Read before an unwind starts (a program unwound
   * that cannot be rewound would be lost), and the program goes on after a capture by moving
   * onto an instance of the whole module (afterReturn's swap `to: 'whole'`).
   */
  whole?: () => Uint8Array;
}

type Fn = (...args: any[]) => number | Promise<number>;
type Control = (op: number, a: number, b: bigint) => bigint;

export class CaptureCore {
  private exports: WebAssembly.Exports = {};
  private memory: WebAssembly.Memory | null = null;
  private readonly libos: WasiLibOs;
  private readonly source: CaptureSource;
  private readonly platform: CapturePlatform;
  private readonly globals: { index: number; type: string }[];
  private pending: Pending | null = null;
  /** The whole module, once read (CaptureSource.whole); while null and `whole` is given, the instance cannot be rewound. */
  private wholeBytes: Uint8Array | null = null;
  /** The instance is of a module without rewind versions. */
  private runOnly: boolean;
  /** The next import call is the one the rewind re-enters. */
  rewinding = false;
  dataAddr = 0;
  dataSize = 0;

  constructor(libos: WasiLibOs, source: CaptureSource, platform: CapturePlatform) {
    this.libos = libos;
    this.source = source;
    this.platform = platform;
    this.runOnly = source.whole !== undefined;
    // Parsed once per module: a host starting thousands of picoprocesses of one module.
    let globals = globalsOf.get(source.moduleBytes);
    if (!globals) globalsOf.set(source.moduleBytes, (globals = mutableGlobals(source.moduleBytes)));
    this.globals = globals;
    const unsupported = this.globals.find((g) => g.type !== 'i32' && g.type !== 'i64' && g.type !== 'f32' && g.type !== 'f64');
    if (unsupported) throw new CaptureError(`global ${unsupported.index} is a ${unsupported.type}, which a snapshot cannot carry`);
  }

  /**
   * The module's __drawbridge_control (wasm/control.ts); null for a module prepared before it
   * existed (a snapshot's), which exports Asyncify's functions and its globals instead.
   */
  private control: Control | null = null;

  bind(instance: WebAssembly.Instance, memory: WebAssembly.Memory): void {
    this.exports = instance.exports;
    const control = instance.exports[CONTROL_EXPORT];
    this.control = typeof control === 'function' ? (control as Control) : null;
    this.memory = memory;
    // The first slice is a whole one: a short program never lets the event loop in.
    this.lastYield = this.platform.nowMs();
  }

  private call(name: AsyncifyExport, arg = 0): number {
    if (this.control) return Number(this.control(ASYNCIFY_OPS[name], arg, 0n));
    return (this.exports[name] as (a: number) => number)(arg);
  }

  /**
   * Wrap an import that may wait so that it can start an unwind. With a fixed list of
   * parameters unless `fn` declares more (IMPORT_MAX_ARGS says why).
   */
  wrap(fn: Fn): Fn {
    const call = (r: number | Promise<number>): number | Promise<number> =>
      typeof r === 'number' ? r : r.then((v) => (v === INTERRUPTED_CALL ? (this.pending && this.canRewind() ? this.startUnwind() : EINTR) : v));
    if (fn.length > IMPORT_MAX_ARGS) return (...args: unknown[]) => this.beforeCall() ?? call(fn(...args));
    return (a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown, a6?: unknown, a7?: unknown, a8?: unknown, a9?: unknown) =>
      this.beforeCall() ?? call(fn(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9));
  }

  /** Before a wrapped import runs: the end of a rewind that reached it, or the start of a pending unwind (its result). */
  private beforeCall(): number | null {
    if (this.rewinding) {
      // The rewind reached the call that was interrupted: from here on it runs for real.
      this.call('asyncify_stop_rewind');
      this.rewinding = false;
      this.libos.state.clearInterrupt();
    }
    return this.pending && this.canRewind() ? this.startUnwind() : null;
  }

  private lastYield = 0;

  /**
   * drawbridge.tick, called by the countdown of a prepared module every TICK_INTERVAL
   * function entries, loop heads and returns (see wasm/ticks.ts); wrapped by wrap() like the
   * imports that wait, so a pending capture unwinds here. Every few milliseconds it also lets
   * the event loop run (other picoprocesses, the control socket): preemption.
   */
  readonly tick = (): number | Promise<number> => {
    if (this.control) this.control(CONTROL.rearmTicks, 0, 0n);
    else {
      const countdown = this.exports[TICK_GLOBAL_EXPORT];
      if (countdown instanceof WebAssembly.Global) countdown.value = TICK_INTERVAL;
    }
    const now = this.platform.nowMs();
    if (now - this.lastYield < SLICE_MS) return 0;
    // The slice starts when the guest gets the loop back, not when it gave it up: counted from
    // the yield, every guest but one would find its slice already spent after waiting for the
    // others and yield again at once, and one spinner would get nearly all the time
    // (test/runtime/preempt.test.ts checks that two share it).
    return new Promise((resolve) =>
      this.platform.afterOtherWork(() => {
        this.lastYield = this.platform.nowMs();
        resolve(0);
      }),
    );
  };

  /** The host's id of this picoprocess (fork children are checked against it). */
  processId = 0;
  /** A restored fork child: its drawbridge.fork, re-entered by the rewind, returns 0. */
  forkChild = false;
  private forkResult: number | null = null;

  /**
   * drawbridge.fork(pid_out) -> errno: a copy of the picoprocess (memory, globals, descriptors
   * reopened at their offsets) continues from this call as a child. Built on capture: the
   * caller unwinds, is snapshot and rewound; the rewound call returns the child's pid here and
   * 0 in the child. Descriptors are shared, not copied (saveForFork): the child opens the
   * parent's own streams, so a file has one position for both and a pipe's ends count in both
   * (docs/snapshot.md, "fork").
   */
  readonly fork = (pidPtr: number): number => {
    const writePid = (pid: number): number => {
      new DataView(this.memory!.buffer).setUint32(pidPtr >>> 0, pid, true);
      return 0;
    };
    if (this.forkChild) {
      this.forkChild = false;
      return writePid(0);
    }
    if (this.forkResult !== null) {
      const r = this.forkResult;
      this.forkResult = null;
      return r < 0 ? -r : writePid(r);
    }
    const state = this.libos.state;
    this.pending = {
      leaveRunning: true,
      resolve: () => {},
      inProcess: (snapshot, handles) => {
        const token = this.platform.registerFork(this.processId, snapshot);
        const h = state.dk.processCreate(`fork:${token}`, [], handles);
        if (isDkError(h)) this.forkResult = h === DkError.QUOTA_EXCEEDED ? -ERRNO_AGAIN : -ERRNO_NOSYS;
        else this.forkResult = state.adoptChild ? state.adoptChild(h) : -ERRNO_NOSYS;
      },
      reject: () => {
        this.forkResult = -ERRNO_NOTSUP;
      },
    };
    if (!this.canRewind()) {
      this.forkResult = null;
      return ERRNO_NOTSUP;
    }
    return this.startUnwind();
  };

  /**
   * Ask to move the program onto an optimized instance at its next tick or wait (the run loop
   * does the move). Resolves when it moved; rejects when it could not (it then runs on).
   */
  requestSwap(): Promise<unknown> {
    if (this.pending) return Promise.reject(new CaptureError('a capture is already in progress'));
    return new Promise((resolve, reject) => {
      this.pending = { swap: true, leaveRunning: true, resolve, reject };
      this.libos.state.interrupt();
    });
  }

  /** Ask for a snapshot at the next import that may wait (at once if one is waiting now). */
  request(leaveRunning: boolean): Promise<Uint8Array> {
    if (this.pending) return Promise.reject(new CaptureError('a checkpoint is already in progress'));
    return new Promise((resolve, reject) => {
      this.pending = { leaveRunning, resolve, reject };
      this.libos.state.interrupt();
    });
  }

  /**
   * Whether an unwind may start: the whole module is at hand where this instance has no rewind
   * versions (read now, once). If it cannot be read, the pending capture is refused and the
   * call goes on as if none had been asked for.
   */
  private canRewind(): boolean {
    if (!this.source.whole || this.wholeBytes) return true;
    try {
      this.wholeBytes = this.source.whole();
      return true;
    } catch (e) {
      const pending = this.pending;
      this.pending = null;
      this.libos.state.clearInterrupt();
      pending?.reject(new CaptureError(`cannot checkpoint: ${(e as Error).message}`));
      return false;
    }
  }

  /** The module snapshots carry: the whole one. */
  private snapshotModule(): Uint8Array {
    return this.wholeBytes ?? this.source.moduleBytes;
  }

  /**
   * After a capture, the program goes on: rewound in this instance, or, where this one has no
   * rewind versions, moved onto an instance of the whole module (the run loop compiles it).
   */
  private goOn(): 'continue' | { swap: Snapshot; to: 'whole' } {
    if (!this.runOnly) {
      this.startRewind(this.dataAddr, this.dataSize);
      return 'continue';
    }
    this.runOnly = false;
    return { swap: this.platform.inProcess(this.meta(true), this.memory!, this.snapshotModule()), to: 'whole' };
  }

  private startUnwind(): number {
    const mem = this.memory!;
    if (this.dataAddr === 0) {
      const before = mem.grow(DATA_PAGES);
      this.dataAddr = before * 65536;
      this.dataSize = DATA_PAGES * 65536;
    }
    const dv = new DataView(mem.buffer);
    dv.setUint32(this.dataAddr, this.dataAddr + 8, true);
    dv.setUint32(this.dataAddr + 4, this.dataAddr + this.dataSize, true);
    this.call('asyncify_start_unwind', this.dataAddr);
    return 0;
  }

  /** Start a restored instance in rewind mode (its memory and globals already in place). */
  startRewind(dataAddr: number, dataSize: number): void {
    this.dataAddr = dataAddr;
    this.dataSize = dataSize;
    this.call('asyncify_start_rewind', dataAddr);
    this.rewinding = true;
  }

  /** The program ended: a checkpoint asked for and not taken is refused (it would wait forever). */
  ended<T>(status: T): T {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(new CaptureError('the program ended before it could be checkpointed'));
    return status;
  }

  /**
   * The entry point returned. 'finished': the program ended. 'continue': it was captured and
   * goes on (call the entry point again). 'stop': it was captured and stops here.
   */
  afterReturn(): 'finished' | 'continue' | 'stop' | { swap: Snapshot; to?: 'whole' } {
    if (this.call('asyncify_get_state') !== ASYNCIFY_UNWINDING) return 'finished';
    this.call('asyncify_stop_unwind');
    const pending = this.pending!;
    this.pending = null;
    if (pending.swap) {
      try {
        const snapshot = this.platform.inProcess(this.meta(true), this.memory!, this.snapshotModule());
        pending.resolve(new Uint8Array(0));
        return { swap: snapshot };
      } catch (e) {
        pending.reject(e instanceof Error ? e : new Error(String(e)));
        return this.goOn();
      }
    }
    if (pending.inProcess) {
      try {
        const shared = this.libos.state.saveForFork();
        if (typeof shared === 'string') throw new CaptureError(`cannot fork: ${shared}`);
        const meta = this.meta(false, shared.saved);
        pending.inProcess(this.platform.inProcess(meta, this.memory!, this.snapshotModule()), shared.handles);
      } catch (e) {
        pending.reject(e instanceof Error ? e : new Error(String(e)));
      }
      return this.goOn();
    }
    let bytes: Uint8Array | null = null;
    try {
      bytes = this.platform.encode(this.meta(), this.memory!, this.snapshotModule());
    } catch (e) {
      pending.reject(e instanceof Error ? e : new Error(String(e)));
    }
    if (bytes === null || pending.leaveRunning) {
      if (bytes) pending.resolve(bytes);
      return this.goOn();
    }
    pending.resolve(bytes);
    return 'stop';
  }

  private moduleHash: string | null = null;

  /**
   * What a snapshot says of the picoprocess besides its memory. A move to a new instance in
   * this process keeps the library OS as it is (`keepLibos`): its descriptors need not be
   * savable, so a program with pipes or sockets open can still be tiered up.
   */
  private meta(keepLibos = false, libos?: SavedLibOs): Omit<SnapshotMeta, 'memory'> {
    const saved = libos ?? (keepLibos ? { args: [], env: [], fds: [], monotonicNs: '0' } : this.libos.state.save());
    if (typeof saved === 'string') throw new CaptureError(`cannot checkpoint: ${saved}`);
    const globals = this.globals.map((g, k) => {
      if (this.control) return { index: g.index, type: g.type, value: valueOfBits(g.type, this.control(CONTROL.getGlobal, k, 0n)) };
      const exported = this.exports[GLOBAL_EXPORT_PREFIX + g.index] as WebAssembly.Global;
      return { index: g.index, type: g.type, value: String(exported.value) };
    });
    const m = this.source.manifest;
    const meta: Omit<SnapshotMeta, 'memory'> = {
      format: 'drawbridge-snapshot',
      version: SNAPSHOT_VERSION,
      created: new Date().toISOString(),
      module: { sha256: (this.moduleHash ??= this.platform.sha256(this.snapshotModule())), size: this.snapshotModule().length, name: this.source.moduleName },
      args: [...this.source.args],
      libos: saved,
      globals,
      asyncify: { dataAddr: this.dataAddr, dataSize: this.dataSize },
      mounts: m.mounts.map((x) => ({ guest: x.guest, mode: x.mode, host: x.host })),
      env: { ...m.env },
      network: { connect: m.network.connect.map((p) => p.text), listen: m.network.listen.map((p) => p.text) },
    };
    const extensions = this.source.extensions?.();
    if (extensions?.length) meta.extensions = extensions;
    return meta;
  }

  /** Put a snapshot's globals back (before startRewind). */
  restoreGlobals(globals: SnapshotMeta['globals']): void {
    for (const g of globals) {
      if (this.control) {
        const k = this.globals.findIndex((x) => x.index === g.index && x.type === g.type);
        if (k < 0) throw new CaptureError(`the module has no ${g.type} global ${g.index} to restore`);
        this.control(CONTROL.setGlobal, k, bitsOfValue(g.type, g.value));
        continue;
      }
      const exported = this.exports[GLOBAL_EXPORT_PREFIX + g.index];
      if (!(exported instanceof WebAssembly.Global)) throw new CaptureError(`the module has no global ${g.index} to restore`);
      exported.value = g.type === 'i64' ? BigInt(g.value) : Number(g.value);
    }
  }
}
