// The snapshot format's primitives in the browser (snapshot-format.ts FormatPrimitives): CRC-32
// and the zero-page test in JavaScript, where Node uses zlib and Buffer's memcmp. The bytes they
// give are the same, so one snapshot file restores on either host.

import type { FormatPrimitives } from '../checkpoint/snapshot-format.ts';

/** CRC-32 (IEEE 802.3, reflected, as zlib's) by table, 8 bits at a time. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, value = 0): number {
  let c = ~value >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Whether `size` bytes of `mem` from `at` are zero: 32-bit words where aligned, bytes otherwise. */
function zeroAt(mem: Uint8Array, at: number, size: number): boolean {
  const start = mem.byteOffset + at;
  if (start % 4 === 0 && size % 4 === 0) {
    const words = new Uint32Array(mem.buffer, start, size >>> 2);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = at; i < at + size; i++) if (mem[i] !== 0) return false;
  return true;
}

export const BROWSER_FORMAT: FormatPrimitives = {
  crc32,
  nonZeroPages(mem, pageSize) {
    const out: number[] = [];
    const count = mem.length / pageSize;
    for (let p = 0; p < count; p++) if (!zeroAt(mem, p * pageSize, pageSize)) out.push(p);
    return out;
  },
  zeroTest: (mem) => (at, size) => zeroAt(mem, at, size),
  alloc: (size) => new Uint8Array(size),
};
