// Function imports added to a module. Imported functions come first in the function index
// space, so each import added after the existing ones moves every function the module defines
// up by one: every place that names a function by index is rewritten (call, return_call and
// ref.func in code and in constant expressions, element segments, exports, the start function,
// the name section). New imports go after the existing function imports, whose indices stay.
// DWARF sections name code offsets that the rewrite moves: they are left out.

import { Reader, concat, funcTypes, importEntries, leb, localsOf, nameBytes, section, sections, type Section } from './binary.ts';
import { skipInstruction } from './instructions.ts';

export const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  elem: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

/** The order non-custom sections must come in (the tag section sits between memory and global). */
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
export const sectionRank = (id: number): number => ORDER.indexOf(id);

/** A function type as the type section encodes it: 0x60, params, results. */
export function funcTypeBytes(params: readonly number[], results: readonly number[]): number[] {
  return [0x60, ...leb(params.length), ...params, ...leb(results.length), ...results];
}

/** The index of the type `encoded` in the type section, and the entries to append to it when it is not there yet. */
export function typeIndex(bytes: Uint8Array, typeSec: Section | undefined, encoded: readonly number[], appended: number[][]): number {
  const types = funcTypes(bytes, typeSec);
  if (!types) throw new Error('its type section holds types other than function types (GC), which this rewrite does not read');
  const key = encoded.map((b) => b.toString(16).padStart(2, '0')).join('');
  const at = types.findIndex((t) => t.key === key);
  if (at >= 0) return at;
  const mine = appended.findIndex((t) => t.length === encoded.length && t.every((b, i) => b === encoded[i]));
  if (mine >= 0) return types.length + mine;
  appended.push([...encoded]);
  return types.length + appended.length - 1;
}

/** A vector section with entries appended (made when the module has none). */
export function withEntries(bytes: Uint8Array, s: Section | undefined, id: number, entries: readonly (number[] | Uint8Array)[]): Uint8Array {
  let count = 0;
  let old: Uint8Array = new Uint8Array(0);
  if (s) {
    const r = new Reader(bytes, s.payload);
    count = r.u32();
    old = bytes.subarray(r.pos, s.end);
  }
  return section(id, concat([Uint8Array.from(leb(count + entries.length)), old, ...entries.map((e) => (e instanceof Uint8Array ? e : Uint8Array.from(e)))]));
}

/**
 * The module's sections again, with `replaced` ones (by id; custom sections by their start
 * offset, with a negative key: -1 - start) put in place of the old and new ones inserted where
 * their id belongs. A replacement of null leaves the section out.
 */
export function rebuild(bytes: Uint8Array, replaced: Map<number, Uint8Array | null>): Uint8Array {
  const secs = sections(bytes);
  const present = new Set(secs.map((s) => s.id));
  const pending = [...replaced.keys()].filter((id) => id > 0 && !present.has(id)).sort((a, b) => sectionRank(a) - sectionRank(b));
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of secs) {
    if (s.id !== SECTION.custom) while (pending.length > 0 && sectionRank(pending[0]!) < sectionRank(s.id)) out.push(replaced.get(pending.shift()!)!);
    const key = s.id === SECTION.custom ? -1 - s.start : s.id;
    const r = replaced.has(key) ? replaced.get(key)! : bytes.subarray(s.start, s.end);
    if (r) out.push(r);
  }
  for (const id of pending) out.push(replaced.get(id)!);
  return concat(out);
}

export interface NewImport {
  module: string;
  name: string;
  /** Its function type, as funcTypeBytes encodes it. */
  type: readonly number[];
}

/** A function index after the rewrite: defined functions move up by `added`. */
type Shift = (index: number) => number;

/** Bytes [from, to) of `bytes` with the patches applied (each replaces [start, end) by its bytes; in order, not overlapping). */
function patched(bytes: Uint8Array, from: number, to: number, patches: readonly [number, number, number[]][]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = from;
  for (const [start, end, b] of patches) {
    out.push(bytes.subarray(at, start), Uint8Array.from(b));
    at = end;
  }
  out.push(bytes.subarray(at, to));
  return out;
}

/** The patches of a constant expression at r.pos (its ref.func indices), r moved past its `end`. */
function exprPatches(r: Reader, shift: Shift, patches: [number, number, number[]][]): void {
  for (;;) {
    if (r.bytes[r.pos] === 0xd2) {
      r.pos++;
      const start = r.pos;
      const index = r.u32();
      patches.push([start, r.pos, leb(shift(index))]);
      continue;
    }
    if (skipInstruction(r) === 0x0b) return;
  }
}

function vectorPatches(bytes: Uint8Array, s: Section, each: (r: Reader, patches: [number, number, number[]][]) => void): Uint8Array {
  const patches: [number, number, number[]][] = [];
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) each(r, patches);
  if (r.pos !== s.end) throw new Error(`section ${s.id} does not end where its size says`);
  return section(s.id, concat(patched(bytes, s.payload, s.end, patches)));
}

function funcIndexPatch(r: Reader, shift: Shift, patches: [number, number, number[]][]): void {
  const start = r.pos;
  const index = r.u32();
  if (shift(index) !== index) patches.push([start, r.pos, leb(shift(index))]);
}

function globalSection(bytes: Uint8Array, s: Section, shift: Shift): Uint8Array {
  return vectorPatches(bytes, s, (r, patches) => {
    r.valType();
    r.byte(); // mutability
    exprPatches(r, shift, patches);
  });
}

function exportSection(bytes: Uint8Array, s: Section, shift: Shift): Uint8Array {
  return vectorPatches(bytes, s, (r, patches) => {
    r.name();
    if (r.byte() === 0) funcIndexPatch(r, shift, patches);
    else r.u32();
  });
}

function elemSection(bytes: Uint8Array, s: Section, shift: Shift): Uint8Array {
  return vectorPatches(bytes, s, (r, patches) => {
    const flags = r.u32();
    if (flags > 7) throw new Error(`an element segment of an unknown kind (${flags})`);
    if (flags === 2 || flags === 6) r.u32(); // table index
    if ((flags & 1) === 0) exprPatches(r, shift, patches); // active: the offset
    const exprs = (flags & 4) !== 0;
    if (flags & 3) {
      if (exprs)
        r.valType(); // reference type
      else r.byte(); // element kind (0: funcref)
    }
    for (let n = r.u32(); n > 0; n--) {
      if (exprs) exprPatches(r, shift, patches);
      else funcIndexPatch(r, shift, patches);
    }
  });
}

/** The code section with call, return_call and ref.func shifted; `extra` bodies (size included) appended. */
export function codeSection(bytes: Uint8Array, s: Section | undefined, shift: Shift | null, extra: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let count = 0;
  if (s) {
    const r = new Reader(bytes, s.payload);
    count = r.u32();
    if (!shift) parts.push(bytes.subarray(r.pos, s.end));
    else {
      const patches: [number, number, number[]][] = [];
      for (let n = 0; n < count; n++) {
        const size = r.u32();
        const start = r.pos;
        const end = start + size;
        patches.length = 0;
        const walk = new Reader(bytes, localsOf(bytes, start).first);
        while (walk.pos < end) {
          const op = bytes[walk.pos];
          if (op === 0x10 || op === 0x12 || op === 0xd2) {
            walk.pos++;
            funcIndexPatch(walk, shift, patches);
          } else skipInstruction(walk);
        }
        if (walk.pos !== end) throw new Error(`function body ${n} does not end where its size says`);
        if (patches.length === 0) parts.push(bytes.subarray(start - leb(size).length, end));
        else {
          const body = patched(bytes, start, end, patches);
          parts.push(Uint8Array.from(leb(body.reduce((k, p) => k + p.length, 0))), ...body);
        }
        r.pos = end;
      }
    }
  }
  return section(SECTION.code, concat([Uint8Array.from(leb(count + extra.length)), ...parts, ...extra]));
}

/** The name section with function indices shifted (function, local and label names); `names` added to the function names. */
function nameSection(bytes: Uint8Array, s: Section, shift: Shift, names: ReadonlyMap<number, string>): Uint8Array {
  const r = new Reader(bytes, s.payload);
  const out: Uint8Array[] = [Uint8Array.from(nameBytes(r.name()))];
  while (r.pos < s.end) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    let payload: Uint8Array;
    if (id === 1) {
      const entries: [number, Uint8Array][] = [];
      for (let n = r.u32(); n > 0; n--) {
        const index = shift(r.u32());
        const start = r.pos;
        r.name();
        entries.push([index, bytes.subarray(start, r.pos)]);
      }
      for (const [index, name] of names) entries.push([index, Uint8Array.from(nameBytes(name))]);
      entries.sort((a, b) => a[0] - b[0]);
      payload = concat([Uint8Array.from(leb(entries.length)), ...entries.flatMap(([i, n]) => [Uint8Array.from(leb(i)), n])]);
    } else if (id === 2 || id === 3) {
      const patches: [number, number, number[]][] = [];
      const sub = new Reader(bytes, r.pos);
      for (let n = sub.u32(); n > 0; n--) {
        funcIndexPatch(sub, shift, patches);
        for (let m = sub.u32(); m > 0; m--) {
          sub.u32();
          sub.name();
        }
      }
      payload = concat(patched(bytes, r.pos, end, patches));
    } else payload = bytes.subarray(r.pos, end);
    out.push(Uint8Array.from([id, ...leb(payload.length)]), payload);
    r.pos = end;
  }
  return section(SECTION.custom, concat(out));
}

export interface WithImports {
  /** The sections that change, for rebuild: import, global, export, start, element, DWARF (left out); the caller may replace any. */
  replaced: Map<number, Uint8Array | null>;
  /** The index of each import added, in the order given. */
  indices: number[];
  /** Where defined function `i` (an index of before) is now. */
  shift: Shift;
  /** The type entries to append to the type section (the caller may add its own, then write it). */
  types: number[][];
}

/**
 * What adding `imports` changes in `bytes`, but for the code section, which the caller writes
 * with codeSection(bytes, s, shift, ...), the type section, to which it appends `types`, and
 * the name section (renamed).
 */
export function addFunctionImports(bytes: Uint8Array, imports: readonly NewImport[]): WithImports {
  const secs = sections(bytes);
  const find = (id: number) => secs.find((s) => s.id === id);
  const entries = importEntries(bytes, find(SECTION.import));
  const imported = entries.filter((e) => e.kind === 0).length;
  const added = imports.length;
  const shift: Shift = added === 0 ? (i) => i : (i) => (i < imported ? i : i + added);
  const types: number[][] = [];
  const replaced = new Map<number, Uint8Array | null>();
  const indices = imports.map((_, k) => imported + k);
  if (added === 0) return { replaced, indices, shift, types };
  const typeSec = find(SECTION.type);
  const newEntries = imports.map((im) => [...nameBytes(im.module), ...nameBytes(im.name), 0x00, ...leb(typeIndex(bytes, typeSec, im.type, types))]);
  replaced.set(SECTION.import, withEntries(bytes, find(SECTION.import), SECTION.import, newEntries));
  const global = find(SECTION.global);
  if (global) replaced.set(SECTION.global, globalSection(bytes, global, shift));
  const exp = find(SECTION.export);
  if (exp) replaced.set(SECTION.export, exportSection(bytes, exp, shift));
  const start = find(SECTION.start);
  if (start) {
    const r = new Reader(bytes, start.payload);
    replaced.set(SECTION.start, section(SECTION.start, leb(shift(r.u32()))));
  }
  const elem = find(SECTION.elem);
  if (elem) replaced.set(SECTION.elem, elemSection(bytes, elem, shift));
  for (const s of secs.filter((x) => x.id === SECTION.custom)) {
    const name = new Reader(bytes, s.payload).name();
    if (name.startsWith('.debug_') || name === 'sourceMappingURL' || name === 'external_debug_info') replaced.set(-1 - s.start, null);
  }
  return { replaced, indices, shift, types };
}

/** The name section (custom, "name") at its key for rebuild, shifted and with `names` added; a malformed one is left out. */
export function renamed(bytes: Uint8Array, shift: Shift, names: ReadonlyMap<number, string>, replaced: Map<number, Uint8Array | null>): void {
  for (const s of sections(bytes).filter((x) => x.id === SECTION.custom)) {
    if (new Reader(bytes, s.payload).name() !== 'name') continue;
    try {
      replaced.set(-1 - s.start, nameSection(bytes, s, shift, names));
    } catch {
      replaced.set(-1 - s.start, null); // only debugging names: a module runs the same without them
    }
  }
}
