// The checksum of each page of a snapshot (format 4): a Fletcher-style sum over 32-bit lanes,
// computed by a small Wasm SIMD module right in the guest's memory, at the speed of a memory
// read. Why not CRC-32: it is slower than the memory copy it guards, so a checkpoint or a
// restore could not keep up with a copy (docs/snapshot.md, "Checkpoint and restore speed").
//
// The sum: the page is read as 16-byte blocks of four little-endian u32 lanes; per lane,
// a += word and then b += a (mod 2^32), so a counts every byte and b also its position. The
// result folds the lanes: sum of a[j]*C[j] + b[j]*D[j] (mod 2^32) with odd C and even D. A
// change of one byte changes one lane's a by a non-zero d (mod 2^32) and its b by m*d; the
// result then moves by d*(C[j] + m*D[j]), an odd multiple of d, never 0: every one-byte
// change is caught, as CRC-32 caught it; other damage but for about one chance in 4 billion.
// Like CRC-32 it guards against damage, not against someone who rewrites the file.
//
// Where there is no Wasm memory to read (a snapshot checked as a file image), pageSumOf
// computes the same sum in JavaScript, slower.
//
// The same module finds the pages that are not all zero (nonZeroPagesOf): what a snapshot
// taken in the process (fork, tier-up) copies.

import { concat, leb, MODULE_HEADER, nameBytes, section, sleb } from '../wasm/binary.ts';

/** Odd lane weights of `a` and even ones of `b` (any such constants keep the property above). */
const C = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f];
const D = [0x165667b0, 0xd3a2646c, 0xfd7046c4, 0xb55a4f08];

let scratch = new Uint8Array(0);

/** The sum of `bytes` (its length a multiple of 16), in JavaScript. */
export function pageSumOf(bytes: Uint8Array): number {
  // A page in a file image may start at any offset: read an unaligned one from a copy.
  if (bytes.byteOffset % 4 !== 0) {
    if (scratch.length < bytes.length) scratch = new Uint8Array(bytes.length);
    scratch.set(bytes);
    bytes = scratch.subarray(0, bytes.length);
  }
  // Little-endian lanes, as Wasm reads them (every host drawbridge runs on is little-endian).
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let a0 = 0,
    a1 = 0,
    a2 = 0,
    a3 = 0,
    b0 = 0,
    b1 = 0,
    b2 = 0,
    b3 = 0;
  for (let i = 0; i < words.length; i += 4) {
    a0 = (a0 + words[i]!) | 0;
    a1 = (a1 + words[i + 1]!) | 0;
    a2 = (a2 + words[i + 2]!) | 0;
    a3 = (a3 + words[i + 3]!) | 0;
    b0 = (b0 + a0) | 0;
    b1 = (b1 + a1) | 0;
    b2 = (b2 + a2) | 0;
    b3 = (b3 + a3) | 0;
  }
  const h =
    Math.imul(a0, C[0]!) +
    Math.imul(a1, C[1]!) +
    Math.imul(a2, C[2]!) +
    Math.imul(a3, C[3]!) +
    Math.imul(b0, D[0]!) +
    Math.imul(b1, D[1]!) +
    Math.imul(b2, D[2]!) +
    Math.imul(b3, D[3]!);
  return h >>> 0;
}

// The Wasm module: imports a memory, exports sum(ptr, len) -> i32 (len a multiple of 16).
//   loop while ptr < end: a = a + v128.load(ptr); b = b + a; ptr += 16
//   fold: lanes of (a * C + b * D), added.
const I32 = 0x7f;
const V128 = 0x7b;
const simd = (op: number): number[] => [0xfd, ...leb(op)];
const V128_LOAD = simd(0x00);
const V128_CONST = simd(0x0c);
const I32X4_ADD = simd(0xae);
const I32X4_MUL = simd(0xb5);
const I32X4_EXTRACT_LANE = simd(0x1b);
const V128_OR = simd(0x50);
const V128_ANY_TRUE = simd(0x53);

function v128Const(lanes: readonly number[]): number[] {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  lanes.forEach((lane, i) => dv.setUint32(4 * i, lane >>> 0, true));
  return [...V128_CONST, ...b];
}

/**
 * The head of a loop over [ptr, ptr + len) of both functions (locals 0 ptr, 1 len): block;
 * loop; br_if 1 (out of the loop) once len is 0. The loop counts len down rather than comparing
 * ptr with ptr + len, which wraps to 0 for the last page of a 4 GiB memory.
 */
const RANGE_LOOP = [0x02, 0x40, 0x03, 0x40, 0x20, 1, 0x45, 0x0d, 1];

/** Its tail: ptr += step; len -= step; br 0; end loop; end block (len a multiple of step). */
function nextStep(step: number): number[] {
  return [0x20, 0, 0x41, ...sleb(step), 0x6a, 0x21, 0, 0x20, 1, 0x41, ...sleb(step), 0x6b, 0x21, 1, 0x0c, 0, 0x0b, 0x0b];
}

function moduleBytes(): Uint8Array {
  // locals: 0 ptr, 1 len (params), 2 (unused i32), 3 a, 4 b (v128)
  const body = [
    1 + 1,
    1,
    I32,
    2,
    V128, // local groups: one i32, two v128
    ...RANGE_LOOP,
    0x20,
    3,
    0x20,
    0,
    ...V128_LOAD,
    4,
    0,
    ...I32X4_ADD,
    0x22,
    3, // a = a + load(ptr) (align 16, offset 0)
    0x20,
    4,
    ...I32X4_ADD,
    0x21,
    4, // b = a + b
    ...nextStep(16),
    0x20,
    3,
    ...v128Const(C),
    ...I32X4_MUL,
    0x20,
    4,
    ...v128Const(D),
    ...I32X4_MUL,
    ...I32X4_ADD,
    0x22,
    3,
    ...I32X4_EXTRACT_LANE,
    0,
    0x20,
    3,
    ...I32X4_EXTRACT_LANE,
    1,
    0x6a,
    0x20,
    3,
    ...I32X4_EXTRACT_LANE,
    2,
    0x6a,
    0x20,
    3,
    ...I32X4_EXTRACT_LANE,
    3,
    0x6a,
    0x0b,
  ];
  // zero(ptr, len) -> 1 when the len bytes at ptr (a multiple of 64) are all zero, else 0:
  // 64 bytes a step (four loads or-ed), out at the first that is not zero.
  // locals: 0 ptr, 1 len (params)
  const load = (offset: number) => [0x20, 0, ...V128_LOAD, 4, offset];
  const zero = [
    0, // no locals
    ...RANGE_LOOP, // out of it: all zero
    ...load(0),
    ...load(16),
    ...V128_OR,
    ...load(32),
    ...V128_OR,
    ...load(48),
    ...V128_OR,
    ...V128_ANY_TRUE,
    0x04,
    0x40,
    0x41,
    0,
    0x0f,
    0x0b, // if any bit is set: return 0
    ...nextStep(64),
    0x41,
    1,
    0x0b,
  ];
  return concat([
    MODULE_HEADER,
    section(1, [1, 0x60, 2, I32, I32, 1, I32]), // type 0: (i32, i32) -> i32
    section(2, [1, ...nameBytes('m'), ...nameBytes('memory'), 2, 0, 0]), // import m.memory: memory, min 0
    section(3, [2, 0, 0]), // two functions of type 0
    section(7, [2, ...nameBytes('sum'), 0, 0, ...nameBytes('zero'), 0, 1]), // exports "sum" = 0, "zero" = 1
    section(10, [2, ...leb(body.length), ...body, ...leb(zero.length), ...zero]),
  ]);
}

interface Helper {
  /** sum(ptr, len) as an unsigned number. */
  sum: (ptr: number, len: number) => number;
  zero: (ptr: number, len: number) => number;
}
let compiled: WebAssembly.Module | null = null;
const helpers = new WeakMap<WebAssembly.Memory, Helper>();

/** The Wasm module's functions over `memory` (one instance per memory). */
function helperOf(memory: WebAssembly.Memory): Helper {
  let h = helpers.get(memory);
  if (!h) {
    compiled ??= new WebAssembly.Module(moduleBytes() as Uint8Array<ArrayBuffer>);
    const exports = new WebAssembly.Instance(compiled, { m: { memory } }).exports as unknown as Helper;
    h = { sum: (ptr, len) => exports.sum(ptr, len) >>> 0, zero: exports.zero };
    helpers.set(memory, h);
  }
  return h;
}

/** sum(ptr, len) over `memory`, by the Wasm module. */
export function pageSummer(memory: WebAssembly.Memory): (ptr: number, len: number) => number {
  return helperOf(memory).sum;
}

/**
 * The indices of the pages of `memory` that are not all zero (`pageSize` a multiple of 64),
 * read by the Wasm module in place: no call into the host per page, 64 bytes a step.
 */
export function nonZeroPagesOf(memory: WebAssembly.Memory, pageSize: number): number[] {
  const { zero } = helperOf(memory);
  const count = memory.buffer.byteLength / pageSize;
  const out: number[] = [];
  for (let p = 0, at = 0; p < count; p++, at += pageSize) if (zero(at, pageSize) === 0) out.push(p);
  return out;
}
