// Indirect calls made visible to Asyncify, so that it need not assume that every one of them
// may unwind. Binaryen's Asyncify instruments every call that may lead to an unwind (here: a
// wait or a tick), and it has no way to know where a `call_indirect` goes, so by default it
// instruments them all: a loop that calls a comparator through a pointer (qsort) checks
// Asyncify's state around every comparison, even when the comparator is a leaf that can
// never wait. With `asyncify-ignore-indirect` it assumes that no indirect call unwinds, which
// is only true if the ones that can are turned into direct calls first. This file does that:
//
//  - it finds which functions may unwind: those that call a capture import, directly or
//    through calls, an indirect call counting as a call of every function of its type that
//    the table holds;
//  - for each function type whose table entries include one that may unwind, it adds a
//    dispatcher, `(params..., index) -> results`, that switches on the table index with a
//    br_table and calls the entry directly (anything else: the original call_indirect, which
//    traps as it would have without the rewrite);
//  - each `call_indirect` of such a type becomes a call of its dispatcher.
//
// Indirect calls of the other types can then be ignored by Asyncify, exactly. Those of a type
// whose table entries are all one function (a comparator) get a guarded direct call besides:
// `index == slot ? f(args) : call_indirect(args, index)`. The optimizer after Asyncify then
// inlines the comparator into the loop that calls it, which more than pays for that loop's
// tick countdown (docs/snapshot.md, "Costs, measured"); any other index takes the
// original call_indirect, which traps as it would have.
//
// All of this needs a table whose contents are known: one table, not imported or exported,
// filled by active element segments at constant offsets, and never changed by code (no
// table.set, grow, init, copy, fill) nor reached through function references (call_ref).
// Anything else: null, and preparation keeps Asyncify's default.

import {
  Reader,
  UnknownImportKind,
  concat,
  definedFuncTypes,
  funcTypes,
  importEntries,
  leb,
  localsOf,
  localsWith,
  section,
  sections,
  sleb,
  type FuncType,
  type ImportEntry,
  type Locals,
} from './binary.ts';
import { skipInstruction } from './instructions.ts';

/** Tables bigger than this keep Asyncify's default (a dispatcher's br_table spans the table). */
const MAX_TABLE = 65536;

/** The module's functions, calls and table, or a Bail when its table cannot be known. */
function analyze(bytes: Uint8Array, unwinding: ReadonlySet<string>) {
  const secs = sections(bytes);
  const find = (id: number) => secs.find((s) => s.id === id);
  const types = funcTypes(bytes, find(1));
  if (!types) throw new Bail('a type other than a function type');

  // Imports: the type of each imported function, and whether it may unwind.
  const funcType: number[] = [];
  const mayUnwind: boolean[] = [];
  let imports: ImportEntry[];
  try {
    imports = importEntries(bytes, find(2));
  } catch (e) {
    throw e instanceof UnknownImportKind ? new Bail('an unknown import kind') : e;
  }
  for (const e of imports) {
    if (e.kind === 0) {
      funcType.push(e.typeIndex);
      mayUnwind.push(unwinding.has(`${e.module}.${e.name}`));
    } else if (e.kind === 1) throw new Bail('an imported table');
  }
  const imported = funcType.length;
  const fs = find(3);
  for (const t of definedFuncTypes(bytes, fs)) {
    funcType.push(t);
    mayUnwind.push(false);
  }
  const tables = find(4);
  if (tables && new Reader(bytes, tables.payload).u32() > 1) throw new Bail('more than one table');
  const exp = find(7);
  if (exp) {
    const r = new Reader(bytes, exp.payload);
    for (let n = r.u32(); n > 0; n--) {
      r.name();
      if (r.byte() === 1) throw new Bail('an exported table');
      r.u32();
    }
  }

  // The table's contents, from active segments at constant offsets.
  const table: number[] = [];
  const elem = find(9);
  if (elem) {
    const r = new Reader(bytes, elem.payload);
    for (let n = r.u32(); n > 0; n--) {
      const flags = r.u32();
      if (flags !== 0 && flags !== 2 && flags !== 4) throw new Bail('a passive, declarative or typed element segment');
      if (flags === 2 && r.u32() !== 0) throw new Bail('a segment for another table');
      if (r.byte() !== 0x41) throw new Bail('a segment offset that is not a constant');
      const offset = r.u32(); // non-negative offsets only
      if (r.byte() !== 0x0b) throw new Bail('a segment offset that is not a constant');
      if (flags === 2 && r.byte() !== 0x00) throw new Bail('an element kind other than funcref');
      const count = r.u32();
      if (offset + count > MAX_TABLE) throw new Bail('a table too big');
      for (let k = 0; k < count; k++) {
        if (flags === 4) {
          if (r.byte() !== 0xd2) throw new Bail('an element expression other than ref.func');
          table[offset + k] = r.u32();
          if (r.byte() !== 0x0b) throw new Bail('an element expression other than ref.func');
        } else table[offset + k] = r.u32();
      }
    }
  }

  // Calls of every defined function, and refusals.
  const code = find(10);
  const direct: number[][] = [];
  const indirect: number[][] = []; // type indices
  const bodies: ({ start: number; end: number } & Locals)[] = [];
  if (code) {
    const r = new Reader(bytes, code.payload);
    for (let n = r.u32(); n > 0; n--) {
      const size = r.u32();
      const start = r.pos;
      const end = start + size;
      const locals = localsOf(bytes, start);
      r.pos = locals.first;
      const d: number[] = [];
      const ind: number[] = [];
      while (r.pos < end) {
        const at = r.pos;
        const op = skipInstruction(r);
        if (op === 0x10 || op === 0x12) d.push(new Reader(bytes, at + 1).u32());
        else if (op === 0x11 || op === 0x13) {
          const a = new Reader(bytes, at + 1);
          ind.push(a.u32());
          if (a.u32() !== 0) throw new Bail('an indirect call through another table');
        } else if (op === 0x14 || op === 0x15) throw new Bail('call_ref');
        else if (op === 0x26) throw new Bail('table.set');
        else if (op === 0xfc) {
          const sub = new Reader(bytes, at + 1).u32();
          if (sub === 12 || sub === 14 || sub === 15 || sub === 17) throw new Bail('an instruction that changes the table');
        }
      }
      direct.push(d);
      indirect.push(ind);
      bodies.push({ start, end, ...locals });
      r.pos = end;
    }
  }

  // Which table entries each type key reaches.
  const keyOf = (typeIndex: number) => types[typeIndex]!.key;
  const targets = new Map<string, Set<number>>();
  for (const f of table) {
    if (f === undefined) continue;
    const k = keyOf(funcType[f]!);
    if (!targets.has(k)) targets.set(k, new Set());
    targets.get(k)!.add(f);
  }
  return { secs, find, fs, types, funcType, mayUnwind, imported, table, direct, indirect, bodies, keyOf, targets };
}

/** Why the module cannot be rewritten (a thrown Bail is not an error, just a refusal). */
class Bail extends Error {}

export interface Devirtualized {
  bytes: Uint8Array;
  /** Dispatchers added (one per function type whose indirect calls may unwind). */
  dispatchers: number;
  /** Indirect calls given a guarded direct call (their type reaches one function only). */
  guarded: number;
  // Both 0: `bytes` is the module given, unchanged.
}

/**
 * The module with its unwinding indirect calls made direct, and those of one possible target
 * guarded, or null when its table cannot be known (see the top). `unwinding` names the imports
 * that may unwind, as `module.field`.
 */
export function devirtualizeUnwinding(bytes: Uint8Array, unwinding: ReadonlySet<string>): Devirtualized | null {
  try {
    return rewrite(bytes, unwinding);
  } catch (e) {
    if (e instanceof Bail) return null;
    throw e;
  }
}

/**
 * For each signature (a type's key), the functions of the table with that signature: what a
 * `call_indirect` of that type can reach. Null when the table cannot be known (see the top).
 */
export function indirectTargets(bytes: Uint8Array): { keyOf: (typeIndex: number) => string; targets: Map<string, Set<number>> } | null {
  try {
    const a = analyze(bytes, new Set());
    return { keyOf: a.keyOf, targets: a.targets };
  } catch (e) {
    if (e instanceof Bail) return null;
    throw e;
  }
}

function rewrite(bytes: Uint8Array, unwinding: ReadonlySet<string>): Devirtualized {
  const { secs, find, fs, types, funcType, mayUnwind, imported, table, direct, indirect, bodies, keyOf, targets } = analyze(bytes, unwinding);
  // The fixpoint of "may unwind" over direct calls and the table's signatures.
  const keyUnwinds = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < bodies.length; i++) {
      const f = imported + i;
      if (mayUnwind[f]) continue;
      if (direct[i]!.some((c) => mayUnwind[c]) || indirect[i]!.some((t) => keyUnwinds.has(keyOf(t)))) {
        mayUnwind[f] = true;
        changed = true;
      }
    }
    for (const [k, fsOfKey] of targets) {
      if (!keyUnwinds.has(k) && [...fsOfKey].some((f) => mayUnwind[f])) {
        keyUnwinds.add(k);
        changed = true;
      }
    }
  }
  // Types that reach one function only, which cannot unwind: a guarded direct call (the top).
  const single = new Map<string, { f: number; slot: number }>();
  for (const [k, fsOfKey] of targets) {
    const t = types.find((x) => x.key === k)!;
    if (keyUnwinds.has(k) || fsOfKey.size !== 1 || signatureOf(t) === null) continue;
    const f = fsOfKey.values().next().value!;
    single.set(k, { f, slot: table.indexOf(f) });
  }
  if (keyUnwinds.size === 0 && single.size === 0) return { bytes, dispatchers: 0, guarded: 0 };

  // One dispatcher per unwinding key: new types, functions and bodies.
  const keys = [...keyUnwinds];
  const firstType = types.length;
  const firstDispatcher = funcType.length;
  const dispatcherOf = new Map(keys.map((k, j) => [k, firstDispatcher + j]));
  const newTypes: Uint8Array[] = [];
  const newBodies: Uint8Array[] = [];
  for (const k of keys) {
    const typeIndex = types.findIndex((t) => t.key === k);
    const t = types[typeIndex]!;
    // (params..., i32) -> results: the params with one more i32 appended.
    const r = new Reader(t.bytes, 1);
    const params = r.u32();
    const paramStart = r.pos;
    for (let p = 0; p < params; p++) r.valType();
    const paramBytes = t.bytes.subarray(paramStart, r.pos);
    newTypes.push(concat([Uint8Array.from([0x60, ...leb(params + 1)]), paramBytes, Uint8Array.from([0x7f]), t.bytes.subarray(r.pos)]));
    newBodies.push(dispatcher(table, [...targets.get(k)!], params, typeIndex));
  }

  // Rewritten bodies: call_indirect of an unwinding key -> call of its dispatcher; of a key
  // with one target -> the guarded call, through locals of its own (new ones, per body and key).
  const outBodies: Uint8Array[] = [];
  let guarded = 0;
  for (let i = 0; i < bodies.length; i++) {
    const b = bodies[i]!;
    const parts: Uint8Array[] = [];
    let copyFrom = b.first;
    const firstNew = types[funcType[imported + i]!]!.params + b.declared;
    const newLocals: number[] = [];
    const argsAt = new Map<string, number>();
    const r = new Reader(bytes, b.first);
    while (r.pos < b.end) {
      const at = r.pos;
      const op = skipInstruction(r);
      if (op !== 0x11 && op !== 0x13) continue;
      const typeIndex = new Reader(bytes, at + 1).u32();
      const key = keyOf(typeIndex);
      const d = dispatcherOf.get(key);
      const one = op === 0x11 ? single.get(key) : undefined;
      if (d === undefined && one === undefined) continue;
      let replacement: number[];
      if (d !== undefined) replacement = [op === 0x11 ? 0x10 : 0x12, ...leb(d)];
      else {
        const sig = signatureOf(types[typeIndex]!)!;
        let base = argsAt.get(key);
        if (base === undefined) {
          base = firstNew + newLocals.length;
          argsAt.set(key, base);
          newLocals.push(0x7f, ...sig.params);
        }
        replacement = guardedCall(one!.f, one!.slot, typeIndex, sig, base);
        guarded++;
      }
      parts.push(bytes.subarray(copyFrom, at), Uint8Array.from(replacement));
      copyFrom = r.pos;
    }
    parts.push(bytes.subarray(copyFrom, b.end));
    const locals = newLocals.length === 0 ? bytes.subarray(b.start, b.first) : localsWith(bytes, b, newLocals);
    const body = concat([locals, ...parts]);
    outBodies.push(Uint8Array.from(leb(body.length)), body);
  }
  for (const body of newBodies) outBodies.push(Uint8Array.from(leb(body.length)), body);

  const typeSec = find(1)!;
  const typeEntries = bytes.subarray(afterCount(bytes, typeSec.payload), typeSec.end);
  const newTypeSection = section(1, concat([Uint8Array.from(leb(types.length + keys.length)), typeEntries, ...newTypes]));
  const definedCount = funcType.length - imported;
  const funcEntries = fs ? bytes.subarray(afterCount(bytes, fs.payload), fs.end) : new Uint8Array(0);
  const newFuncSection = section(
    3,
    concat([Uint8Array.from(leb(definedCount + keys.length)), funcEntries, Uint8Array.from(keys.flatMap((_, j) => leb(firstType + j)))]),
  );
  const newCodeSection = section(10, concat([Uint8Array.from(leb(bodies.length + keys.length)), ...outBodies]));
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of secs) {
    if (s.id === 1) out.push(newTypeSection);
    else if (s.id === 3) out.push(newFuncSection);
    else if (s.id === 10) out.push(newCodeSection);
    else out.push(bytes.subarray(s.start, s.end));
  }
  return { bytes: concat(out), dispatchers: keys.length, guarded };
}

/** A type's parameter types and its block type, when all are one-byte value types and it has at most one result. */
function signatureOf(t: FuncType): { params: number[]; block: number } | null {
  const r = new Reader(t.bytes, 1);
  const params: number[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const v = r.byte();
    if (!SIMPLE_TYPES.has(v)) return null;
    params.push(v);
  }
  const results = r.u32();
  if (results > 1) return null;
  const block = results === 0 ? 0x40 : r.byte();
  return block === 0x40 || SIMPLE_TYPES.has(block) ? { params, block } : null;
}

const SIMPLE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/**
 * In place of `call_indirect typeIndex` (args and index on the stack), with locals `base`
 * (the index, i32) and `base + 1 ...` (the args):
 *
 *     local.set index; local.set argN ... arg1
 *     local.get index; i32.const slot; i32.eq
 *     if (result)  args; call f
 *     else         args; local.get index; call_indirect typeIndex
 *     end
 */
function guardedCall(f: number, slot: number, typeIndex: number, sig: { params: number[]; block: number }, base: number): number[] {
  const n = sig.params.length;
  const args = Array.from({ length: n }, (_, p) => [0x20, ...leb(base + 1 + p)]).flat();
  const out = [0x21, ...leb(base)];
  for (let p = n - 1; p >= 0; p--) out.push(0x21, ...leb(base + 1 + p));
  out.push(0x20, ...leb(base), 0x41, ...sleb(slot), 0x46, 0x04, sig.block);
  out.push(...args, 0x10, ...leb(f), 0x05);
  out.push(...args, 0x20, ...leb(base), 0x11, ...leb(typeIndex), 0x00, 0x0b);
  return out;
}

/** Where a section's entries begin, past its count. */
function afterCount(bytes: Uint8Array, payload: number): number {
  const r = new Reader(bytes, payload);
  r.u32();
  return r.pos;
}

/**
 *     block                       ;; default
 *       block                     ;; case m-1
 *         ...
 *           block                 ;; case 0
 *             local.get $index
 *             br_table (case of each table index, or default)
 *           end
 *           args; call f0; return
 *         ...
 *       end
 *       args; call f(m-1); return
 *     end
 *     args; local.get $index; call_indirect (the original type)   ;; traps as the original would
 */
function dispatcher(table: number[], funcs: number[], params: number, typeIndex: number): Uint8Array {
  const m = funcs.length;
  const caseOf = new Map(funcs.map((f, j) => [f, j]));
  const args = Array.from({ length: params }, (_, p) => [0x20, ...leb(p)]).flat();
  const index = [0x20, ...leb(params)];
  const labels: number[] = [];
  for (let i = 0; i < table.length; i++) {
    const f = table[i];
    labels.push(...leb(f !== undefined && caseOf.has(f) ? caseOf.get(f)! : m));
  }
  const parts: number[][] = [[0x00]]; // no locals beyond the parameters
  for (let j = 0; j <= m; j++) parts.push([0x02, 0x40]);
  parts.push([...index, 0x0e, ...leb(table.length), ...labels, ...leb(m), 0x0b]);
  for (let j = 0; j < m; j++) parts.push([...args, 0x10, ...leb(funcs[j]!), 0x0f, 0x0b]);
  parts.push([...args, ...index, 0x11, ...leb(typeIndex), 0x00, 0x0b]);
  return Uint8Array.from(parts.flat());
}
