// The tick counter of prepared modules: a countdown at every loop head (but those of loops that
// run a small constant number of times: wasm/counted-loops.ts) and at the entry of every
// function that calls others, which calls the Suspending import `drawbridge.tick` when it
// reaches zero. It is what lets a program that computes for minutes without a system call
// be captured (and preempted): the tick import is one of those Asyncify can unwind through.
//
// Binaryen's --log-execution pass marks the places (`i32.const N; call $log_execution`, its
// import env.log_execution); this file replaces each mark with a countdown on a new global,
// so that the common case costs a global decrement and a branch, not a call:
//
//     global.get $t; i32.const 1; i32.sub; global.set $t
//     global.get $t; i32.eqz; if; i32.const 0; call $tick; end
//
// at a function entry; at a loop head the countdown leaves the loop to call the tick outside
// it (rewriteBody says why). The import is renamed drawbridge.tick. The rewrite decodes
// instructions for real (every immediate of MVP, bulk memory, reference types, SIMD, atomics,
// exceptions), so it never mistakes an immediate for an opcode; an instruction it does not
// know makes it refuse.

import {
  Reader,
  concat,
  definedFuncTypes,
  funcTypes,
  importEntries,
  leb,
  localsOf,
  localsWith,
  nameBytes,
  section,
  sections,
  sleb,
  type Locals,
} from './binary.ts';
import { countedLoops } from './counted-loops.ts';
import { skipInstruction } from './instructions.ts';
import { indirectTargets } from './indirect.ts';

export const TICK_MODULE = 'drawbridge';
export const TICK_NAME = 'tick';
export const TICK_GLOBAL_EXPORT = '__drawbridge_ticks';
/** Countdown between calls of the tick import: frequent enough for millisecond latency. */
export const TICK_INTERVAL = 20000;

const CALL_OPS = new Set([0x11, 0x12, 0x13, 0x14, 0x15]);
/** Instructions that name a label other than br, br_if and br_table (exceptions, GC). */
const OTHER_LABEL_OPS = new Set([0x09, 0x18, 0xd4, 0xd6]);
/** Block types a wrapped loop may have: none, or one value type (no type index). */
const SIMPLE_BLOCK_TYPES = new Set([0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/** The number of parameters of each function the module defines (not imports). */
function definedFunctionParams(bytes: Uint8Array, secs: ReturnType<typeof sections>): number[] {
  const types = funcTypes(
    bytes,
    secs.find((s) => s.id === 1),
  );
  if (!types) throw new Error('a type other than a function type (GC types are not supported)');
  return definedFuncTypes(
    bytes,
    secs.find((s) => s.id === 3),
  ).map((t) => types[t]!.params);
}

/** What rewriteBody needs to know of a function body before rewriting it. */
interface BodyScan {
  locals: Locals;
  /** It calls a function (the log import aside). */
  calls: boolean;
  /** Byte offsets of its `loop` instructions. */
  loops: number[];
  /** Labels this rewrite cannot renumber, or a loop it cannot wrap (typed by index). */
  otherLabels: boolean;
}

function scanBody(bytes: Uint8Array, start: number, end: number, logIndex: number): BodyScan {
  const locals = localsOf(bytes, start);
  let calls = false;
  const loops: number[] = [];
  let otherLabels = false;
  const scan = new Reader(bytes, locals.first);
  while (scan.pos < end) {
    const at = scan.pos;
    const op = skipInstruction(scan);
    if (op === 0x10 ? new Reader(bytes, at + 1).u32() !== logIndex : CALL_OPS.has(op)) calls = true;
    if (op === 0x03) loops.push(at);
    if (OTHER_LABEL_OPS.has(op) || (op === 0x03 && !SIMPLE_BLOCK_TYPES.has(bytes[at + 1]!))) otherLabels = true;
  }
  return { locals, calls, loops, otherLabels };
}

/** The end of the mark (`i32.const N; call $log`) whose i32.const is at `at`, or -1. */
function markEnd(bytes: Uint8Array, at: number, logIndex: number): number {
  if (bytes[at] !== 0x41) return -1;
  const r = new Reader(bytes, at + 1);
  r.skipLeb();
  if (bytes[r.pos] !== 0x10) return -1;
  r.pos++;
  return r.u32() === logIndex ? r.pos : -1;
}

interface Frame {
  /** Blocks the rewrite put around this one (3 for a wrapped loop). */
  extra: number;
  wrapped: boolean;
}

/**
 * One function body with its marks rewritten into a countdown, kept in a new local of the
 * function (a register in optimized code; a global would cost a load and a store per loop
 * iteration, which tight loops feel: docs/snapshot.md, "Costs, measured"):
 *  - the local takes the global's value at the entry, gives it back before every call,
 *    return and branch out of the function, and takes it again after every call, so that
 *    the count goes on across functions;
 *  - a loop head counts down, and when the count runs out, the tick is called *outside* the
 *    loop: the loop is wrapped so that the countdown leaves it, the tick is called, and the
 *    loop is entered again from its head (its state is all in locals):
 *
 *        block $outer (bt)              ;; the loop's own block type
 *          loop $retry (bt)
 *            block $expired
 *              loop $L (bt)
 *                countdown; br_if $expired
 *                BODY                   ;; branches to labels outside $L: depth + 3
 *              end
 *              br $outer                ;; the loop ended on its own
 *            end
 *            tick
 *            br $retry
 *          end
 *        end
 *
 *    Why: Asyncify must be able to resume at the tick call, and a loop that contains such a
 *    call is rewritten so that every step of every iteration checks Asyncify's state (a tight
 *    loop runs markedly slower so). With the call outside, a loop that calls nothing else stays one
 *    plain block for Asyncify, checked once per entry;
 *  - a counted loop (wasm/counted-loops.ts: a small constant number of iterations, bounded
 *    work) gets no countdown: its mark is dropped and the loop left as it is;
 *  - a function entry counts down too, which only recursion needs: a function that calls
 *    nothing gets no entry countdown (nor do the places --log-execution marks before a
 *    return), so a function that calls nothing and whose loops are all counted has no tick
 *    at all (and Asyncify leaves it alone);
 *  - a function with exception or GC branch instructions, or a loop typed by a type index,
 *    keeps its marks as inline countdowns on the global: its labels are not renumbered.
 */
function rewriteBody(
  bytes: Uint8Array,
  start: number,
  end: number,
  scanned: BodyScan,
  counted: Set<number>,
  params: number,
  logIndex: number,
  tickGlobal: number,
  quiet: (at: number) => boolean,
): Uint8Array {
  const { calls, otherLabels } = scanned;
  const { declared, first: firstInstruction } = scanned.locals;
  const body = new Reader(bytes, firstInstruction);
  // Loops that keep their countdown.
  const loops = scanned.loops.some((at) => !counted.has(at));
  const g = leb(tickGlobal);
  const tickCall = [0x41, 0x00, 0x10, ...leb(logIndex)];
  if (otherLabels)
    return inlineCountdowns(bytes, start, firstInstruction, end, logIndex, [
      0x23,
      ...g,
      0x41,
      0x01,
      0x6b,
      0x24,
      ...g,
      0x23,
      ...g,
      0x45,
      0x04,
      0x40,
      ...tickCall,
      0x0b,
    ]);
  if (!calls && !loops) return inlineCountdowns(bytes, start, firstInstruction, end, logIndex, []);

  const c = leb(params + declared); // the new local
  const save = Uint8Array.from([0x20, ...c, 0x24, ...g]); // global = local
  const load = Uint8Array.from([0x23, ...g, 0x21, ...c]); // local = global
  const tick = [0x20, ...c, 0x24, ...g, ...tickCall, 0x23, ...g, 0x21, ...c];
  const entry = calls ? Uint8Array.from([0x23, ...g, 0x41, 0x01, 0x6b, 0x22, ...c, 0x45, 0x04, 0x40, ...tick, 0x0b]) : load;
  const leavingCountdown = Uint8Array.from([0x20, ...c, 0x41, 0x01, 0x6b, 0x22, ...c, 0x45, 0x0d, 0x01]);
  const wrappedEnd = Uint8Array.from([0x0c, 0x02, 0x0b, ...tick, 0x0c, 0x00, 0x0b, 0x0b]);

  const parts: Uint8Array[] = [localsWith(bytes, scanned.locals, [0x7f]), entry];
  let copyFrom = firstInstruction;
  const emit = (upTo: number, replacement: Uint8Array | number[], resume: number) => {
    parts.push(bytes.subarray(copyFrom, upTo), replacement instanceof Uint8Array ? replacement : Uint8Array.from(replacement));
    copyFrom = resume;
  };
  const frames: Frame[] = [{ extra: 0, wrapped: false }];
  const depth = (d: number): number => {
    const target = frames.length - 1 - d;
    if (target < 0) throw new Error('a branch past the function body');
    let extra = 0;
    for (let i = target + 1; i < frames.length; i++) extra += frames[i]!.extra;
    return d + extra;
  };
  /** A branch that may leave the function gives the count back first. */
  const leaves = (d: number) => d === frames.length - 1;
  let prevOp = -1;
  let prevCounted = false;
  while (body.pos < end) {
    const at = body.pos;
    const mark = markEnd(bytes, at, logIndex);
    if (mark >= 0) {
      const head = prevOp === 0x03 && !prevCounted;
      emit(at, head ? leavingCountdown : new Uint8Array(0), mark);
      body.pos = mark;
      prevOp = 0x10;
      continue;
    }
    const op = skipInstruction(body);
    prevCounted = op === 0x03 && counted.has(at);
    if (prevCounted) {
      // No countdown, no wrapping: its mark (next) is dropped.
      frames.push({ extra: 0, wrapped: false });
    } else if (op === 0x03) {
      const bt = bytes[at + 1]!;
      if (markEnd(bytes, body.pos, logIndex) < 0) throw new Error('a loop head without a mark');
      emit(at, [0x02, bt, 0x03, bt, 0x02, 0x40, 0x03, bt], body.pos);
      frames.push({ extra: 3, wrapped: true });
    } else if (op === 0x02 || op === 0x04 || op === 0x06) {
      frames.push({ extra: 0, wrapped: false });
    } else if (op === 0x0b) {
      const f = frames.pop();
      if (f?.wrapped) emit(body.pos, wrappedEnd, body.pos);
      else if (frames.length === 0) emit(at, save, at); // the function's end
    } else if (op === 0x0f) {
      emit(at, save, at);
    } else if (op === 0x10 || CALL_OPS.has(op)) {
      // Tail calls (0x12, 0x13, 0x15) do not come back. A callee that never touches the
      // countdown (an import, a leaf without ticks, or every function an indirect call of this
      // type can reach is one) needs it neither given nor taken back: in a loop that calls a
      // comparator, that would be a global store and load per call.
      const back = op === 0x10 || op === 0x11 || op === 0x14;
      if (!quiet(at)) {
        emit(at, save, at);
        if (back) emit(body.pos, load, body.pos);
      }
    } else if (op === 0x0c || op === 0x0d) {
      const d = new Reader(bytes, at + 1).u32();
      const nd = depth(d);
      if (leaves(d)) emit(at, save, at);
      if (nd !== d) emit(at, [op, ...leb(nd)], body.pos);
    } else if (op === 0x0e) {
      const r = new Reader(bytes, at + 1);
      const n = r.u32();
      const targets: number[] = [];
      let changed = false;
      let leaving = false;
      for (let k = 0; k <= n; k++) {
        const d = r.u32();
        const nd = depth(d);
        if (nd !== d) changed = true;
        if (leaves(d)) leaving = true;
        targets.push(...leb(nd));
      }
      if (leaving) emit(at, save, at);
      if (changed) emit(at, [0x0e, ...leb(n), ...targets], body.pos);
    }
    prevOp = op;
  }
  parts.push(bytes.subarray(copyFrom, end));
  return concat(parts);
}

/** Marks replaced in place: at a function entry or loop head by `countdown`, others by nothing. */
function inlineCountdowns(bytes: Uint8Array, start: number, firstInstruction: number, end: number, logIndex: number, countdown: number[]): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(start, firstInstruction)];
  const replacement = Uint8Array.from(countdown);
  const body = new Reader(bytes, firstInstruction);
  let copyFrom = firstInstruction;
  let prevOp = -1;
  while (body.pos < end) {
    const at = body.pos;
    const mark = markEnd(bytes, at, logIndex);
    if (mark >= 0) {
      parts.push(bytes.subarray(copyFrom, at));
      if (at === firstInstruction || prevOp === 0x03) parts.push(replacement);
      copyFrom = body.pos = mark;
      prevOp = 0x10;
      continue;
    }
    prevOp = skipInstruction(body);
  }
  parts.push(bytes.subarray(copyFrom, end));
  return concat(parts);
}

/**
 * Turn the marks of --log-execution into the tick countdown. Returns the new module, or null
 * when there is no env.log_execution import (nothing to do).
 */
export function insertTicks(bytes: Uint8Array): Uint8Array | null {
  const secs = sections(bytes);
  const imp = secs.find((s) => s.id === 2);
  if (!imp) return null;
  // Find the import, count imported functions and globals, and rename it.
  let funcIndex = 0;
  let globalCount = 0;
  let logIndex = -1;
  const imports = importEntries(bytes, imp);
  const newImports: number[] = [...leb(imports.length)];
  for (const e of imports) {
    if (e.kind === 0 && e.module === 'env' && e.name === 'log_execution') {
      logIndex = funcIndex;
      newImports.push(...nameBytes(TICK_MODULE), ...nameBytes(TICK_NAME), ...bytes.subarray(e.kindAt, e.end));
    } else newImports.push(...bytes.subarray(e.start, e.end));
    if (e.kind === 0) funcIndex++;
    if (e.kind === 3) globalCount++;
  }
  if (logIndex < 0) return null;

  // A new mutable i32 global: the countdown.
  const glob = secs.find((s) => s.id === 6);
  let definedGlobals = 0;
  let globalEntries: Uint8Array = new Uint8Array(0);
  if (glob) {
    const g = new Reader(bytes, glob.payload);
    definedGlobals = g.u32();
    globalEntries = bytes.subarray(g.pos, glob.end);
  }
  const tickGlobal = globalCount + definedGlobals;
  const newGlobals = section(6, [...leb(definedGlobals + 1), ...globalEntries, 0x7f, 0x01, 0x41, ...sleb(TICK_INTERVAL), 0x0b]);

  // Export it, so that the runtime can re-arm it.
  const exp = secs.find((s) => s.id === 7);
  let exportCount = 0;
  let exportEntries: Uint8Array = new Uint8Array(0);
  if (exp) {
    const e = new Reader(bytes, exp.payload);
    exportCount = e.u32();
    exportEntries = bytes.subarray(e.pos, exp.end);
  }
  const newExports = section(7, [...leb(exportCount + 1), ...exportEntries, ...nameBytes(TICK_GLOBAL_EXPORT), 0x03, ...leb(tickGlobal)]);

  // Rewrite every function body (each needs its parameter count: its new local follows them).
  const paramCounts = definedFunctionParams(bytes, secs);
  const code = secs.find((s) => s.id === 10)!;
  const c = new Reader(bytes, code.payload);
  const bodies = c.u32();
  const found: { start: number; end: number; scan: BodyScan }[] = [];
  for (let i = 0; i < bodies; i++) {
    const size = c.u32();
    found.push({ start: c.pos, end: c.pos + size, scan: scanBody(bytes, c.pos, c.pos + size, logIndex) });
    c.pos += size;
  }
  // Counted loops, leaves first: a counted loop that calls a leaf (which does not count down at
  // its entry) is charged with the leaf's work. A function that calls others counts down at its
  // entry, and one with labels the rewrite leaves alone gets a countdown there too: 0.
  const counted: Set<number>[] = found.map(() => new Set());
  const leafWork = new Map<number, number>();
  const count = (i: number, calleeWork: (f: number) => number) => {
    const { end, scan } = found[i]!;
    const r =
      scan.loops.length > 0
        ? countedLoops(bytes, scan.locals.first, end, paramCounts[i]!, logIndex, calleeWork)
        : { heads: new Set<number>(), work: end - scan.locals.first };
    counted[i] = r.heads;
    if (!scan.calls) leafWork.set(funcIndex + i, r.work);
  };
  for (let i = 0; i < bodies; i++) if (!found[i]!.scan.calls && !found[i]!.scan.otherLabels) count(i, () => 0);
  for (let i = 0; i < bodies; i++) if (found[i]!.scan.calls && !found[i]!.scan.otherLabels) count(i, (f) => leafWork.get(f) ?? 0);
  // Functions that never touch the countdown: the imports but the tick, and leaves left with
  // no countdown (all their loops counted; none with labels the rewrite leaves alone, which
  // count down on the global itself).
  const quietFunctions = new Set<number>();
  for (let f = 0; f < funcIndex; f++) if (f !== logIndex) quietFunctions.add(f);
  for (let i = 0; i < bodies; i++) {
    const { scan } = found[i]!;
    if (!scan.calls && !scan.otherLabels && scan.loops.every((at) => counted[i]!.has(at))) quietFunctions.add(funcIndex + i);
  }
  // Indirect calls: quiet when every table entry of the signature is (the table must be known).
  const indirect = indirectTargets(bytes);
  const quiet = (at: number): boolean => {
    const op = bytes[at]!;
    if (op === 0x10) return quietFunctions.has(new Reader(bytes, at + 1).u32());
    if (op === 0x11 && indirect) {
      const targets = indirect.targets.get(indirect.keyOf(new Reader(bytes, at + 1).u32()));
      return targets === undefined || [...targets].every((f) => quietFunctions.has(f));
    }
    return false;
  };
  const outBodies: Uint8Array[] = [Uint8Array.from(leb(bodies))];
  for (let i = 0; i < bodies; i++) {
    const { start, end, scan } = found[i]!;
    const newBody = rewriteBody(bytes, start, end, scan, counted[i]!, paramCounts[i]!, logIndex, tickGlobal, quiet);
    outBodies.push(Uint8Array.from(leb(newBody.length)), newBody);
  }
  const newCode = section(10, concat(outBodies));

  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  let wroteGlobals = false;
  let wroteExports = false;
  for (const s of secs) {
    // Keep section order: a missing global or export section goes where it belongs.
    if (!wroteGlobals && s.id !== 0 && s.id > 6 && !glob) {
      out.push(newGlobals);
      wroteGlobals = true;
    }
    if (!wroteExports && s.id !== 0 && s.id > 7 && s.id !== 12 && !exp) {
      out.push(newExports);
      wroteExports = true;
    }
    if (s.id === 2) out.push(section(2, newImports));
    else if (s.id === 6) {
      out.push(newGlobals);
      wroteGlobals = true;
    } else if (s.id === 7) {
      out.push(newExports);
      wroteExports = true;
    } else if (s.id === 10) out.push(newCode);
    else out.push(bytes.subarray(s.start, s.end));
  }
  return concat(out);
}
