// The tick rewrite of prepared modules (src/wasm/ticks.ts) on control flow that a C
// compiler rarely shows together: nested loops left by branches to outer labels, br_table,
// a typed loop, a return and a br_if out of the function from inside a loop, recursion. The
// rewritten module must validate, compute what the original computes, and call the tick about
// once per TICK_INTERVAL loop iterations or calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assemble, wasmOpt } from '../support/binaryen.ts';
import { insertTicks, TICK_GLOBAL_EXPORT, TICK_INTERVAL, TICK_MODULE, TICK_NAME } from '../../src/wasm/ticks.ts';

/** A fixture assembled, and the same marked by wasm-opt --log-execution, as prepare.ts does. */
function build(fixture = 'ticks'): { plain: Uint8Array; marked: Uint8Array } {
  const plain = assemble(readFileSync(`test/fixtures/wat/${fixture}.wat`, 'utf8'));
  return { plain, marked: wasmOpt(plain, ['--log-execution']) };
}

type Exports = Record<string, (...a: number[]) => number> & { [TICK_GLOBAL_EXPORT]?: WebAssembly.Global };

/** The countdown is re-armed to `interval` at every tick. */
function instantiate(bytes: Uint8Array, onTick: () => void, interval = TICK_INTERVAL): Exports {
  let exports: Exports | null = null;
  const tick = () => {
    onTick();
    // As capture.ts does: re-arm the countdown.
    exports![TICK_GLOBAL_EXPORT]!.value = interval;
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

// Counted loops (src/wasm/counted-loops.ts). The countdown starts at 1 and is re-armed
// to 2 at every tick: a loop head whose countdown ran out is entered again after the tick and
// counts down once more, so every pass through a head that kept its countdown ticks once (and
// so does the entry of a function that calls others, whose first loop head then does not).
// Each case: arguments, and the ticks expected.
const COUNTED: [string, number[], number][] = [
  ['counted_ne', [7], 0],
  ['counted_set_earlier', [7], 0],
  ['counted_zero', [7], 0],
  ['counted_top', [7], 0],
  ['counted_get_tee', [7], 0],
  ['counted_lt', [7], 0],
  ['counted_break', [7], 0],
  ['counted_break', [100], 0],
  ['counted_nested', [7], 0],
  ['unknown_start', [0], 64],
  ['start_in_block', [1], 64],
  ['zero_in_loop', [7], 16 + 3], // the inner loop's heads
  ['second_write', [7], 64],
  ['write_in_if', [1], 64],
  ['continue', [1], 64],
  ['ne_not_dividing', [7], 23],
  ['lt_wraps', [7], 11],
  ['lt_start_past', [7], 1],
  ['huge_trips', [7], 100000],
  ['too_much_work', [7], 60000],
  ['nested_too_much', [7], 1000], // the outer loop's heads only
  ['together_too_much', [7], 4000],
  ['calls_leaf_few', [7], 1], // the entry only: the loop and the leaf's are counted
  ['calls_leaf_many', [7], 100], // the entry and the loop's 100 heads but the first
];

test('counted loops lose their countdown, and compute what they computed; every other loop keeps it', () => {
  const { plain, marked } = build('counted');
  const ticked = insertTicks(marked)!;
  assert.ok(WebAssembly.validate(ticked), 'the rewritten module validates');
  const original = new WebAssembly.Instance(new WebAssembly.Module(plain)).exports as unknown as Exports;
  let ticks = 0;
  const m = instantiate(ticked, () => ticks++, 2);
  for (const [name, args, expected] of COUNTED) {
    ticks = 0;
    m[TICK_GLOBAL_EXPORT]!.value = 1;
    assert.equal(m[name]!(...args), original[name]!(...args), `${name}(${args.join(', ')})`);
    assert.equal(ticks, expected, `${name}: ticks`);
  }
});

test('a function whose loops are all counted and that calls nothing has no tick at all', () => {
  const { marked } = build('counted');
  const ticked = insertTicks(marked)!;
  // Only the functions that keep a countdown import the tick: count its call sites by running
  // each export with a tick that throws.
  const m = instantiate(
    ticked,
    () => {
      throw new Error('ticked');
    },
    2,
  );
  for (const [name, args, expected] of COUNTED) {
    m[TICK_GLOBAL_EXPORT]!.value = 1;
    if (expected === 0) assert.doesNotThrow(() => m[name]!(...args), name);
    else assert.throws(() => m[name]!(...args), /ticked/, name);
  }
});

test('an endless loop, even one that looks counted, still ticks', () => {
  const { marked } = build('counted');
  let ticks = 0;
  const m = instantiate(insertTicks(marked)!, () => {
    if (++ticks === 5) throw new Error('preempted');
  });
  for (const name of ['spin_step_zero', 'spin']) {
    ticks = 0;
    // The tick that threw did not re-arm it.
    m[TICK_GLOBAL_EXPORT]!.value = TICK_INTERVAL;
    assert.throws(() => m[name]!(1), /preempted/, name);
    assert.equal(ticks, 5);
  }
});

test('calls of functions that never count down skip giving the count back; the others keep it, and the tick rate stays the same', () => {
  const { plain, marked } = build('quiet');
  const ticked = insertTicks(marked)!;
  assert.ok(WebAssembly.validate(ticked));
  const original = new WebAssembly.Instance(new WebAssembly.Module(plain)).exports as unknown as Exports;
  let ticks = 0;
  const m = instantiate(ticked, () => ticks++, 1000);
  // One countdown step per iteration of the caller's loop (the leaf adds none): 10 ticks.
  for (const name of ['direct', 'indirect']) {
    ticks = 0;
    m[TICK_GLOBAL_EXPORT]!.value = 1000;
    assert.equal(m[name]!(10000), original[name]!(10000), name);
    assert.equal(ticks, 10, `${name}: ticks`);
  }
  // Through the table to $spin_leaf: the caller's loop head and the callee's three give four
  // steps per iteration, 40 ticks. Were the count not given back around that call, the
  // callee's steps would be overwritten by the caller's and lost.
  ticks = 0;
  m[TICK_GLOBAL_EXPORT]!.value = 1000;
  assert.equal(m.noisy!(10000), original.noisy!(10000));
  assert.equal(ticks, 40, 'noisy: ticks');
});
