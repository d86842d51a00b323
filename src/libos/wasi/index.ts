// The WASI preview1 library OS: builds the import object of wasi_snapshot_preview1 from the
// syscall families, on top of one picoprocess's Dk.

import type { Dk } from '../../abi/dk.ts';
import { argsCalls } from './args.ts';
import { clockCalls } from './clock.ts';
import { dirCalls } from './dir.ts';
import { fdIoCalls } from './fd-io.ts';
import { fdCalls } from './fd.ts';
import { pathCalls } from './path.ts';
import { pollCalls } from './poll.ts';
import { procCalls } from './proc.ts';
import { randomCalls } from './random.ts';
import { sockCalls } from './sock.ts';
import { SYSCALLS } from './table.ts';
import { createDrawbridgeCalls } from '../drawbridge/index.ts';
import { WasiState, type SavedLibOs, type WasiOptions } from './state.ts';

export type SyscallFn = (...args: any[]) => number | Promise<number>;

export interface WasiLibOs {
  readonly state: WasiState;
  /** Every wasi_snapshot_preview1 function by name. */
  readonly functions: Readonly<Record<string, SyscallFn>>;
  /** The functions of the `drawbridge` import module (sockets, processes). */
  readonly drawbridge: Readonly<Record<string, SyscallFn>>;
  /** Bind the guest's exported memory (before the first call). */
  attachMemory(memory: WebAssembly.Memory): void;
  /** Close every descriptor. */
  close(): void;
}

export function createWasiLibOs(dk: Dk, options: WasiOptions, saved?: SavedLibOs): WasiLibOs {
  const state = new WasiState(dk, options, saved);
  const functions: Record<string, SyscallFn> = {
    ...argsCalls(state), ...clockCalls(state), ...randomCalls(state), ...procCalls(state),
    ...fdCalls(state), ...fdIoCalls(state), ...dirCalls(state), ...pathCalls(state),
    ...pollCalls(state), ...sockCalls(state),
  };
  for (const name of Object.keys(SYSCALLS)) {
    if (typeof functions[name] !== 'function') throw new Error(`libos: ${name} is in the table but not implemented`);
  }
  return {
    state,
    functions,
    drawbridge: createDrawbridgeCalls(state),
    attachMemory: (memory) => state.mem.attach(memory),
    close: () => state.closeAll(),
  };
}

export { SYSCALLS } from './table.ts';
export { ProcExit, GuestError, INTERRUPTED_CALL, type WasiOptions, type Preopen, type SavedLibOs } from './state.ts';
export { GuestFault } from './memory.ts';
