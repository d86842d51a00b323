// Builds the functions of the `drawbridge` import module on the same library OS state as
// WASI (descriptors are shared: a socket or a child's pipe is an ordinary fd).

import type { WasiState } from '../wasi/state.ts';
import type { SyscallFn } from '../wasi/index.ts';
import { DRAWBRIDGE_CALLS } from './table.ts';
import { processCalls } from './process.ts';
import { netCalls } from './net.ts';

export type FamilyFactory = (os: WasiState) => Record<string, SyscallFn>;

/** Family factories, one per file (net.ts, process.ts). */
const FAMILIES: FamilyFactory[] = [processCalls, netCalls];

export function createDrawbridgeCalls(os: WasiState): Record<string, SyscallFn> {
  const out: Record<string, SyscallFn> = {};
  for (const f of FAMILIES) Object.assign(out, f(os));
  for (const name of Object.keys(DRAWBRIDGE_CALLS)) {
    if (typeof out[name] !== 'function') throw new Error(`libos: drawbridge.${name} is in the table but not implemented`);
  }
  return out;
}

export { DRAWBRIDGE_CALLS };
