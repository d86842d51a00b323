// The shape of a syscall implementation, shared by the import modules (wasi/, drawbridge/)
// and the library OS that binds them (index.ts), so that neither imports the other for it.

import type { WasiState } from './core/state.ts';

/** One imported function: its result is a WASI errno (a Promise of one when it may wait). */
export type SyscallFn = (...args: any[]) => number | Promise<number>;

/** A family file's factory: its functions, made on one library OS state. */
export type SyscallFamily = (os: WasiState) => Record<string, SyscallFn>;
