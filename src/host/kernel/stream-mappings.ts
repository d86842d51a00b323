// DkStreamMap regions of a picoprocess: a private copy of a stream's bytes in its address
// space, written back at DkStreamUnmap or when the picoprocess exits. The memory primitives
// refuse ranges that overlap one (DkStreamUnmap those).

import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import { Prot, type DkResult } from '../../abi/dk.ts';
import type { StreamObject } from './kobject.ts';
import { WASM_PAGE, type AddressSpace } from './address-space.ts';

/** A DkStreamMap region: a private copy of a stream's bytes, written back at unmap. */
export interface Mapping {
  addr: number;
  size: number;
  stream: StreamObject;
  offset: number;
  prot: number;
}

/** Whether [addr, addr + size), in whole pages, overlaps one of the mappings. */
export function overlapsMapping(mappings: readonly Mapping[], addr: number, size: number): boolean {
  const end = addr + Math.ceil(size / WASM_PAGE) * WASM_PAGE;
  for (const m of mappings) {
    const mEnd = m.addr + Math.ceil(m.size / WASM_PAGE) * WASM_PAGE;
    if (addr < mEnd && m.addr < end) return true;
  }
  return false;
}

/**
 * Writes a writable mapping back to its stream. A stream that refuses writes (opened
 * read-only, or not writable at all) makes it a private mapping: nothing to write back.
 */
export function writeBack(space: AddressSpace, m: Mapping): DkResult<0> {
  if ((m.prot & Prot.WRITE) === 0 || m.stream.write === undefined) return 0;
  const bytes = space.bytes();
  if (bytes === null) return 0;
  let done = 0;
  while (done < m.size) {
    const n = m.stream.write(m.offset + done, bytes.subarray(m.addr + done, m.addr + m.size));
    if (n === DkError.ACCESS_DENIED || n === DkError.READ_ONLY || n === DkError.BAD_HANDLE) return 0;
    if (n < 0) return n as DkErrorCode;
    if (n === 0) return DkError.IO_ERROR;
    done += n;
  }
  return 0;
}
