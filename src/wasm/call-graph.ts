// The call graph of a module, and which of its functions can reach a given set of imports:
// the functions a waits-only preparation must instrument (runtime/prepare.ts), since only
// they can be on the stack when one of those imports starts an unwind.
//
// Edges: a direct `call` or `return_call` goes to its function; an indirect call
// (`call_indirect`, `return_call_indirect`, `call_ref`, `return_call_ref`) goes to every
// function that can be called through a reference and has the same signature (compared by
// structure, not by type index: two type entries with the same parameters and results are one
// signature). The functions that can be called through a reference are those of the element
// segments, those named by `ref.func` in code or in constant expressions, and, when references
// can come from outside (a table imported or exported, or written by code with `table.set`,
// `table.grow` or `table.fill`), every exported and every imported function too. That is
// conservative: a function it says cannot reach the imports cannot.
//
// One pass over the code with typed arrays, no object per instruction or per call, so that its
// time and memory grow with the code alone (docs/snapshot.md, "Preparing big modules").

import { Reader, definedFuncTypes, funcTypes, importEntries, sections, type Section } from './binary.ts';
import { skipInstruction } from './instructions.ts';

/** The module's call graph: functions are numbered as in the module (imports first). */
export interface CallGraph {
  /** How many functions are imported, and how many there are in all. */
  imported: number;
  total: number;
  /** Each function's signature, a small number (equal signatures, equal numbers). */
  signatureOf: Uint32Array;
  /** Each imported function's `module.name`. */
  importNames: string[];
  /** The functions an indirect call can reach (1 if it can be, by its signature). */
  referenced: Uint8Array;
  /** Direct calls: callers[k] calls callees[k]. */
  callers: Uint32Array;
  callees: Uint32Array;
  /** Indirect calls: indirectCallers[k] calls a reference of signature indirectSignatures[k]. */
  indirectCallers: Uint32Array;
  indirectSignatures: Uint32Array;
  /** How many signatures there are. */
  signatures: number;
}

/** A module this reader cannot make a call graph of (GC types, an unknown instruction). */
export class CallGraphError extends Error {}

/** A growable array of u32. */
class U32List {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

/** The call graph of `bytes`. Throws CallGraphError when the module has what it cannot read. */
export function callGraph(bytes: Uint8Array): CallGraph {
  try {
    return build(bytes);
  } catch (e) {
    if (e instanceof CallGraphError) throw e;
    throw new CallGraphError(`the module's call graph cannot be read: ${(e as Error).message}`);
  }
}

function build(bytes: Uint8Array): CallGraph {
  const secs = sections(bytes);
  const find = (id: number): Section | undefined => secs.find((s) => s.id === id);
  const types = funcTypes(bytes, find(1));
  if (!types) throw new CallGraphError('the module has types other than function types (GC), which the call graph does not read');
  // Structural equality: one number per distinct signature.
  const keys = new Map<string, number>();
  const sigOfType = types.map((t) => {
    let k = keys.get(t.key);
    if (k === undefined) keys.set(t.key, (k = keys.size));
    return k;
  });
  const sigOf = (typeIndex: number): number => {
    const s = sigOfType[typeIndex];
    if (s === undefined) throw new CallGraphError(`type ${typeIndex} does not exist`);
    return s;
  };

  const imports = importEntries(bytes, find(2));
  const importNames: string[] = [];
  const sigs: number[] = [];
  let open = false; // references can come from outside
  for (const e of imports) {
    if (e.kind === 0) {
      importNames.push(`${e.module}.${e.name}`);
      sigs.push(sigOf(e.typeIndex));
    } else if (e.kind === 1) open = true;
  }
  const imported = sigs.length;
  for (const t of definedFuncTypes(bytes, find(3))) sigs.push(sigOf(t));
  const total = sigs.length;
  const referenced = new Uint8Array(total);
  const refer = (f: number): void => {
    if (f >= total) throw new CallGraphError(`function ${f} does not exist`);
    referenced[f] = 1;
  };

  const exported: number[] = [];
  const exp = find(7);
  if (exp) {
    const r = new Reader(bytes, exp.payload);
    for (let n = r.u32(); n > 0; n--) {
      r.name();
      const kind = r.byte();
      const index = r.u32();
      if (kind === 0) exported.push(index);
      else if (kind === 1) open = true;
    }
  }

  // Constant expressions (globals, element segments, offsets) can name functions.
  const glob = find(6);
  if (glob) {
    const r = new Reader(bytes, glob.payload);
    for (let n = r.u32(); n > 0; n--) {
      r.valType();
      r.byte();
      constExprRefs(r, refer);
    }
  }
  const elem = find(9);
  if (elem) readElements(new Reader(bytes, elem.payload), refer);

  const callers = new U32List();
  const callees = new U32List();
  const indirectCallers = new U32List();
  const indirectSignatures = new U32List();
  const code = find(10);
  if (code) {
    const r = new Reader(bytes, code.payload);
    const count = r.u32();
    if (count !== total - imported) throw new CallGraphError(`the code section has ${count} bodies for ${total - imported} functions`);
    // The signatures one body calls indirectly, once each: a mark per signature, the body's number.
    const seen = new Int32Array(keys.size).fill(-1);
    for (let i = 0; i < count; i++) {
      const f = imported + i;
      const size = r.u32();
      const end = r.pos + size;
      for (let groups = r.u32(); groups > 0; groups--) {
        r.u32();
        r.valType();
      }
      while (r.pos < end) {
        const at = r.pos;
        const op = skipInstruction(r);
        if (op === 0x10 || op === 0x12) {
          const callee = u32At(bytes, at + 1);
          if (callee >= total) throw new CallGraphError(`function ${f} calls function ${callee}, which does not exist`);
          callers.push(f);
          callees.push(callee);
        } else if (op === 0x11 || op === 0x13 || op === 0x14 || op === 0x15) {
          const s = sigOf(u32At(bytes, at + 1));
          if (seen[s] !== i) {
            seen[s] = i;
            indirectCallers.push(f);
            indirectSignatures.push(s);
          }
        } else if (op === 0xd2) refer(u32At(bytes, at + 1));
        else if (op === 0x26)
          open = true; // table.set
        else if (op === 0xfc) {
          const sub = u32At(bytes, at + 1);
          if (sub === 15 || sub === 17) open = true; // table.grow, table.fill
        }
      }
      if (r.pos !== end) throw new CallGraphError(`the body of function ${f} does not end where its size says`);
    }
  }
  if (open) {
    for (const f of exported) refer(f);
    for (let f = 0; f < imported; f++) referenced[f] = 1;
  }
  return {
    imported,
    total,
    signatureOf: Uint32Array.from(sigs),
    importNames,
    referenced,
    callers: callers.view(),
    callees: callees.view(),
    indirectCallers: indirectCallers.view(),
    indirectSignatures: indirectSignatures.view(),
    signatures: keys.size,
  };
}

/** The unsigned LEB128 at `pos` (the immediate after an opcode), without a Reader object per call. */
function u32At(bytes: Uint8Array, pos: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    const b = bytes[pos + i];
    if (b === undefined) throw new CallGraphError('unexpected end of module');
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
  throw new CallGraphError('bad LEB128');
}

/** Read one constant expression up to its `end`, telling `refer` each `ref.func` in it. */
function constExprRefs(r: Reader, refer: (f: number) => void): void {
  for (;;) {
    const at = r.pos;
    const op = r.bytes[at];
    if (op === 0x0b) {
      r.pos++;
      return;
    }
    if (op === 0xd2) {
      r.pos++;
      refer(r.u32());
    } else skipInstruction(r);
  }
}

/** Every function an element segment names, in any of its eight forms. */
function readElements(r: Reader, refer: (f: number) => void): void {
  for (let n = r.u32(); n > 0; n--) {
    const flags = r.u32();
    if (flags > 7) throw new CallGraphError(`an element segment of kind ${flags}`);
    const passiveOrDeclarative = (flags & 1) !== 0;
    const explicitTable = (flags & 2) !== 0;
    const expressions = (flags & 4) !== 0;
    if (!passiveOrDeclarative) {
      if (explicitTable) r.u32();
      constExprRefs(r, () => {});
    }
    if (passiveOrDeclarative || explicitTable) {
      if (expressions) r.valType();
      else r.byte(); // elemkind (funcref)
    }
    for (let count = r.u32(); count > 0; count--) {
      if (expressions) constExprRefs(r, refer);
      else refer(r.u32());
    }
  }
}

/**
 * Which functions can reach one of `targets` (imports named `module.name`): a Uint8Array with
 * a 1 for each such function (the imports in `targets` included). Reverse reachability over
 * the graph, where each signature is a node between the indirect calls of it and the
 * referenced functions that have it.
 */
export function reaching(graph: CallGraph, targets: ReadonlySet<string>): Uint8Array {
  const { total, signatures } = graph;
  // Nodes: functions 0..total-1, then signatures. Reverse edges in CSR form: into[v] lists
  // the nodes that go to v.
  const nodes = total + signatures;
  const degree = new Uint32Array(nodes + 1);
  const edges = graph.callers.length + graph.indirectCallers.length + total;
  const from = new Uint32Array(edges);
  const to = new Uint32Array(edges);
  let e = 0;
  const add = (a: number, b: number): void => {
    from[e] = a;
    to[e] = b;
    degree[b + 1]!++;
    e++;
  };
  for (let k = 0; k < graph.callers.length; k++) add(graph.callers[k]!, graph.callees[k]!);
  for (let k = 0; k < graph.indirectCallers.length; k++) add(graph.indirectCallers[k]!, total + graph.indirectSignatures[k]!);
  for (let f = 0; f < total; f++) if (graph.referenced[f]) add(total + graph.signatureOf[f]!, f);
  for (let v = 0; v < nodes; v++) degree[v + 1]! += degree[v]!;
  const into = new Uint32Array(e);
  const fill = degree.slice(0, nodes);
  for (let k = 0; k < e; k++) into[fill[to[k]!]!++] = from[k]!;

  const marked = new Uint8Array(nodes);
  const queue = new Uint32Array(nodes);
  let head = 0;
  let tail = 0;
  for (let f = 0; f < graph.imported; f++) {
    if (targets.has(graph.importNames[f]!)) {
      marked[f] = 1;
      queue[tail++] = f;
    }
  }
  while (head < tail) {
    const v = queue[head++]!;
    for (let k = degree[v]!; k < degree[v + 1]!; k++) {
      const u = into[k]!;
      if (!marked[u]) {
        marked[u] = 1;
        queue[tail++] = u;
      }
    }
  }
  return marked.subarray(0, total);
}

/** The defined functions of `bytes` that can reach one of `targets` (function indices, ascending). */
export function functionsReaching(bytes: Uint8Array, targets: ReadonlySet<string>): Uint32Array {
  const graph = callGraph(bytes);
  const marked = reaching(graph, targets);
  const out = new U32List();
  for (let f = graph.imported; f < graph.total; f++) if (marked[f]) out.push(f);
  return out.view().slice();
}
