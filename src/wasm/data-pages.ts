// Which pages of its memory a module writes when it is instantiated: those its active data
// segments cover. A restore into a fresh instance zeroes the instance's own bytes the snapshot
// does not hold; knowing where they can be spares reading every other page (a fork's cost).

import { MODULE_HEADER, Reader, readS32, sections } from './binary.ts';

/** The section ids this reads. */
const START = 8;
const DATA = 11;

/**
 * The indices of the `pageSize` pages that instantiating `bytes` may leave non-zero, or null
 * when that cannot be told from the module alone: a start function (it may write anywhere), a
 * segment whose offset is not an `i32.const` or that is for another memory, or bytes that are not
 * a whole module.
 */
export function pagesWrittenAtInstantiation(bytes: Uint8Array, pageSize: number): Set<number> | null {
  try {
    if (bytes.length < 8 || !MODULE_HEADER.every((b, i) => bytes[i] === b)) return null;
    const all = sections(bytes);
    if (all.length > 0 && all[all.length - 1]!.end !== bytes.length) return null;
    if (all.some((s) => s.id === START)) return null;
    const data = all.find((s) => s.id === DATA);
    const out = new Set<number>();
    if (!data) return out;
    if (data.end > bytes.length) return null;
    const r = new Reader(bytes, data.payload);
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const flags = r.u32();
      if (flags === 1) {
        // passive: written only by memory.init, when the program runs
        const length = r.u32();
        r.pos += length;
        continue;
      }
      if (flags === 2 && r.u32() !== 0) return null;
      if (flags !== 0 && flags !== 2) return null;
      const offset = i32Const(r);
      if (offset === null) return null;
      const length = r.u32();
      r.pos += length;
      if (r.pos > data.end) return null;
      if (length === 0) continue;
      for (let p = Math.floor(offset / pageSize); p <= Math.floor((offset + length - 1) / pageSize); p++) out.add(p);
    }
    return out;
  } catch {
    return null;
  }
}

/** The unsigned value of an offset expression `i32.const N end`, else null. */
function i32Const(r: Reader): number | null {
  if (r.byte() !== 0x41) return null;
  const start = r.pos;
  const value = readS32(r.bytes, start);
  r.skipLeb();
  if (r.pos - start > 5 || r.byte() !== 0x0b) return null; // an i32's LEB128 has at most 5 bytes
  return value >>> 0;
}
