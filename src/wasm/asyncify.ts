// Waits-only Asyncify without Binaryen: the functions that can reach an import that may wait
// (wasm/call-graph.ts) are instrumented in one linear pass over their bytes, so that a call to
// such an import can unwind the stack into a buffer and the stack can later be rewound from it,
// in this process or another. The result speaks Binaryen's Asyncify ABI (the five exports
// asyncify_start_unwind, stop_unwind, start_rewind, stop_rewind, get_state; state 0 normal,
// 1 unwinding, 2 rewinding; the buffer is {i32 current, i32 end} at the address given), so the
// runtime's capture (checkpoint/capture.ts) drives it as it drives Binaryen's.
//
// How one function is instrumented (no flattening, unlike Binaryen):
// - A *site* is a call that may unwind: a direct call to an instrumented function or to one of
//   the imports, or an indirect call of a signature some such function has. A construct
//   (block, loop, if) holding a site on a reachable path is *special*; the body of the
//   function and of each special construct is a *level*.
// - Within a level, the instructions between specials form *runs*. Each run is wrapped in
//   `if (state != 2)`, so a rewind skips every run and goes straight to the site it left from.
//   What the stack holds where a run ends is put in locals (spilled) and taken back at the start
//   of the next run, so that each run is stack-neutral and a special starts on an empty stack
//   of its level: a special construct becomes void (its results pass through locals, and the
//   branches that carry values to it set those locals), an `if` takes its condition from a
//   local (restored by a rewind, so it enters the branch it was in).
// - A site runs when `state != 2 || idx == K` (K its number): on a rewind only the site the
//   unwind left from is called again. After it, `state == 1` means an unwind: idx = K, and a
//   branch to the function's unwind path, which pushes every local (and idx) onto the buffer
//   and returns zeros. At entry, `state == 2` pops them back.
// - Spill slots are reused by every level that does not need what an enclosing one holds.
// - Guards on every run and call would slow the program down whether it is ever captured or
//   not, so each function gets two versions with one frame layout. The *fast* one, in the
//   function's place, is the original code with `idx = K` before each site and a branch to
//   the unwind path after it while `state` is set (after a call in a fast version the state is
//   0 or 1: a rewind runs in rewind versions). It leaves the operand stack as the original does and writes only the slots the
//   rewind version reads on its way back to a site: what lies below a call, an import's
//   arguments (the call is made again), an indirect call's table index, an if's condition
//   and what lies below a construct holding a site. The *rewind* one, appended after the
//   module's functions, has all of the above. A fast version that can be entered from outside
//   (exported or referenced) calls its rewind version when entered while rewinding; a rewind
//   version's direct site calls the callee's rewind version while rewinding and its fast one
//   after, so a restored program runs only the frames it was captured in as rewind code.
// - The unwind path of a version pushes its locals as the arguments of a *saver*, one function
//   per frame layout (the types of its locals), which writes them to the buffer: V8 compiles a
//   saver only when a capture runs it, and the path in each function is two bytes a local.
// - withoutRewindVersions gives the module a run needs until a rewind: the same, each rewind
//   version's body `unreachable` (runtime/prepare.ts caches both; a rewind moves the program
//   onto the whole module, checkpoint/capture.ts).
//
// What it does not take (AsyncifyUnsupported; the caller then uses Binaryen): in a function
// to instrument, references, SIMD, atomics, exceptions, tail calls, a special construct with
// parameters, a `br_table` carrying values to a special construct; a 64-bit memory, no memory,
// or types other than function types.

import { callGraph, reaching, type CallGraph } from './call-graph.ts';
import { Reader, concat, importEntries, leb, nameBytes, section, sections, sleb, type Section } from './binary.ts';
import { skipInstruction } from './instructions.ts';
import { rebuild } from './add-imports.ts';
import { F32, F64, I32, I64, fixedEffect, prefixedEffect, sizeOf } from './operand-types.ts';

export class AsyncifyUnsupported extends Error {}

/** The exports the result has, as Binaryen's Asyncify names them. */
export const ASYNCIFY_FUNCTIONS = [
  'asyncify_start_unwind',
  'asyncify_stop_unwind',
  'asyncify_start_rewind',
  'asyncify_stop_rewind',
  'asyncify_get_state',
] as const;

interface FnType {
  params: number[];
  results: number[];
  key: string;
}

/** What instrumenting a module gives. */
export interface Instrumented {
  bytes: Uint8Array;
  /** How many functions were instrumented, of how many defined. */
  instrumented: number;
  defined: number;
}

/**
 * `bytes` (a valid module) with the functions that can reach one of `targets` (imports named
 * `module.name`) instrumented, and Asyncify's globals and exports added. Throws
 * AsyncifyUnsupported where the module has what this does not take.
 */
export function instrumentWaits(bytes: Uint8Array, targets: ReadonlySet<string>, graph: CallGraph = callGraph(bytes)): Instrumented {
  const secs = sections(bytes);
  const find = (id: number): Section | undefined => secs.find((s) => s.id === id);
  const types = readTypes(bytes, find(1));
  const imports = importEntries(bytes, find(2));
  const funcType: number[] = [];
  const globalTypes: number[] = [];
  let memories = 0;
  for (const e of imports) {
    if (e.kind === 0) funcType.push(e.typeIndex);
    else if (e.kind === 3) globalTypes.push(e.valType);
    else if (e.kind === 2) {
      memories++;
      if (bytes[e.kindAt + 1]! & 0x04) throw new AsyncifyUnsupported('its memory is 64-bit');
    }
  }
  const imported = funcType.length;
  const funcSec = find(3);
  if (funcSec) {
    const r = new Reader(bytes, funcSec.payload);
    for (let n = r.u32(); n > 0; n--) funcType.push(r.u32());
  }
  const memSec = find(5);
  if (memSec) {
    const r = new Reader(bytes, memSec.payload);
    for (let n = r.u32(); n > 0; n--) {
      if (r.bytes[r.pos]! & 0x04) throw new AsyncifyUnsupported('its memory is 64-bit');
      r.limits();
      memories++;
    }
  }
  if (memories === 0) throw new AsyncifyUnsupported('it has no memory to unwind into');
  const globSec = find(6);
  if (globSec) {
    const r = new Reader(bytes, globSec.payload);
    for (let n = r.u32(); n > 0; n--) {
      globalTypes.push(r.bytes[r.pos]!);
      r.valType();
      r.byte();
      r.constExpr();
    }
  }
  const stateGlobal = globalTypes.length;
  const dataGlobal = stateGlobal + 1;

  const marked = reaching(graph, targets);
  const unwindingKeys = new Set<string>();
  for (let f = 0; f < graph.total; f++) if (marked[f] && graph.referenced[f]) unwindingKeys.add(types[funcType[f]!]!.key);

  // Savers: one function per frame layout (the types of the locals a frame holds), called by
  // the unwind path of every version with that layout. They run only when a program is
  // captured, so V8 never compiles them in a run that is not; the unwind path in each function
  // shrinks to its locals pushed as arguments.
  const savers = new Map<string, { index: number; types: readonly number[] }>();
  let saverBase = -1;
  const saverFor = (ts: readonly number[]): number | null => {
    if (ts.length > MAX_SAVER_PARAMS) return null;
    const key = String.fromCharCode(...ts);
    let saver = savers.get(key);
    if (!saver) savers.set(key, (saver = { index: saverBase + savers.size, types: ts }));
    return saver.index;
  };
  const ctx: ModuleContext = { types, funcType, globalTypes, marked, unwindingKeys, stateGlobal, dataGlobal, imported, saverFor };

  // Each instrumented function gets a rewind version, appended after the module's functions in
  // the order of the originals; the five Asyncify functions come after them.
  const defined = funcType.length - imported;
  const rewindIndex = new Int32Array(funcType.length).fill(-1);
  let instrumented = 0;
  for (let f = imported; f < funcType.length; f++) if (marked[f]) rewindIndex[f] = funcType.length + instrumented++;
  // After the rewind versions come the five Asyncify functions, then the savers.
  saverBase = funcType.length + instrumented + ASYNCIFY_FUNCTIONS.length;
  const enterable = new Uint8Array(funcType.length);
  for (let f = 0; f < graph.total; f++) if (graph.referenced[f]) enterable[f] = 1;
  for (const f of exportedFunctions(bytes, find(7))) enterable[f] = 1;
  const rewindOf = (f: number): number => rewindIndex[f]!;

  // The code: the fast versions (the others as they are), the rewind versions, the five functions.
  const code = find(10);
  const bodies: Uint8Array[] = [];
  const rewinds: Uint8Array[] = [];
  if (code) {
    const r = new Reader(bytes, code.payload);
    for (let n = r.u32(), i = 0; i < n; i++) {
      const size = r.u32();
      const start = r.pos;
      r.pos += size;
      const f = imported + i;
      if (!marked[f]) {
        bodies.push(bytes.subarray(start - leb(size).length, r.pos));
        continue;
      }
      const type = types[funcType[f]!]!;
      try {
        const { locals, first } = localTypes(bytes, start, type.params);
        const body: Body = { start, first, end: r.pos, locals, specials: analyze(bytes, first, r.pos, type, locals, ctx) };
        const fast = instrumentFunction(bytes, body, type, ctx, { fast: true, redirectTo: enterable[f] ? rewindIndex[f]! : null });
        const rewind = instrumentFunction(bytes, body, type, ctx, { fast: false, rewindOf });
        bodies.push(Uint8Array.from(leb(fast.length)), fast);
        rewinds.push(Uint8Array.from(leb(rewind.length)), rewind);
      } catch (e) {
        if (e instanceof AsyncifyUnsupported) throw new AsyncifyUnsupported(`function ${f}: ${e.message}`);
        throw e;
      }
    }
  }
  for (const b of rewinds) bodies.push(b);
  const typeCount = types.length;
  const newTypes = [
    [0x60, 1, I32, 0], // (i32) -> ()
    [0x60, 0, 0], // () -> ()
    [0x60, 0, 1, I32], // () -> i32
  ];
  const newFuncTypes = [typeCount, typeCount + 1, typeCount, typeCount + 1, typeCount + 2];
  const rewindTypes: number[] = [];
  for (let f = imported; f < funcType.length; f++) if (marked[f]) rewindTypes.push(funcType[f]!);
  const check = [...gget(dataGlobal), ...load(I32, 0), ...gget(dataGlobal), ...load(I32, 4), 0x4b, 0x04, 0x40, 0x00, 0x0b];
  const newBodies = [
    [...i32c(1), ...gset(stateGlobal), 0x20, 0x00, ...gset(dataGlobal), ...check],
    [...i32c(0), ...gset(stateGlobal), ...check],
    [...i32c(2), ...gset(stateGlobal), 0x20, 0x00, ...gset(dataGlobal), ...check],
    [...i32c(0), ...gset(stateGlobal)],
    [...gget(stateGlobal)],
  ].map((b) => [0x00, ...b, 0x0b]);
  for (const b of newBodies) bodies.push(Uint8Array.from([...leb(b.length), ...b]));
  const firstNew = funcType.length + instrumented;
  const saverTypes: Uint8Array[] = [];
  const saverFuncTypes: number[] = [];
  for (const { types: ts } of savers.values()) {
    saverFuncTypes.push(typeCount + newTypes.length + saverTypes.length);
    saverTypes.push(Uint8Array.from([0x60, ...leb(ts.length), ...ts, 0]));
    const body = saverBody(ts, dataGlobal);
    bodies.push(Uint8Array.from(leb(body.length)), body);
  }

  const replaced = new Map<number, Uint8Array>();
  replaced.set(1, vectorWith(bytes, find(1), 1, [...newTypes.map((t) => Uint8Array.from(t)), ...saverTypes]));
  replaced.set(
    3,
    vectorWith(
      bytes,
      funcSec,
      3,
      [...rewindTypes, ...newFuncTypes, ...saverFuncTypes].map((t) => Uint8Array.from(leb(t))),
    ),
  );
  const mutI32 = Uint8Array.from([I32, 0x01, 0x41, 0x00, 0x0b]);
  replaced.set(6, vectorWith(bytes, globSec, 6, [mutI32, mutI32]));
  replaced.set(
    7,
    vectorWith(
      bytes,
      find(7),
      7,
      ASYNCIFY_FUNCTIONS.map((name, k) => Uint8Array.from([...nameBytes(name), 0x00, ...leb(firstNew + k)])),
    ),
  );
  replaced.set(10, section(10, concat([Uint8Array.from(leb(defined + instrumented + newBodies.length + savers.size)), ...bodies])));

  return { bytes: rebuild(bytes, replaced), instrumented, defined };
}

/**
 * The module to run when no rewind is expected: `prepared` (instrumentWaits' output, `counts`
 * its figures) with every rewind version's body replaced by `unreachable`. It unwinds as the
 * whole module does, and the same frames; a rewind (a restore, or going on after a checkpoint)
 * needs the whole one. Its fast versions are all that V8 validates and compiles in a run.
 */
export function withoutRewindVersions(prepared: Uint8Array, counts: Pick<Instrumented, 'defined' | 'instrumented'>): Uint8Array {
  const code = sections(prepared).find((s) => s.id === 10);
  if (!code) return prepared;
  const r = new Reader(prepared, code.payload);
  const n = r.u32();
  const parts: Uint8Array[] = [Uint8Array.from(leb(n))];
  const stub = Uint8Array.from([3, 0x00, 0x00, 0x0b]); // size 3: no locals, unreachable, end
  let runStart = r.pos;
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const size = r.u32();
    r.pos += size;
    if (i >= counts.defined && i < counts.defined + counts.instrumented) {
      parts.push(prepared.subarray(runStart, at), stub);
      runStart = r.pos;
    }
  }
  parts.push(prepared.subarray(runStart, r.pos));
  const replaced = new Map<number, Uint8Array>([[10, section(10, concat(parts))]]);
  return rebuild(prepared, replaced);
}

/** The functions the export section exports. */
function exportedFunctions(bytes: Uint8Array, s: Section | undefined): number[] {
  const out: number[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    r.name();
    const kind = r.byte();
    const index = r.u32();
    if (kind === 0) out.push(index);
  }
  return out;
}

function readTypes(bytes: Uint8Array, s: Section | undefined): FnType[] {
  const out: FnType[] = [];
  if (!s) return out;
  const r = new Reader(bytes, s.payload);
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    if (r.byte() !== 0x60) throw new AsyncifyUnsupported('it has types other than function types');
    const params: number[] = [];
    const results: number[] = [];
    for (let k = r.u32(); k > 0; k--) params.push(r.byte());
    for (let k = r.u32(); k > 0; k--) results.push(r.byte());
    out.push({ params, results, key: Buffer.from(bytes.subarray(start, r.pos)).toString('hex') });
  }
  return out;
}

/** A vector section with entries appended (made, with id `id`, when the module has none). */
function vectorWith(bytes: Uint8Array, s: Section | undefined, id: number, entries: Uint8Array[]): Uint8Array {
  if (!s) return section(id, concat([Uint8Array.from(leb(entries.length)), ...entries]));
  const r = new Reader(bytes, s.payload);
  const count = r.u32();
  return section(s.id, concat([Uint8Array.from(leb(count + entries.length)), bytes.subarray(r.pos, s.end), ...entries]));
}

interface ModuleContext {
  types: FnType[];
  funcType: number[];
  globalTypes: number[];
  marked: Uint8Array;
  unwindingKeys: Set<string>;
  stateGlobal: number;
  dataGlobal: number;
  /** How many functions are imported (a direct callee below it is an import). */
  imported: number;
  /** The function that pushes a frame of these local types (savers), or null: the unwind path pushes it itself. */
  saverFor: (types: readonly number[]) => number | null;
}

const i32c = (n: number): number[] => [0x41, ...sleb(n)];
const gget = (g: number): number[] => [0x23, ...leb(g)];
const gset = (g: number): number[] => [0x24, ...leb(g)];
const LOAD: Record<number, number> = { [I32]: 0x28, [I64]: 0x29, [F32]: 0x2a, [F64]: 0x2b };
const STORE: Record<number, number> = { [I32]: 0x36, [I64]: 0x37, [F32]: 0x38, [F64]: 0x39 };
const load = (t: number, offset: number): number[] => [LOAD[t]!, 0x00, ...leb(offset)];
const store = (t: number, offset: number): number[] => [STORE[t]!, 0x00, ...leb(offset)];

/** A special: a site (a call that may unwind) or a construct holding one. */
interface Special {
  /** The stack of its level where it starts (the values it takes included). */
  stack: number[];
  /** How many of those it takes (a call's arguments and table index, an if's condition). */
  consumed: number;
  /** What it leaves (a call's results, a construct's). */
  results: number[];
  /** A site's number. */
  site: number;
}

interface Frame {
  op: number;
  height: number;
  params: number[];
  results: number[];
  unreachable: boolean;
  dead: boolean;
  contains: boolean;
  special: Special | null;
  pos: number;
}

function blockType(r: Reader, types: FnType[]): { params: number[]; results: number[] } {
  const x = r.bytes[r.pos]!;
  if (x === 0x40) {
    r.pos++;
    return { params: [], results: [] };
  }
  if (x === I32 || x === I64 || x === F32 || x === F64) {
    r.pos++;
    return { params: [], results: [x] };
  }
  if (x >= 0x40 && x < 0x80) throw new AsyncifyUnsupported(`a block of type 0x${x.toString(16)}`);
  const t = types[r.u32()];
  if (!t) throw new AsyncifyUnsupported('a block of a type that does not exist');
  return { params: t.params, results: t.results };
}

function numeric(t: number): boolean {
  return t === I32 || t === I64 || t === F32 || t === F64;
}

/** The local types of a body (parameters first) and where its instructions start. */
function localTypes(bytes: Uint8Array, start: number, params: number[]): { locals: number[]; first: number } {
  const r = new Reader(bytes, start);
  const locals = [...params];
  for (let g = r.u32(); g > 0; g--) {
    const count = r.u32();
    const t = r.byte();
    if (!numeric(t)) throw new AsyncifyUnsupported(`a local of type 0x${t.toString(16)}`);
    if (locals.length + count > 50_000) throw new AsyncifyUnsupported('more than 50000 locals');
    for (let k = 0; k < count; k++) locals.push(t);
  }
  return { locals, first: r.pos };
}

/** Pass 1: the specials of a body, by the position of their opcode, as a validator tracks types. */
function analyze(bytes: Uint8Array, first: number, end: number, type: FnType, locals: number[], ctx: ModuleContext): Map<number, Special> {
  const specials = new Map<number, Special>();
  const stack: number[] = [];
  const frames: Frame[] = [
    { op: -1, height: 0, params: [], results: type.results, unreachable: false, dead: false, contains: false, special: null, pos: first },
  ];
  let sites = 0;
  const r = new Reader(bytes, first);
  const top = (): Frame => frames[frames.length - 1]!;
  const pop = (n: number): void => {
    const f = top();
    stack.length = Math.max(f.unreachable ? f.height : 0, stack.length - n);
  };
  const popOne = (): number => {
    const f = top();
    if (stack.length <= f.height && f.unreachable) return 0;
    return stack.pop() ?? 0;
  };
  const reachable = (): boolean => !top().unreachable && !top().dead;
  const kill = (): void => {
    const f = top();
    stack.length = f.height;
    f.unreachable = true;
  };
  const site = (params: number, results: number[], consumed: number, pos: number): void => {
    const f = top();
    specials.set(pos, { stack: stack.slice(f.height), consumed, results, site: sites++ });
    f.contains = true;
    void params;
  };
  while (r.pos < end) {
    const pos = r.pos;
    const op = r.byte();
    switch (op) {
      case 0x00:
        kill();
        break;
      case 0x01:
        break;
      case 0x02:
      case 0x03:
      case 0x04: {
        const bt = blockType(r, ctx.types);
        const parent = top();
        const live = reachable();
        const before = stack.slice(parent.height);
        if (op === 0x04) popOne();
        pop(bt.params.length);
        const height = stack.length;
        for (const t of bt.params) stack.push(t);
        frames.push({
          op,
          height,
          params: bt.params,
          results: bt.results,
          unreachable: false,
          dead: !live,
          contains: false,
          special: live ? { stack: before, consumed: op === 0x04 ? 1 : 0, results: bt.results, site: -1 } : null,
          pos,
        });
        break;
      }
      case 0x05: {
        const f = top();
        stack.length = f.height;
        for (const t of f.params) stack.push(t);
        f.unreachable = false;
        break;
      }
      case 0x0b: {
        const f = frames.pop()!;
        if (frames.length === 0) {
          if (r.pos !== end) throw new AsyncifyUnsupported('its body goes on past its end');
          return specials;
        }
        stack.length = f.height;
        for (const t of f.results) stack.push(t);
        if (f.contains && f.special) {
          if (f.params.length > 0) throw new AsyncifyUnsupported('a block with parameters holds a call that may unwind');
          specials.set(f.pos, f.special);
          top().contains = true;
        }
        break;
      }
      case 0x0c:
        r.u32();
        kill();
        break;
      case 0x0d:
        r.u32();
        popOne();
        break;
      case 0x0e:
        for (let n = r.u32(); n >= 0; n--) r.u32();
        kill();
        break;
      case 0x0f:
        kill();
        break;
      case 0x10: {
        const callee = r.u32();
        const t = ctx.types[ctx.funcType[callee]!]!;
        if (ctx.marked[callee] && reachable()) site(t.params.length, t.results, t.params.length, pos);
        pop(t.params.length);
        for (const x of t.results) stack.push(x);
        break;
      }
      case 0x11: {
        const t = ctx.types[r.u32()]!;
        r.u32();
        if (ctx.unwindingKeys.has(t.key) && reachable()) site(t.params.length + 1, t.results, t.params.length + 1, pos);
        pop(t.params.length + 1);
        for (const x of t.results) stack.push(x);
        break;
      }
      case 0x1a:
        popOne();
        break;
      case 0x1b: {
        popOne();
        const a = popOne();
        const b = popOne();
        stack.push(a || b);
        break;
      }
      case 0x1c: {
        const n = r.u32();
        const t = r.byte();
        if (n !== 1 || !numeric(t)) throw new AsyncifyUnsupported('a select of references');
        pop(3);
        stack.push(t);
        break;
      }
      case 0x20:
        stack.push(locals[r.u32()]!);
        break;
      case 0x21:
        r.u32();
        popOne();
        break;
      case 0x22: {
        const l = r.u32();
        popOne();
        stack.push(locals[l]!);
        break;
      }
      case 0x23: {
        const t = ctx.globalTypes[r.u32()]!;
        if (!numeric(t)) throw new AsyncifyUnsupported('a global of a reference type');
        stack.push(t);
        break;
      }
      case 0x24:
        r.u32();
        popOne();
        break;
      case 0xfc: {
        const sub = r.u32();
        const e = prefixedEffect(sub);
        if (!e) throw new AsyncifyUnsupported(`instruction 0xfc ${sub}`);
        r.pos = pos;
        skipInstruction(r);
        pop(e.pops.length);
        for (const t of e.pushes) stack.push(t);
        break;
      }
      default: {
        const e = fixedEffect(op);
        if (!e) throw new AsyncifyUnsupported(`instruction 0x${op.toString(16)}`);
        r.pos = pos;
        skipInstruction(r);
        pop(e.pops.length);
        for (const t of e.pushes) stack.push(t);
      }
    }
  }
  throw new AsyncifyUnsupported('its body has no end');
}

/** A growable byte buffer. */
class Out {
  data = new Uint8Array(4096);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.data.length) return;
    let size = this.data.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
  byte(b: number): void {
    this.room(1);
    this.data[this.length++] = b;
  }
  bytes(b: ArrayLike<number>): void {
    this.room(b.length);
    this.data.set(b, this.length);
    this.length += b.length;
  }
  u32(n: number): void {
    this.bytes(leb(n));
  }
  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }
}

interface Label {
  /** Its index in the new code's label stack (0 the function's). */
  at: number;
  /** The locals a branch to it leaves its values in (a special construct with results), or null. */
  branchInto: number[] | null;
}

interface Level {
  guardOpen: boolean;
  /** Locals to push back at the start of the next run. */
  pending: number[];
  /** Where the level's results go when it ends. */
  results: number[];
  /** Locals kept below the construct, pushed back after it (with its results). */
  keptBelow: number[];
  /** The slots it reserved while it is open, per type. */
  reserved: Map<number, number>;
}

/** A body to instrument, read once for both versions: where it starts, its locals, its specials (pass 1). */
interface Body {
  start: number;
  first: number;
  end: number;
  locals: number[];
  specials: Map<number, Special>;
}

/**
 * Which version of an instrumented function to make. The fast one runs the original code and
 * can unwind; the rewind one can also be rewound into, and is what a fast one that can be entered
 * from outside (exported, or in a table) calls when it is entered while rewinding.
 */
type Version = { fast: true; redirectTo: number | null } | { fast: false; rewindOf: (f: number) => number };

/** Pass 2: a version of the instrumented body (locals and code) of the function whose body is bytes[start, end). */
function instrumentFunction(bytes: Uint8Array, fn: Body, type: FnType, ctx: ModuleContext, version: Version): Uint8Array {
  const { start, first, end, locals, specials } = fn;
  const { stateGlobal: S } = ctx;

  // New locals, allocated as the code needs them. Spill slots are numbered per type; the
  // slots below reserved[t] hold what the enclosing special constructs keep (what was below
  // them on the stack, an if's condition, their results), so the code inside uses the ones
  // above: a function gains as many slots as its deepest nesting keeps, not one per special.
  const added: number[] = [];
  const fresh = (t: number): number => {
    added.push(t);
    return locals.length + added.length - 1;
  };
  const slotsOf = new Map<number, number[]>();
  const reserved = new Map<number, number>();
  const nth = (t: number, n: number): number => {
    let list = slotsOf.get(t);
    if (!list) slotsOf.set(t, (list = []));
    while (list.length <= n) list.push(fresh(t));
    return list[n]!;
  };
  const countsOf = (ts: readonly number[]): Map<number, number> => {
    const m = new Map<number, number>();
    for (const t of ts) m.set(t, (m.get(t) ?? 0) + 1);
    return m;
  };
  /** Slots for values of types `ts`, above the reserved ones and above `after` more. */
  const temp = (ts: readonly number[], after?: Map<number, number>): number[] => {
    const seen = new Map<number, number>();
    return ts.map((t) => {
      const k = seen.get(t) ?? 0;
      seen.set(t, k + 1);
      return nth(t, (reserved.get(t) ?? 0) + (after?.get(t) ?? 0) + k);
    });
  };
  const reserve = (m: Map<number, number>, sign: 1 | -1): void => {
    for (const [t, n] of m) reserved.set(t, (reserved.get(t) ?? 0) + sign * n);
  };
  const idx = fresh(I32);
  const frameAt = fresh(I32);
  let branchCond = -1;

  const out = new Out();
  let depth = 2; // the function's label and the unwind block
  const UNWIND = 1;
  const labels: Label[] = [{ at: 0, branchInto: null }];
  const levels: Level[] = [{ guardOpen: false, pending: [], results: [], keptBelow: [], reserved: new Map() }];
  let raw = 0; // constructs open without instrumentation, inside a run

  const get = (ls: readonly number[]): void => {
    for (const l of ls) out.bytes([0x20, ...leb(l)]);
  };
  const set = (ls: readonly number[]): void => {
    for (let k = ls.length - 1; k >= 0; k--) out.bytes([0x21, ...leb(ls[k]!)]);
  };
  // In the fast version a run is not guarded: "open" only means what was pending is back.
  const openGuard = (level: Level): void => {
    if (level.guardOpen) return;
    if (!version.fast) {
      out.bytes([...gget(S), ...i32c(2), 0x47, 0x04, 0x40]); // state != 2; if
      depth++;
    }
    get(level.pending);
    level.pending = [];
    level.guardOpen = true;
  };
  const closeGuard = (level: Level): void => {
    if (!version.fast) {
      out.byte(0x0b);
      depth--;
    }
    level.guardOpen = false;
  };
  /**
   * End the run before a special whose level stack is `stack`: everything on it into slots.
   * After an empty run, what the last special left is where the next one wants it already.
   */
  const spill = (level: Level, stack: readonly number[]): number[] => {
    const into = temp(stack);
    if (!level.guardOpen && level.pending.length === into.length && level.pending.every((l, k) => l === into[k])) {
      level.pending = [];
      return into;
    }
    if (level.guardOpen || level.pending.length > 0 || stack.length > 0) {
      openGuard(level);
      set(into);
      closeGuard(level);
    }
    return into;
  };
  /**
   * Before a site or a special construct in the fast version: into their slots the values below
   * it (`below` of `into`), and of the rest all ('all': an import's arguments, made again on a
   * rewind; an if's condition, which picks the branch), the last ('last': an indirect call's
   * table index) or none (the arguments of a call to an instrumented function, which restores
   * its own locals). The stack stays as it was.
   */
  const fastKeeps = (into: readonly number[], below: number, rest: 'all' | 'last' | 'none'): void => {
    if (below > 0 || (rest === 'all' && into.length > 1)) {
      set(into);
      get(into);
    } else if (into.length > below && rest !== 'none') out.bytes([0x22, ...leb(into[into.length - 1]!)]); // local.tee
  };
  const target = (d: number): Label => {
    const l = labels[labels.length - 1 - d];
    if (!l) throw new AsyncifyUnsupported('a branch to a label that does not exist');
    return l;
  };
  const rel = (l: Label): number => depth - 1 - l.at;

  const r = new Reader(bytes, first);
  while (r.pos < end) {
    const pos = r.pos;
    const op = bytes[pos]!;
    const level = levels[levels.length - 1]!;
    if (raw === 0 && (op === 0x05 || op === 0x0b)) {
      // The end of a level: its results into their slots (the function's: slots to return from).
      if (levels.length === 1 && op === 0x0b) level.results = temp(type.results);
      // The fast version leaves a level's results on the stack, as the original does.
      if (!version.fast && (level.guardOpen || level.pending.length > 0 || level.results.length > 0)) {
        openGuard(level);
        set(level.results);
        closeGuard(level);
      }
      r.pos++;
      if (op === 0x05) {
        out.byte(0x05);
        levels[levels.length - 1] = { ...level, guardOpen: false, pending: [] };
        continue;
      }
      if (levels.length === 1) {
        if (!version.fast) get(level.results);
        out.bytes([0x0f, 0x0b]); // return; end of the unwind block
        break;
      }
      out.byte(0x0b);
      depth--;
      labels.pop();
      levels.pop();
      reserve(level.reserved, -1);
      const parent = levels[levels.length - 1]!;
      if (!version.fast) parent.pending = [...level.keptBelow, ...level.results];
      continue;
    }
    const special = raw === 0 ? specials.get(pos) : undefined;
    if (special) {
      const below = special.stack.length - special.consumed;
      // Both versions take the same slots (one frame layout); the fast one writes only those
      // the rewind one reads on its way back to a site (fastKeeps).
      const into = version.fast ? temp(special.stack) : spill(level, special.stack);
      const kept = into.slice(0, below);
      const taken = into.slice(below);
      if (op === 0x10 || op === 0x11) {
        r.pos++;
        r.u32();
        if (op === 0x11) r.u32();
        const outputs = temp(special.results, countsOf(special.stack.slice(0, below)));
        if (version.fast) {
          // [slots]; idx = K; call; br_if (state) $unwind. After a call in a fast version the
          // state is 0 or 1 (a rewind runs in rewind versions); the results stay on the stack
          // (a branch taken drops them). One branch and no block a site: less for V8 to compile.
          const callee = op === 0x10 ? new Reader(bytes, pos + 1).u32() : -1;
          fastKeeps(into, below, op === 0x10 && callee < ctx.imported ? 'all' : op === 0x11 ? 'last' : 'none');
          out.bytes([...i32c(special.site), 0x21, ...leb(idx)]);
          out.bytes(bytes.subarray(pos, r.pos));
          out.bytes([...gget(S), 0x0d, ...leb(depth - 1 - UNWIND)]);
          continue;
        } else {
          // if (state != 2 || idx == K) { args; idx = K; call; if (state == 1) unwind; results }
          // The results go where the arguments were: an unwind leaves before they are set. A
          // direct call goes to the callee's rewind version while rewinding, else to its fast one.
          out.bytes([...gget(S), ...i32c(2), 0x47, 0x20, ...leb(idx), ...i32c(special.site), 0x46, 0x72, 0x04, 0x40]);
          depth++;
          get(taken);
          out.bytes([...i32c(special.site), 0x21, ...leb(idx)]);
          const callee = op === 0x10 ? new Reader(bytes, pos + 1).u32() : -1;
          if (callee >= 0 && version.rewindOf(callee) >= 0) {
            out.bytes([...gget(S), ...i32c(2), 0x46, 0x04, ...sleb(ctx.funcType[callee]!), 0x10, ...leb(version.rewindOf(callee)), 0x05]);
            out.bytes(bytes.subarray(pos, r.pos));
            out.byte(0x0b);
          } else out.bytes(bytes.subarray(pos, r.pos));
          out.bytes([...gget(S), ...i32c(1), 0x46, 0x0d, ...leb(depth - 1 - UNWIND)]);
          set(outputs);
          out.byte(0x0b);
          depth--;
        }
        level.pending = [...kept, ...outputs];
        continue;
      }
      // A special construct: void, its results through slots kept for it with what was below it
      // (in the fast version: as it is, what was below it and an if's condition also in slots).
      r.pos++;
      blockType(r, ctx.types);
      if (version.fast) {
        fastKeeps(into, below, 'all');
        out.bytes(bytes.subarray(pos, r.pos));
      } else if (op === 0x04) get(taken);
      const keptCounts = countsOf(special.stack.slice(0, below));
      const results = temp(special.results, keptCounts);
      const hold = new Map(keptCounts);
      const takenCounts = countsOf(special.stack.slice(below));
      const resultCounts = countsOf(special.results);
      for (const t of new Set([...takenCounts.keys(), ...resultCounts.keys()]))
        hold.set(t, (hold.get(t) ?? 0) + Math.max(takenCounts.get(t) ?? 0, resultCounts.get(t) ?? 0));
      reserve(hold, 1);
      if (!version.fast) out.bytes([op, 0x40]);
      depth++;
      labels.push({ at: depth - 1, branchInto: op !== 0x03 && results.length > 0 ? results : null });
      levels.push({ guardOpen: false, pending: [], results, keptBelow: kept, reserved: hold });
      continue;
    }
    // An instruction of a run.
    if (raw === 0) openGuard(level);
    r.pos++;
    switch (op) {
      case 0x02:
      case 0x03:
      case 0x04:
        r.blockType();
        out.bytes(bytes.subarray(pos, r.pos));
        depth++;
        labels.push({ at: depth - 1, branchInto: null });
        raw++;
        break;
      case 0x05:
        out.byte(0x05);
        break;
      case 0x0b:
        out.byte(0x0b);
        depth--;
        labels.pop();
        raw--;
        break;
      case 0x0c: {
        const l = target(r.u32());
        if (l.branchInto && !version.fast) set(l.branchInto);
        out.bytes([0x0c, ...leb(rel(l))]);
        break;
      }
      case 0x0d: {
        const l = target(r.u32());
        if (l.branchInto) {
          // Taken in the fast version too, which does not use it: one frame layout.
          if (branchCond < 0) branchCond = fresh(I32);
        }
        if (l.branchInto && !version.fast) {
          out.bytes([0x21, ...leb(branchCond)]);
          set(l.branchInto);
          get(l.branchInto);
          out.bytes([0x20, ...leb(branchCond)]);
        }
        out.bytes([0x0d, ...leb(rel(l))]);
        break;
      }
      case 0x0e: {
        const n = r.u32();
        const ls: Label[] = [];
        for (let k = 0; k <= n; k++) ls.push(target(r.u32()));
        if (ls.some((l) => l.branchInto)) throw new AsyncifyUnsupported('a br_table carries values to a block that holds a call that may unwind');
        out.bytes([0x0e, ...leb(n), ...ls.flatMap((l) => leb(rel(l)))]);
        break;
      }
      default:
        r.pos = pos;
        skipInstruction(r);
        out.bytes(bytes.subarray(pos, r.pos));
    }
  }

  // The frame: every local but the frame pointer, then idx among them.
  const all = [...locals, ...added];
  const saved: { local: number; type: number; offset: number }[] = [];
  let size = 0;
  for (let l = 0; l < all.length; l++) {
    if (l === frameAt) continue;
    saved.push({ local: l, type: all[l]!, offset: size });
    size += sizeOf(all[l]!);
  }
  const D = ctx.dataGlobal;
  const body = new Out();
  // Locals: the original declarations, then the added ones, a group per run of one type.
  const lr = new Reader(bytes, start);
  const groups = lr.u32();
  const addedGroups: [number, number][] = [];
  for (const t of added) {
    const last = addedGroups[addedGroups.length - 1];
    if (last && last[1] === t) last[0]++;
    else addedGroups.push([1, t]);
  }
  body.u32(groups + addedGroups.length);
  body.bytes(bytes.subarray(lr.pos, first));
  for (const [n, t] of addedGroups) body.bytes([...leb(n), t]);
  if (version.fast && version.redirectTo !== null) {
    // if (state == 2) return rewind version(params...)
    body.bytes([...gget(S), ...i32c(2), 0x46, 0x04, 0x40]);
    for (let p = 0; p < type.params.length; p++) body.bytes([0x20, ...leb(p)]);
    body.bytes([0x10, ...leb(version.redirectTo), 0x0f, 0x0b]);
  }
  body.bytes([0x02, 0x40]); // block $unwind
  if (!version.fast) {
    // if (state == 2) pop the frame.
    body.bytes([...gget(S), ...i32c(2), 0x46, 0x04, 0x40]);
    body.bytes([...gget(D), ...load(I32, 0), ...i32c(size), 0x6b, 0x21, ...leb(frameAt)]);
    body.bytes([...gget(D), 0x20, ...leb(frameAt), ...store(I32, 0)]);
    for (const s of saved) body.bytes([0x20, ...leb(frameAt), ...load(s.type, s.offset), 0x21, ...leb(s.local)]);
    body.byte(0x0b);
  }
  body.bytes(out.view());
  // The unwind path: push the frame (or trap where the buffer is full), return zeros.
  const saver = ctx.saverFor(saved.map((x) => x.type));
  if (saver !== null) {
    for (const s of saved) body.bytes([0x20, ...leb(s.local)]);
    body.bytes([0x10, ...leb(saver)]);
  } else {
    body.bytes([...gget(D), ...load(I32, 0), 0x21, ...leb(frameAt)]);
    body.bytes([0x20, ...leb(frameAt), ...i32c(size), 0x6a, ...gget(D), ...load(I32, 4), 0x4b, 0x04, 0x40, 0x00, 0x0b]);
    for (const s of saved) body.bytes([0x20, ...leb(frameAt), 0x20, ...leb(s.local), ...store(s.type, s.offset)]);
    body.bytes([...gget(D), 0x20, ...leb(frameAt), ...i32c(size), 0x6a, ...store(I32, 0)]);
  }
  for (const t of type.results) body.bytes(zero(t));
  body.byte(0x0b);
  return body.view().slice();
}

/** Most locals a frame may have for a saver to push it (V8 takes at most 1000 parameters). */
const MAX_SAVER_PARAMS = 1000;

/** A saver's body: its parameters (a frame's locals, in order) pushed onto the Asyncify buffer, or a trap where it is full. */
function saverBody(ts: readonly number[], D: number): Uint8Array {
  const frameAt = ts.length;
  let size = 0;
  const offsets = ts.map((t) => {
    const at = size;
    size += sizeOf(t);
    return at;
  });
  const b = new Out();
  b.bytes([1, 1, I32]); // one local: the frame's address
  b.bytes([...gget(D), ...load(I32, 0), 0x21, ...leb(frameAt)]);
  b.bytes([0x20, ...leb(frameAt), ...i32c(size), 0x6a, ...gget(D), ...load(I32, 4), 0x4b, 0x04, 0x40, 0x00, 0x0b]);
  ts.forEach((t, k) => b.bytes([0x20, ...leb(frameAt), 0x20, ...leb(k), ...store(t, offsets[k]!)]));
  b.bytes([...gget(D), 0x20, ...leb(frameAt), ...i32c(size), 0x6a, ...store(I32, 0), 0x0b]);
  return b.view().slice();
}

function zero(t: number): number[] {
  switch (t) {
    case I32:
      return [0x41, 0x00];
    case I64:
      return [0x42, 0x00];
    case F32:
      return [0x43, 0, 0, 0, 0];
    default:
      return [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
  }
}
