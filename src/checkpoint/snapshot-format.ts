// The snapshot file format itself (docs/snapshot.md, "The file format"), with no Node: the
// layout, its types, encoding, decoding and putting memory back. What differs between hosts
// is given as FormatPrimitives: on Node (snapshot.ts) zlib's CRC-32 and Buffer's memcmp, in the
// browser (src/browser/format-primitives.ts) the same sums in JavaScript. One format, one
// encoder and one decoder for both, so a snapshot taken on either restores on the other.
//
//   "DRAWBSNP" | u32 version | u32 section count | sections... | u32 CRC-32 of all before it
//   but the page contents (each page carries its own checksum, which this covers)
//   section:   u32 type | u64 length | bytes
//     1 META    UTF-8 JSON: module hash, libos state, globals, memory layout
//     2 MODULE  the prepared module's bytes (optional: a restore may find it by hash)
//     3 MEMORY  the non-zero 64 KiB pages: u32 page index, u32 checksum of the page (page-sum.ts),
//               the page
//
// The module's SHA-256 is checked by the caller (decodeSnapshotWith leaves it): Node hashes
// synchronously, the browser's WebCrypto only asynchronously.

import type { SavedLibOs } from '../libos/index.ts';
import { nonZeroPagesOf, pageSumOf, pageSummer } from './page-sum.ts';
import { pagesWrittenAtInstantiation } from '../wasm/data-pages.ts';

export const SNAPSHOT_MAGIC = 'DRAWBSNP';
export const SNAPSHOT_VERSION = 4;
export const PAGE_SIZE = 65536;

const T_META = 1;
const T_MODULE = 2;
const T_MEMORY = 3;
/** Per page in MEMORY: u32 index, u32 page sum. */
const PAGE_HEADER = 8;
const TRAILER = 4;

export interface SnapshotMeta {
  format: 'drawbridge-snapshot';
  version: number;
  created: string;
  module: { sha256: string; size: number; name: string };
  args: string[];
  libos: SavedLibOs;
  /** Mutable globals by index: value as a decimal string (i64 included) or a number. */
  globals: { index: number; type: string; value: string }[];
  /** Size in 64 KiB pages and how many of them are not zero (those the snapshot holds). */
  memory: { pages: number; nonZeroPages: number };
  asyncify: { dataAddr: number; dataSize: number };
  /** The grants it ran with (mounts as guest paths and modes; hosts are given again at restore). */
  mounts: { guest: string; mode: 'ro' | 'rw'; host?: string }[];
  env: Record<string, string>;
  /** Its network grants, as the manifest wrote them (a listening socket listens again). */
  network?: { connect: string[]; listen: string[] };
  /** The extensions it ran under (stack order, nearest the program first) and their state. */
  extensions?: SavedExtension[];
}

export interface SavedExtension {
  name: string;
  options: Record<string, string>;
  state: unknown;
}

export interface Snapshot {
  meta: SnapshotMeta;
  module: Uint8Array | null;
  /** The non-zero pages by index (views into the snapshot's bytes). */
  pages: Map<number, Uint8Array>;
  /** The size of those pages: PAGE_SIZE when absent (files, migration); 4 KiB in process. */
  pageSize?: number;
  /**
   * Pages not checked yet (decodeSnapshot with `lazyPages`): the page sum each must have, and
   * the snapshot's name for messages. restoreMemory checks each page just after it copies it
   * into the instance's memory (the SIMD page sum, while the page is in cache: the check costs
   * almost nothing), checkPages all at once. Absent: every page has been checked.
   */
  unchecked?: { sums: Map<number, number>; name: string };
}

export class SnapshotError extends Error {}

/** What encoding and decoding need from the host they run on. */
export interface FormatPrimitives {
  /** CRC-32 (IEEE) of `bytes`, continuing from `value`. */
  crc32(bytes: Uint8Array, value?: number): number;
  /** The indices of the `pageSize` pages of `mem` that are not all zero. */
  nonZeroPages(mem: Uint8Array, pageSize: number): number[];
  /** A test of whether `size` bytes of `mem` from `at` are all zero (reading them, writing nothing). */
  zeroTest(mem: Uint8Array): (at: number, size: number) => boolean;
  /** A buffer of `size` bytes that the caller writes whole (need not be zeroed first). */
  alloc(size: number): Uint8Array;
}

/** The pages of `source` that are not all zero: a Wasm memory scanned in place by the page module, bytes by the host. */
function nonZeroPagesFrom(host: FormatPrimitives, source: WebAssembly.Memory | Uint8Array, pageSize: number): number[] {
  return source instanceof Uint8Array ? host.nonZeroPages(source, pageSize) : nonZeroPagesOf(source, pageSize);
}

/**
 * Encode a snapshot; `memory` is the whole linear memory, of which only non-zero pages are
 * kept. One pass over memory: each non-zero page is copied into the file image and its CRC
 * taken from the copy, still in cache. The trailer covers everything but the page contents.
 */
export function encodeSnapshotWith(
  host: FormatPrimitives,
  meta: Omit<SnapshotMeta, 'memory'>,
  source: WebAssembly.Memory | Uint8Array,
  module: Uint8Array | null,
): Uint8Array {
  // From a Wasm memory, each page's sum is taken where it is, by the SIMD module.
  const memory = source instanceof Uint8Array ? source : new Uint8Array(source.buffer);
  const sumAt = source instanceof Uint8Array ? null : pageSummer(source);
  const nonZero = nonZeroPagesFrom(host, source, PAGE_SIZE);
  const fullMeta: SnapshotMeta = { ...meta, memory: { pages: memory.length / PAGE_SIZE, nonZeroPages: nonZero.length } };
  const metaBytes = new TextEncoder().encode(JSON.stringify(fullMeta));
  const sectionCount = module ? 3 : 2;
  const memLen = nonZero.length * (PAGE_HEADER + PAGE_SIZE);
  const total = 16 + 12 + metaBytes.length + (module ? 12 + module.length : 0) + 12 + memLen + TRAILER;
  const out = host.alloc(total);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  dv.setUint32(8, SNAPSHOT_VERSION, true);
  dv.setUint32(12, sectionCount, true);
  let at = 16;
  const header = (type: number, len: number) => {
    dv.setUint32(at, type, true);
    dv.setBigUint64(at + 4, BigInt(len), true);
    at += 12;
  };
  header(T_META, metaBytes.length);
  out.set(metaBytes, at);
  at += metaBytes.length;
  if (module) {
    header(T_MODULE, module.length);
    out.set(module, at);
    at += module.length;
  }
  header(T_MEMORY, memLen);
  let sum = host.crc32(out.subarray(0, at));
  for (const p of nonZero) {
    const page = out.subarray(at + PAGE_HEADER, at + PAGE_HEADER + PAGE_SIZE);
    page.set(memory.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
    dv.setUint32(at, p, true);
    dv.setUint32(at + 4, sumAt ? sumAt(p * PAGE_SIZE, PAGE_SIZE) : pageSumOf(page), true);
    sum = host.crc32(out.subarray(at, at + PAGE_HEADER), sum);
    at += PAGE_HEADER + PAGE_SIZE;
  }
  dv.setUint32(at, sum, true);
  return out;
}

export interface DecodeOptions {
  /**
   * Leave the page checksums to restoreMemory (or checkPages), which checks each page as it
   * writes it: still before the program runs, but after the instance and its descriptors are
   * made. Everything else (header, META, the page table) is checked here as always.
   */
  lazyPages?: boolean;
}

const pageMismatch = (name: string, page: number) => new SnapshotError(`${name}: checksum mismatch in page ${page}: the file is corrupted`);

/**
 * Decode and check a snapshot, all but its module's SHA-256, which the caller checks (when the
 * snapshot carries a module) with moduleHashMismatch.
 */
export function decodeSnapshotWith(host: FormatPrimitives, bytes: Uint8Array, name = 'snapshot', options: DecodeOptions = {}): Snapshot {
  const fail = (why: string): never => {
    throw new SnapshotError(`${name}: ${why}`);
  };
  if (bytes.length < 16 + TRAILER) fail('too short to be a drawbridge snapshot (truncated?)');
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== SNAPSHOT_MAGIC) fail('not a drawbridge snapshot (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) fail(`snapshot format version ${version}; this drawbridge reads version ${SNAPSHOT_VERSION}`);
  const bodyEnd = bytes.length - TRAILER;
  const corrupted = 'checksum mismatch: the file is truncated or corrupted';
  // The trailer covers every byte but the page contents (each page has its own CRC, which
  // the trailer covers); compute it while walking the sections, and check it before META is
  // believed.
  let sum = 0;
  let summedUpTo = 0;
  const count = dv.getUint32(12, true);
  let at = 16;
  let metaBytes: Uint8Array | null = null;
  let module: Uint8Array | null = null;
  let memorySection: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    if (at + 12 > bodyEnd) fail('truncated section header');
    const type = dv.getUint32(at, true);
    const len = Number(dv.getBigUint64(at + 4, true));
    at += 12;
    if (len > bodyEnd - at) fail('truncated section');
    const data = bytes.subarray(at, at + len);
    if (type === T_MEMORY) {
      if (len % (PAGE_HEADER + PAGE_SIZE) !== 0) fail(corrupted);
      memorySection = data;
      sum = host.crc32(bytes.subarray(summedUpTo, at), sum);
      for (let off = 0; off < len; off += PAGE_HEADER + PAGE_SIZE) sum = host.crc32(data.subarray(off, off + PAGE_HEADER), sum);
      summedUpTo = at + len;
    } else if (type === T_META) metaBytes = data;
    else if (type === T_MODULE) module = data;
    at += len;
  }
  sum = host.crc32(bytes.subarray(summedUpTo, bodyEnd), sum);
  if (at !== bodyEnd || sum !== dv.getUint32(bodyEnd, true)) fail(corrupted);
  let meta: SnapshotMeta | null = null;
  try {
    meta = metaBytes && (JSON.parse(new TextDecoder().decode(metaBytes)) as SnapshotMeta);
  } catch {
    fail(corrupted);
  }
  if (!meta || meta.format !== 'drawbridge-snapshot' || typeof meta.memory?.pages !== 'number') return fail('no metadata section');
  if (!memorySection) return fail('no memory section');
  const pages = new Map<number, Uint8Array>();
  const sums = new Map<number, number>();
  const mv = new DataView(memorySection.buffer, memorySection.byteOffset, memorySection.byteLength);
  for (let off = 0; off < memorySection.length; off += PAGE_HEADER + PAGE_SIZE) {
    const page = mv.getUint32(off, true);
    if (page >= meta.memory.pages) fail(`page ${page} outside memory`);
    const data = memorySection.subarray(off + PAGE_HEADER, off + PAGE_HEADER + PAGE_SIZE);
    const sum = mv.getUint32(off + 4, true);
    if (options.lazyPages) sums.set(page, sum);
    else if (pageSumOf(data) !== sum) throw pageMismatch(name, page);
    pages.set(page, data);
  }
  if (pages.size !== meta.memory.nonZeroPages) fail('pages are missing');
  return options.lazyPages ? { meta, module, pages, unchecked: { sums, name } } : { meta, module, pages };
}

/** The refusal when the module a snapshot carries does not hash to the SHA-256 its META names. */
export function moduleHashMismatch(snapshot: Snapshot, actual: string, name = 'snapshot'): SnapshotError | null {
  const named = snapshot.meta.module?.sha256;
  if (actual === named) return null;
  return new SnapshotError(`${name}: the module carried has sha256 ${actual}, not the ${String(named)} its metadata names: the file was altered`);
}

/** Check every page a lazy decode left unchecked (a SnapshotError names the first bad one). */
export function checkPages(snapshot: Snapshot): void {
  const u = snapshot.unchecked;
  if (!u) return;
  for (const [index, page] of snapshot.pages) if (pageSumOf(page) !== u.sums.get(index)) throw pageMismatch(u.name, index);
  snapshot.unchecked = undefined;
}

/** pagesWrittenAtInstantiation of a module's bytes, once per bytes and page size (a fork restores the same module again and again). */
const writtenCache = new WeakMap<Uint8Array, Map<number, Set<number> | null>>();
function writtenPages(module: Uint8Array, pageSize: number): Set<number> | null {
  let bySize = writtenCache.get(module);
  if (!bySize) writtenCache.set(module, (bySize = new Map()));
  if (!bySize.has(pageSize)) bySize.set(pageSize, pagesWrittenAtInstantiation(module, pageSize));
  return bySize.get(pageSize)!;
}

/**
 * Put a snapshot's memory into `memory` (a fresh instance's): grown to the snapshot's size,
 * each saved page copied in, and checked there if a lazy decode left it unchecked (a
 * SnapshotError then; the instance must not run). Pages grown just now are zero already; of
 * the instance's own pages (its data segments), those the snapshot does not hold are zeroed.
 * Touching no other page keeps a restore (and a fork) from faulting in memory it does not use.
 */
export function restoreMemoryWith(host: FormatPrimitives, snapshot: Snapshot, memory: WebAssembly.Memory): void {
  const pages = snapshot.meta.memory.pages;
  const have = memory.buffer.byteLength / PAGE_SIZE;
  if (have < pages) memory.grow(pages - have);
  const view = new Uint8Array(memory.buffer);
  const size = snapshot.pageSize ?? PAGE_SIZE;
  // Only the pages the instance wrote (its data segments) need zeroing; reading the others
  // leaves them untouched, where a fill would fault every one of them in. Where the module
  // says which pages those are, no other page is read at all.
  const isZero = host.zeroTest(view);
  const written = snapshot.module ? writtenPages(snapshot.module, size) : null;
  for (let p = 0, at = 0; p < (have * PAGE_SIZE) / size; p++, at += size) {
    if (!snapshot.pages.has(p) && (written === null || written.has(p)) && !isZero(at, size)) view.fill(0, at, at + size);
  }
  const u = snapshot.unchecked;
  if (u) {
    // Each page is checked where it lands, by the SIMD sum over the instance's memory: the
    // instance never runs if one is bad (its memory is then thrown away with it).
    const sumAt = pageSummer(memory);
    for (const [index, page] of snapshot.pages) {
      view.set(page, index * size);
      if (sumAt(index * size, size) !== u.sums.get(index)) throw pageMismatch(u.name, index);
    }
    snapshot.unchecked = undefined;
  } else {
    for (const [index, page] of snapshot.pages) view.set(page, index * size);
  }
}

/**
 * A snapshot that stays in this process (fork, tier-up): the non-zero pages copied into one
 * buffer of `pageSize` pages, nothing checksummed or encoded, since no byte of it crosses a
 * trust boundary or a disk.
 */
export function snapshotInProcessWith(
  host: FormatPrimitives,
  meta: Omit<SnapshotMeta, 'memory'>,
  source: WebAssembly.Memory | Uint8Array,
  module: Uint8Array,
  pageSize: number,
): Snapshot {
  const memory = source instanceof Uint8Array ? source : new Uint8Array(source.buffer);
  const nonZero = nonZeroPagesFrom(host, source, pageSize);
  const copy = new Uint8Array(nonZero.length * pageSize);
  const pages = new Map<number, Uint8Array>();
  nonZero.forEach((p, i) => {
    const page = copy.subarray(i * pageSize, (i + 1) * pageSize);
    page.set(memory.subarray(p * pageSize, (p + 1) * pageSize));
    pages.set(p, page);
  });
  return { meta: { ...meta, memory: { pages: memory.length / PAGE_SIZE, nonZeroPages: pages.size } }, module, pages, pageSize };
}
