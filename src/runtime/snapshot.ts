// The snapshot file format (docs/snapshot.md): portable, versioned, self-describing.
//
//   "DRAWBSNP" | u32 version | u32 section count | sections... | sha256 of all before it but
//   the page contents (which META's page hashes cover)
//   section:   u32 type | u64 length | bytes
//     1 META    UTF-8 JSON: module hash, libos state, globals, memory layout, page hashes
//     2 MODULE  the prepared module's bytes (optional: a restore may find it by hash)
//     3 MEMORY  the non-zero 64 KiB pages: u32 page index, then the page
//
// Everything is little-endian and free of host pointers, so a snapshot taken on one machine
// restores on any other. Written atomically (temporary file, fsync, rename); on load, a bad
// magic, an unknown version, a truncated file or a checksum mismatch is refused with a
// message that says which, before anything is restored.

import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SavedLibOs } from '../libos/wasi/index.ts';

export const SNAPSHOT_MAGIC = 'DRAWBSNP';
export const SNAPSHOT_VERSION = 2;
export const PAGE_SIZE = 65536;

const T_META = 1;
const T_MODULE = 2;
const T_MEMORY = 3;

export interface SnapshotMeta {
  format: 'drawbridge-snapshot';
  version: number;
  created: string;
  module: { sha256: string; size: number; name: string };
  args: string[];
  libos: SavedLibOs;
  /** Mutable globals by index: value as a decimal string (i64 included) or a number. */
  globals: { index: number; type: string; value: string }[];
  memory: { pages: number; nonZeroPages: number; pageHashes: Record<string, string> };
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
  /** The non-zero pages by index (views into the snapshot's bytes, already checked). */
  pages: Map<number, Uint8Array>;
}

export class SnapshotError extends Error {}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

function isZeroPage(mem: Uint8Array, at: number): boolean {
  return Buffer.compare(Buffer.from(mem.buffer, mem.byteOffset + at, PAGE_SIZE), ZERO_PAGE) === 0;
}

/** Page hashes and the non-zero pages of a memory. */
export function describeMemory(mem: Uint8Array): { pages: number; nonZero: number[]; hashes: Record<string, string> } {
  const pages = mem.length / PAGE_SIZE;
  const nonZero: number[] = [];
  const hashes: Record<string, string> = {};
  for (let p = 0; p < pages; p++) {
    if (isZeroPage(mem, p * PAGE_SIZE)) continue;
    nonZero.push(p);
    hashes[p] = sha256(mem.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
  }
  return { pages, nonZero, hashes };
}

/**
 * A snapshot that stays in this process (fork): the non-zero pages copied, nothing hashed or
 * encoded, since no byte of it crosses a trust boundary or a disk.
 */
export function snapshotInProcess(meta: Omit<SnapshotMeta, 'memory'>, memory: Uint8Array, module: Uint8Array): Snapshot {
  const pages = new Map<number, Uint8Array>();
  const count = memory.length / PAGE_SIZE;
  for (let p = 0; p < count; p++) if (!isZeroPage(memory, p * PAGE_SIZE)) pages.set(p, memory.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
  return { meta: { ...meta, memory: { pages: count, nonZeroPages: pages.size, pageHashes: {} } }, module, pages };
}

/**
 * Encode a snapshot; `memory` is the whole linear memory, of which only non-zero pages are
 * kept. One pass over memory finds and hashes the non-zero pages, one copy puts them in the
 * file. The trailing checksum covers everything but the page contents, which the page hashes
 * in META (covered by the checksum) already protect: no byte is hashed twice.
 */
export function encodeSnapshot(meta: Omit<SnapshotMeta, 'memory'>, memory: Uint8Array, module: Uint8Array | null): Uint8Array {
  const d = describeMemory(memory);
  const fullMeta: SnapshotMeta = { ...meta, memory: { pages: d.pages, nonZeroPages: d.nonZero.length, pageHashes: d.hashes } };
  const metaBytes = new TextEncoder().encode(JSON.stringify(fullMeta));
  const sectionCount = module ? 3 : 2;
  const memLen = d.nonZero.length * (4 + PAGE_SIZE);
  const total = 16 + 12 + metaBytes.length + (module ? 12 + module.length : 0) + 12 + memLen + 32;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
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
  const hash = createHash('sha256').update(out.subarray(0, at));
  for (const p of d.nonZero) {
    dv.setUint32(at, p, true);
    hash.update(out.subarray(at, at + 4));
    out.set(memory.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), at + 4);
    at += 4 + PAGE_SIZE;
  }
  out.set(hash.digest(), at);
  return out;
}

export function decodeSnapshot(bytes: Uint8Array, name = 'snapshot'): Snapshot {
  const fail = (why: string): never => {
    throw new SnapshotError(`${name}: ${why}`);
  };
  if (bytes.length < 16 + 32) fail('too short to be a drawbridge snapshot (truncated?)');
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== SNAPSHOT_MAGIC) fail('not a drawbridge snapshot (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) fail(`snapshot format version ${version}; this drawbridge reads version ${SNAPSHOT_VERSION}`);
  const body = bytes.subarray(0, bytes.length - 32);
  // The checksum covers every byte but the page contents (those are checked against their
  // hashes below); compute it while walking the sections.
  const hash = createHash('sha256');
  let hashedUpTo = 0;
  const count = dv.getUint32(12, true);
  let at = 16;
  let meta: SnapshotMeta | null = null;
  let module: Uint8Array | null = null;
  let memorySection: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    if (at + 12 > body.length) fail('truncated section header');
    const type = dv.getUint32(at, true);
    const len = Number(dv.getBigUint64(at + 4, true));
    at += 12;
    if (at + len > body.length) fail('truncated section');
    const data = bytes.subarray(at, at + len);
    at += len;
    if (type === T_MEMORY) {
      memorySection = data;
      hash.update(bytes.subarray(hashedUpTo, at - len));
      for (let off = 0; off + 4 <= len; off += 4 + PAGE_SIZE) hash.update(data.subarray(off, off + 4));
      hashedUpTo = at;
    } else if (type === T_META) {
      try {
        meta = JSON.parse(new TextDecoder().decode(data)) as SnapshotMeta;
      } catch {
        fail('checksum mismatch: the file is truncated or corrupted');
      }
    } else if (type === T_MODULE) module = data;
  }
  hash.update(bytes.subarray(hashedUpTo, body.length));
  if (Buffer.compare(hash.digest(), bytes.subarray(bytes.length - 32)) !== 0) fail('checksum mismatch: the file is truncated or corrupted');
  if (!meta || meta.format !== 'drawbridge-snapshot') return fail('no metadata section');
  if (!memorySection) return fail('no memory section');
  const pages = new Map<number, Uint8Array>();
  const mv = new DataView(memorySection.buffer, memorySection.byteOffset, memorySection.byteLength);
  for (let off = 0; off < memorySection.length; off += 4 + PAGE_SIZE) {
    const page = mv.getUint32(off, true);
    if (page >= meta.memory.pages) fail(`page ${page} outside memory`);
    const data = memorySection.subarray(off + 4, off + 4 + PAGE_SIZE);
    if (data.length !== PAGE_SIZE || sha256(data) !== meta.memory.pageHashes[page]) fail(`page ${page} does not match its hash`);
    pages.set(page, data);
  }
  if (pages.size !== Object.keys(meta.memory.pageHashes).length) fail('pages are missing');
  return { meta, module, pages };
}

/** Write atomically: a temporary file beside the target, fsync, rename, fsync the folder. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const dir = openSync(dirname(path), 'r');
    fsyncSync(dir);
    closeSync(dir);
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

export function readSnapshotFile(path: string): Snapshot {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SnapshotError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return decodeSnapshot(bytes, path);
}
