// The shape of a syscall implementation, shared by the import modules (wasi/, drawbridge/)
// and the library OS that binds them (index.ts), so that neither imports the other for it.

import type { WasiState } from './core/state.ts';

/** One imported function: its result is a WASI errno (a Promise of one when it may wait). */
export type SyscallFn = (...args: any[]) => number | Promise<number>;

/**
 * The most parameters a syscall takes (path_open: 9), with room for one more: the wrappers of
 * imports that wait (the governor's, the capturer's) call them with this fixed list, a direct
 * call, where forwarding `arguments` or a rest parameter went through a generic builtin on
 * every call. A function that declares more is forwarded all of its arguments.
 */
export const IMPORT_MAX_ARGS = 10;

/** A family file's factory: its functions, made on one library OS state. */
export type SyscallFamily = (os: WasiState) => Record<string, SyscallFn>;
