// The one control export of a prepared module (src/wasm/control.ts): it replaces the
// exports of Asyncify's functions, the tick countdown and the mutable globals; each op does
// what the export it replaces did; global values go through it as bits and come back as a
// snapshot writes them. A snapshot whose module was prepared before it (the old exports)
// still restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { assemble } from '../support/binaryen.ts';
import { addControlExport, bitsOfValue, CONTROL, CONTROL_EXPORT, valueOfBits } from '../../src/wasm/control.ts';
import { exportNames } from '../../src/wasm/sections.ts';
import { TICK_GLOBAL_EXPORT, TICK_INTERVAL } from '../../src/wasm/ticks.ts';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { Supervisor } from '../../src/server/supervisor.ts';

// Stand-ins for Asyncify's functions: each records its op (and argument) in $last.
const MODULE = `(module
  (memory (export "memory") 1)
  (global $last (mut i32) (i32.const -1))
  (global $a (mut i32) (i32.const -5))
  (global $b (mut i64) (i64.const -123456789012345))
  (global $c (mut f32) (f32.const 1.5))
  (global $d (mut f64) (f64.const -0.1))
  (global $ticks (mut i32) (i32.const 7))
  (global $fixed i32 (i32.const 9))
  (func (export "asyncify_get_state") (result i32) (global.get $last))
  (func (export "asyncify_start_unwind") (param i32) (global.set $last (i32.add (i32.const 1000) (local.get 0))))
  (func $stop (global.set $last (i32.const 2)))
  (export "asyncify_stop_unwind" (func $stop))
  (func (export "asyncify_start_rewind") (param i32) (global.set $last (i32.add (i32.const 3000) (local.get 0))))
  (export "asyncify_stop_rewind" (func $stop))
  (export "${TICK_GLOBAL_EXPORT}" (global $ticks))
  (func (export "_start") (result i32) (global.get $fixed))
  (func (export "last") (result i32) (global.get $last))
  (func (export "ticks") (result i32) (global.get $ticks)))`;

type Control = (op: number, a: number, b: bigint) => bigint;

test("one export in place of Asyncify's, the countdown's and the globals'; each op does its export's work", () => {
  const original = assemble(MODULE);
  const bytes = addControlExport(original);
  assert.ok(bytes, 'rewritten');
  assert.ok(WebAssembly.validate(bytes));
  assert.deepEqual(exportNames(bytes).sort(), [CONTROL_EXPORT, '_start', 'last', 'memory', 'ticks'].sort());
  const x = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as Record<string, (...a: never[]) => unknown>;
  const control = x[CONTROL_EXPORT] as unknown as Control;
  const last = x.last as () => number;
  assert.equal(control(CONTROL.getState, 0, 0n), BigInt(2 ** 32 - 1), 'get_state, zero-extended');
  control(CONTROL.startUnwind, 42, 0n);
  assert.equal(last(), 1042);
  control(CONTROL.stopUnwind, 0, 0n);
  assert.equal(last(), 2);
  control(CONTROL.startRewind, 7, 0n);
  assert.equal(last(), 3007);
  assert.equal(control(CONTROL.getState, 0, 0n), 3007n);
  control(CONTROL.stopRewind, 0, 0n);
  assert.equal(last(), 2);
  control(CONTROL.rearmTicks, 0, 0n);
  assert.equal((x.ticks as () => number)(), TICK_INTERVAL);
  assert.equal((x._start as () => number)(), 9, "the program's own exports are kept");
  // The mutable globals in order ($last, $a, $b, $c, $d, $ticks), as a snapshot writes them.
  const types = ['i32', 'i32', 'i64', 'f32', 'f64', 'i32'];
  const read = () => types.map((t, k) => valueOfBits(t, control(CONTROL.getGlobal, k, 0n)));
  assert.deepEqual(read(), ['2', '-5', '-123456789012345', '1.5', '-0.1', String(TICK_INTERVAL)]);
  const values = ['-7', '2147483647', '9007199254740993', '-2.5', '3.141592653589793', '1'];
  types.forEach((t, k) => control(CONTROL.setGlobal, k, bitsOfValue(t, values[k]!)));
  assert.deepEqual(read(), values);
  // An op or a global that does not exist traps.
  assert.throws(() => control(8, 0, 0n), WebAssembly.RuntimeError);
  assert.throws(() => control(CONTROL.getGlobal, 6, 0n), WebAssembly.RuntimeError);
  assert.throws(() => control(CONTROL.setGlobal, -1, 0n), WebAssembly.RuntimeError);
});

test("a module without Asyncify's exports is left to the caller (null)", () => {
  assert.equal(addControlExport(assemble('(module (func (export "_start")))')), null);
});

test("a snapshot whose module exports Asyncify's functions and its globals (prepared before the control export) restores", async () => {
  // Written by the previous version: the density guest (echo each line), checkpointed while it
  // waited for its second line, after answering "one".
  const bytes = gunzipSync(readFileSync('test/fixtures/snapshots/idle-legacy-exports.snap.gz'));
  const names = exportNames(decodeSnapshot(bytes, 'fixture').module!);
  assert.ok(names.includes('asyncify_start_unwind') && names.some((n) => n.startsWith('__drawbridge_global_')));
  assert.ok(!names.includes(CONTROL_EXPORT));
  const sv = new Supervisor({ keepEnded: 10 });
  const e = await sv.restore(bytes);
  sv.feedStdin(e.id, new TextEncoder().encode('two\n'), true);
  const status = await e.done;
  assert.equal(status.exitCode, 0, status.error);
  assert.equal(new TextDecoder().decode(e.stdout.read(0).bytes), 'echo: two\n');
});
