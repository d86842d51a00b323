// The log checkpoint file (docs/durable.md): what `drawbridge checkpoint` writes for a
// picoprocess in log mode, sealed with the host key like a snapshot (seal.ts wraps either).
//
//   "DRAWBLCP" | u32 version | u32 META length | META (UTF-8 JSON) | u64 module length | module
//   | u64 log length | log (durable-log.ts) | u32 CRC-32 of every byte before it
//
// META: the module's identity (SHA-256, size, name), the arguments, environment and pre-opens the
// program started with (a replay must start it as it started), the grants it ran with as a
// request (mounts, network; never a grant: request.ts), the extensions it ran under (names
// only: they are the restorer's), how many calls the log holds up to the checkpoint, and the
// SHA-256 of linear memory at the start of the call after them, where the checkpoint was taken.
// The module travels with it, as in a snapshot, so a restore needs nothing but the file and
// its own grants; its SHA-256 is checked on reading.

import { crc32, sha256 as sha256Digest } from '../host/node/lazy-builtins.ts';
import { currentAbiMajor, decodeHeader, decodeLog, DURABLE_MAGIC, DurableLogError } from '../extensions/durable-log.ts';
import { SnapshotError, type SnapshotMeta } from './snapshot.ts';

export const LOG_CHECKPOINT_MAGIC = 'DRAWBLCP';
export const LOG_CHECKPOINT_VERSION = 1;
const META_MAX = 1024 * 1024;
/** The most a log checkpoint's module may be (a restore compiles it). */
const MODULE_MAX = 512 * 1024 * 1024;
/** The most entries a log checkpoint's log may hold (bounds the work of decoding it). */
export const MAX_LOG_ENTRIES = 50_000_000;

export interface LogCheckpointMeta {
  format: 'drawbridge-log-checkpoint';
  version: number;
  mode: 'log';
  created: string;
  module: { sha256: string; size: number; name: string };
  args: string[];
  env: Record<string, string>;
  preopens: { guestPath: string; name: string }[];
  listenSockets: string[];
  mounts: { guest: string; mode: 'ro' | 'rw' }[];
  network: { connect: string[]; listen: string[] };
  extensions: string[];
  /** Entries of the log up to the checkpoint. */
  calls: number;
  /** SHA-256 (hex) of linear memory at the start of call `calls + 1` ('' for a durable log restored after a crash: not checked). */
  memorySha256: string;
  memoryBytes: number;
}

export interface LogCheckpoint {
  meta: LogCheckpointMeta;
  module: Uint8Array;
  /** The durable log's bytes (header included). */
  log: Uint8Array;
}

export function isLogCheckpoint(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') === LOG_CHECKPOINT_MAGIC;
}

export function encodeLogCheckpoint(c: LogCheckpoint): Uint8Array {
  const meta = Buffer.from(JSON.stringify(c.meta));
  const out = Buffer.alloc(8 + 4 + 4 + meta.length + 8 + c.module.length + 8 + c.log.length + 4);
  let at = out.write(LOG_CHECKPOINT_MAGIC, 0, 'latin1');
  at = out.writeUInt32LE(LOG_CHECKPOINT_VERSION, at);
  at = out.writeUInt32LE(meta.length, at);
  at += meta.copy(out, at);
  at = out.writeBigUInt64LE(BigInt(c.module.length), at);
  out.set(c.module, at);
  at += c.module.length;
  at = out.writeBigUInt64LE(BigInt(c.log.length), at);
  out.set(c.log, at);
  at += c.log.length;
  out.writeUInt32LE(crc32(out.subarray(0, at)) >>> 0, at);
  return out;
}

/** Read a log checkpoint's parts; a SnapshotError says in one line what is wrong. Bounded: every length is checked against the file first. */
export function decodeLogCheckpoint(bytes: Uint8Array, name: string): LogCheckpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new SnapshotError(`${name}: not a valid log checkpoint: ${why}`);
  if (!isLogCheckpoint(bytes)) throw bad('bad magic');
  if (buf.length < 8 + 4 + 4 + 8 + 8 + 4) throw bad('cut short');
  const version = buf.readUInt32LE(8);
  if (version !== LOG_CHECKPOINT_VERSION)
    throw new SnapshotError(`${name}: log checkpoint version ${version}; this drawbridge reads version ${LOG_CHECKPOINT_VERSION}`);
  const end = buf.length - 4;
  if (crc32(buf.subarray(0, end)) >>> 0 !== buf.readUInt32LE(end)) throw bad('its checksum does not match (cut short or damaged)');
  const metaLen = buf.readUInt32LE(12);
  if (metaLen > META_MAX || 16 + metaLen + 16 > end) throw bad('META out of bounds');
  let meta: LogCheckpointMeta;
  try {
    meta = JSON.parse(buf.subarray(16, 16 + metaLen).toString('utf8')) as LogCheckpointMeta;
  } catch {
    throw bad('META is not JSON');
  }
  checkMeta(meta, bad);
  let at = 16 + metaLen;
  const moduleLen = buf.readBigUInt64LE(at);
  at += 8;
  if (moduleLen > BigInt(Math.min(MODULE_MAX, end - at - 8))) throw bad('the module is out of bounds');
  const module = bytes.subarray(at, at + Number(moduleLen));
  at += Number(moduleLen);
  const logLen = buf.readBigUInt64LE(at);
  at += 8;
  if (logLen !== BigInt(end - at)) throw bad('the log is out of bounds');
  const log = bytes.subarray(at, end);
  if (module.length !== meta.module.size || sha256Digest(module).toString('hex') !== meta.module.sha256) {
    throw new SnapshotError(`${name}: its module is not the one META names (sha256 ${meta.module.sha256})`);
  }
  return { meta, module, log };
}

/** Whether `m` holds the fields of how a program started (CheckpointStart), each of its type. */
function isStart(m: Partial<LogCheckpointMeta> | null): boolean {
  const isStr = (v: unknown) => typeof v === 'string';
  const strs = (v: unknown) => Array.isArray(v) && v.every(isStr);
  return (
    m !== null &&
    typeof m === 'object' &&
    typeof m.module === 'object' &&
    m.module !== null &&
    typeof m.module.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.module.sha256) &&
    Number.isSafeInteger(m.module.size) &&
    isStr(m.module.name) &&
    strs(m.args) &&
    typeof m.env === 'object' &&
    m.env !== null &&
    Object.values(m.env).every(isStr) &&
    Array.isArray(m.preopens) &&
    m.preopens.every((p) => p !== null && typeof p === 'object' && isStr(p.guestPath) && isStr(p.name)) &&
    strs(m.listenSockets) &&
    Array.isArray(m.mounts) &&
    m.mounts.every((x) => x !== null && typeof x === 'object' && isStr(x.guest) && (x.mode === 'ro' || x.mode === 'rw')) &&
    typeof m.network === 'object' &&
    m.network !== null &&
    strs(m.network.connect) &&
    strs(m.network.listen) &&
    strs(m.extensions)
  );
}

function checkMeta(m: LogCheckpointMeta, bad: (why: string) => SnapshotError): void {
  const ok =
    isStart(m) &&
    m.format === 'drawbridge-log-checkpoint' &&
    m.mode === 'log' &&
    Number.isSafeInteger(m.calls) &&
    m.calls >= 0 &&
    m.calls <= MAX_LOG_ENTRIES &&
    typeof m.memorySha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.memorySha256) &&
    Number.isSafeInteger(m.memoryBytes);
  if (!ok) throw bad('META lacks a field or has one of the wrong type');
}

/**
 * A durable log file alone (what `run --durable=FILE` left when its process died), read as a
 * log checkpoint to restore after a crash: the start record of its header (how the program
 * started, what it was granted: a request), the module given by the restorer (it must be the
 * one the log names), every whole entry (a torn last one is left out), and no memory digest
 * (none was taken: the replay goes live at the log's end unchecked). Nothing in it is sealed:
 * the caller asks for --trust-unsealed.
 */
export function logFileCheckpoint(log: Uint8Array, module: Uint8Array, name: string): LogCheckpoint {
  let header: ReturnType<typeof decodeHeader>['header'];
  let checked: ReturnType<typeof decodeLog>;
  try {
    header = decodeHeader(log).header;
    checked = decodeLog(log, { tolerateTail: true, keep: false, maxEntries: MAX_LOG_ENTRIES });
  } catch (e) {
    if (e instanceof DurableLogError) throw new SnapshotError(`${name}: ${e.message}`);
    throw e;
  }
  let start: Partial<LogCheckpointMeta> | null = null;
  try {
    start = JSON.parse(header.start ?? '') as Partial<LogCheckpointMeta>;
  } catch {
    start = null;
  }
  if (!isStart(start)) throw new SnapshotError(`${name}: its header does not say how the program started (a log of an older run, or damaged)`);
  const sha = sha256Digest(module).toString('hex');
  if (sha !== header.module) throw new SnapshotError(`${name} is the log of module ${header.module}; the module given has sha256 ${sha}`);
  const meta: LogCheckpointMeta = {
    ...(start as LogCheckpointMeta),
    format: 'drawbridge-log-checkpoint',
    version: LOG_CHECKPOINT_VERSION,
    mode: 'log',
    created: '',
    module: { ...start!.module!, sha256: sha, size: module.length },
    calls: checked.count,
    memorySha256: '',
    memoryBytes: 0,
  };
  return { meta, module, log: log.subarray(0, checked.validBytes) };
}

export function isDurableLog(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') === DURABLE_MAGIC;
}

/**
 * Check the log a checkpoint carries, every entry, without keeping them: exactly META's calls,
 * for this module, or a SnapshotError in one line. The replay then reads them one at a time
 * (entriesOf), so that the log costs no more memory than its bytes.
 */
export function checkpointLog(c: LogCheckpoint, name: string, moduleSha256: string): { count: number; validBytes: number } {
  let log: ReturnType<typeof decodeLog>;
  try {
    log = decodeLog(c.log, { maxEntries: c.meta.calls, keep: false });
  } catch (e) {
    if (e instanceof DurableLogError) throw new SnapshotError(`${name}: its log is damaged: ${e.message}`);
    throw e;
  }
  if (log.header.abiMajor !== currentAbiMajor())
    throw new SnapshotError(`${name}: its log was written under ABI ${log.header.abiMajor}; this host has ABI ${currentAbiMajor()}`);
  if (log.header.module !== moduleSha256) throw new SnapshotError(`${name}: its log belongs to another module (${log.header.module.slice(0, 16)}...)`);
  if (log.count !== c.meta.calls) throw new SnapshotError(`${name}: its log holds ${log.count} calls, META says ${c.meta.calls}`);
  return { count: log.count, validBytes: log.validBytes };
}

/** What compareRequest (request.ts) reads of a snapshot's META, from a log checkpoint's. */
export function requestOf(meta: LogCheckpointMeta): SnapshotMeta {
  return { mounts: meta.mounts, network: meta.network } as unknown as SnapshotMeta;
}
