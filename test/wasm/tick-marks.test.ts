// markForTicks (src/wasm/tick-marks.ts): the marks of the tick counter put in by drawbridge,
// in place of Binaryen's --log-execution; and the full preparation made of them by drawbridge's
// own rewriters (runtime/prepare.ts), which a small module now gets instead of wasm-opt's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader, concat, importEntries, localsOf, MODULE_HEADER, section, sections } from '../../src/wasm/binary.ts';
import { skipInstruction } from '../../src/wasm/instructions.ts';
import { markForTicks } from '../../src/wasm/tick-marks.ts';
import { PREPARE_STEPS, prepareModule } from '../../src/runtime/prepare.ts';
import { testNeedingBinaryen } from '../support/toolchain.ts';

// This file's preparations go to a cache of its own, so that each is made here, not read.
process.env.DRAWBRIDGE_CACHE = mkdtempSync(join(tmpdir(), 'db-tick-marks-'));

interface Body {
  /** Each instruction's opcode, with the function index of call, return_call and ref.func. */
  ops: string[];
}

/** The instructions of every function body, and the module's number of imported functions. */
function bodies(bytes: Uint8Array): { imported: number; bodies: Body[] } {
  const secs = sections(bytes);
  const imported = importEntries(
    bytes,
    secs.find((s) => s.id === 2),
  ).filter((e) => e.kind === 0).length;
  const code = secs.find((s) => s.id === 10)!;
  const r = new Reader(bytes, code.payload);
  const out: Body[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const size = r.u32();
    const end = r.pos + size;
    const walk = new Reader(bytes, localsOf(bytes, r.pos).first);
    const ops: string[] = [];
    while (walk.pos < end) {
      const at = walk.pos;
      const op = skipInstruction(walk);
      ops.push(op === 0x10 || op === 0x12 || op === 0xd2 ? `${op}:${new Reader(bytes, at + 1).u32()}` : op === 0x41 ? `65:${bytes[at + 1]}` : String(op));
    }
    out.push({ ops });
    r.pos = end;
  }
  return { imported, bodies: out };
}

function guests(): { name: string; bytes: Uint8Array }[] {
  const root = 'build/guests';
  return readdirSync(root).flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((n) => n.endsWith('.wasm'))
      .map((name) => ({ name: `${dir}/${name}`, bytes: new Uint8Array(readFileSync(join(root, dir, name))) })),
  );
}

test('every guest: a mark at each function entry and loop head, every other instruction as it was, calls renumbered past the new import', () => {
  let checked = 0;
  for (const { name, bytes } of guests()) {
    const marked = markForTicks(bytes);
    assert.ok(WebAssembly.validate(marked as Uint8Array<ArrayBuffer>), name);
    const before = bodies(bytes);
    const after = bodies(marked);
    const log = before.imported; // the new import comes after the module's own
    assert.equal(after.imported, before.imported + 1, name);
    const mark = ['65:0', `16:${log}`];
    const shifted = (op: string) => {
      const [code, index] = op.split(':');
      if (index === undefined || !['16', '18', '210'].includes(code!)) return op;
      return `${code}:${Number(index) < before.imported ? index : Number(index) + 1}`;
    };
    assert.equal(after.bodies.length, before.bodies.length, name);
    before.bodies.forEach((b, i) => {
      const want: string[] = [...mark];
      for (const op of b.ops) {
        want.push(shifted(op));
        if (op === '3') want.push(...mark);
      }
      assert.deepEqual(after.bodies[i]!.ops, want, `${name}: function ${i}`);
    });
    checked++;
  }
  assert.ok(checked > 20);
});

test('a module that imports env.log_execution itself is refused (wasm-opt prepares it then)', () => {
  const own = concat([
    MODULE_HEADER,
    section(1, [1, 0x60, 1, 0x7f, 0]),
    section(2, [1, 3, 0x65, 0x6e, 0x76, 13, ...new TextEncoder().encode('log_execution'), 0, 0]),
  ]);
  assert.ok(WebAssembly.validate(own as Uint8Array<ArrayBuffer>));
  assert.throws(() => markForTicks(own), /imports env\.log_execution already/);
});

test("a small module is prepared by drawbridge's own rewriters: four steps, no wasm-opt, then read from the cache", async () => {
  const spin = new Uint8Array(readFileSync('build/guests/checkpoint/spin.wasm'));
  const steps: string[] = [];
  const own = await prepareModule(spin, { onProgress: (phase, _s, step, of) => steps.push(`${step}/${of} ${phase}`) });
  assert.deepEqual(
    steps,
    PREPARE_STEPS.map((s, i) => `${i + 1}/${PREPARE_STEPS.length} ${s}`),
  );
  assert.ok(WebAssembly.validate(own as Uint8Array<ArrayBuffer>));
  // drawbridge's Asyncify gives each instrumented function a second (rewind) version; Binaryen's
  // does not: the module has nearly twice the functions it had.
  const defined = (b: Uint8Array) => bodies(b).bodies.length;
  assert.ok(defined(own) > 1.5 * defined(spin), `${defined(own)} functions, from ${defined(spin)}`);
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(own as Uint8Array<ArrayBuffer>)).map((e) => e.name);
  assert.ok(exports.includes('__drawbridge_control'), exports.join());
  // Read back from the cache: no step runs again.
  steps.length = 0;
  assert.ok(Buffer.from(await prepareModule(spin, { onProgress: (phase) => steps.push(phase) })).equals(own));
  assert.deepEqual(steps, []);
});

testNeedingBinaryen('asked for, wasm-opt still prepares a small module, in the same four steps', async () => {
  const spin = new Uint8Array(readFileSync('build/guests/checkpoint/spin.wasm'));
  const binaryen: string[] = [];
  const prepared = await prepareModule(spin, {
    instrumenter: 'wasm-opt',
    onProgress: (phase, _s, step, of) => binaryen.push(`${step}/${of} ${phase.split(',')[0]}`),
  });
  assert.ok(bodies(prepared).bodies.length < 1.5 * bodies(spin).bodies.length);
  assert.deepEqual(
    [...new Set(binaryen)],
    PREPARE_STEPS.map((s, i) => `${i + 1}/${PREPARE_STEPS.length} ${s}`),
  );
});
