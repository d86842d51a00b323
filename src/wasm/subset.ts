// Running a whole-module tool (Binaryen's Asyncify) on a subset of a module's functions, and
// putting what it made back into the original.
//
// skeleton() gives the module with every function body outside the subset replaced by
// `unreachable`, its custom sections left out and a name section that names function i
// `f<i>` (the names a tool's function lists then use, with nothing to escape). Function,
// global, table, memory and segment indices are unchanged, so a tool that only adds things
// after the existing ones (Asyncify appends two globals, five functions and their exports)
// gives bodies that mean the same in the original. A tool is free to renumber types
// (Binaryen orders them by use): merge() maps them back by structure.
//
// merge() gives the original with the subset's bodies taken from the tool's output, the
// functions, globals and exports the tool added appended, and any type the output uses that
// the original lacks appended to the type section. Everything else (the other bodies, data,
// names, custom sections) is the original's, byte for byte.

import { Reader, concat, definedFuncTypes, funcTypes, importEntries, leb, nameBytes, section, sections, sleb, type Section } from './binary.ts';
import { skipInstruction } from './instructions.ts';
import { sectionRank } from './add-imports.ts';

/** The body of a function left out: no locals, `unreachable`, `end`. */
const STUB = Uint8Array.from([0x03, 0x00, 0x00, 0x0b]);

export class SubsetError extends Error {}

/**
 * The module with the bodies of the defined functions f where keep[f] is 0 replaced by
 * `unreachable`, no custom sections, and a name section naming every function f<index>.
 */
export function skeleton(bytes: Uint8Array, keep: Uint8Array): Uint8Array {
  const secs = sections(bytes);
  const imported = importEntries(
    bytes,
    secs.find((s) => s.id === 2),
  ).filter((e) => e.kind === 0).length;
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  let total = imported;
  for (const s of secs) {
    if (s.id === 0) continue;
    if (s.id !== 10) {
      out.push(bytes.subarray(s.start, s.end));
      continue;
    }
    const r = new Reader(bytes, s.payload);
    const count = r.u32();
    total += count;
    const parts: Uint8Array[] = [Uint8Array.from(leb(count))];
    for (let i = 0; i < count; i++) {
      const start = r.pos;
      const size = r.u32();
      const end = r.pos + size;
      parts.push(keep[imported + i] ? bytes.subarray(start, end) : STUB);
      r.pos = end;
    }
    out.push(sectionOf(10, parts));
  }
  out.push(nameSection(total));
  return concat(out);
}

/** A custom `name` section with only function names: f<index> for each. */
function nameSection(total: number): Uint8Array {
  const names: number[] = [...leb(total)];
  for (let f = 0; f < total; f++) names.push(...leb(f), ...nameBytes(`f${f}`));
  const sub = concat([Uint8Array.from([1, ...leb(names.length)]), Uint8Array.from(names)]);
  return section(0, concat([Uint8Array.from(nameBytes('name')), sub]));
}

/** The name a skeleton gives function f. */
export function skeletonName(f: number): string {
  return `f${f}`;
}

function sectionOf(id: number, parts: readonly Uint8Array[]): Uint8Array {
  const payload = concat(parts);
  return concat([Uint8Array.from([id, ...leb(payload.length)]), payload]);
}

interface Parsed {
  secs: Section[];
  find(id: number): Section | undefined;
  importedFunctions: number;
  importedGlobals: number;
  definedTypes: number[];
}

function parse(bytes: Uint8Array): Parsed {
  const secs = sections(bytes);
  const find = (id: number) => secs.find((s) => s.id === id);
  const imports = importEntries(bytes, find(2));
  return {
    secs,
    find,
    importedFunctions: imports.filter((e) => e.kind === 0).length,
    importedGlobals: imports.filter((e) => e.kind === 3).length,
    definedTypes: definedFuncTypes(bytes, find(3)),
  };
}

/** The entries of a vector section: its count, and its entries' bytes. */
function entriesOf(bytes: Uint8Array, s: Section | undefined): { count: number; entries: Uint8Array } {
  if (!s) return { count: 0, entries: new Uint8Array(0) };
  const r = new Reader(bytes, s.payload);
  const count = r.u32();
  return { count, entries: bytes.subarray(r.pos, s.end) };
}

/** The output of a tool run on a skeleton of the original, and the functions to take from it (take[f] = 1). */
export interface ToolOutput {
  bytes: Uint8Array;
  take: Uint8Array;
}

/**
 * The original with the bodies of each output's `take` functions taken from that output (the
 * output of a tool run on a skeleton of it), and what the first output appended.
 */
export function merge(original: Uint8Array, outputs: readonly ToolOutput[]): Uint8Array {
  const a = parse(original);
  const typesA = funcTypes(original, a.find(1));
  if (!typesA) throw new SubsetError('types other than function types');
  const definedA = a.definedTypes.length;
  const indexOfKey = new Map<string, number>();
  typesA.forEach((t, i) => {
    if (!indexOfKey.has(t.key)) indexOfKey.set(t.key, i);
  });
  const addedTypes: Uint8Array[] = [];
  const owner = new Int32Array(a.importedFunctions + definedA).fill(-1);
  const tools = outputs.map((o, k) => {
    const b = parse(o.bytes);
    if (a.importedFunctions !== b.importedFunctions)
      throw new SubsetError(`the tool changed the imported functions (${a.importedFunctions} -> ${b.importedFunctions})`);
    if (a.importedGlobals !== b.importedGlobals) throw new SubsetError('the tool changed the imported globals');
    if (b.definedTypes.length < definedA) throw new SubsetError(`the tool removed functions (${definedA} -> ${b.definedTypes.length})`);
    // Types: the tool's index -> the original's, by structure; types the original lacks are appended.
    const typesB = funcTypes(o.bytes, b.find(1));
    if (!typesB) throw new SubsetError('types other than function types');
    const typeMap = typesB.map((t) => {
      let i = indexOfKey.get(t.key);
      if (i === undefined) {
        i = typesA.length + addedTypes.length;
        indexOfKey.set(t.key, i);
        addedTypes.push(t.bytes);
      }
      return i;
    });
    for (let i = 0; i < definedA; i++) {
      if (typesA[a.definedTypes[i]!]!.key !== typesB[b.definedTypes[i]!]!.key)
        throw new SubsetError(`the tool changed the type of function ${a.importedFunctions + i}`);
      if (o.take[a.importedFunctions + i]) owner[a.importedFunctions + i] = k;
    }
    return { b, typeMap, bodies: bodyRanges(o.bytes, b.find(10)) };
  });
  const first = tools[0];
  if (!first) return original;
  const definedB = first.b.definedTypes.length;

  // Bodies.
  const codeA = a.find(10);
  const rA = new Reader(original, codeA ? codeA.payload : 0);
  const countA = codeA ? rA.u32() : 0;
  const parts: Uint8Array[] = [Uint8Array.from(leb(definedB))];
  for (let i = 0; i < countA; i++) {
    const start = rA.pos;
    const size = rA.u32();
    const end = rA.pos + size;
    rA.pos = end;
    const k = owner[a.importedFunctions + i]!;
    if (k >= 0) {
      const t = tools[k]!;
      const body = remapTypes(outputs[k]!.bytes, t.bodies[2 * i]!, t.bodies[2 * i + 1]!, t.typeMap);
      parts.push(Uint8Array.from(leb(body.length)), body);
    } else parts.push(original.subarray(start, end));
  }
  for (let i = definedA; i < definedB; i++) {
    const body = remapTypes(outputs[0]!.bytes, first.bodies[2 * i]!, first.bodies[2 * i + 1]!, first.typeMap);
    parts.push(Uint8Array.from(leb(body.length)), body);
  }
  const code = sectionOf(10, parts);

  // Type, function, global and export sections, with what the first output appended.
  const tool = outputs[0]!.bytes;
  const b = first.b;
  const addedFuncs: Uint8Array[] = [];
  for (let i = definedA; i < definedB; i++) addedFuncs.push(Uint8Array.from(leb(first.typeMap[b.definedTypes[i]!]!)));
  const funcSection = appendEntries(original, a.find(3), 3, addedFuncs);
  const globalsA = entriesOf(original, a.find(6));
  const globalsB = globalEntries(tool, b.find(6));
  if (globalsB.length < globalsA.count) throw new SubsetError('the tool removed globals');
  const globalSection = appendEntries(original, a.find(6), 6, globalsB.slice(globalsA.count));
  const totalA = a.importedFunctions + definedA;
  const addedExports = exportEntries(tool, b.find(7)).filter((e) => e.kind === 0 && e.index >= totalA);
  const exportSection = appendEntries(
    original,
    a.find(7),
    7,
    addedExports.map((e) => e.bytes),
  );
  const typeSection = appendEntries(original, a.find(1), 1, addedTypes);

  const replaced = new Map<number, Uint8Array>([
    [1, typeSection],
    [3, funcSection],
    [6, globalSection],
    [7, exportSection],
    [10, code],
  ]);
  return rebuild(original, a.secs, replaced);
}

/** Where each body of a code section lies: [start, end) pairs, the start past the size. */
function bodyRanges(bytes: Uint8Array, s: Section | undefined): number[] {
  const out: number[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    const size = r.u32();
    out.push(r.pos, r.pos + size);
    r.pos += size;
  }
  return out;
}

/** A section's entries with `added` appended (a new section if it had none). */
function appendEntries(bytes: Uint8Array, s: Section | undefined, id: number, added: readonly Uint8Array[]): Uint8Array {
  const { count, entries } = entriesOf(bytes, s);
  if (added.length === 0) return s ? bytes.subarray(s.start, s.end) : new Uint8Array(0);
  return sectionOf(id, [Uint8Array.from(leb(count + added.length)), entries, ...added]);
}

/** Each entry of a global section, as bytes. */
function globalEntries(bytes: Uint8Array, s: Section | undefined): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    r.valType();
    r.byte();
    r.constExpr();
    out.push(bytes.subarray(start, r.pos));
  }
  return out;
}

function exportEntries(bytes: Uint8Array, s: Section | undefined): { kind: number; index: number; bytes: Uint8Array }[] {
  const out: { kind: number; index: number; bytes: Uint8Array }[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    r.name();
    const kind = r.byte();
    const index = r.u32();
    out.push({ kind, index, bytes: bytes.subarray(start, r.pos) });
  }
  return out;
}

/** The module's sections in order, with `replaced` ones (by id) in place of or inserted where they belong. */
function rebuild(bytes: Uint8Array, secs: Section[], replaced: Map<number, Uint8Array>): Uint8Array {
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  const placed = new Set<number>();
  const placeBefore = (id: number) => {
    // Sections the original lacks, whose place comes before `id`.
    for (const [rid, content] of replaced) {
      if (placed.has(rid) || content.length === 0) continue;
      if (sectionRank(rid) < sectionRank(id)) {
        out.push(content);
        placed.add(rid);
      }
    }
  };
  for (const s of secs) {
    if (s.id !== 0) placeBefore(s.id);
    const r = replaced.get(s.id);
    if (s.id !== 0 && r !== undefined) {
      out.push(r);
      placed.add(s.id);
    } else out.push(bytes.subarray(s.start, s.end));
  }
  for (const [rid, content] of replaced) if (!placed.has(rid) && content.length > 0) out.push(content);
  return concat(out);
}

/** A body (locals and instructions, [start, end)) with its type indices mapped through `map`. */
function remapTypes(bytes: Uint8Array, start: number, end: number, map: readonly number[]): Uint8Array {
  const r = new Reader(bytes, start);
  for (let groups = r.u32(); groups > 0; groups--) {
    r.u32();
    r.valType();
  }
  const parts: Uint8Array[] = [];
  let copied = start;
  const replace = (from: number, to: number, value: number[]) => {
    parts.push(bytes.subarray(copied, from), Uint8Array.from(value));
    copied = to;
  };
  while (r.pos < end) {
    const at = r.pos;
    const op = skipInstruction(r);
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06) {
      const x = bytes[at + 1]!;
      if (x === 0x40 || (x >= 0x6f && x <= 0x7f) || x === 0x63 || x === 0x64) continue;
      const t = new Reader(bytes, at + 1).u32(); // a non-negative s33: the same bits as a u32 LEB
      const to = map[t];
      if (to === undefined) throw new SubsetError(`a block of type ${t}, which does not exist`);
      if (to !== t) replace(at + 1, r.pos, sleb(to));
    } else if (op === 0x11 || op === 0x13 || op === 0x14 || op === 0x15) {
      const idx = new Reader(bytes, at + 1);
      const t = idx.u32();
      const to = map[t];
      if (to === undefined) throw new SubsetError(`an indirect call of type ${t}, which does not exist`);
      if (to !== t) replace(at + 1, idx.pos, leb(to));
    }
  }
  if (parts.length === 0) return bytes.subarray(start, end);
  parts.push(bytes.subarray(copied, end));
  return concat(parts);
}
