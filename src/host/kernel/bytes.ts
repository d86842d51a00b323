// Byte copying for hot paths. TypedArray.set needs a subarray view (an allocation) to copy a
// slice; for short copies a plain loop is cheaper and allocates nothing.

const LOOP_MAX = 64;

export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  if (n <= LOOP_MAX) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else if (srcOff === 0 && n === src.length) {
    dst.set(src, dstOff);
  } else {
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  }
}
