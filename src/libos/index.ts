// The WASI preview1 library OS: builds the import object of wasi_snapshot_preview1 from the
// syscall families, on top of one picoprocess's Dk.

import type { Dk } from '../abi/dk.ts';
import { argsCalls } from './wasi/args.ts';
import { clockCalls } from './wasi/clock.ts';
import { dirCalls } from './wasi/dir.ts';
import { fdIoCalls } from './wasi/fd-io.ts';
import { fdCalls } from './wasi/fd.ts';
import { pathCalls } from './wasi/path.ts';
import { pollCalls } from './wasi/poll.ts';
import { procCalls } from './wasi/proc.ts';
import { randomCalls } from './wasi/random.ts';
import { sockCalls } from './wasi/sock.ts';
import { SYSCALLS, type SyscallEntry } from './wasi/table.ts';
import { DRAWBRIDGE_CALLS, DRAWBRIDGE_FAMILIES } from './drawbridge/index.ts';
import type { SavedLibOs } from './core/save.ts';
import { WasiState, type WasiOptions } from './core/state.ts';
import type { SyscallFamily, SyscallFn } from './syscall.ts';

export interface WasiLibOs {
  readonly state: WasiState;
  /** A wasi_snapshot_preview1 function by name (undefined when preview 1 has none of that name). */
  syscall(name: string): SyscallFn | undefined;
  /** A function of the `drawbridge` import module (sockets, processes) by name. */
  drawbridgeCall(name: string): SyscallFn | undefined;
  /** Bind the guest's exported memory (before the first call). */
  attachMemory(memory: WebAssembly.Memory): void;
  /** Close every descriptor. */
  close(): void;
}

const WASI_FAMILIES: Record<SyscallEntry['family'], SyscallFamily> = {
  args: argsCalls,
  clock: clockCalls,
  random: randomCalls,
  proc: procCalls,
  fd: fdCalls,
  'fd-io': fdIoCalls,
  dir: dirCalls,
  path: pathCalls,
  poll: pollCalls,
  sock: sockCalls,
};

/** Families whose factory was seen to make every name the table gives it (once per process). */
const checkedFamilies = new Set<string>();

/**
 * A family's functions are made the first time the program imports one of them: a small
 * program imports five or six functions of two or three families, and a picoprocess's start
 * then makes those closures only (bench/density.ts counts every one of them).
 */
class LibOs implements WasiLibOs {
  readonly state: WasiState;
  private readonly families: Record<string, Record<string, SyscallFn>> = {};

  constructor(state: WasiState) {
    this.state = state;
  }

  syscall(name: string): SyscallFn | undefined {
    const entry = Object.hasOwn(SYSCALLS, name) ? SYSCALLS[name]! : undefined;
    return entry && this.family(`wasi:${entry.family}`, WASI_FAMILIES[entry.family], SYSCALLS, entry.family)[name];
  }

  drawbridgeCall(name: string): SyscallFn | undefined {
    const entry = Object.hasOwn(DRAWBRIDGE_CALLS, name) ? DRAWBRIDGE_CALLS[name]! : undefined;
    return entry && this.family(`drawbridge:${entry.family}`, DRAWBRIDGE_FAMILIES[entry.family], DRAWBRIDGE_CALLS, entry.family)[name];
  }

  private family(key: string, make: SyscallFamily, table: Readonly<Record<string, { family: string }>>, family: string): Record<string, SyscallFn> {
    let fns = this.families[key];
    if (!fns) {
      fns = this.families[key] = make(this.state);
      if (!checkedFamilies.has(key)) {
        for (const name of Object.keys(table)) {
          if (table[name]!.family === family && typeof fns[name] !== 'function') throw new Error(`libos: ${name} is in the table but not implemented`);
        }
        checkedFamilies.add(key);
      }
    }
    return fns;
  }

  attachMemory(memory: WebAssembly.Memory): void {
    this.state.mem.attach(memory);
  }

  close(): void {
    this.state.closeAll();
  }
}

export function createWasiLibOs(dk: Dk, options: WasiOptions, saved?: SavedLibOs): WasiLibOs {
  return new LibOs(new WasiState(dk, options, saved));
}

export { SYSCALLS } from './wasi/table.ts';
export type { SyscallFn } from './syscall.ts';
export { IMPORT_MAX_ARGS } from './syscall.ts';
export type { WasiOptions, Preopen } from './core/state.ts';
export type { SavedLibOs } from './core/save.ts';
export { ProcExit, GuestError, PreopenError } from './core/throws.ts';
export { INTERRUPTED_CALL } from './core/wait.ts';
export { GuestFault } from './core/memory.ts';
