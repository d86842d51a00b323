// The memory primitives (DkVirtualMemory*): commit, free and protect pages of the
// picoprocess's address space (address-space.ts). Ranges mapped by DkStreamMap are refused:
// DkStreamUnmap those. The rules of every primitive are in process.ts.

import { DkError } from '../../abi/errors.ts';
import type { DkResult } from '../../abi/dk.ts';
import type { ProcessState } from './process-state.ts';
import { overlapsMapping } from './stream-mappings.ts';
import { PROT_BITS, isFlags, isInt } from './arg-checks.ts';

export function dkVirtualMemoryAlloc(p: ProcessState, addr: number, size: number, prot: number): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(addr) || !isInt(size) || !isFlags(prot, PROT_BITS)) return DkError.INVALID_ARGUMENT;
  if (overlapsMapping(p.mappings, addr, size)) return DkError.INVALID_ARGUMENT;
  return p.space.alloc(addr, size, prot);
}
export function dkVirtualMemoryFree(p: ProcessState, addr: number, size: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(addr) || !isInt(size)) return DkError.INVALID_ARGUMENT;
  if (overlapsMapping(p.mappings, addr, size)) return DkError.INVALID_ARGUMENT; // DkStreamUnmap those
  return p.space.free(addr, size);
}
export function dkVirtualMemoryProtect(p: ProcessState, addr: number, size: number, prot: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(addr) || !isInt(size) || !isFlags(prot, PROT_BITS)) return DkError.INVALID_ARGUMENT;
  return p.space.protect(addr, size, prot);
}
