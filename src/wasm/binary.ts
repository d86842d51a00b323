// Reading and writing the Wasm binary format, the little that preparation needs: LEB128,
// names, limits, block types, memory arguments, constant expressions, and sections.

export class Reader {
  pos: number;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array, pos = 0) {
    this.bytes = bytes;
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error('unexpected end of module');
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
      if (mul > 2 ** 63) throw new Error('bad LEB128');
    }
  }
  skipLeb(): void {
    while (this.byte() & 0x80);
  }
  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  limits(): void {
    const flags = this.byte();
    this.skipLeb();
    if (flags & 1) this.skipLeb();
  }
  heapType(): void {
    this.skipLeb(); // s33 (abstract heap types are single negative bytes)
  }
  valType(): void {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.heapType();
  }
  blockType(): void {
    const x = this.bytes[this.pos]!;
    if (x === 0x40 || (x >= 0x6f && x <= 0x7f) || x === 0x63 || x === 0x64) {
      this.pos++;
      if (x === 0x63 || x === 0x64) this.heapType();
    } else this.skipLeb(); // s33 type index
  }
  memarg(): void {
    const align = this.u32();
    if (align & 0x40) this.skipLeb(); // memory index (multi-memory)
    this.skipLeb(); // offset
  }
  /** Skip a constant expression up to its `end`. */
  constExpr(): void {
    for (;;) {
      const op = this.byte();
      switch (op) {
        case 0x0b:
          return;
        case 0x41:
        case 0x42:
        case 0x23:
        case 0xd2:
          this.skipLeb();
          break; // i32/i64.const, global.get, ref.func
        case 0x43:
          this.pos += 4;
          break;
        case 0x44:
          this.pos += 8;
          break;
        case 0xd0:
          this.byte();
          break; // ref.null t
        case 0x6a:
        case 0x6b:
        case 0x6c:
        case 0x7c:
        case 0x7d:
        case 0x7e:
          break; // extended const arithmetic
        case 0xfd:
          this.skipLeb();
          this.pos += 16;
          break; // v128.const
        default:
          throw new Error(`unsupported instruction 0x${op.toString(16)} in a constant expression`);
      }
    }
  }
}

/** The signed 32-bit LEB128 at `pos` (an i32.const's immediate), without a Reader object. */
export function readS32(bytes: Uint8Array, pos: number): number {
  let result = 0;
  let shift = 0;
  let b: number;
  do {
    b = bytes[pos++]!;
    result |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80 && shift < 35);
  if (shift < 32 && b & 0x40) result |= -1 << shift;
  return result | 0;
}

export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const x = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (x & 0x40) === 0) || (n === -1 && (x & 0x40) !== 0)) {
      out.push(x);
      return out;
    }
    out.push(x | 0x80);
  }
}

/** A function body's local declarations (from `start`, its first byte past the size). */
export interface Locals {
  /** How many groups (count, type) there are, and where the first begins. */
  groups: number;
  groupsAt: number;
  /** How many locals they declare (parameters not included). */
  declared: number;
  /** Where the instructions begin. */
  first: number;
}

export function localsOf(bytes: Uint8Array, start: number): Locals {
  const r = new Reader(bytes, start);
  const groups = r.u32();
  const groupsAt = r.pos;
  let declared = 0;
  for (let g = groups; g > 0; g--) {
    declared += r.u32();
    r.valType();
  }
  return { groups, groupsAt, declared, first: r.pos };
}

/** An import of a kind this reader does not know (its size cannot be known, so reading stops). */
export class UnknownImportKind extends Error {}

/** One entry of the import section: what it imports, and where it lies in the module. */
export interface ImportEntry {
  module: string;
  name: string;
  /** 0 function, 1 table, 2 memory, 3 global, 4 tag. */
  kind: number;
  /** A function's type index (kind 0), else -1. */
  typeIndex: number;
  /** A global's value type, its first byte (kind 3), else -1. */
  valType: number;
  /** A global that is mutable (kind 3). */
  mutable: boolean;
  /** Where the entry starts, where its kind byte is, and where the next entry starts. */
  start: number;
  kindAt: number;
  end: number;
}

/** The entries of the import section `s` (none without one). Throws UnknownImportKind. */
export function importEntries(bytes: Uint8Array, s: { payload: number } | undefined): ImportEntry[] {
  const out: ImportEntry[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    const module = r.name();
    const name = r.name();
    const kindAt = r.pos;
    const kind = r.byte();
    let typeIndex = -1;
    let valType = -1;
    let mutable = false;
    if (kind === 0) typeIndex = r.u32();
    else if (kind === 1) {
      r.byte();
      r.limits();
    } else if (kind === 2) r.limits();
    else if (kind === 3) {
      valType = bytes[r.pos]!;
      r.valType();
      mutable = r.byte() === 1;
    } else if (kind === 4) {
      r.byte();
      r.u32();
    } else throw new UnknownImportKind(`unknown import kind ${kind}`);
    out.push({ module, name, kind, typeIndex, valType, mutable, start, kindAt, end: r.pos });
  }
  return out;
}

/** A body's local declarations with one more local of each of `types` (the instructions not included). */
export function localsWith(bytes: Uint8Array, locals: Locals, types: readonly number[]): Uint8Array {
  return Uint8Array.from([...leb(locals.groups + types.length), ...bytes.subarray(locals.groupsAt, locals.first), ...types.flatMap((t) => [0x01, t])]);
}

/** How many functions the import section imports (they come first in the function index space). */
export function importedFunctionCount(bytes: Uint8Array, s: { payload: number } | undefined): number {
  return importEntries(bytes, s).filter((e) => e.kind === 0).length;
}

/** A function type of the type section: its bytes (0x60 params results), and as a key. */
export interface FuncType {
  key: string;
  params: number;
  bytes: Uint8Array;
}

/** The type section's function types, or null when it holds another kind (GC types). */
export function funcTypes(bytes: Uint8Array, s: { payload: number } | undefined): FuncType[] | null {
  const types: FuncType[] = [];
  if (!s) return types;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    if (r.byte() !== 0x60) return null;
    const params = r.u32();
    for (let k = 0; k < params; k++) r.valType();
    const results = r.u32();
    for (let k = 0; k < results; k++) r.valType();
    const b = bytes.subarray(start, r.pos);
    types.push({ key: Buffer.from(b).toString('hex'), params, bytes: b });
  }
  return types;
}

/** The type index of each function the module defines (the function section). */
export function definedFuncTypes(bytes: Uint8Array, s: { payload: number } | undefined): number[] {
  const out: number[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) out.push(r.u32());
  return out;
}

export interface Section {
  id: number;
  /** Offset of the id byte. */
  start: number;
  payload: number;
  end: number;
}

export function sections(bytes: Uint8Array): Section[] {
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    out.push({ id, start, payload: r.pos, end: r.pos + size });
    r.pos += size;
  }
  return out;
}

/** A name as the binary format writes one (imports, exports): its UTF-8 length, then its bytes. */
export function nameBytes(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...leb(b.length), ...b];
}

/** What every module begins with: the magic `\0asm` and version 1. */
export const MODULE_HEADER: Uint8Array = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

/** A section with its id and size header. */
export function section(id: number, payload: number[] | Uint8Array): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  return concat([Uint8Array.from([id, ...leb(p.length)]), p]);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
