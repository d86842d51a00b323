// Indirect calls that may unwind made direct before Asyncify (src/wasm/indirect.ts):
// the rewritten module computes the same, traps where the original traps, and gets a
// dispatcher only for the function types whose table entries may unwind; a type with one
// table entry gets a guarded direct call. A table the rewrite cannot know is refused (null),
// and preparation then keeps Asyncify's default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { assemble } from '../support/binaryen.ts';
import { devirtualizeUnwinding } from '../../src/wasm/indirect.ts';

const UNWINDING = new Set(['env.wait']);

type Fns = Record<string, (...a: number[]) => number>;
const instance = (bytes: Uint8Array) =>
  new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { wait: (x: number) => x + 1 } }).exports as unknown as Fns;

test('one dispatcher, for the type that may unwind; same results and the same traps', () => {
  const original = assemble(readFileSync('test/fixtures/wat/indirect.wat', 'utf8'));
  const r = devirtualizeUnwinding(original, UNWINDING);
  assert.ok(r, 'the table is known');
  assert.equal(r.dispatchers, 1);
  assert.ok(WebAssembly.validate(r.bytes));
  const a = instance(original);
  const b = instance(r.bytes);
  for (const [i, x, y] of [
    [1, 2, 3],
    [1, 3, 2],
    [5, 2, 3],
    [5, 3, 2],
  ] as const)
    assert.equal(b.compare!(i, x, y), a.compare!(i, x, y));
  assert.equal(b.io!(2, 7), 1008); // through the import
  assert.equal(b.io!(3, 7), 21);
  // A hole, an entry of the other type, an index past the table: trap as before.
  for (const i of [0, 1, 9]) {
    assert.throws(() => a.io!(i, 1), WebAssembly.RuntimeError);
    assert.throws(() => b.io!(i, 1), WebAssembly.RuntimeError);
  }
  // The dispatcher calls directly: no call_indirect of the io type is left but its own.
  const wat = execFileSync('wasm-dis', ['-'], { input: r.bytes }).toString();
  assert.equal(wat.match(/call_indirect/g)?.length, 2, "the compare call, and the dispatcher's default");
});

test('a type with one function in the table gets a guarded direct call: same results, same traps', () => {
  // $mix's one table entry sits at slot 3, beside a hole (0) and a function of another type
  // (4); the caller has parameters and locals of several types, and calls it twice.
  const original = assemble(`(module
    (type $mix (func (param i64 f64 i32) (result f64)))
    (type $other (func (param i32) (result i32)))
    (table 6 funcref) (elem (i32.const 3) $mix_impl $other_impl)
    (func $mix_impl (type $mix) (f64.add (f64.convert_i64_s (local.get 0)) (f64.mul (local.get 1) (f64.convert_i32_s (local.get 2)))))
    (func $other_impl (type $other) (i32.add (local.get 0) (i32.const 1)))
    (func (export "twice") (param $i i32) (param $x i64) (result f64) (local $y f64)
      (local.set $y (call_indirect (type $mix) (local.get $x) (f64.const 0.5) (i32.const 3) (local.get $i)))
      (f64.add (local.get $y) (call_indirect (type $mix) (i64.const 1) (local.get $y) (i32.const 2) (local.get $i)))))`);
  const r = devirtualizeUnwinding(original, UNWINDING);
  assert.ok(r, 'the table is known');
  assert.deepEqual([r.dispatchers, r.guarded], [0, 2]);
  assert.ok(WebAssembly.validate(r.bytes));
  const a = instance(original) as unknown as Record<string, (i: number, x: bigint) => number>;
  const b = instance(r.bytes) as unknown as Record<string, (i: number, x: bigint) => number>;
  assert.equal(b.twice!(3, 7n), a.twice!(3, 7n));
  assert.equal(b.twice!(3, 7n), 7 + 1.5 + (1 + 8.5 * 2));
  // A hole, a function of another type, an index past the table: trap as before.
  for (const i of [0, 4, 6, -1]) {
    assert.throws(() => a.twice!(i, 1n), WebAssembly.RuntimeError);
    assert.throws(() => b.twice!(i, 1n), WebAssembly.RuntimeError);
  }
  const wat = execFileSync('wasm-dis', ['-'], { input: r.bytes }).toString();
  assert.equal(wat.match(/\(call \$0/g)?.length, 2, 'a direct call at each site');
  assert.equal(wat.match(/call_indirect/g)?.length, 2, 'and the original call behind each guard');
});

test('nothing to do when no indirect call may unwind or be guarded; refused when the table can change', () => {
  const twoTargets = assemble(`(module (type $t (func (result i32))) (table 2 funcref) (elem (i32.const 0) $a $b)
    (func $a (type $t) (i32.const 1)) (func $b (type $t) (i32.const 2)) (func (export "f") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))`);
  const same = devirtualizeUnwinding(twoTargets, UNWINDING);
  assert.deepEqual([same?.dispatchers, same?.guarded], [0, 0]);
  assert.equal(same?.bytes, twoTargets);
  const mutable = assemble(`(module (type $t (func (result i32))) (table 2 funcref) (elem (i32.const 0) $a) (elem declare func $a)
    (func $a (type $t) (i32.const 1)) (func (export "f") (table.set 0 (i32.const 1) (ref.func $a))))`);
  assert.equal(devirtualizeUnwinding(mutable, UNWINDING), null);
  const exported = assemble(`(module (type $t (func (result i32))) (table (export "t") 2 funcref) (func $a (type $t) (i32.const 1)))`);
  assert.equal(devirtualizeUnwinding(exported, UNWINDING), null);
});
