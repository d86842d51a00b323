// The tick counter of prepared modules: a countdown at every function entry, loop head and
// return that calls the Suspending import `drawbridge.tick` when it reaches zero. It is what
// lets a program that computes for minutes without a system call be captured (and, later,
// preempted): the tick import is one of those Asyncify can unwind through.
//
// Binaryen's --log-execution pass marks the places (`i32.const N; call $log_execution`, its
// import env.log_execution); this file replaces each mark with an inline countdown on a new
// global, so that the common case costs a global decrement and a branch, not a call:
//
//     global.get $t; i32.const 1; i32.sub; global.set $t
//     global.get $t; i32.eqz; if; i32.const 0; call $tick; end
//
// and renames the import to drawbridge.tick. It decodes instructions for real (every
// immediate of MVP, bulk memory, reference types, SIMD, atomics, exceptions), so it never
// mistakes an immediate for an opcode; an instruction it does not know makes it refuse.

import { Reader, concat, leb, section, sections, sleb } from './wasm-binary.ts';

export const TICK_MODULE = 'drawbridge';
export const TICK_NAME = 'tick';
export const TICK_GLOBAL_EXPORT = '__drawbridge_ticks';
/** Countdown between calls of the tick import: frequent enough for millisecond latency. */
export const TICK_INTERVAL = 20000;

/** Advance past one instruction whose opcode byte is at r.pos; returns the opcode. */
function skipInstruction(r: Reader): number {
  const op = r.byte();
  switch (op) {
    case 0x02: case 0x03: case 0x04: case 0x06: r.blockType(); break;
    case 0x07: case 0x08: case 0x09: case 0x18: r.skipLeb(); break;
    case 0x0c: case 0x0d: case 0xd4: case 0xd6: r.skipLeb(); break;
    case 0x0e: { const n = r.u32(); for (let i = 0; i <= n; i++) r.skipLeb(); break; }
    case 0x10: case 0x12: case 0x14: case 0x15: case 0xd2: r.skipLeb(); break;
    case 0x11: case 0x13: r.skipLeb(); r.skipLeb(); break;
    case 0x1c: { const n = r.u32(); for (let i = 0; i < n; i++) r.byte(); break; }
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: r.skipLeb(); break;
    case 0x3f: case 0x40: r.skipLeb(); break;
    case 0x41: case 0x42: r.skipLeb(); break;
    case 0x43: r.pos += 4; break;
    case 0x44: r.pos += 8; break;
    case 0xd0: r.heapType(); break;
    case 0xfc: {
      const sub = r.u32();
      if (sub <= 7) break;
      if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { r.skipLeb(); r.skipLeb(); break; }
      if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) { r.skipLeb(); break; }
      throw new Error(`unknown instruction 0xfc ${sub}`);
    }
    case 0xfd: {
      const sub = r.u32();
      if (sub <= 11 || sub === 92 || sub === 93) r.memarg();
      else if (sub === 12 || sub === 13) r.pos += 16;
      else if (sub >= 21 && sub <= 34) r.byte();
      else if (sub >= 84 && sub <= 91) { r.memarg(); r.byte(); }
      break;
    }
    case 0xfe: {
      const sub = r.u32();
      if (sub === 3) r.byte();
      else r.memarg();
      break;
    }
    default:
      if (op >= 0x28 && op <= 0x3e) r.memarg();
      else if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b ||
        (op >= 0x45 && op <= 0xc4) || op === 0xd1 || op === 0xd3) {
        // no immediates
      } else throw new Error(`unknown instruction 0x${op.toString(16)}`);
  }
  return op;
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
  const r = new Reader(bytes, imp.payload);
  const n = r.u32();
  const newImports: number[] = [...leb(n)];
  const enc = new TextEncoder();
  for (let i = 0; i < n; i++) {
    const entryStart = r.pos;
    const mod = r.name();
    const field = r.name();
    const kindAt = r.pos;
    const kind = r.byte();
    if (kind === 0) r.skipLeb();
    else if (kind === 1) { r.byte(); r.limits(); }
    else if (kind === 2) r.limits();
    else if (kind === 3) { r.byte(); r.byte(); }
    else if (kind === 4) { r.byte(); r.skipLeb(); }
    if (kind === 0 && mod === 'env' && field === 'log_execution') {
      logIndex = funcIndex;
      const m = enc.encode(TICK_MODULE);
      const f = enc.encode(TICK_NAME);
      newImports.push(...leb(m.length), ...m, ...leb(f.length), ...f, ...bytes.subarray(kindAt, r.pos));
    } else newImports.push(...bytes.subarray(entryStart, r.pos));
    if (kind === 0) funcIndex++;
    if (kind === 3) globalCount++;
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
  const name = enc.encode(TICK_GLOBAL_EXPORT);
  const newExports = section(7, [...leb(exportCount + 1), ...exportEntries, ...leb(name.length), ...name, 0x03, ...leb(tickGlobal)]);

  // Rewrite every function body.
  const code = secs.find((s) => s.id === 10)!;
  const c = new Reader(bytes, code.payload);
  const bodies = c.u32();
  const countdown = Uint8Array.from([
    0x23, ...leb(tickGlobal), 0x41, 0x01, 0x6b, 0x24, ...leb(tickGlobal),
    0x23, ...leb(tickGlobal), 0x45, 0x04, 0x40, 0x41, 0x00, 0x10, ...leb(logIndex), 0x0b,
  ]);
  const outBodies: Uint8Array[] = [Uint8Array.from(leb(bodies))];
  for (let i = 0; i < bodies; i++) {
    const size = c.u32();
    const end = c.pos + size;
    const body = new Reader(bytes, c.pos);
    for (let l = body.u32(); l > 0; l--) {
      body.skipLeb();
      body.byte();
    }
    const parts: Uint8Array[] = [bytes.subarray(c.pos, body.pos)];
    let copyFrom = body.pos;
    let prevStart = -1;
    let prevOp = -1;
    while (body.pos < end) {
      const at = body.pos;
      const op = skipInstruction(body);
      if (op === 0x10 && prevOp === 0x41) {
        const callee = new Reader(bytes, at + 1).u32();
        if (callee === logIndex) {
          parts.push(bytes.subarray(copyFrom, prevStart), countdown);
          copyFrom = body.pos;
        }
      }
      prevStart = at;
      prevOp = op;
    }
    parts.push(bytes.subarray(copyFrom, end));
    const newBody = concat(parts);
    outBodies.push(Uint8Array.from(leb(newBody.length)), newBody);
    c.pos = end;
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
    else if (s.id === 6) { out.push(newGlobals); wroteGlobals = true; }
    else if (s.id === 7) { out.push(newExports); wroteExports = true; }
    else if (s.id === 10) out.push(newCode);
    else out.push(bytes.subarray(s.start, s.end));
  }
  return concat(out);
}
