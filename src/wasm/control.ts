// One export for the runtime's hold on a prepared module, in place of ten or so.
//
// Asyncify exports five functions (start/stop unwind and rewind, get state), the tick rewrite
// exports its countdown, and a capture needs every mutable global: as exports, that is a JS
// function or a WebAssembly.Global that V8 makes at every instantiation, a noticeable share of
// `new WebAssembly.Instance` for a small program (docs/serve.md, "Density"), paid by every
// picoprocess start of a host that starts thousands. This rewrite, the last step of a
// preparation, removes those exports and adds one function instead:
//
//     __drawbridge_control(op: i32, a: i32, b: i64) -> i64
//
// whose ops (CONTROL below) call the Asyncify functions, read and write the k-th mutable global
// (in the order of mutableGlobals(), as raw bits in an i64) and re-arm the tick countdown. The
// program's own exports stay as they are. Capture (capture.ts) uses this export when a module
// has it and the old ones otherwise (snapshots of earlier versions carry such modules).

import { Reader, concat, importedFunctionCount, leb, nameBytes, section, sections, sleb } from './binary.ts';
import { mutableGlobals } from './sections.ts';
import { TICK_GLOBAL_EXPORT, TICK_INTERVAL } from './ticks.ts';

export const CONTROL_EXPORT = '__drawbridge_control';

/** The ops of __drawbridge_control. */
export const CONTROL = {
  getState: 0,
  startUnwind: 1,
  stopUnwind: 2,
  startRewind: 3,
  stopRewind: 4,
  /** The k-th mutable global's bits (a: k). */
  getGlobal: 5,
  /** Set the k-th mutable global to the bits b (a: k). */
  setGlobal: 6,
  /** Re-arm the tick countdown (a module without one: nothing). */
  rearmTicks: 7,
} as const;

/** What Binaryen's Asyncify exports, and the control op that stands for each. */
export const ASYNCIFY_OPS = {
  asyncify_get_state: CONTROL.getState,
  asyncify_start_unwind: CONTROL.startUnwind,
  asyncify_stop_unwind: CONTROL.stopUnwind,
  asyncify_start_rewind: CONTROL.startRewind,
  asyncify_stop_rewind: CONTROL.stopRewind,
} as const;
export type AsyncifyExport = keyof typeof ASYNCIFY_OPS;
export const ASYNCIFY_EXPORTS = Object.keys(ASYNCIFY_OPS) as AsyncifyExport[];

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const VALTYPE: Record<string, number> = { i32: I32, i64: I64, f32: F32, f64: F64 };

/**
 * The prepared module with its Asyncify, countdown and global exports replaced by
 * __drawbridge_control. Null when it lacks one of Asyncify's exports or has a mutable global
 * of another type than i32, i64, f32, f64 (the caller then keeps the exports as they are).
 */
export function addControlExport(bytes: Uint8Array): Uint8Array | null {
  const secs = sections(bytes);
  const find = (id: number) => secs.find((s) => s.id === id);
  const exp = find(7);
  if (!exp) return null;
  const globals = mutableGlobals(bytes);
  if (globals.some((g) => VALTYPE[g.type] === undefined)) return null;

  // The exports: Asyncify's functions and the countdown are taken out, the rest kept.
  const fn = new Map<string, number>();
  let tickGlobal = -1;
  const kept: Uint8Array[] = [];
  const r = new Reader(bytes, exp.payload);
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    const name = r.name();
    const kind = r.byte();
    const index = r.u32();
    if (kind === 0 && Object.hasOwn(ASYNCIFY_OPS, name)) fn.set(name, index);
    else if (kind === 3 && name === TICK_GLOBAL_EXPORT) tickGlobal = index;
    else kept.push(bytes.subarray(start, r.pos));
  }
  if (ASYNCIFY_EXPORTS.some((name) => !fn.has(name))) return null;

  // Function and type counts: the new function comes last, its type after the others.
  const imported = importedFunctionCount(bytes, find(2));
  const typeSec = find(1);
  const funcSec = find(3);
  const codeSec = find(10);
  if (!typeSec || !funcSec || !codeSec) return null;
  const typeCount = new Reader(bytes, typeSec.payload).u32();
  const definedCount = new Reader(bytes, funcSec.payload).u32();
  const controlIndex = imported + definedCount;

  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of secs) {
    if (s.id === 1) out.push(appended(bytes, s, [0x60, 3, I32, I32, I64, 1, I64]));
    else if (s.id === 3) out.push(appended(bytes, s, leb(typeCount)));
    else if (s.id === 10) {
      const body = controlBody(
        fn,
        globals.map((g) => VALTYPE[g.type]!),
        globals.map((g) => g.index),
        tickGlobal,
      );
      out.push(appended(bytes, s, [...leb(body.length), ...body]));
    } else if (s.id === 7) {
      out.push(
        section(7, concat([Uint8Array.from(leb(kept.length + 1)), ...kept, Uint8Array.from([...nameBytes(CONTROL_EXPORT), 0x00, ...leb(controlIndex)])])),
      );
    } else out.push(bytes.subarray(s.start, s.end));
  }
  return concat(out);
}

/** A vector section with one more entry at its end. */
function appended(bytes: Uint8Array, s: { id: number; payload: number; end: number }, entry: number[]): Uint8Array {
  const r = new Reader(bytes, s.payload);
  const count = r.u32();
  return section(s.id, concat([Uint8Array.from(leb(count + 1)), bytes.subarray(r.pos, s.end), Uint8Array.from(entry)]));
}

/**
 *     block (op 7) ... block (op 0)
 *       local.get op; br_table 0..7, default: unreachable
 *     end  call get_state; i64.extend_i32_u; return
 *     ...
 *     (op 5, 6: an inner br_table on `a` over the mutable globals)
 */
function controlBody(fn: Map<string, number>, types: number[], indices: number[], tickGlobal: number): number[] {
  const call = (name: string) => [0x10, ...leb(fn.get(name)!)];
  const zero = [0x42, 0x00, 0x0f]; // i64.const 0; return
  const a = [0x20, 0x01];
  const b = [0x20, 0x02];
  const get = (k: number): number[] => {
    const g = [0x23, ...leb(indices[k]!)];
    switch (types[k]) {
      case I32:
        return [...g, 0xad]; // i64.extend_i32_u
      case F32:
        return [...g, 0xbc, 0xad]; // i32.reinterpret_f32, i64.extend_i32_u
      case F64:
        return [...g, 0xbd]; // i64.reinterpret_f64
      default:
        return g;
    }
  };
  const set = (k: number): number[] => {
    const g = [0x24, ...leb(indices[k]!)];
    switch (types[k]) {
      case I32:
        return [...b, 0xa7, ...g]; // i32.wrap_i64
      case F32:
        return [...b, 0xa7, 0xbe, ...g]; // i32.wrap_i64, f32.reinterpret_i32
      case F64:
        return [...b, 0xbf, ...g]; // f64.reinterpret_i64
      default:
        return [...b, ...g];
    }
  };
  const perGlobal = (each: (k: number) => number[], after: number[]): number[] => {
    // block^(n+1) a br_table k -> case k, default -> unreachable
    const n = types.length;
    const out: number[] = [];
    for (let k = 0; k <= n; k++) out.push(0x02, 0x40);
    out.push(...a, 0x0e, ...leb(n), ...Array.from({ length: n }, (_, k) => leb(k)).flat(), ...leb(n), 0x0b);
    for (let k = 0; k < n; k++) out.push(...each(k), ...after, 0x0b);
    out.push(0x00); // default: no such global
    return out;
  };
  const cases: number[][] = [
    [...call('asyncify_get_state'), 0xad, 0x0f],
    [...a, ...call('asyncify_start_unwind'), ...zero],
    [...call('asyncify_stop_unwind'), ...zero],
    [...a, ...call('asyncify_start_rewind'), ...zero],
    [...call('asyncify_stop_rewind'), ...zero],
    perGlobal((k) => [...get(k), 0x0f], []),
    perGlobal(set, zero),
    tickGlobal >= 0 ? [0x41, ...sleb(TICK_INTERVAL), 0x24, ...leb(tickGlobal), ...zero] : zero,
  ];
  const body: number[] = [0x00]; // no locals beyond the parameters
  for (let c = 0; c <= cases.length; c++) body.push(0x02, 0x40);
  body.push(0x20, 0x00, 0x0e, ...leb(cases.length), ...cases.flatMap((_, c) => leb(c)), ...leb(cases.length), 0x0b);
  for (const c of cases) body.push(...c, 0x0b);
  body.push(0x00, 0x0b); // an unknown op traps; end of the function
  return body;
}

const scratch = new DataView(new ArrayBuffer(8));

/** A global's value as a snapshot writes it (as `String(global.value)` would) from its bits. */
export function valueOfBits(type: string, bits: bigint): string {
  switch (type) {
    case 'i32':
      return String(Number(BigInt.asIntN(32, bits)));
    case 'i64':
      return String(BigInt.asIntN(64, bits));
    case 'f32':
      scratch.setUint32(0, Number(BigInt.asUintN(32, bits)));
      return String(scratch.getFloat32(0));
    default:
      scratch.setBigUint64(0, BigInt.asUintN(64, bits));
      return String(scratch.getFloat64(0));
  }
}

/** The bits of a global's value as a snapshot has it (valueOfBits' inverse). */
export function bitsOfValue(type: string, value: string): bigint {
  switch (type) {
    case 'i32':
      return BigInt.asUintN(64, BigInt(Number(value) | 0));
    case 'i64':
      return BigInt.asUintN(64, BigInt(value));
    case 'f32':
      scratch.setFloat32(0, Number(value));
      return BigInt(scratch.getUint32(0));
    default:
      scratch.setFloat64(0, Number(value));
      return scratch.getBigUint64(0);
  }
}
