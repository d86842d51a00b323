// What starting a picoprocess takes and gives: its options, its exit status, and the running
// picoprocess. Apart from picoprocess.ts, which starts one, so that the child launcher
// (launcher.ts) and the load path (load.ts) can name them without importing the starter.

import type { Dk } from '../abi/dk.ts';
import type { Host, OutputSink, Picoprocess, ProcessLauncher, StdinSource } from '../host/kernel/host.ts';
import type { Preopen, WasiLibOs } from '../libos/index.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import type { DenialLog } from '../monitor/monitor.ts';
import type { SavedExtension, Snapshot } from '../checkpoint/snapshot.ts';
import type { Governor } from './quotas.ts';

/** A module as it will run: its name, and its bytes (the prepared ones when it is prepared). */
export interface ModuleImage {
  name: string;
  /** What runs and goes into snapshots: the prepared bytes, or the original ones. */
  bytes: Uint8Array;
  prepared: boolean;
  /**
   * `bytes` is a waits-only module without its rewind versions (prepare.ts cachedRunModule):
   * this reads the whole one, which its snapshots carry and a rewind runs on.
   */
  whole?: () => Uint8Array;
}

export interface PicoprocessOptions {
  host: Host;
  /**
   * The compiled module. startCommand runs it under the manifest's limits.memory: one compiled
   * with a larger maximum (or none, compileImage without memoryLimit) is compiled again from
   * `image` (or the capture's bytes) with the limit; one handed in with neither is taken as it is.
   */
  module: WebAssembly.Module;
  /** What `module` was compiled from (startOptions sets it). */
  image?: ModuleImage;
  /** argv, including argv[0]. */
  args: readonly string[];
  manifest: Manifest;
  /** Pre-opened directories (guest paths; default: one per mount, named by its guest path). */
  preopens?: readonly Preopen[];
  /** Listening sockets pre-opened after the directories (tcp.server:ADDR:PORT; `run --listen`). */
  listenSockets?: readonly string[];
  stdin?: StdinSource;
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** Starts children for DkProcessCreate (default: launcher.ts, children get the rule of docs/processes.md). */
  launcher?: ProcessLauncher;
  /** Streams a parent handed over to this child (ProcessOptions.stdioStreams); they replace stdin/stdout/stderr. */
  stdioStreams?: readonly (unknown | null)[];
  /** Wrap the monitored Dk (extensions stack here). */
  wrapDk?: (dk: Dk) => Dk;
  /** Told the guest's linear memory once it is instantiated (a durable log digests it at a checkpoint). */
  onMemory?: (memory: WebAssembly.Memory) => void;
  /** Told of each call the security monitor refused, with the rule that refused it (`run --log denials`). */
  onDenied?: DenialLog;
  /**
   * Functions for import modules other than WASI and drawbridge (e.g. an embedder's own API
   * for a reactor). They run in the host, outside the monitor: grant them with care.
   */
  extraImports?: Record<string, Record<string, (...args: any[]) => unknown>>;
  /**
   * Make the picoprocess capturable: `module` must be prepared (prepare.ts) from these bytes,
   * which go into its snapshots.
   */
  capture?: {
    moduleBytes: Uint8Array;
    moduleName: string;
    extensions?: () => SavedExtension[];
    /** `moduleBytes` cannot be rewound (ModuleImage.whole): the whole module, for snapshots and for going on after one. */
    whole?: () => Uint8Array;
  };
  /** Continue a snapshot instead of starting afresh (needs `capture`). */
  restore?: Snapshot;
  /** The restored snapshot is a fork child: its pending drawbridge.fork returns 0. */
  forkChild?: boolean;
  /**
   * Tier-up for a prepared module started in V8's baseline tier: called once the program has
   * run past its first time slice; gives the module (the same one, or one compiled otherwise)
   * onto which the running program then moves: captured in process and rewound in a new
   * instance, every function on its stack is called anew, which lets V8 tier up a function
   * that a long loop would otherwise keep in baseline code.
   */
  optimize?: () => WebAssembly.Module;
  /**
   * CPU time accounting, the CPU quota and stops from outside (quotas.ts). Default: a Governor
   * of its own at the manifest's limits.cpu_time, and, on the main thread for a module without
   * the tick counter, a watchdog thread that ends the process past it (cpu-watchdog.ts). A
   * caller that brings its own (a host service) bounds a module without ticks its own way.
   */
  governor?: Governor;
  /**
   * Other picoprocesses share this thread (a host service's worker): a child whose module
   * cannot be preempted (not prepared with the tick counter) is refused (status 126), since its
   * loop would hold the thread. Children inherit it.
   */
  sharedThread?: boolean;
  /**
   * Called once it is ready, just before its entry point first runs (synchronously, until the
   * guest first waits): a daemon's worker answers the spawn request here, since an unprepared
   * guest that loops without system calls never gives its thread back.
   */
  beforeRun?: () => void;
  /**
   * Call this export with these arguments instead of _start, after _initialize when the module
   * has one (a reactor), as `wasmtime run --invoke` does; its results are the status's
   * `results`. Such a run is not capturable.
   */
  invoke?: { name: string; args: readonly (number | bigint)[] };
}

export interface ExitStatus {
  exitCode: number;
  /** A one-line message when the guest trapped or misused the ABI (already formatted). */
  error?: string;
  /** A trap's Wasm frames, innermost first, one line each (runtime/traps.ts wasmBacktrace). */
  backtrace?: string[];
  /** The picoprocess was captured and stopped (it continues from its snapshot). */
  checkpointed?: boolean;
  /** What the entry point returned (`invoke`): one value per result of its type. */
  results?: unknown[];
}

export interface Running {
  readonly process: Picoprocess;
  readonly libos: WasiLibOs;
  readonly instance: WebAssembly.Instance;
  /** Settles when the guest's entry point returns, exits or traps. */
  readonly done: Promise<ExitStatus>;
  /** Capturable picoprocesses: take a snapshot; without leaveRunning it then stops. */
  readonly checkpoint?: (leaveRunning: boolean) => Promise<Uint8Array>;
}
