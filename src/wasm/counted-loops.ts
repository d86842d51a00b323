// Counted loops: the loops of a function whose number of iterations is a small constant, which
// the tick counter (wasm/ticks.ts) leaves without a countdown. Such a loop cannot run long
// without reaching code that counts down itself: its inner loops that are not counted keep
// their countdown, a callee that calls others counts down at its entry, and what is left (the
// loop's own instructions, its counted inner loops, the leaves it calls) is bounded below. A
// function that calls nothing and whose loops are all counted then has no tick at all, so that
// Asyncify leaves it alone (sha256's block function: three loops of 16, 48 and 64 iterations).
//
// Everything is checked on the decoded instructions of the marked module (--log-execution puts
// `i32.const N; call $log` after every `loop`, and mostly wraps the rest of the loop's body in
// a `block`); anything that does not match exactly keeps the countdown. The forms are those that
// clang -O2 emits for `for (int i = C0; i < B; i += S)` with constant bounds, $i being a local:
//
//   1. the test at the bottom (sha256's first two loops; n-body's loop over its five bodies):
//
//        loop                               ;; void
//          [mark; block]                    ;; --log-execution's
//            ...
//            local.get $i; [local.tee $t;] i32.const S; i32.add; local.set|local.tee $i
//            ...
//            local.get|local.tee $i; i32.const B; CMP; br_if $loop
//          [end]
//        end
//
//   2. the test at the top, the step and a `br $loop` inside an `if` (sha256's 64 rounds):
//
//        loop
//          [mark; block]
//            ...
//            local.get $i; i32.const B; CMP; if   ;; void, no else
//              ...; <the step, as above>; ...; br $loop
//            end
//          [end]
//        end
//
// where CMP, the condition to go on, is i32.ne, `i32.eq; i32.eqz`, i32.lt_s or i32.lt_u, and:
//  - $i is written exactly once in the loop (inner blocks and loops included), by that step,
//    directly in the body (form 1) or in the `if` (form 2), never inside a nested block, if or
//    loop: every iteration that goes on has run it exactly once. S > 0;
//  - no branch but that br_if (br) targets the loop: a `continue` could skip the step;
//  - $i enters the loop with a known constant C0: the last write of $i before the loop, in its
//    block or in the blocks and ifs around it, is `i32.const C0; local.set $i` directly in one of
//    them (every way into the loop passes through it: Wasm enters a block only at its start, and
//    comes back to an earlier place only through a loop, which ends the search), or there is no
//    write of $i before the loop at all and $i is not a parameter (locals start at 0);
//  - the count of iterations follows exactly, in 32-bit arithmetic: for ne, S divides B - C0
//    (modulo 2^32); for lt, C0 < B and no value up to the last one compared wraps around.
//
// The bound. A counted loop's work is its trip count times the work of one iteration: the
// loop's bytes, plus for each counted inner loop its own work, plus each call to a leaf (a
// function that calls nothing, so does not count down at its entry: its whole work, computed
// the same way); an indirect call keeps the countdown (the callee could be any leaf). Both the
// work of each counted loop and that of all the counted loops of a function together (they may
// run one after the other between two countdown steps) must stay within COUNTED_WORK_LIMIT
// instruction bytes; past it the function keeps all its countdowns, as one without counted
// loops does. So between two countdown steps a counted loop adds no more work than
// COUNTED_WORK_LIMIT bytes of straight-line code would, which a module could hold anyway: a
// guest that pads every iteration of a loop with that much counted work still reaches the
// tick (TICK_INTERVAL countdown steps) within a few time slices, while real loops stay far
// below that (how the limit was chosen, with the timings: docs/snapshot.md, "How a running
// program is captured").

import { Reader, readS32 } from './binary.ts';
import { skipInstruction } from './instructions.ts';

/** Most work, in instruction bytes executed, a counted loop (or all of a function's) may do. */
export const COUNTED_WORK_LIMIT = 128 * 1024;
/**
 * Most iterations of a counted loop. The work limit already implies it (an iteration is at
 * least 16 bytes: loop, mark, step, test, br_if); a bound of its own keeps the count small
 * whatever the work is charged.
 */
export const COUNTED_MAX_TRIPS = 1 << 16;

const I32_CONST = 0x41;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_EQZ = 0x45;
const I32_EQ = 0x46;
const I32_NE = 0x47;
const I32_LT_S = 0x48;
const I32_LT_U = 0x49;
const I32_ADD = 0x6a;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const BR_TABLE = 0x0e;
const CALL = 0x10;
const RETURN_CALL = 0x12;
/** Calls whose callee is not known: call_indirect, return_call_indirect, call_ref, return_call_ref. */
const INDIRECT_CALLS = new Set([0x11, 0x13, 0x14, 0x15]);
/** Exception handling: control flow this analysis does not follow (the function keeps its ticks). */
const EXCEPTION_OPS = new Set([0x06, 0x07, 0x08, 0x09, 0x18, 0x19, 0x1f, 0xd4, 0xd6]);

interface Instruction {
  at: number;
  op: number;
  /** The first immediate: local index, label depth, function index, i32.const's value, block type byte. */
  imm: number;
  /** Index of the instruction that opened the sequence this one is directly in (block, loop, if, else); -1 for the function's. */
  parent: number;
  /** Index of the nearest loop around this instruction, or -1. */
  loop: number;
}

interface Loop {
  index: number;
  /** Index of its `end`. */
  end: number;
  /** The loop's own bytes, from `loop` to `end`. */
  bytes: number;
  /** Labels that branch to it (instruction indices). */
  branches: number[];
  /** Loops directly inside it (none between). */
  inner: Loop[];
  /** Calls directly inside it (not inside an inner loop): their work. */
  calls: number;
  trips: number | null;
  /** One iteration's work, and the whole loop's as seen from outside it. */
  iteration: number;
  work: number;
  counted: boolean;
}

export interface CountedLoops {
  /** Byte offsets (in the module) of the `loop` instructions that need no countdown. */
  heads: Set<number>;
  /**
   * Most work of the function between two countdown steps, as a caller sees it: its bytes plus
   * that of its counted loops (and its leaf callees' work). Meaningful for leaves, which is what
   * a caller's counted loop adds per call.
   */
  work: number;
}

interface Decoded {
  code: Instruction[];
  loops: Map<number, Loop>;
  /** The instructions that write each local (local.set, local.tee), in order. */
  writes: Map<number, number[]>;
}

/** The body's instructions, with their nesting; null when the analysis does not apply. */
function decode(bytes: Uint8Array, first: number, end: number): Decoded | null {
  const code: Instruction[] = [];
  const loops = new Map<number, Loop>();
  const writes = new Map<number, number[]>();
  // Open constructs: the index of their opening instruction (-1: the function), the index that
  // opened their current sequence (an else), and the loop they are.
  const open: { index: number; seq: number; op: number }[] = [{ index: -1, seq: -1, op: -1 }];
  const loopStack: number[] = [];
  const r = new Reader(bytes, first);
  while (r.pos < end) {
    const at = r.pos;
    const op = skipInstruction(r);
    if (EXCEPTION_OPS.has(op)) return null;
    const top = open[open.length - 1]!;
    let imm = 0;
    if (op === I32_CONST) imm = readS32(bytes, at + 1);
    else if (op === LOCAL_GET || op === LOCAL_SET || op === LOCAL_TEE || op === BR || op === BR_IF || op === CALL || op === RETURN_CALL)
      imm = new Reader(bytes, at + 1).u32();
    else if (op === BLOCK || op === LOOP || op === IF) imm = bytes[at + 1]!;
    const k = code.length;
    code.push({ at, op, imm, parent: top.seq, loop: loopStack.length ? loopStack[loopStack.length - 1]! : -1 });
    if (op === LOCAL_SET || op === LOCAL_TEE) {
      const list = writes.get(imm);
      if (list) list.push(k);
      else writes.set(imm, [k]);
    }
    const target = (d: number): void => {
      const t = open[open.length - 1 - d];
      if (!t) throw new Error('a branch past the function body');
      if (t.op === LOOP) loops.get(t.index)!.branches.push(k);
    };
    if (op === BLOCK || op === LOOP || op === IF) {
      open.push({ index: k, seq: k, op });
      if (op === LOOP) {
        const outer = loopStack.length ? loops.get(loopStack[loopStack.length - 1]!) : undefined;
        const loop: Loop = { index: k, end: -1, bytes: 0, branches: [], inner: [], calls: 0, trips: null, iteration: 0, work: 0, counted: false };
        loops.set(k, loop);
        outer?.inner.push(loop);
        loopStack.push(k);
      }
    } else if (op === ELSE) {
      top.seq = k;
    } else if (op === END) {
      const closed = open.pop()!;
      if (closed.op === LOOP) {
        const loop = loops.get(closed.index)!;
        loop.end = k;
        loop.bytes = r.pos - code[closed.index]!.at;
        loopStack.pop();
      }
    } else if (op === BR || op === BR_IF) {
      target(imm);
    } else if (op === BR_TABLE) {
      const t = new Reader(bytes, at + 1);
      for (let n = t.u32(); n >= 0; n--) target(t.u32());
    }
  }
  return { code, loops, writes };
}

/** How many of the sorted `list` are below `x`. */
function below(list: number[], x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The smallest k >= from such that the condition to go on fails for C0 + k*S, or null when
 * there is none within COUNTED_MAX_TRIPS or a value compared on the way wraps around.
 */
function firstFailure(c0: number, step: number, bound: number, cmp: number, from: number): number | null {
  let k: number;
  if (cmp === I32_NE) {
    const distance = (bound - c0) >>> 0;
    if (distance % step !== 0) return null;
    k = distance / step;
    if (k < from) return null; // 0 steps but at least 1 needed: only after 2^32 / gcd wraps
  } else {
    const signed = cmp === I32_LT_S;
    const start = signed ? c0 : c0 >>> 0;
    const limit = signed ? bound : bound >>> 0;
    if (start >= limit) return null;
    k = Math.max(from, Math.ceil((limit - start) / step));
    if (start + k * step > (signed ? 0x7fffffff : 0xffffffff)) return null;
  }
  return k <= COUNTED_MAX_TRIPS ? k : null;
}

/** `local.get $i` or `local.get $i; local.tee $t` ending at index k: the value of $i, or -1. */
function readOf(code: Instruction[], k: number, local: number, parent: number): number {
  const c = code[k];
  if (c?.parent !== parent) return -1;
  if (c.op === LOCAL_GET && c.imm === local) return k;
  const g = code[k - 1];
  if (c.op === LOCAL_TEE && c.imm !== local && g?.parent === parent && g.op === LOCAL_GET && g.imm === local) return k - 1;
  return -1;
}

/** The condition to go on ending at index k (`i32.const B; CMP`), read from local.get|tee $i. */
function condition(code: Instruction[], k: number, parent: number): { cmp: number; bound: number; read: number; local: number } | null {
  let cmpAt = k;
  let cmp = code[k]?.op;
  if (cmp === I32_EQZ && code[k - 1]?.op === I32_EQ && code[k - 1]!.parent === parent) {
    cmp = I32_NE;
    cmpAt = k - 1;
  } else if (cmp !== I32_NE && cmp !== I32_LT_S && cmp !== I32_LT_U) return null;
  const b = code[cmpAt - 1];
  const v = code[cmpAt - 2];
  if (code[k]!.parent !== parent || b?.op !== I32_CONST || b.parent !== parent || !v || v.parent !== parent) return null;
  if (v.op !== LOCAL_GET && v.op !== LOCAL_TEE) return null;
  return { cmp: cmp!, bound: b.imm, read: cmpAt - 2, local: v.imm };
}

/** The trip count of one loop (how often its head runs per entry), or null. */
function tripCount({ code, writes }: Decoded, loop: Loop, params: number, logIndex: number): number | null {
  const li = loop.index;
  const head = code[li]!;
  if (head.imm !== 0x40) return null;
  // The head's mark, then --log-execution's block around the rest of the body, if it is there.
  if (code[li + 1]?.op !== I32_CONST || code[li + 2]?.op !== CALL || code[li + 2]!.imm !== logIndex) return null;
  let body = li;
  let depth = 0; // of the loop's label, seen from the body
  const wrap = code[li + 3];
  // (an `end` belongs to the construct it closes: this one closes the block, just before the loop's)
  if (wrap?.op === BLOCK && wrap.imm === 0x40 && wrap.parent === li && code[loop.end - 1]!.op === END && code[loop.end - 1]!.parent === li + 3) {
    body = li + 3;
    depth = 1;
  }
  const last = loop.end - 1 - depth; // the body's last instruction
  if (last <= li + 2 + depth) return null;
  let test: ReturnType<typeof condition>;
  let stepParent: number;
  let testFirst: boolean;
  let back: number;
  const l = code[last]!;
  if (l.op === BR_IF && l.parent === body && l.imm === depth) {
    // Form 1: ... CMP; br_if $loop
    test = condition(code, last - 1, body);
    stepParent = body;
    testFirst = false;
    back = last;
  } else if (l.op === END && code[l.parent]?.op === IF && code[l.parent]!.parent === body) {
    // Form 2: ... CMP; if ...; br $loop; end
    const ifAt = l.parent;
    if (code[ifAt]!.imm !== 0x40) return null;
    const br = code[last - 1]!;
    if (br.op !== BR || br.parent !== ifAt || br.imm !== depth + 1) return null;
    test = condition(code, ifAt - 1, body);
    stepParent = ifAt;
    testFirst = true;
    back = last - 1;
  } else return null;
  if (!test || test.read <= li + 2) return null;
  const i = test.local;
  // No other way back to the head.
  if (loop.branches.length !== 1 || loop.branches[0] !== back) return null;
  // $i is written once in the loop: by the step, directly in the body (or the if).
  const all = writes.get(i) ?? [];
  const before = below(all, li);
  if (below(all, loop.end) - before !== 1) return null;
  const w = all[before]!;
  if (code[w]!.parent !== stepParent) return null;
  if (testFirst ? w >= back : code[test.read]!.op === LOCAL_TEE ? w !== test.read : w >= test.read) return null;
  if (testFirst && code[test.read]!.op !== LOCAL_GET) return null;
  const add = code[w - 1];
  const s = code[w - 2];
  if (add?.op !== I32_ADD || add.parent !== stepParent || s?.op !== I32_CONST || s.parent !== stepParent || s.imm <= 0) return null;
  if (readOf(code, w - 3, i, stepParent) <= li + 2) return null;
  // The value $i enters with.
  const c0 = entryValue(code, before > 0 ? all[before - 1]! : -1, li, i, params);
  if (c0 === null) return null;
  // Form 1 tests after each step (the head runs once per step); form 2 before (once more).
  const k = firstFailure(c0, s.imm, test.bound, test.cmp, testFirst ? 0 : 1);
  if (k === null) return null;
  return testFirst ? k + 1 : k;
}

/**
 * The constant $i holds whenever the loop at index li is entered, given the last write of $i
 * before it (-1: none), or null. That write must be `i32.const C0; local.set $i` directly in the
 * loop's block or in one of the blocks and ifs around it (entered only at their start, so that
 * every way into the loop passes through it); without a write, $i must not be a parameter
 * (locals start at 0). A loop or an else between them ends it: what came before it did not
 * necessarily run just before the loop.
 */
function entryValue(code: Instruction[], last: number, li: number, i: number, params: number): number | null {
  let seq = code[li]!.parent;
  for (; seq > last; seq = code[seq]!.parent) {
    const op = code[seq]!.op;
    if (op !== BLOCK && op !== IF) return null;
  }
  if (last < 0) return i >= params ? 0 : null;
  const c = code[last]!;
  const v = code[last - 1];
  if (c.op !== LOCAL_SET || c.parent !== seq || v?.op !== I32_CONST || v.parent !== seq) return null;
  return v.imm;
}

/**
 * The counted loops of one function body (its instructions from `first` to `end`), given what a
 * call of each function costs a counted loop (calleeWork: a leaf's work; 0 for a function that
 * counts down at its entry, or an import).
 */
export function countedLoops(bytes: Uint8Array, first: number, end: number, params: number, logIndex: number, calleeWork: (f: number) => number): CountedLoops {
  const decoded = decode(bytes, first, end);
  const none: CountedLoops = { heads: new Set(), work: end - first };
  if (!decoded) return none;
  const { code, loops } = decoded;
  // Calls: each charged to the nearest loop around it (or to the function).
  let topCalls = 0;
  for (const c of code) {
    let w = 0;
    if (c.op === CALL && c.imm !== logIndex) w = calleeWork(c.imm);
    else if (c.op === RETURN_CALL) w = calleeWork(c.imm);
    else if (INDIRECT_CALLS.has(c.op)) w = Infinity;
    if (c.loop === -1) topCalls += w;
    else loops.get(c.loop)!.calls += w;
  }
  for (const loop of loops.values()) loop.trips = tripCount(decoded, loop, params, logIndex);
  const top = [...loops.values()].filter((l) => code[l.index]!.loop === -1);
  const measure = (allow: boolean): number => {
    // Innermost first: a loop's index is greater than that of every loop around it.
    for (const loop of [...loops.values()].sort((a, b) => b.index - a.index)) {
      loop.iteration = loop.bytes + loop.calls + loop.inner.reduce((sum, m) => sum + m.work - m.bytes, 0);
      const t = allow ? loop.trips : null;
      loop.counted = t !== null && t * loop.iteration <= COUNTED_WORK_LIMIT;
      loop.work = loop.counted ? t! * loop.iteration : loop.iteration;
    }
    return end - first + topCalls + top.reduce((sum, m) => sum + m.work - m.bytes, 0);
  };
  let work = measure(true);
  // All the counted loops of the function together (those not inside another counted loop).
  const outermost = [...loops.values()].filter((l) => l.counted && !enclosedByCounted(code, loops, l));
  if (outermost.reduce((sum, l) => sum + l.work, 0) > COUNTED_WORK_LIMIT) work = measure(false);
  const heads = new Set<number>();
  for (const loop of loops.values()) if (loop.counted) heads.add(code[loop.index]!.at);
  return { heads, work };
}

function enclosedByCounted(code: Instruction[], loops: Map<number, Loop>, loop: Loop): boolean {
  for (let p = code[loop.index]!.loop; p !== -1; p = code[p]!.loop) if (loops.get(p)!.counted) return true;
  return false;
}
