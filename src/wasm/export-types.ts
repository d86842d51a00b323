// The type of an exported function, read from a module's bytes without compiling it: its
// type, import, function and export sections. `drawbridge run --invoke NAME ARGS` needs it to
// read ARGS as the function's parameters and to print its results, as wasmtime does; the
// JavaScript API of WebAssembly does not say the types of exports.

import { Reader, importEntries, sections } from './binary.ts';

const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_FUNCTION = 3;
const SECTION_EXPORT = 7;
const KIND_FUNCTION = 0;

/** i32, i64, f32, f64, v128, funcref, externref, or 'ref' (any other reference type). */
export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | 'ref';

export interface FunctionType {
  params: ValueType[];
  results: ValueType[];
}

const VALUE_TYPES: Record<number, ValueType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

/**
 * The type of the function exported as `name`; 'missing' when no export has that name,
 * 'not a function' when it names a memory, table, global or tag. Throws on a module it cannot
 * read (bytes cut short, a type section of GC types).
 */
export function exportedFunctionType(bytes: Uint8Array, name: string): FunctionType | 'missing' | 'not a function' {
  const secs = sections(bytes);
  const find = (id: number) => secs.find((s) => s.id === id);
  const exp = find(SECTION_EXPORT);
  if (!exp) return 'missing';
  let index = -1;
  const r = new Reader(bytes, exp.payload);
  for (let n = r.u32(); n > 0 && index < 0; n--) {
    const exportName = r.name();
    const kind = r.byte();
    const at = r.u32();
    if (exportName !== name) continue;
    if (kind !== KIND_FUNCTION) return 'not a function';
    index = at;
  }
  if (index < 0) return 'missing';
  // Imported functions come first in the function index space.
  const imported = importEntries(bytes, find(SECTION_IMPORT)).filter((e) => e.kind === KIND_FUNCTION);
  let typeIndex: number;
  if (index < imported.length) typeIndex = imported[index]!.typeIndex;
  else {
    const fs = find(SECTION_FUNCTION);
    if (!fs) throw new Error(`export ${name} names function ${index}, which the module does not have`);
    const f = new Reader(bytes, fs.payload);
    const count = f.u32();
    const k = index - imported.length;
    if (k >= count) throw new Error(`export ${name} names function ${index}, which the module does not have`);
    for (let i = 0; i < k; i++) f.u32();
    typeIndex = f.u32();
  }
  return functionType(bytes, find(SECTION_TYPE), typeIndex);
}

/** Entry `index` of the type section, a function type. */
function functionType(bytes: Uint8Array, s: { payload: number } | undefined, index: number): FunctionType {
  if (!s) throw new Error('the module has no type section');
  const r = new Reader(bytes, s.payload);
  const count = r.u32();
  if (index >= count) throw new Error(`type ${index} is not in the type section`);
  for (let i = 0; ; i++) {
    if (r.byte() !== 0x60) throw new Error('the type section holds types other than function types');
    const params = valueTypes(r);
    const results = valueTypes(r);
    if (i === index) return { params, results };
  }
}

function valueTypes(r: Reader): ValueType[] {
  const out: ValueType[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const b = r.bytes[r.pos]!;
    r.valType();
    out.push(VALUE_TYPES[b] ?? 'ref');
  }
  return out;
}

/** The names of the exports that are functions the module defines (not imports it exports again). */
export function definedFunctionExports(bytes: Uint8Array): string[] {
  const secs = sections(bytes);
  const exp = secs.find((s) => s.id === SECTION_EXPORT);
  if (!exp) return [];
  const imported = importEntries(
    bytes,
    secs.find((s) => s.id === SECTION_IMPORT),
  ).filter((e) => e.kind === KIND_FUNCTION).length;
  const out: string[] = [];
  const r = new Reader(bytes, exp.payload);
  for (let n = r.u32(); n > 0; n--) {
    const name = r.name();
    const kind = r.byte();
    const index = r.u32();
    if (kind === KIND_FUNCTION && index >= imported) out.push(name);
  }
  return out;
}
