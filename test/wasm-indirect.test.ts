// Indirect calls that may unwind made direct before Asyncify (src/runtime/wasm-indirect.ts):
// the rewritten module computes the same, traps where the original traps, and gets a
// dispatcher only for the function types whose table entries may unwind. A table the rewrite
// cannot know is refused (null), and preparation then keeps Asyncify's default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { assemble } from './binaryen.ts';
import { devirtualizeUnwinding } from '../src/runtime/wasm-indirect.ts';

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
  for (const [i, x, y] of [[1, 2, 3], [1, 3, 2], [5, 2, 3], [5, 3, 2]] as const) assert.equal(b.compare!(i, x, y), a.compare!(i, x, y));
  assert.equal(b.io!(2, 7), 1008); // through the import
  assert.equal(b.io!(3, 7), 21);
  // A hole, an entry of the other type, an index past the table: trap as before.
  for (const i of [0, 1, 9]) {
    assert.throws(() => a.io!(i, 1), WebAssembly.RuntimeError);
    assert.throws(() => b.io!(i, 1), WebAssembly.RuntimeError);
  }
  // The dispatcher calls directly: no call_indirect of the io type is left but its own.
  const wat = execFileSync('wasm-dis', ['-'], { input: r.bytes }).toString();
  assert.equal(wat.match(/call_indirect/g)?.length, 2, 'the compare call, and the dispatcher\'s default');
});

test('nothing to do when no indirect call may unwind; refused when the table can change', () => {
  const leafOnly = assemble(`(module (type $t (func (result i32))) (table 2 funcref) (elem (i32.const 0) $a)
    (func $a (type $t) (i32.const 1)) (func (export "f") (result i32) (call_indirect (type $t) (i32.const 0))))`);
  const same = devirtualizeUnwinding(leafOnly, UNWINDING);
  assert.equal(same?.dispatchers, 0);
  assert.equal(same?.bytes, leafOnly);
  const mutable = assemble(`(module (type $t (func (result i32))) (table 2 funcref) (elem (i32.const 0) $a) (elem declare func $a)
    (func $a (type $t) (i32.const 1)) (func (export "f") (table.set 0 (i32.const 1) (ref.func $a))))`);
  assert.equal(devirtualizeUnwinding(mutable, UNWINDING), null);
  const exported = assemble(`(module (type $t (func (result i32))) (table (export "t") 2 funcref) (func $a (type $t) (i32.const 1)))`);
  assert.equal(devirtualizeUnwinding(exported, UNWINDING), null);
});
