// What one host (PAL) supplies to the shared kernel: clocks, randomness, timers, the file
// system and its standard streams. Everything else (handles, sync objects, threads, pipes,
// devices, memory) is the same code for every host: see process.ts and kernel.ts.

import type { StreamObject } from './kobject.ts';
import type { FileSystem } from './files/files.ts';

/** An opaque timer token of the platform. */
export type TimerToken = unknown;

export interface Platform {
  readonly name: string;
  /** Nanoseconds since the Unix epoch. Hot path: no allocation beyond the bigint. */
  realtimeNs(): bigint;
  /** Nanoseconds of a clock that never goes back. Hot path. */
  monotonicNs(): bigint;
  /** CPU time of the host process, in nanoseconds (shared by all its picoprocesses). */
  cpuTimeNs(): bigint;
  /** Fill with random bytes (cryptographic on real hosts, seeded on deterministic ones). */
  randomFill(buffer: Uint8Array): void;
  /** Call fn once, ns nanoseconds (of monotonicNs) from now. */
  setTimer(ns: bigint, fn: () => void): TimerToken;
  clearTimer(token: TimerToken): void;
  /** Settles after other ready work of the event loop had its turn. */
  yieldNow(): Promise<void>;
  /** The file system behind file: and dir: URIs. */
  readonly fs: FileSystem;
  /** The stream stdin: opens for 'inherit' ('null' and Uint8Array sources are the kernel's). */
  inheritStdin(): StreamObject;
  /** The stream stdout:/stderr: opens for 'inherit'. */
  inheritOutput(fd: 1 | 2): StreamObject;
}
