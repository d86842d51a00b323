// The functions of the `drawbridge` import module, on the same library OS state as WASI
// (descriptors are shared: a socket or a child's pipe is an ordinary fd).

import type { SyscallFamily } from '../syscall.ts';
import { DRAWBRIDGE_CALLS, type DrawbridgeEntry } from './table.ts';
import { processCalls } from './process.ts';
import { netCalls } from './net.ts';
import { fbCalls } from './fb.ts';

/** Family factories, one per file; the library OS makes a family when a program imports from it. */
export const DRAWBRIDGE_FAMILIES: Record<DrawbridgeEntry['family'], SyscallFamily> = { process: processCalls, net: netCalls, fb: fbCalls };

export { DRAWBRIDGE_CALLS };
