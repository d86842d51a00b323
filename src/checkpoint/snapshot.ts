// The snapshot file format on Node (docs/snapshot.md): portable, versioned, self-describing.
// The layout, its encoder and decoder are snapshot-format.ts (no Node, shared with the browser
// host); this file gives them Node's CRC-32 and memcmp, checks the module's SHA-256, and reads
// and writes snapshot files.
//
// Everything is little-endian and free of host pointers, so a snapshot taken on one machine
// restores on any other. Written atomically (temporary file, fsync, rename); on load, a bad
// magic, an unknown version, a truncated file, a checksum mismatch or a module whose SHA-256 is
// not the one META names is refused with a message that says which, before anything is
// restored. What META says the picoprocess had (mounts, grants, extensions) is a request, never
// a grant (request.ts); files on disk are sealed with the host key around this format (seal.ts).
//
// Why a checksum and not SHA-256: it is there to catch a truncated or damaged file (every
// one-byte change, any other damage but for one chance in 4 billion per page); a hash without
// a key proves nothing against someone who rewrites the file, who would rewrite the hashes
// too. Each page's sum (page-sum.ts) is a Wasm SIMD pass over the guest's own memory, faster
// than SHA-256 or CRC-32, so a checkpoint and a restore keep up with a memory copy (the
// formats before and their speeds: docs/snapshot.md, "Checkpoint and restore speed"). The
// small rest (headers, META) keeps CRC-32. Content addressing, where collisions matter, stays
// SHA-256: a migration hashes the pages it offers (migrate.ts).

import { closeSync, constants, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32, nodeCrypto, sha256 as sha256Digest } from '../host/node/lazy-builtins.ts';
import {
  decodeSnapshotWith,
  encodeSnapshotWith,
  moduleHashMismatch,
  PAGE_SIZE,
  restoreMemoryWith,
  SnapshotError,
  snapshotInProcessWith,
  type DecodeOptions,
  type FormatPrimitives,
  type Snapshot,
  type SnapshotMeta,
} from './snapshot-format.ts';

export { checkPages, PAGE_SIZE, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SnapshotError } from './snapshot-format.ts';
export type { DecodeOptions, SavedExtension, Snapshot, SnapshotMeta } from './snapshot-format.ts';

export function sha256(bytes: Uint8Array): string {
  return sha256Digest(bytes).toString('hex');
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/**
 * The indices of the pages of `mem` that are not all zero. memcmp against a zero page that
 * stays in cache, through one Buffer over the memory (no object per page); a touched page
 * usually differs in its first bytes, so only zero pages are read whole.
 */
export function nonZeroPages(mem: Uint8Array, pageSize = PAGE_SIZE): number[] {
  const buf = Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
  const count = mem.length / pageSize;
  const out: number[] = [];
  for (let p = 0, at = 0; p < count; p++, at += pageSize) if (buf.compare(ZERO_PAGE, 0, pageSize, at, at + pageSize) !== 0) out.push(p);
  return out;
}

/** Node's primitives of the format: zlib's CRC-32, Buffer's memcmp, unzeroed buffers. */
const NODE: FormatPrimitives = {
  crc32,
  nonZeroPages,
  zeroTest: (mem) => {
    const buf = Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
    return (at, size) => buf.compare(ZERO_PAGE, 0, size, at, at + size) === 0;
  },
  alloc: (size) => {
    const b = Buffer.allocUnsafeSlow(size);
    // A plain Uint8Array: Buffer's slice() shares memory, which a caller would not expect.
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  },
};

/**
 * The page size of snapshots that stay in the process: the host's (4 KiB), not the format's
 * 64 KiB. A fork copies only what the program touched, twice (into the snapshot, into the
 * child), so a program that touched a few scattered host pages copies and faults in those,
 * not whole 64 KiB pages around them (docs/snapshot.md, "fork").
 */
const IN_PROCESS_PAGE_SIZE = 4096;

/**
 * A snapshot that stays in this process (fork, tier-up): the non-zero pages copied into one
 * buffer, nothing checksummed or encoded, since no byte of it crosses a trust boundary or a
 * disk.
 */
export function snapshotInProcess(meta: Omit<SnapshotMeta, 'memory'>, memory: WebAssembly.Memory | Uint8Array, module: Uint8Array): Snapshot {
  return snapshotInProcessWith(NODE, meta, memory, module, IN_PROCESS_PAGE_SIZE);
}

/** Encode a snapshot (snapshot-format.ts); `memory` is the whole linear memory, of which only non-zero pages are kept. */
export function encodeSnapshot(meta: Omit<SnapshotMeta, 'memory'>, source: WebAssembly.Memory | Uint8Array, module: Uint8Array | null): Uint8Array {
  return encodeSnapshotWith(NODE, meta, source, module);
}

/** Decode and check a snapshot, the module's SHA-256 included; a SnapshotError says what is wrong. */
export function decodeSnapshot(bytes: Uint8Array, name = 'snapshot', options: DecodeOptions = {}): Snapshot {
  const snapshot = decodeSnapshotWith(NODE, bytes, name, options);
  if (snapshot.module) {
    const wrong = moduleHashMismatch(snapshot, sha256(snapshot.module), name);
    if (wrong) throw wrong;
  }
  return snapshot;
}

/**
 * Put a snapshot's memory into `memory` (a fresh instance's), checking each page a lazy decode
 * left unchecked (snapshot-format.ts restoreMemoryWith).
 */
export function restoreMemory(snapshot: Snapshot, memory: WebAssembly.Memory): void {
  restoreMemoryWith(NODE, snapshot, memory);
}

/**
 * Write atomically: a temporary file beside the target, fsync, rename, fsync the folder. The
 * temporary file has a random name and is created O_EXCL|O_NOFOLLOW (mode 0600): whatever
 * another user planted in the folder (a symbolic link at a name it guessed) is never followed
 * or written; the rename then replaces the target itself, not what a link there points to.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${nodeCrypto().randomBytes(12).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // Renamed already, or gone.
    }
    throw e;
  }
  try {
    const dir = openSync(dirname(path), 'r');
    fsyncSync(dir);
    closeSync(dir);
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

/** Read a snapshot file to restore it: its pages are checked as the restore writes them. */
export function readSnapshotFile(path: string): Snapshot {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SnapshotError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return decodeSnapshot(bytes, path, { lazyPages: true });
}
