// What a host (PAL) offers the runtime beside the Dk ABI itself: making picoprocesses and
// controlling them. The library OS never sees this; it sees only `dk`.

import type { Dk, LibOsUpcalls } from '../../abi/dk.ts';

/** Where a picoprocess's standard streams go. */
export type StdinSource = 'inherit' | 'null' | Uint8Array;
export type OutputSink = 'inherit' | 'null' | ((bytes: Uint8Array) => void);

/** Starts a child picoprocess for DkProcessCreate; supplied by the runtime. */
export type ProcessLauncher = (request: {
  parent: Picoprocess;
  uri: string;
  args: readonly string[];
  /** Host stream objects (opaque to the launcher's caller) for the child's stdin, stdout, stderr; null = null: */
  stdio: readonly (unknown | null)[];
}) => { exited: Promise<number>; kill(): void } | number;

export interface ProcessOptions {
  stdin?: StdinSource;
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** Most handles open at once (DkError.QUOTA_EXCEEDED past it). */
  maxHandles?: number;
  launcher?: ProcessLauncher;
  /**
   * Streams a parent handed over (DkProcessCreate's stdio: ProcessLauncher's request.stdio,
   * passed through as is). Entry i, when present, replaces stdin/stdout/stderr; null means null:.
   * The child holds its own reference on each until it exits.
   */
  stdioStreams?: readonly (unknown | null)[];
  /** Receives DkDebugStringPrint lines (default: nowhere). */
  debugLog?: (line: string) => void;
}

export interface Picoprocess {
  readonly id: number;
  /** The Dk ABI of this picoprocess: what the monitor wraps and the library OS calls. */
  readonly dk: Dk;
  /** Bind the picoprocess's address space (its Wasm linear memory) for the memory primitives. */
  attachMemory(memory: WebAssembly.Memory): void;
  /** Register the library OS upcalls (thread start, exception dispatch). */
  setUpcalls(upcalls: LibOsUpcalls): void;
  /** Settles with the exit code once DkProcessExit is called or the process is killed. */
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  /** Ask the picoprocess to stop: sets its abort events (DkAbortEventRegister). */
  abort(): void;
  /** Force an exit with code (as DkProcessExit from outside) and close every handle. */
  kill(code: number): void;
}

export interface Host {
  readonly name: string;
  createProcess(options?: ProcessOptions): Picoprocess;
}
