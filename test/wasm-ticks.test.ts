// The tick rewrite of prepared modules (src/runtime/wasm-ticks.ts) on control flow that a C
// compiler rarely shows together: nested loops left by branches to outer labels, br_table,
// a typed loop, a return and a br_if out of the function from inside a loop, recursion. The
// rewritten module must validate, compute what the original computes, and call the tick about
// once per TICK_INTERVAL loop iterations or calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assemble, wasmOpt } from './binaryen.ts';
import { insertTicks, TICK_GLOBAL_EXPORT, TICK_INTERVAL, TICK_MODULE, TICK_NAME } from '../src/runtime/wasm-ticks.ts';

/** The fixture assembled, and the same marked by wasm-opt --log-execution, as prepare.ts does. */
function build(): { plain: Uint8Array; marked: Uint8Array } {
  const plain = assemble(readFileSync('test/fixtures/wat/ticks.wat', 'utf8'));
  return { plain, marked: wasmOpt(plain, ['--log-execution']) };
}

type Exports = Record<string, (...a: number[]) => number> & { [TICK_GLOBAL_EXPORT]?: WebAssembly.Global };

function instantiate(bytes: Uint8Array, onTick: () => void): Exports {
  let exports: Exports | null = null;
  const tick = () => {
    onTick();
    // As capture.ts does: re-arm the countdown.
    exports![TICK_GLOBAL_EXPORT]!.value = TICK_INTERVAL;
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { [TICK_MODULE]: { [TICK_NAME]: tick } });
  exports = instance.exports as unknown as Exports;
  return exports;
}

const CASES: [string, number[]][] = [
  ['nested', [300, 700]],
  ['nested', [0, 5]],
  ['table', [50000]],
  ['table', [200000]], // leaves through the br_if at i = 99999
  ['typed', [60000]],
  ['typed', [100000]], // returns from inside the loop at i = 77777
  ['fib', [22]],
];

test('the rewritten module validates and computes what the original computes', () => {
  const { plain, marked } = build();
  const ticked = insertTicks(marked);
  assert.ok(ticked, 'the marked module has the log import');
  assert.ok(WebAssembly.validate(ticked), 'the rewritten module validates');
  const original = new WebAssembly.Instance(new WebAssembly.Module(plain)).exports as unknown as Exports;
  let ticks = 0;
  const rewritten = instantiate(ticked, () => ticks++);
  for (const [name, args] of CASES) {
    ticks = 0;
    assert.equal(rewritten[name]!(...args), original[name]!(...args), `${name}(${args.join(', ')})`);
  }
});

test('the tick comes about once per TICK_INTERVAL loop iterations, in loops and in recursion', () => {
  const ticked = insertTicks(build().marked)!;
  let ticks = 0;
  const m = instantiate(ticked, () => ticks++);
  // 300 * 701 inner loop heads plus 301 outer ones.
  m.nested!(300, 700);
  const heads = 300 * 701 + 301;
  assert.ok(ticks >= Math.floor(heads / TICK_INTERVAL) - 1 && ticks <= Math.ceil(heads / TICK_INTERVAL) + 1, `${ticks} ticks for ${heads} loop heads`);
  // fib(22) makes 57 313 calls and has no loop: only the entry countdown counts them.
  ticks = 0;
  m.fib!(22);
  assert.ok(ticks >= 2 && ticks <= 3, `${ticks} ticks for 57 313 calls`);
  // The count goes on across calls: a loop that calls a leaf still ticks.
  ticks = 0;
  m.table!(50000);
  assert.ok(ticks >= 2 && ticks <= 3, `${ticks} ticks for 50 000 loop heads`);
});
