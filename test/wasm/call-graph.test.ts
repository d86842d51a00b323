// The call graph (src/wasm/call-graph.ts): which functions can reach a set of imports, through
// direct calls and through indirect calls resolved by signature against the functions that can
// be called by reference. Hand-built modules for each rule, random graphs against a plain BFS,
// and the closure rules checked on a module clang built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { MODULE_HEADER, concat, leb, nameBytes, section } from '../../src/wasm/binary.ts';
import { CallGraphError, callGraph, functionsReaching, reaching } from '../../src/wasm/call-graph.ts';
import { assemble } from '../support/binaryen.ts';

const I32 = 0x7f;
const I64 = 0x7e;

/** A function type: its params and results. */
type Sig = { params: number[]; results: number[] };
/** A body: direct calls (function indices), indirect calls (type indices), ref.func (function indices). */
type Body = { calls?: number[]; indirect?: number[]; refs?: number[]; tableSet?: boolean };

interface Spec {
  types: Sig[];
  imports: { name: string; type: number }[];
  funcs: { type: number; body: Body }[];
  /** Function indices in an active element segment at offset 0. */
  table?: number[];
  exportTable?: boolean;
  exports?: number[];
  /** Function indices in a declarative segment. */
  declared?: number[];
}

/** A valid module from a spec: each call gets zero arguments pushed and its results dropped. */
function build(spec: Spec): Uint8Array {
  const sigOf = (typeIndex: number) => spec.types[typeIndex]!;
  const funcType = [...spec.imports.map((i) => i.type), ...spec.funcs.map((f) => f.type)];
  const zero = (t: number) => (t === I64 ? [0x42, 0] : [0x41, 0]);
  const types = spec.types.flatMap((t) => [0x60, ...leb(t.params.length), ...t.params, ...leb(t.results.length), ...t.results]);
  const imports = spec.imports.flatMap((i) => [...nameBytes('env'), ...nameBytes(i.name), 0x00, ...leb(i.type)]);
  const bodies = spec.funcs.map((f) => {
    const code: number[] = [0x00]; // no locals
    for (const c of f.body.calls ?? []) {
      const s = sigOf(funcType[c]!);
      code.push(...s.params.flatMap(zero), 0x10, ...leb(c), ...s.results.map(() => 0x1a));
    }
    for (const t of f.body.indirect ?? []) {
      const s = sigOf(t);
      code.push(...s.params.flatMap(zero), 0x41, 0, 0x11, ...leb(t), 0x00, ...s.results.map(() => 0x1a));
    }
    for (const r of f.body.refs ?? []) code.push(0xd2, ...leb(r), 0x1a);
    if (f.body.tableSet) code.push(0x41, 0, 0xd0, 0x70, 0x26, 0x00);
    code.push(...sigOf(f.type).results.flatMap(zero), 0x0b);
    return [...leb(code.length), ...code];
  });
  const table = spec.table ?? [];
  const refs = [...spec.funcs.flatMap((f) => f.body.refs ?? []), ...(spec.declared ?? [])];
  const exps = [
    ...(spec.exports ?? []).flatMap((f, k) => [...nameBytes(`e${k}`), 0x00, ...leb(f)]),
    ...(spec.exportTable ? [...nameBytes('table'), 0x01, 0] : []),
  ];
  const parts = [
    MODULE_HEADER,
    section(1, [...leb(spec.types.length), ...types]),
    section(2, [...leb(spec.imports.length), ...imports]),
    section(3, [...leb(spec.funcs.length), ...spec.funcs.flatMap((f) => leb(f.type))]),
    section(4, [1, 0x70, 0x00, ...leb(Math.max(table.length, 1))]),
    section(7, [...leb((spec.exports ?? []).length + (spec.exportTable ? 1 : 0)), ...exps]),
  ];
  const segments: number[][] = [];
  if (table.length) segments.push([0x00, 0x41, 0, 0x0b, ...leb(table.length), ...table.flatMap((f) => leb(f))]);
  // Functions named by ref.func in code must be declared: a declarative segment.
  if (refs.length) segments.push([0x03, 0x00, ...leb(refs.length), ...refs.flatMap((f) => leb(f))]);
  if (segments.length) parts.push(section(9, [...leb(segments.length), ...segments.flat()]));
  parts.push(section(10, [...leb(bodies.length), ...bodies.flat()]));
  const bytes = concat(parts);
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), 'the built module is valid');
  return bytes;
}

const WAIT = new Set(['env.wait']);
const reach = (bytes: Uint8Array, targets = WAIT) => [...functionsReaching(bytes, targets)];

test('direct calls: the callers of a waiting import, and their callers, and no other', () => {
  const bytes = build({
    types: [{ params: [], results: [] }],
    imports: [
      { name: 'wait', type: 0 },
      { name: 'clock', type: 0 },
    ],
    funcs: [
      { type: 0, body: { calls: [0] } }, // 2 waits
      { type: 0, body: { calls: [2] } }, // 3 calls 2
      { type: 0, body: { calls: [1] } }, // 4 calls the clock only
      { type: 0, body: { calls: [3, 4] } }, // 5 calls 3
      { type: 0, body: { calls: [6] } }, // 6 recursive, reaches nothing
    ],
  });
  assert.deepEqual(reach(bytes), [2, 3, 5]);
  assert.deepEqual(reach(bytes, new Set(['env.clock'])), [4, 5]);
  assert.deepEqual(reach(bytes, new Set(['env.none'])), []);
});

test('indirect calls reach the table functions of the same signature, compared by structure, not by type index', () => {
  const bytes = build({
    // Types 1 and 2 are the same signature under two indices; 3 is another.
    types: [
      { params: [], results: [] },
      { params: [I32], results: [I32] },
      { params: [I32], results: [I32] },
      { params: [I64], results: [I32] },
    ],
    imports: [{ name: 'wait', type: 0 }],
    funcs: [
      { type: 1, body: { calls: [0] } }, // 1: in the table, waits
      { type: 3, body: {} }, // 2: in the table, another signature
      { type: 0, body: { indirect: [2] } }, // 3: calls (i32)->i32 through type 2: reaches 1
      { type: 0, body: { indirect: [3] } }, // 4: calls (i64)->i32: reaches 2 only
      { type: 2, body: { calls: [0] } }, // 5: waits, (i32)->i32, but in no table
      { type: 0, body: { indirect: [1] } }, // 6: like 3
    ],
    table: [1, 2],
  });
  assert.deepEqual(reach(bytes), [1, 3, 5, 6]);
});

test('functions named by ref.func, and exported functions once the table is exported or written, can be called indirectly', () => {
  const spec: Spec = {
    types: [
      { params: [], results: [] },
      { params: [I32], results: [] },
    ],
    imports: [{ name: 'wait', type: 0 }],
    funcs: [
      { type: 1, body: { calls: [0] } }, // 1: waits, (i32)->()
      { type: 0, body: { indirect: [1] } }, // 2: calls (i32)->() indirectly
      { type: 1, body: { calls: [0] } }, // 3: waits, (i32)->(), exported
    ],
    exports: [3],
  };
  // Nothing can be called by reference: 2 reaches nothing.
  assert.deepEqual(reach(build(spec)), [1, 3]);
  // 1 is named by ref.func: 2 can reach it.
  const withRef = structuredClone(spec);
  withRef.funcs.push({ type: 0, body: { refs: [1] } });
  assert.deepEqual(reach(build(withRef)), [1, 2, 3]);
  // The table is exported: what is exported (3) can be put in it from outside.
  assert.deepEqual(reach(build({ ...spec, exportTable: true })), [1, 2, 3]);
  // table.set in code: the same.
  const withSet = structuredClone(spec);
  withSet.funcs.push({ type: 0, body: { tableSet: true } });
  assert.deepEqual(reach(build(withSet)), [1, 2, 3]);
});

test('an imported function in the table that waits is reached through indirect calls of its signature', () => {
  const bytes = build({
    types: [
      { params: [], results: [] },
      { params: [I32], results: [I32] },
    ],
    imports: [{ name: 'wait', type: 1 }],
    funcs: [{ type: 0, body: { indirect: [1] } }],
    table: [0],
  });
  assert.deepEqual(reach(bytes), [1]);
});

test('element segments of every form and ref.func in globals count as referenced', () => {
  const bytes = assemble(`(module
    (import "env" "wait" (func $wait))
    (type $v (func))
    (table 4 funcref)
    (global $g funcref (ref.func $by_global))
    (elem (i32.const 0) func $by_active)
    (elem $p func $by_passive)
    (func $by_active (call $wait))
    (func $by_passive (call $wait))
    (func $by_global (call $wait))
    (func $plain (call $wait))
    (func $caller (call_indirect (type $v) (i32.const 0))))`);
  const graph = callGraph(bytes);
  assert.deepEqual([...graph.referenced], [0, 1, 1, 1, 0, 0]);
  assert.deepEqual(reach(bytes), [1, 2, 3, 4, 5]);
  // A declarative segment (wasm-as leaves them out, so built by hand).
  const declared = build({
    types: [{ params: [], results: [] }],
    imports: [{ name: 'wait', type: 0 }],
    funcs: [
      { type: 0, body: { calls: [0] } },
      { type: 0, body: { indirect: [0] } },
    ],
    declared: [1],
  });
  assert.deepEqual([...callGraph(declared).referenced], [0, 1, 0]);
  assert.deepEqual(reach(declared), [1, 2]);
});

test('a module it cannot read is a CallGraphError, not a wrong answer', () => {
  const bytes = build({ types: [{ params: [], results: [] }], imports: [], funcs: [{ type: 0, body: {} }] });
  // The body's first instruction turned into an opcode that does not exist.
  const broken = Uint8Array.from(bytes);
  broken[broken.length - 2] = 0xff;
  assert.throws(() => callGraph(broken), CallGraphError);
});

/** The answer by the definition, on the spec: a fixpoint over calls and the table's signatures. */
function referenceReach(spec: Spec, referenced: Set<number>): number[] {
  const n = spec.imports.length;
  const key = (t: number) => JSON.stringify(spec.types[t]);
  const typeOf = (f: number) => (f < n ? spec.imports[f]!.type : spec.funcs[f - n]!.type);
  const marked = new Set<number>(spec.imports.flatMap((i, f) => (WAIT.has(`env.${i.name}`) ? [f] : [])));
  for (let changed = true; changed;) {
    changed = false;
    spec.funcs.forEach((fn, i) => {
      const f = n + i;
      if (marked.has(f)) return;
      const direct = (fn.body.calls ?? []).some((c) => marked.has(c));
      const indirect = (fn.body.indirect ?? []).some((t) => [...referenced].some((g) => marked.has(g) && key(typeOf(g)) === key(t)));
      if (direct || indirect) {
        marked.add(f);
        changed = true;
      }
    });
  }
  return [...marked].filter((f) => f >= n).sort((a, b) => a - b);
}

test('random call graphs: the set is the fixpoint computed by the definition', () => {
  const sigs: Sig[] = [
    { params: [], results: [] },
    { params: [I32], results: [I32] },
    { params: [I32], results: [I32] }, // the same signature again
    { params: [I64], results: [] },
  ];
  const arb = fc
    .record({ imports: fc.array(fc.record({ wait: fc.boolean(), type: fc.nat(3) }), { minLength: 1, maxLength: 4 }), count: fc.integer({ min: 1, max: 25 }) })
    .chain(({ imports, count }) => {
      const total = imports.length + count;
      const body = fc.record({ calls: fc.array(fc.nat(total - 1), { maxLength: 4 }), indirect: fc.array(fc.nat(3), { maxLength: 2 }) });
      return fc.record({
        imports: fc.constant(imports),
        funcs: fc.array(fc.record({ type: fc.nat(3), body }), { minLength: count, maxLength: count }),
        table: fc.uniqueArray(fc.nat(total - 1), { maxLength: 8 }),
      });
    });
  fc.assert(
    fc.property(arb, ({ imports, funcs, table }) => {
      const spec: Spec = { types: sigs, imports: imports.map((i, k) => ({ name: i.wait ? 'wait' : `other${k}`, type: i.type })), funcs, table };
      assert.deepEqual(reach(build(spec)), referenceReach(spec, new Set(table)));
    }),
    { numRuns: 300 },
  );
});

test('on a module clang built, the set is closed under callers: no caller of a marked function is left out', () => {
  const bytes = readFileSync('build/guests/checkpoint/counter.wasm');
  const graph = callGraph(bytes);
  const targets = new Set(['wasi_snapshot_preview1.poll_oneoff', 'wasi_snapshot_preview1.fd_write']);
  const marked = reaching(graph, targets);
  assert.ok(
    marked.some((m, f) => m === 1 && f >= graph.imported),
    'some function waits',
  );
  for (let k = 0; k < graph.callers.length; k++) if (marked[graph.callees[k]!]) assert.equal(marked[graph.callers[k]!], 1);
  const reachingSig = new Set<number>();
  for (let f = 0; f < graph.total; f++) if (graph.referenced[f] && marked[f]) reachingSig.add(graph.signatureOf[f]!);
  for (let k = 0; k < graph.indirectCallers.length; k++) if (reachingSig.has(graph.indirectSignatures[k]!)) assert.equal(marked[graph.indirectCallers[k]!], 1);
  // And each marked function has a reason: a marked callee or a reaching signature.
  const reason = new Uint8Array(graph.total);
  for (let k = 0; k < graph.callers.length; k++) if (marked[graph.callees[k]!]) reason[graph.callers[k]!] = 1;
  for (let k = 0; k < graph.indirectCallers.length; k++) if (reachingSig.has(graph.indirectSignatures[k]!)) reason[graph.indirectCallers[k]!] = 1;
  for (let f = graph.imported; f < graph.total; f++) if (marked[f]) assert.equal(reason[f], 1, `function ${f} is marked without a reason`);
});
