// Just enough of the Wasm binary format to prepare a module for capture: find its mutable
// globals (imported ones included in the index space) and export each of them under a
// name of ours, so that a checkpoint can read them and a restore write them back. The
// stack pointer of a C program, for one, is such a global and is normally not exported.

import { Reader, concat, importEntries, leb, nameBytes, section, sections } from './binary.ts';

const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const KIND_GLOBAL = 3;

export const GLOBAL_EXPORT_PREFIX = '__drawbridge_global_';

export interface MutableGlobal {
  index: number;
  /** i32, i64, f32, f64, v128, funcref, externref */
  type: string;
}

const VALTYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

export function mutableGlobals(bytes: Uint8Array): MutableGlobal[] {
  const secs = sections(bytes);
  let index = 0;
  const out: MutableGlobal[] = [];
  for (const e of importEntries(
    bytes,
    secs.find((s) => s.id === SECTION_IMPORT),
  )) {
    if (e.kind !== KIND_GLOBAL) continue;
    if (e.mutable) out.push({ index, type: VALTYPES[e.valType] ?? 'unknown' });
    index++;
  }
  const glob = secs.find((s) => s.id === SECTION_GLOBAL);
  if (glob) {
    const r = new Reader(bytes, glob.payload);
    for (let n = r.u32(); n > 0; n--) {
      const type = VALTYPES[r.byte()] ?? 'unknown';
      if (r.byte() === 1) out.push({ index, type });
      r.constExpr();
      index++;
    }
  }
  return out;
}

/** The module with every mutable global also exported as __drawbridge_global_<index>. */
export function exportMutableGlobals(bytes: Uint8Array): Uint8Array {
  const globals = mutableGlobals(bytes);
  if (globals.length === 0) return bytes;
  const secs = sections(bytes);
  const exp = secs.find((s) => s.id === SECTION_EXPORT);
  let count = 0;
  let entries: Uint8Array = new Uint8Array(0);
  if (exp) {
    const r = new Reader(bytes, exp.payload);
    count = r.u32();
    entries = bytes.subarray(r.pos, exp.end);
  }
  const added: number[] = [];
  for (const g of globals) added.push(...nameBytes(GLOBAL_EXPORT_PREFIX + g.index), KIND_GLOBAL, ...leb(g.index));
  const payload = [...leb(count + globals.length), ...entries, ...added];
  const section = new Uint8Array([SECTION_EXPORT, ...leb(payload.length), ...payload]);
  if (exp) {
    return concat([bytes.subarray(0, exp.start), section, bytes.subarray(exp.end)]);
  }
  // No export section: insert one where it belongs, after the sections with smaller ids.
  const after = secs.filter((s) => s.id !== 0 && s.id < SECTION_EXPORT).pop();
  const at = after ? after.end : 8;
  return concat([bytes.subarray(0, at), section, bytes.subarray(at)]);
}

/** The names a module exports (read from its export section, without compiling it). */
export function exportNames(bytes: Uint8Array): string[] {
  const exp = sections(bytes).find((s) => s.id === SECTION_EXPORT);
  if (!exp) return [];
  const r = new Reader(bytes, exp.payload);
  const out: string[] = [];
  for (let n = r.u32(); n > 0; n--) {
    out.push(r.name());
    r.byte();
    r.skipLeb();
  }
  return out;
}

/** A custom section (id 0) with this name and no content. */
export function customSection(name: string): Uint8Array {
  return section(0, nameBytes(name));
}

/** The names of a module's custom sections. */
export function customSectionNames(bytes: Uint8Array): string[] {
  return sections(bytes)
    .filter((s) => s.id === 0)
    .map((s) => new Reader(bytes, s.payload).name());
}
