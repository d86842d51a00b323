// A reactor made into a command. A reactor (`_initialize` plus exports, such as Ruby's
// ruby.wasm with its `ruby-init: func(args: list<string>) -> ()`) needs an embedder to call it;
// a command is started by `_start` alone, so `drawbridge run` (and log mode's restore, which
// starts the program again from `_start`) runs it like any other program. This rewrite adds
// that `_start`:
//
//     _start() {
//       _initialize()                                   // when the reactor exports one
//       args_sizes_get(&argc, &size); args_get(argv, buf) // the program's own arguments
//       list = cabi_realloc(0, 0, 4, argc * 8)
//       for each argument a: s = cabi_realloc(0, 0, 1, strlen(a) + 1); copy a and its NUL;
//                            list[i] = (s, strlen(a) + 1)
//       ENTRY(list, argc)
//     }
//
// The list is the canonical ABI's list<string> of the legacy wit-bindgen, as its JavaScript
// hosts pass it: (pointer, length) pairs, each string in its own allocation (the callee may
// free each), NUL-terminated with the NUL counted in the length (C code such as Ruby's passes
// them on as char*). The WASI imports are the module's own when it has them, added otherwise.
// `_start` returning is exit status 0; `_initialize` is no longer exported, since `_start`
// calls it (a host that calls `_initialize` before `_start`, as wasmtime does, would run the
// constructors twice). A failing args_get traps: it cannot fail for a host that answered
// args_sizes_get.

import { Reader, definedFuncTypes, funcTypes, importEntries, leb, nameBytes, sections, sleb } from './binary.ts';
import { SECTION, addFunctionImports, codeSection, funcTypeBytes, rebuild, renamed, typeIndex, withEntries } from './add-imports.ts';

const I32 = 0x7f;
const WASI = 'wasi_snapshot_preview1';
const ARGS_TYPE = funcTypeBytes([I32, I32], [I32]);
const ENTRY_TYPE = funcTypeBytes([I32, I32], []);
const REALLOC_TYPE = funcTypeBytes([I32, I32, I32, I32], [I32]);
const VOID_TYPE = funcTypeBytes([], []);

/** A module this rewrite cannot make into a command; the message names what is missing or wrong. */
export class CommandFromReactorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFromReactorError';
  }
}

interface Export {
  name: string;
  kind: number;
  index: number;
  /** Its bytes in the export section. */
  bytes: Uint8Array;
}

function exportsOf(bytes: Uint8Array, s: { payload: number } | undefined): Export[] {
  const out: Export[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    const name = r.name();
    const kind = r.byte();
    const index = r.u32();
    out.push({ name, kind, index, bytes: bytes.subarray(start, r.pos) });
  }
  return out;
}

const typeText = (t: Uint8Array | readonly number[]): string => {
  const names: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
  const r = new Reader(Uint8Array.from(t), 1);
  const list = () => Array.from({ length: r.u32() }, () => names[r.byte()] ?? 'ref').join(', ');
  const params = list();
  return `(${params}) -> (${list()})`;
};

/**
 * `bytes` (a reactor) with a `_start` that calls `_initialize`, then the export `entry`, of
 * type (i32 list, i32 length) -> (), with the program's arguments as a list<string>.
 */
export function commandFromReactor(bytes: Uint8Array, entry: string): Uint8Array {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d || bytes[4] !== 1) {
    throw new CommandFromReactorError('not a WebAssembly module (no \\0asm header, version 1)');
  }
  const secs = sections(bytes);
  const find = (id: number) => secs.find((s) => s.id === id);
  const types = funcTypes(bytes, find(SECTION.type));
  if (!types) throw new CommandFromReactorError('its type section holds types other than function types (GC), which this rewrite does not read');
  const imports = importEntries(bytes, find(SECTION.import));
  const funcImports = imports.filter((e) => e.kind === 0);
  const typeOfFunc = [...funcImports.map((e) => e.typeIndex), ...definedFuncTypes(bytes, find(SECTION.function))];
  const exports = exportsOf(bytes, find(SECTION.export));

  const funcExport = (name: string, type: readonly number[], what: string): number | null => {
    const e = exports.find((x) => x.name === name);
    if (!e) return null;
    if (e.kind !== 0) throw new CommandFromReactorError(`its export "${name}" is not a function`);
    const t = types[typeOfFunc[e.index] ?? -1];
    if (!t) throw new CommandFromReactorError(`its export "${name}" names function ${e.index}, which it does not have`);
    if (t.bytes.length !== type.length || t.bytes.some((b, i) => b !== type[i])) {
      throw new CommandFromReactorError(`its export "${name}" has type ${typeText(t.bytes)}, not ${typeText(type)} (${what})`);
    }
    return e.index;
  };
  if (exports.some((e) => e.name === '_start')) throw new CommandFromReactorError('it exports _start already: it is a command');
  const entryIndex = funcExport(entry, ENTRY_TYPE, 'a list<string> as (pointer, length)');
  if (entryIndex === null) {
    const names = exports.filter((e) => e.kind === 0).map((e) => `"${e.name}"`);
    throw new CommandFromReactorError(`it has no export "${entry}" (its functions: ${names.join(', ') || 'none'})`);
  }
  const reallocIndex = funcExport('cabi_realloc', REALLOC_TYPE, "the canonical ABI's allocator");
  if (reallocIndex === null) throw new CommandFromReactorError('it exports no cabi_realloc, the allocator the argument list is copied in with');
  const initIndex = funcExport('_initialize', VOID_TYPE, 'the constructors of a reactor');
  checkMemory(bytes, imports, find(SECTION.memory));

  // The WASI imports: the module's own, or added.
  const wanted = ['args_sizes_get', 'args_get'] as const;
  const have = new Map<string, number>();
  for (const name of wanted) {
    const k = funcImports.findIndex((e) => e.module === WASI && e.name === name);
    if (k < 0) continue;
    const t = types[funcImports[k]!.typeIndex]!;
    if (t.bytes.length !== ARGS_TYPE.length || t.bytes.some((b, i) => b !== ARGS_TYPE[i])) {
      throw new CommandFromReactorError(`its import ${WASI}.${name} has type ${typeText(t.bytes)}, not ${typeText(ARGS_TYPE)}`);
    }
    have.set(name, k);
  }
  const missing = wanted.filter((n) => !have.has(n));
  const added = addFunctionImports(
    bytes,
    missing.map((name) => ({ module: WASI, name, type: ARGS_TYPE })),
  );
  const shift = added.shift;
  missing.forEach((name, k) => have.set(name, added.indices[k]!));

  const typeSec = find(SECTION.type);
  const startType = typeIndex(bytes, typeSec, VOID_TYPE, added.types);
  const defined = typeOfFunc.length - funcImports.length;
  const startIndex = funcImports.length + missing.length + defined;
  const body = startBody({
    init: initIndex === null ? null : shift(initIndex),
    entry: shift(entryIndex),
    realloc: shift(reallocIndex),
    argsSizesGet: have.get('args_sizes_get')!,
    argsGet: have.get('args_get')!,
  });

  const replaced = added.replaced;
  replaced.set(SECTION.type, withEntries(bytes, typeSec, SECTION.type, added.types));
  replaced.set(SECTION.function, withEntries(bytes, find(SECTION.function), SECTION.function, [leb(startType)]));
  replaced.set(SECTION.code, codeSection(bytes, find(SECTION.code), missing.length > 0 ? shift : null, [Uint8Array.from([...leb(body.length), ...body])]));
  const kept = exports.filter((e) => e.name !== '_initialize');
  const exportEntries = kept.map((e) => (e.kind === 0 ? Uint8Array.from([...nameBytes(e.name), 0, ...leb(shift(e.index))]) : e.bytes));
  exportEntries.push(Uint8Array.from([...nameBytes('_start'), 0, ...leb(startIndex)]));
  replaced.set(SECTION.export, withEntries(new Uint8Array(0), undefined, SECTION.export, exportEntries));
  const names = new Map<number, string>(missing.map((name, k) => [added.indices[k]!, `${WASI}.${name}`]));
  names.set(startIndex, '_start');
  renamed(bytes, shift, names, replaced);
  return rebuild(bytes, replaced);
}

/** Memory 0 must be there, with 32-bit addresses (the code of _start uses i32 pointers). */
function checkMemory(bytes: Uint8Array, imports: ReturnType<typeof importEntries>, memSec: { payload: number } | undefined): void {
  const imported = imports.find((e) => e.kind === 2);
  let flags: number | undefined;
  if (imported) flags = bytes[imported.kindAt + 1];
  else if (memSec) {
    const r = new Reader(bytes, memSec.payload);
    if (r.u32() > 0) flags = r.byte();
  }
  if (flags === undefined) throw new CommandFromReactorError('it has no memory to copy the arguments into');
  if (flags & 4) throw new CommandFromReactorError('its memory has 64-bit addresses (memory64), which this rewrite does not handle');
}

interface StartCalls {
  init: number | null;
  entry: number;
  realloc: number;
  argsSizesGet: number;
  argsGet: number;
}

/** The body of _start (locals and code), calling the functions at these indices. */
function startBody(f: StartCalls): number[] {
  // Its locals, all i32.
  const [scratch, argc, argv, buf, list, i, p, n, s, j] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const get = (x: number) => [0x20, x];
  const set = (x: number) => [0x21, x];
  const c = (v: number) => [0x41, ...sleb(v)];
  const call = (x: number) => [0x10, ...leb(x)];
  const add = 0x6a;
  const load = (offset: number) => [0x28, 2, ...leb(offset)];
  const alloc = (align: number, size: number[]) => [...c(0), ...c(0), ...c(align), ...size, ...call(f.realloc)];
  const trapIfError = [0x04, 0x40, 0x00, 0x0b]; // if (error) unreachable
  // block { loop { if (cond) break; ...; continue } }
  const loopUntil = (cond: number[], body: number[]) => [0x02, 0x40, 0x03, 0x40, ...cond, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
  const code = [
    ...(f.init === null ? [] : call(f.init)),
    // argc and the size of the argument strings, in an allocation of 8 bytes
    ...alloc(4, c(8)),
    ...set(scratch),
    ...get(scratch),
    ...get(scratch),
    ...c(4),
    add,
    ...call(f.argsSizesGet),
    ...trapIfError,
    ...get(scratch),
    ...load(0),
    ...set(argc),
    ...alloc(4, [...get(argc), ...c(4), 0x6c]), // i32.mul
    ...set(argv),
    ...alloc(1, [...get(scratch), ...load(4)]),
    ...set(buf),
    ...get(argv),
    ...get(buf),
    ...call(f.argsGet),
    ...trapIfError,
    ...alloc(4, [...get(argc), ...c(8), 0x6c]),
    ...set(list),
    ...c(0),
    ...set(i),
    ...loopUntil(
      [...get(i), ...get(argc), 0x4f], // i >= argc
      [
        // p = argv[i]; n = strlen(p) + 1
        ...get(argv),
        ...get(i),
        ...c(2),
        0x74, // i32.shl
        add,
        ...load(0),
        ...set(p),
        ...c(0),
        ...set(n),
        ...loopUntil([...get(p), ...get(n), add, 0x2d, 0, 0, 0x45], [...get(n), ...c(1), add, ...set(n)]), // until p[n] == 0
        ...get(n),
        ...c(1),
        add,
        ...set(n),
        // s = a copy of the n bytes
        ...alloc(1, get(n)),
        ...set(s),
        ...c(0),
        ...set(j),
        ...loopUntil(
          [...get(j), ...get(n), 0x4f],
          [...get(s), ...get(j), add, ...get(p), ...get(j), add, 0x2d, 0, 0, 0x3a, 0, 0, ...get(j), ...c(1), add, ...set(j)], // s[j] = p[j]
        ),
        // list[i] = (s, n)
        ...get(list),
        ...get(i),
        ...c(3),
        0x74,
        add,
        0x22, // local.tee p: the entry's address (p is not needed any more)
        p,
        ...get(s),
        0x36,
        2,
        0, // i32.store
        ...get(p),
        ...get(n),
        0x36,
        2,
        4, // i32.store offset=4
        ...get(i),
        ...c(1),
        add,
        ...set(i),
      ],
    ),
    ...get(list),
    ...get(argc),
    ...call(f.entry),
    0x0b,
  ];
  return [1, 10, I32, ...code];
}
