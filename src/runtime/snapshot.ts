// The snapshot file format (docs/snapshot.md): portable, versioned, self-describing.
//
//   "DRAWBSNP" | u32 version | u32 section count | sections... | sha256 of all before it
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
import { concat } from './wasm-binary.ts';

export const SNAPSHOT_MAGIC = 'DRAWBSNP';
export const SNAPSHOT_VERSION = 1;
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
}

export interface Snapshot {
  meta: SnapshotMeta;
  module: Uint8Array | null;
  memory: Uint8Array;
}

export class SnapshotError extends Error {}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isZeroPage(mem: Uint8Array, at: number): boolean {
  // Compare 8 bytes at a time.
  const words = new BigUint64Array(mem.buffer, mem.byteOffset + at, PAGE_SIZE / 8);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
  return true;
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

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** Encode a snapshot; `memory` is the whole linear memory, of which only non-zero pages are kept. */
export function encodeSnapshot(meta: Omit<SnapshotMeta, 'memory'>, memory: Uint8Array, module: Uint8Array | null): Uint8Array {
  const d = describeMemory(memory);
  const fullMeta: SnapshotMeta = { ...meta, memory: { pages: d.pages, nonZeroPages: d.nonZero.length, pageHashes: d.hashes } };
  const parts: Uint8Array[] = [];
  const section = (type: number, chunks: Uint8Array[]) => {
    const len = chunks.reduce((n, c) => n + c.length, 0);
    parts.push(u32(type), u64(len), ...chunks);
  };
  const sections = module ? 3 : 2;
  parts.push(new TextEncoder().encode(SNAPSHOT_MAGIC), u32(SNAPSHOT_VERSION), u32(sections));
  section(T_META, [new TextEncoder().encode(JSON.stringify(fullMeta))]);
  if (module) section(T_MODULE, [module]);
  const pages: Uint8Array[] = [];
  for (const p of d.nonZero) pages.push(u32(p), memory.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
  section(T_MEMORY, pages);
  const body = concat(parts);
  return concat([body, createHash('sha256').update(body).digest()]);
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
  const digest = createHash('sha256').update(body).digest();
  if (Buffer.compare(digest, bytes.subarray(bytes.length - 32)) !== 0) fail('checksum mismatch: the file is truncated or corrupted');
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
    if (type === T_META) meta = JSON.parse(new TextDecoder().decode(data)) as SnapshotMeta;
    else if (type === T_MODULE) module = data;
    else if (type === T_MEMORY) memorySection = data;
  }
  if (!meta || meta.format !== 'drawbridge-snapshot') return fail('no metadata section');
  if (!memorySection) return fail('no memory section');
  const memory = new Uint8Array(meta.memory.pages * PAGE_SIZE);
  const mv = new DataView(memorySection.buffer, memorySection.byteOffset, memorySection.byteLength);
  for (let off = 0; off < memorySection.length; off += 4 + PAGE_SIZE) {
    const page = mv.getUint32(off, true);
    if (page >= meta.memory.pages) fail(`page ${page} outside memory`);
    const data = memorySection.subarray(off + 4, off + 4 + PAGE_SIZE);
    if (sha256(data) !== meta.memory.pageHashes[page]) fail(`page ${page} does not match its hash`);
    memory.set(data, page * PAGE_SIZE);
  }
  if (module && sha256(module) !== meta.module.sha256) fail('the module inside does not match its hash');
  return { meta, module, memory };
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
