// The durable log: the binary, append-only form of the record log (record-log.ts), what
// `drawbridge run --durable` writes and a log checkpoint carries (docs/durable.md).
//
//   header:  "DRAWBDLG" | u8 version | varint ABI major | varint length | module SHA-256 as UTF-8
//            | varint length | how the program started, as UTF-8 JSON (what a restore from the
//            log alone, after a crash, starts it with; empty when not known)
//   entry:   varint body length | body | u32 FNV-1a of the body (little-endian)
//   body:    varint call number | u8 primitive (its index in PRIMITIVES) | u32 digest of the
//            arguments | result (a tagged value) | varint length | the bytes the call wrote
//            into its buffer (reads, random bits): what replay gives the program again
//
// Small on purpose: the arguments are kept as a 32-bit digest (enough to see that the program
// made another call; the program gives them again on replay), the data a call was given (a
// write) is not kept at all (the digest covers it), and only the bytes the outside world gave
// are. Every entry carries its own check, so a torn tail (a crash during a write) or changed
// bytes are found where they are.
//
// The log is untrusted input when a checkpoint is restored: the decoder bounds everything it
// allocates by the bytes it was given (counts and lengths are checked against what is left),
// values nest at most MAX_DEPTH deep, and any mistake is a DurableLogError naming the entry.

import { DK_ABI_VERSION } from '../abi/dk.ts';
import { PRIMITIVES, type ArgSpec, type PrimitiveSpec } from '../abi/spec.ts';

export const DURABLE_MAGIC = 'DRAWBDLG';
export const DURABLE_VERSION = 1;
/** An entry's body may not be larger than this (a read of 64 MiB at once is the most a log keeps per call). */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024 + 4096;
const MAX_DEPTH = 8;
const MAX_HEADER_TEXT = 256;
/** The most the header's start record may be. */
const MAX_START_TEXT = 64 * 1024;

export class DurableLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurableLogError';
  }
}

export interface DurableEntry {
  /** The call's number (calls are numbered when they start). */
  seq: number;
  spec: PrimitiveSpec;
  /** FNV-1a of the arguments (argsDigest). */
  args: number;
  result: unknown;
  /** What the call wrote into its bytes-out buffer; absent when nothing. */
  out?: Uint8Array;
}

export interface DurableHeader {
  abiMajor: number;
  /** The SHA-256 of the module the log belongs to ('' when not known). */
  module: string;
  /** How the program started (JSON; the runtime's to read), '' when not known. */
  start?: string;
}

const PRIMITIVE_INDEX = new Map(PRIMITIVES.map((s, i) => [s, i]));

// ---------------------------------------------------------------------------------------------
// Writing

class Writer {
  private buf: Uint8Array;
  length = 0;
  constructor(size = 64) {
    this.buf = new Uint8Array(size);
  }
  private need(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  byte(b: number): void {
    this.need(1);
    this.buf[this.length++] = b;
  }
  varint(n: number): void {
    // Non-negative safe integers.
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }
  bigVarint(n: bigint): void {
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
  }
  u32(n: number): void {
    this.need(4);
    new DataView(this.buf.buffer).setUint32(this.length, n >>> 0, true);
    this.length += 4;
  }
  f64(n: number): void {
    this.need(8);
    new DataView(this.buf.buffer).setFloat64(this.length, n, true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.need(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
  /** The bytes written, without a copy (the writer is not used after). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

// Value tags.
const T_NULL = 0;
const T_FALSE = 1;
const T_TRUE = 2;
const T_INT = 3;
const T_NEG = 4;
const T_FLOAT = 5;
const T_BIGINT = 6;
const T_NEG_BIGINT = 7;
const T_STRING = 8;
const T_BYTES = 9;
const T_ARRAY = 10;
const T_RECORD = 11;

function writeValue(w: Writer, v: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) throw new DurableLogError('a value nests too deep to log');
  if (v === null || v === undefined) return w.byte(T_NULL);
  switch (typeof v) {
    case 'boolean':
      return w.byte(v ? T_TRUE : T_FALSE);
    case 'number':
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        w.byte(v >= 0 ? T_INT : T_NEG);
        return w.varint(Math.abs(v));
      }
      w.byte(T_FLOAT);
      return w.f64(v);
    case 'bigint':
      w.byte(v >= 0n ? T_BIGINT : T_NEG_BIGINT);
      return w.bigVarint(v >= 0n ? v : -v);
    case 'string': {
      const b = utf8.encode(v);
      w.byte(T_STRING);
      w.varint(b.length);
      return w.bytes(b);
    }
    default:
      break;
  }
  if (v instanceof Uint8Array) {
    w.byte(T_BYTES);
    w.varint(v.length);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    w.byte(T_ARRAY);
    w.varint(v.length);
    for (const x of v) writeValue(w, x, depth + 1);
    return;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    w.byte(T_RECORD);
    w.varint(entries.length);
    for (const [k, x] of entries) {
      const kb = utf8.encode(k);
      w.varint(kb.length);
      w.bytes(kb);
      writeValue(w, x, depth + 1);
    }
    return;
  }
  w.byte(T_NULL);
}

/** FNV-1a, 32 bits, continued from `h`. */
function fnv(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A digest of a call's arguments, by their types in the ABI table: data given in (bytes-in)
 * by its bytes, a buffer to fill (bytes-out) by its length, every other value as logged.
 */
export function argsDigest(specs: readonly ArgSpec[], args: readonly unknown[]): number {
  const w = new Writer();
  let h = 0x811c9dc5;
  for (let i = 0; i < specs.length; i++) {
    const v = args[i];
    if (specs[i]!.type === 'bytes-out') writeValue(w, v instanceof Uint8Array ? v.length : null);
    else if (v instanceof Uint8Array) {
      // Data given in: its length, then its bytes, hashed where they are (no copy).
      writeValue(w, v.length);
      h = fnv(w.done(), h);
      w.length = 0;
      h = fnv(v, h);
    } else writeValue(w, v);
  }
  return fnv(w.done(), h);
}

export function encodeHeader(h: DurableHeader): Uint8Array {
  const w = new Writer();
  w.bytes(utf8.encode(DURABLE_MAGIC));
  w.byte(DURABLE_VERSION);
  w.varint(h.abiMajor);
  const m = utf8.encode(h.module.slice(0, MAX_HEADER_TEXT));
  w.varint(m.length);
  w.bytes(m);
  const start = utf8.encode(h.start ?? '');
  if (start.length > MAX_START_TEXT) throw new DurableLogError(`a start record of ${start.length} bytes (at most ${MAX_START_TEXT})`);
  w.varint(start.length);
  w.bytes(start);
  return w.done();
}

export function currentAbiMajor(): number {
  return Number(DK_ABI_VERSION.split('.')[0]);
}

/** One entry, framed: what is appended to the log file. */
export function encodeEntry(e: DurableEntry): Uint8Array {
  const body = new Writer((e.out?.length ?? 0) + 64);
  body.varint(e.seq);
  const index = PRIMITIVE_INDEX.get(e.spec);
  if (index === undefined) throw new DurableLogError(`${e.spec.name} is not a primitive of this ABI`);
  body.byte(index);
  body.u32(e.args);
  writeValue(body, e.result);
  const out = e.out ?? new Uint8Array(0);
  body.varint(out.length);
  body.bytes(out);
  const b = body.view();
  const frame = new Writer(b.length + 9);
  frame.varint(b.length);
  frame.bytes(b);
  frame.u32(fnv(b));
  return frame.view();
}

// ---------------------------------------------------------------------------------------------
// Reading (untrusted bytes)

class Reader {
  at = 0;
  private readonly b: Uint8Array;
  private readonly end: number;
  constructor(b: Uint8Array, end = b.length) {
    this.b = b;
    this.end = end;
  }
  get left(): number {
    return this.end - this.at;
  }
  byte(): number {
    if (this.at >= this.end) throw new DurableLogError('cut short');
    return this.b[this.at++]!;
  }
  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (!(b & 0x80)) {
        if (!Number.isSafeInteger(n)) break;
        return n;
      }
      scale *= 0x80;
    }
    throw new DurableLogError('a number out of range');
  }
  bigVarint(): bigint {
    let n = 0n;
    let shift = 0n;
    for (let i = 0; i < 20; i++) {
      const b = this.byte();
      n |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return n;
      shift += 7n;
    }
    throw new DurableLogError('a number out of range');
  }
  u32(): number {
    if (this.left < 4) throw new DurableLogError('cut short');
    const v = new DataView(this.b.buffer, this.b.byteOffset).getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  f64(): number {
    if (this.left < 8) throw new DurableLogError('cut short');
    const v = new DataView(this.b.buffer, this.b.byteOffset).getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  /** `n` bytes, checked against what is left before anything is allocated. */
  take(n: number): Uint8Array {
    if (n > this.left) throw new DurableLogError('cut short');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  text(n: number): string {
    try {
      return utf8Strict.decode(this.take(n));
    } catch (e) {
      if (e instanceof DurableLogError) throw e;
      throw new DurableLogError('a string that is not UTF-8');
    }
  }
}

function readValue(r: Reader, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new DurableLogError('a value nests too deep');
  const tag = r.byte();
  switch (tag) {
    case T_NULL:
      return null;
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_INT:
      return r.varint();
    case T_NEG: {
      const n = r.varint();
      if (n === 0) throw new DurableLogError('a negative zero');
      return -n;
    }
    case T_FLOAT:
      return r.f64();
    case T_BIGINT:
      return r.bigVarint();
    case T_NEG_BIGINT:
      return -r.bigVarint();
    case T_STRING:
      return r.text(r.varint());
    case T_BYTES:
      return r.take(r.varint()).slice();
    case T_ARRAY: {
      const n = r.varint();
      // Every element takes a byte at least: a count past what is left is a lie.
      if (n > r.left) throw new DurableLogError('cut short');
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r, depth + 1));
      return out;
    }
    case T_RECORD: {
      const n = r.varint();
      if (n * 2 > r.left) throw new DurableLogError('cut short');
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (let i = 0; i < n; i++) {
        const k = r.text(r.varint());
        out[k] = readValue(r, depth + 1);
      }
      return { ...out };
    }
    default:
      throw new DurableLogError(`an unknown value tag ${tag}`);
  }
}

export interface DecodedLog {
  header: DurableHeader;
  entries: DurableEntry[];
  /** Bytes of the log that hold whole, intact entries (header included). */
  validBytes: number;
  /** Why decoding stopped before the end (a torn or damaged tail), when `tolerateTail`; else null. */
  tail: string | null;
}

/** The header at the start of `bytes`, and where the entries begin. */
export function decodeHeader(bytes: Uint8Array): { header: DurableHeader; at: number } {
  const r = new Reader(bytes);
  let magic: string;
  try {
    magic = new TextDecoder('latin1').decode(r.take(8));
  } catch {
    throw new DurableLogError('not a drawbridge durable log (too short)');
  }
  if (magic !== DURABLE_MAGIC) throw new DurableLogError('not a drawbridge durable log (bad magic)');
  try {
    const version = r.byte();
    if (version !== DURABLE_VERSION) throw new DurableLogError(`a version ${version} durable log; this drawbridge reads version ${DURABLE_VERSION}`);
    const abiMajor = r.varint();
    const n = r.varint();
    if (n > MAX_HEADER_TEXT) throw new DurableLogError('a header too long');
    const module = r.text(n);
    const k = r.varint();
    if (k > MAX_START_TEXT) throw new DurableLogError('a start record too long');
    const start = r.text(k);
    return { header: { abiMajor, module, start }, at: r.at };
  } catch (e) {
    if (e instanceof DurableLogError && /version/.test(e.message)) throw e;
    throw new DurableLogError(`its header is damaged (${(e as Error).message})`);
  }
}

/**
 * Decode a whole log. Every mistake is a DurableLogError naming the entry; with `tolerateTail`
 * a damaged or torn tail ends the log there instead (a log file a crash cut short), and `tail`
 * says why. `maxEntries` bounds the work; `keep: false` checks every entry without keeping
 * them (`entries` is then empty): what a restore does first, before it reads them again one
 * at a time (entriesOf), so that a log never costs more memory than its own bytes.
 */
export function decodeLog(bytes: Uint8Array, options: { tolerateTail?: boolean; maxEntries?: number; keep?: boolean } = {}): DecodedLog & { count: number } {
  const { header, at } = decodeHeader(bytes);
  const entries: DurableEntry[] = [];
  const maxEntries = options.maxEntries ?? Number.MAX_SAFE_INTEGER;
  let pos = at;
  let count = 0;
  let tail: string | null = null;
  while (pos < bytes.length) {
    try {
      if (count >= maxEntries) throw new DurableLogError(`more than ${maxEntries} entries`);
      const { entry, end } = entryAt(bytes, pos);
      if (options.keep !== false) entries.push(entry);
      count++;
      pos = end;
    } catch (e) {
      if (!(e instanceof DurableLogError)) throw e;
      const why = `entry ${count + 1} (byte ${pos}): ${e.message}`;
      if (!options.tolerateTail) throw new DurableLogError(why);
      tail = why;
      break;
    }
  }
  return { header, entries, count, validBytes: pos, tail };
}

/** The entry framed at `pos`, and where the next one begins. */
function entryAt(bytes: Uint8Array, pos: number): { entry: DurableEntry; end: number } {
  const r = new Reader(bytes, bytes.length);
  r.at = pos;
  const len = r.varint();
  if (len > MAX_ENTRY_BYTES) throw new DurableLogError(`an entry of ${len} bytes (at most ${MAX_ENTRY_BYTES})`);
  const body = r.take(len);
  if (r.u32() !== fnv(body)) throw new DurableLogError('its check does not match its bytes');
  return { entry: decodeBody(body), end: r.at };
}

/** The entries of a log checked already (decodeLog), one at a time, up to `validBytes`. */
export function* entriesOf(bytes: Uint8Array, validBytes = bytes.length): Generator<DurableEntry> {
  let pos = decodeHeader(bytes).at;
  while (pos < validBytes) {
    const { entry, end } = entryAt(bytes, pos);
    yield entry;
    pos = end;
  }
}

function decodeBody(body: Uint8Array): DurableEntry {
  const r = new Reader(body);
  const seq = r.varint();
  if (seq < 1) throw new DurableLogError('a call number below 1');
  const index = r.byte();
  const spec = PRIMITIVES[index];
  if (!spec) throw new DurableLogError(`an unknown primitive ${index}`);
  const args = r.u32();
  const result = readValue(r);
  const outLen = r.varint();
  const out = outLen ? r.take(outLen).slice() : undefined;
  if (r.left !== 0) throw new DurableLogError('bytes past its end');
  return out ? { seq, spec, args, result, out } : { seq, spec, args, result };
}

/** Whether two results are the same value (as the log holds them). */
export function sameValue(a: unknown, b: unknown): boolean {
  const wa = new Writer();
  const wb = new Writer();
  writeValue(wa, a);
  writeValue(wb, b);
  const x = wa.done();
  const y = wb.done();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
