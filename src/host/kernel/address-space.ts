// The address space of a picoprocess: its WebAssembly.Memory, with the bookkeeping the memory
// primitives need. The granule is the Wasm page (64 KiB): addresses must be aligned to it and
// sizes round up to whole pages, because that is the unit in which Wasm memory grows.
//
// Wasm cannot unmap, shrink or protect pages, so: Alloc at 0 grows the memory; Alloc at an
// address commits (zeroes) pages already there; Free zeroes and un-accounts; Protect records.
// Pages the module had or grew itself count as committed read-write.

import { DkError } from '../../abi/errors.ts';
import { Prot, type DkResult } from '../../abi/dk.ts';

export const WASM_PAGE = 65536;
const COMMITTED = 0x80;
/** Committed by DkVirtualMemoryAlloc (counted in allocatedBytes), not by the module itself. */
const ALLOCATED = 0x40;
const PROT_MASK = Prot.READ | Prot.WRITE | Prot.EXEC;
/** 32-bit Wasm memories end at 4 GiB. */
const ADDRESS_LIMIT = 2 ** 32;

export class AddressSpace {
  private memory: WebAssembly.Memory | null = null;
  /** Per page: 0 = not committed, else COMMITTED | ALLOCATED? | prot. Pages past its end: the guest's own. */
  private pages = new Uint8Array(0);
  /** Bytes committed through DkVirtualMemoryAlloc and not freed (what a memory quota counts). */
  allocatedBytes = 0;

  attach(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.pages = new Uint8Array(0);
    this.allocatedBytes = 0;
    this.syncPages();
  }
  get attached(): boolean {
    return this.memory !== null;
  }
  /** The current bytes of the memory (a fresh view: the buffer changes when memory grows). */
  bytes(): Uint8Array | null {
    return this.memory ? new Uint8Array(this.memory.buffer) : null;
  }

  /** Pages grown by the module itself since we last looked: committed read-write. */
  private syncPages(): void {
    const n = this.memory ? this.memory.buffer.byteLength / WASM_PAGE : 0;
    if (n <= this.pages.length) return;
    const next = new Uint8Array(n);
    next.set(this.pages);
    next.fill(COMMITTED | Prot.READ | Prot.WRITE, this.pages.length);
    this.pages = next;
  }

  /** Checks an (addr, size) request; returns the page range or an error. */
  private range(addr: number, size: number, allowPastEnd: boolean): DkResult<[number, number]> {
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(size) || addr < 0 || size <= 0) return DkError.INVALID_ARGUMENT;
    if (addr % WASM_PAGE !== 0) return DkError.INVALID_ARGUMENT;
    if (addr + size > ADDRESS_LIMIT) return DkError.BAD_ADDRESS;
    const first = addr / WASM_PAGE;
    const count = Math.ceil(size / WASM_PAGE);
    if (!allowPastEnd && first + count > this.pages.length) return DkError.BAD_ADDRESS;
    return [first, count];
  }

  alloc(addr: number, size: number, prot: number): DkResult<number> {
    if (!this.memory) return DkError.NO_MEMORY;
    if (!Number.isInteger(prot) || (prot & ~PROT_MASK) !== 0) return DkError.INVALID_ARGUMENT;
    this.syncPages();
    if (addr === 0) {
      if (!Number.isSafeInteger(size) || size <= 0) return DkError.INVALID_ARGUMENT;
      const count = Math.ceil(size / WASM_PAGE);
      let base: number;
      try {
        base = this.memory.grow(count) * WASM_PAGE; // new pages are zero
      } catch {
        return DkError.NO_MEMORY; // past the memory's maximum or the host's
      }
      this.syncPages();
      this.pages.fill(COMMITTED | ALLOCATED | prot, base / WASM_PAGE, base / WASM_PAGE + count);
      this.allocatedBytes += count * WASM_PAGE;
      return base;
    }
    const r = this.range(addr, size, true);
    if (typeof r === 'number') return r;
    const [first, count] = r;
    // Wasm memory grows only at its end: no reserving a hole past it.
    if (first + count > this.pages.length) return DkError.NO_MEMORY;
    new Uint8Array(this.memory.buffer, addr, count * WASM_PAGE).fill(0);
    for (let p = first; p < first + count; p++) {
      if ((this.pages[p]! & ALLOCATED) === 0) this.allocatedBytes += WASM_PAGE;
      this.pages[p] = COMMITTED | ALLOCATED | prot;
    }
    return addr;
  }

  free(addr: number, size: number): DkResult<0> {
    if (!this.memory) return DkError.INVALID_ARGUMENT;
    this.syncPages();
    const r = this.range(addr, size, false);
    if (typeof r === 'number') return r;
    const [first, count] = r;
    new Uint8Array(this.memory.buffer, addr, count * WASM_PAGE).fill(0);
    for (let p = first; p < first + count; p++) {
      if ((this.pages[p]! & ALLOCATED) !== 0) this.allocatedBytes -= WASM_PAGE;
      this.pages[p] = 0;
    }
    return 0;
  }

  protect(addr: number, size: number, prot: number): DkResult<0> {
    if (!this.memory) return DkError.INVALID_ARGUMENT;
    if (!Number.isInteger(prot) || (prot & ~PROT_MASK) !== 0) return DkError.INVALID_ARGUMENT;
    this.syncPages();
    const r = this.range(addr, size, false);
    if (typeof r === 'number') return r;
    const [first, count] = r;
    for (let p = first; p < first + count; p++) if (this.pages[p] === 0) return DkError.INVALID_ARGUMENT; // not committed
    for (let p = first; p < first + count; p++) this.pages[p] = (this.pages[p]! & (COMMITTED | ALLOCATED)) | prot;
    return 0;
  }

  /** The recorded protection of the page holding addr, or -1 when it is not committed. */
  protectionAt(addr: number): number {
    this.syncPages();
    const p = Math.floor(addr / WASM_PAGE);
    const s = this.pages[p];
    return s === undefined || s === 0 ? -1 : s & PROT_MASK;
  }
}
