// Log mode on the node runtime (docs/durable.md): the durable log file, the digest of linear
// memory, a log checkpoint taken from a running picoprocess, and a restore by replay. The layer
// itself (what is logged, how a restore replays and goes live) is src/extensions/durable.ts,
// which sees only the ABI; this file gives it a file and the guest's memory.

import { closeSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Dk } from '../abi/dk.ts';
import { createDurable, type DurableInstance } from '../extensions/durable.ts';
import { currentAbiMajor, encodeHeader, type DurableEntry } from '../extensions/durable-log.ts';
import { sha256 as sha256Digest } from '../host/node/lazy-builtins.ts';
import { cacheRoot } from '../runtime/cache-root.ts';
import { encodeLogCheckpoint, type LogCheckpointMeta } from './log-checkpoint.ts';
import { SnapshotError } from './snapshot.ts';

/** Default logs made by this process so far: a receive runs several programs at once, each with its own. */
let defaultLogs = 0;

/** Where `--durable` without a FILE puts the log: the cache folder, by module name and process id (and a count after the first). */
export function defaultDurablePath(moduleName: string): string {
  const n = defaultLogs++;
  return join(cacheRoot(), 'durable', `${basename(moduleName).replace(/[^A-Za-z0-9._-]/g, '_')}-${process.pid}${n ? `-${n}` : ''}.dlog`);
}

/** The log file: appended to with one write per entry, each on disk (in the page cache) before the program sees its answer. */
export interface DurableFile {
  readonly path: string;
  append(bytes: Uint8Array): void;
  /** The first `n` bytes of the file (a checkpoint's log). */
  read(n: number): Uint8Array;
  /** Bytes written so far. */
  readonly size: number;
  close(): void;
}

/** Make (or truncate) the log file at `path`, mode 0600, and write `start` (a header, or a log carried over) into it. */
export function openDurableFile(path: string, start: Uint8Array): DurableFile {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'w+', 0o600);
  } catch (e) {
    throw new SnapshotError(`cannot write the durable log ${path}: ${(e as Error).message}`);
  }
  let size = 0;
  let closed = false;
  const append = (bytes: Uint8Array) => {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at, size + at);
    size += bytes.length;
  };
  append(start);
  return {
    path,
    append,
    get size() {
      return size;
    },
    read(n) {
      const out = Buffer.alloc(Math.min(n, size));
      let at = 0;
      while (at < out.length) {
        const got = readSync(fd, out, at, out.length - at, at);
        if (got === 0) break;
        at += got;
      }
      return out.subarray(0, at);
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        fsyncSync(fd);
      } catch {
        // a file system without fsync: what was written stays written
      }
      closeSync(fd);
    },
  };
}

/** The header of a new log for the module with this SHA-256, started as `start` says. */
export function durableHeader(moduleSha256: string, start?: CheckpointStart): Uint8Array {
  return encodeHeader({ abiMajor: currentAbiMajor(), module: moduleSha256, start: start ? JSON.stringify(start) : '' });
}

/** The guest's linear memory, once instantiated, and its SHA-256. */
export function memoryWatch(): { onMemory: (m: WebAssembly.Memory) => void; digest: () => string; bytes: () => number } {
  let memory: WebAssembly.Memory | null = null;
  return {
    onMemory: (m) => (memory = m),
    digest: () => (memory ? sha256Digest(new Uint8Array(memory.buffer)).toString('hex') : ''),
    bytes: () => (memory ? memory.buffer.byteLength : 0),
  };
}

export interface DurableSetup {
  file: DurableFile;
  memory: ReturnType<typeof memoryWatch>;
  /** The layer, once the picoprocess's Dk was wrapped. */
  layer: () => DurableInstance | null;
  /** Wrap below it (the extension stack), then put the durable layer on top (PicoprocessOptions.wrapDk). */
  wrap(below?: (dk: Dk) => Dk): (dk: Dk) => Dk;
}

/** Log mode for one picoprocess: a new log at `path` (after `carried`, the log of a checkpoint being restored, which is replayed first). */
export function setUpDurable(
  path: string,
  moduleSha256: string,
  start: CheckpointStart | undefined,
  restore?: { log: Uint8Array; entries: Iterable<DurableEntry>; memorySha256: string | null; onLive?: () => void },
): DurableSetup {
  const file = openDurableFile(path, restore ? restore.log : durableHeader(moduleSha256, start));
  const memory = memoryWatch();
  let layer: DurableInstance | null = null;
  return {
    file,
    memory,
    layer: () => layer,
    wrap: (below) => (dk) => {
      layer = createDurable(below ? below(dk) : dk, {
        sink: file,
        memoryDigest: memory.digest,
        startBytes: file.size,
        replay: restore ? { entries: restore.entries, memoryDigest: restore.memorySha256 } : undefined,
        onLive: restore?.onLive,
      });
      return layer.dk;
    },
  };
}

/** What a log checkpoint records besides the log (the program's start, the grants it asks for). */
export type CheckpointStart = Omit<LogCheckpointMeta, 'format' | 'version' | 'mode' | 'created' | 'calls' | 'memorySha256' | 'memoryBytes'>;

/** A log checkpoint's parts but its module: what a worker thread of `drawbridge serve` hands to the thread that holds the module. */
export interface LogCapture {
  meta: LogCheckpointMeta;
  /** The log up to the boundary (its header included). */
  log: Uint8Array;
}

/**
 * Capture a running picoprocess in log mode: wait for its call boundary, then the log up to
 * it and the memory digest there. `stop` is called when the program is to end (it is woken
 * from its wait, and ends), `resume` when it goes on.
 */
export async function captureLog(setup: DurableSetup, start: CheckpointStart): Promise<LogCapture & { stop: () => void; resume: () => void }> {
  const layer = setup.layer();
  if (!layer) throw new Error('it has not started yet');
  const b = await layer.boundary();
  const meta: LogCheckpointMeta = {
    format: 'drawbridge-log-checkpoint',
    version: 1,
    mode: 'log',
    created: new Date().toISOString(),
    ...start,
    calls: b.calls,
    memorySha256: b.memoryDigest,
    memoryBytes: setup.memory.bytes(),
  };
  return { meta, log: setup.file.read(b.logBytes), stop: () => layer.stop(), resume: () => layer.resume() };
}

/**
 * Take a log checkpoint of a running picoprocess: wait for its call boundary, then the log up
 * to it, the memory digest there and the module, as one file's bytes (to be sealed). `stop`
 * is called when the program is to end (it is woken from its wait, and ends).
 */
export async function takeLogCheckpoint(
  setup: DurableSetup,
  start: CheckpointStart,
  module: Uint8Array,
): Promise<{ bytes: Uint8Array; stop: () => void; resume: () => void }> {
  const c = await captureLog(setup, start);
  return { bytes: encodeLogCheckpoint({ meta: c.meta, module, log: c.log }), stop: c.stop, resume: c.resume };
}
