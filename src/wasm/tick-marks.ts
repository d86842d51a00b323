// The marks the tick counter is made from (wasm/ticks.ts), put in by drawbridge itself: an
// import env.log_execution(i32) and `i32.const 0; call $log_execution` at the entry of every
// function and at the head of every loop, what Binaryen's --log-execution pass puts there
// (less its marks before returns, which the tick rewrite drops). Linear in the code and in
// process, where running wasm-opt for it costs a process and a whole read and write of the
// module.

import { concat, importEntries, leb, localsOf, Reader, section, sections } from './binary.ts';
import { addFunctionImports, funcTypeBytes, rebuild, renamed, SECTION, withEntries } from './add-imports.ts';
import { skipInstruction } from './instructions.ts';

const I32 = 0x7f;

/**
 * `bytes` with the log_execution import and its marks. Throws on what it cannot read, and on a
 * module that imports env.log_execution itself (the tick rewrite would take that one).
 */
export function markForTicks(bytes: Uint8Array): Uint8Array {
  const secs = sections(bytes);
  const find = (id: number) => secs.find((s) => s.id === id);
  if (importEntries(bytes, find(SECTION.import)).some((e) => e.module === 'env' && e.name === 'log_execution'))
    throw new Error('the module imports env.log_execution already');
  const w = addFunctionImports(bytes, [{ module: 'env', name: 'log_execution', type: funcTypeBytes([I32], []) }]);
  const logIndex = w.indices[0]!;
  const mark = Uint8Array.from([0x41, 0x00, 0x10, ...leb(logIndex)]);
  if (w.types.length > 0) w.replaced.set(SECTION.type, withEntries(bytes, find(SECTION.type), SECTION.type, w.types));
  const code = find(SECTION.code);
  if (code) {
    const r = new Reader(bytes, code.payload);
    const count = r.u32();
    const bodies: Uint8Array[] = [Uint8Array.from(leb(count))];
    for (let n = 0; n < count; n++) {
      const size = r.u32();
      const start = r.pos;
      const end = start + size;
      const first = localsOf(bytes, start).first;
      const parts: Uint8Array[] = [bytes.subarray(start, first), mark];
      const walk = new Reader(bytes, first);
      let copyFrom = first;
      while (walk.pos < end) {
        const at = walk.pos;
        const op = bytes[at]!;
        if (op === 0x10 || op === 0x12 || op === 0xd2) {
          // call, return_call, ref.func: the function index moves up past the new import
          walk.pos++;
          const index = walk.u32();
          parts.push(bytes.subarray(copyFrom, at), Uint8Array.from([op, ...leb(w.shift(index))]));
          copyFrom = walk.pos;
          continue;
        }
        skipInstruction(walk);
        if (op === 0x03) {
          parts.push(bytes.subarray(copyFrom, walk.pos), mark);
          copyFrom = walk.pos;
        }
      }
      if (walk.pos !== end) throw new Error(`function body ${n} does not end where its size says`);
      parts.push(bytes.subarray(copyFrom, end));
      const body = concat(parts);
      bodies.push(Uint8Array.from(leb(body.length)), body);
      r.pos = end;
    }
    w.replaced.set(SECTION.code, section(SECTION.code, concat(bodies)));
  }
  renamed(bytes, w.shift, new Map(), w.replaced);
  return rebuild(bytes, w.replaced);
}
