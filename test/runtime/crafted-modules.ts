// Modules built byte by byte for the limits tests (test/runtime, test/cli, test/server): each
// a WASI command (memory and _start exported) that pushes one limit of the runtime, or one
// that makes preparation (prepare.ts, wasm-opt, src/wasm/*) work without bound.

import { concat, leb, MODULE_HEADER, nameBytes, section, sleb } from '../../src/wasm/binary.ts';

const I32 = 0x7f;
const wasi = nameBytes('wasi_snapshot_preview1');

/** A command whose _start has `body` (its local declarations first), importing proc_exit as function 0. */
function command(body: number[], extra: { start?: number[] } = {}): Uint8Array {
  const funcs = extra.start ? [1, 1] : [1];
  const bodies = extra.start ? [body, extra.start] : [body];
  return concat([
    MODULE_HEADER,
    section(1, [2, 0x60, 1, I32, 0, 0x60, 0, 0]), // 0: (i32) -> (), 1: () -> ()
    section(2, [1, ...wasi, ...nameBytes('proc_exit'), 0, 0]),
    section(3, [funcs.length, ...funcs]),
    section(5, [1, 0, 2]),
    section(7, [2, ...nameBytes('memory'), 2, 0, ...nameBytes('_start'), 0, 1]),
    ...(extra.start ? [section(8, [2])] : []),
    section(10, [bodies.length, ...bodies.flatMap((b) => [...leb(b.length), ...b])]),
  ]);
}

/** _start loops for ever without a call. */
export function spinModule(): Uint8Array {
  return command([0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b]);
}

/** _start grows memory by `pages` 64 KiB pages: exit 3 when refused, else 0. */
export function growModule(pages: number): Uint8Array {
  // (memory.grow pages) == -1 ? proc_exit(3) : proc_exit(0)
  return command([0, 0x41, ...sleb(pages), 0x40, 0, 0x41, ...sleb(-1), 0x46, 0x04, 0x40, 0x41, 3, 0x10, 0, 0x0b, 0x41, 0, 0x10, 0, 0x0b]);
}

/** _start declares 2^32-1 locals (invalid: V8 allows 50 000): tiny, but a rewriter before validation allocates them. */
export function manyLocalsModule(): Uint8Array {
  return command([1, ...leb(0xffffffff), I32, 0x0b]);
}

/** _start is `depth` loops nested in each other (each falls through): valid, and slow to prepare. */
export function nestedLoopsModule(depth: number): Uint8Array {
  return command([
    0,
    ...Array<number>(depth)
      .fill(0)
      .flatMap(() => [0x03, 0x40]),
    ...Array<number>(depth).fill(0x0b),
    0x0b,
  ]);
}

/** _start is `depth` blocks nested in each other. */
export function nestedBlocksModule(depth: number): Uint8Array {
  const body = new Array<number>(depth * 3 + 2);
  body[0] = 0;
  for (let i = 0; i < depth; i++) {
    body[1 + 2 * i] = 0x02;
    body[2 + 2 * i] = 0x40;
  }
  body.fill(0x0b, 1 + 2 * depth);
  return command(body);
}

/** A module whose start function (run at instantiation, before _start) loops for ever. */
export function loopingStartModule(): Uint8Array {
  return command([0, 0x41, 0, 0x10, 0, 0x0b], { start: [0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b] });
}
