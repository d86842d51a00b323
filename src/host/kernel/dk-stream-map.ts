// The stream map primitives: DkStreamMap copies a stream's bytes into the address space (a
// private copy, written back at DkStreamUnmap: stream-mappings.ts), DkStreamMapPeBinary reads
// a whole Wasm module image. The rules of every primitive are in process.ts.

import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import { NO_OFFSET, type DkResult, type Handle } from '../../abi/dk.ts';
import { drop, retain } from './kobject.ts';
import type { ProcessState } from './process-state.ts';
import { WASM_PAGE } from './address-space.ts';
import { overlapsMapping, writeBack } from './stream-mappings.ts';
import { PROT_BITS, isFlags, isInt } from './arg-checks.ts';

/** Largest image DkStreamMapPeBinary reads (the biggest Wasm modules are tens of MB). */
export const MAX_IMAGE_BYTES = 1 << 30;
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export function dkStreamMap(p: ProcessState, stream: Handle, addr: number, prot: number, offset: number, size: number): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  if (s.read === undefined) return DkError.WRONG_HANDLE_TYPE;
  if (!isInt(addr) || !isFlags(prot, PROT_BITS) || !isInt(offset) || offset < 0 || !isInt(size) || size <= 0) {
    return DkError.INVALID_ARGUMENT;
  }
  if (!p.space.attached) return DkError.NO_MEMORY;
  if (addr !== 0 && overlapsMapping(p.mappings, addr, size)) return DkError.INVALID_ARGUMENT;
  const base = p.space.alloc(addr, size, prot);
  if (base < 0) return base;
  const bytes = p.space.bytes()!;
  let done = 0;
  while (done < size) {
    const n = s.read(offset + done, bytes.subarray(base + done, base + size));
    if (n < 0) {
      p.space.free(base, size);
      return n;
    }
    if (n === 0) break; // past the end: the rest stays zero
    done += n;
  }
  retain(s);
  p.mappings.push({ addr: base, size, stream: s, offset, prot });
  return base;
}

export function dkStreamMapPeBinary(p: ProcessState, stream: Handle): DkResult<Uint8Array> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  // Files are read from their start, pipes to their end. A device (a frame buffer reads its
  // pixels again and again) or a socket has no end a loader could wait for.
  if (s.read === undefined || (s.kind !== 'file' && s.kind !== 'pipe')) return DkError.WRONG_HANDLE_TYPE;
  const positional = s.kind === 'file';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = new Uint8Array(total === 0 ? 64 * 1024 : Math.min(total, 16 << 20));
    const n = s.read(positional ? total : NO_OFFSET, chunk);
    if (n < 0) return n as DkErrorCode;
    if (n === 0) break;
    chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    total += n;
    if (total > MAX_IMAGE_BYTES) return DkError.FILE_TOO_LARGE;
  }
  const image = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    image.set(c, at);
    at += c.length;
  }
  if (total < 8 || WASM_MAGIC.some((b, i) => image[i] !== b)) return DkError.INVALID_ARGUMENT;
  return image;
}

export function dkStreamUnmap(p: ProcessState, addr: number, size: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(addr) || !isInt(size)) return DkError.INVALID_ARGUMENT;
  const i = p.mappings.findIndex((m) => m.addr === addr);
  if (i < 0) return DkError.INVALID_ARGUMENT;
  const m = p.mappings[i]!;
  // The exact size, or the size rounded to whole pages as the memory holds it.
  if (size !== m.size && Math.ceil(size / WASM_PAGE) !== Math.ceil(m.size / WASM_PAGE)) return DkError.INVALID_ARGUMENT;
  const r = writeBack(p.space, m);
  if (r < 0) return r; // the mapping stays: nothing acknowledged is lost
  p.mappings.splice(i, 1);
  p.space.free(m.addr, m.size);
  drop(m.stream);
  return 0;
}
