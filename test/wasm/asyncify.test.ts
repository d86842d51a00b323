// drawbridge's own Asyncify (src/wasm/asyncify.ts): a module instrumented by it computes what the
// original computes, and a picoprocess captured at any of its waits, restored again and again,
// prints what an uninterrupted run prints. Damaged modules are refused or instrumented into
// valid ones, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { AsyncifyUnsupported, instrumentWaits } from '../../src/wasm/asyncify.ts';
import { Reader, sections } from '../../src/wasm/binary.ts';
import { callGraph, functionsReaching } from '../../src/wasm/call-graph.ts';
import { captureImports, isPrepared, prepareModule } from '../../src/runtime/prepare.ts';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { startCommand, type ExitStatus } from '../../src/runtime/picoprocess.ts';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

const SHAPES = new Uint8Array(readFileSync('build/guests/checkpoint/unwind_shapes.wasm'));
const TARGETS = new Set(captureImports());
const host = createNodeHost();

interface Outcome {
  status: ExitStatus;
  out: string;
  snapshot: Uint8Array | null;
}

/** Run `bytes` (restoring `restore` if given); with `afterLine`, checkpoint once that many lines are out. */
async function run(bytes: Uint8Array, args: string[], opts: { afterLine?: number; restore?: Uint8Array } = {}): Promise<Outcome> {
  const module = await compileModule(bytes);
  const out: string[] = [];
  let lines = 0;
  let snapshot: Promise<Uint8Array> | null = null;
  const ref: { running: Awaited<ReturnType<typeof startCommand>> | null } = { running: null };
  ref.running = await startCommand({
    host,
    module,
    args,
    manifest: emptyManifest(),
    capture: isPrepared(module) ? { moduleBytes: bytes, moduleName: 'unwind_shapes.wasm' } : undefined,
    restore: opts.restore ? decodeSnapshot(opts.restore) : undefined,
    stdout: (b) => {
      const text = Buffer.from(b).toString();
      out.push(text);
      lines += text.split('\n').length - 1;
      if (opts.afterLine !== undefined && lines >= opts.afterLine && !snapshot) snapshot = ref.running!.checkpoint!(false);
    },
  });
  const status = await ref.running.done;
  // A checkpoint asked for after the last wait is refused when the program ends.
  const taken = snapshot ? await (snapshot as Promise<Uint8Array>).catch((e: Error) => (/ended before/.test(e.message) ? null : Promise.reject(e))) : null;
  return { status, out: out.join(''), snapshot: taken };
}

test('instrumented, the program prints what the original prints', async () => {
  const own = instrumentWaits(SHAPES, TARGETS);
  assert.ok(own.instrumented > 0 && own.instrumented < own.defined);
  assert.ok(WebAssembly.validate(own.bytes as Uint8Array<ArrayBuffer>));
  const plain = await run(SHAPES, ['unwind_shapes', '12']);
  assert.match(plain.out, /^round 0 .*\n(.*\n){11}deep \d+ waits \d+\n$/);
  const prepared = await prepareModule(SHAPES, { waitsOnly: true });
  const again = await run(prepared, ['unwind_shapes', '12']);
  assert.equal(again.out, plain.out);
  assert.equal(again.status.exitCode, plain.status.exitCode);
});

test('captured after every line and restored each time in a new instance, the output is an uninterrupted run’s', async () => {
  const args = ['unwind_shapes', '12'];
  const whole = await run(SHAPES, args);
  const prepared = await prepareModule(SHAPES, { waitsOnly: true });
  let printed = '';
  let snapshot: Uint8Array | undefined;
  // A checkpoint after each line: each restore prints one line or two (a round can end
  // before the capture is taken at its next wait), until one runs to the end.
  for (let k = 0; k < 14; k++) {
    const part = await run(prepared, args, { afterLine: 1, restore: snapshot });
    printed += part.out;
    if (!part.snapshot) {
      assert.ok(k >= 6, `only ${k} checkpoints were taken`);
      assert.equal(part.status.exitCode, whole.status.exitCode);
      break;
    }
    assert.equal(part.status.checkpointed, true);
    snapshot = part.snapshot;
  }
  assert.equal(printed, whole.out);
});

/** Every guest of the suite, instrumented once for the tests that read them all. */
let guests: { name: string; bytes: Uint8Array; out: ReturnType<typeof instrumentWaits> }[] | null = null;
function instrumentedGuests(): NonNullable<typeof guests> {
  if (guests) return guests;
  const root = 'build/guests';
  guests = [];
  for (const dir of readdirSync(root)) {
    for (const name of readdirSync(join(root, dir)).filter((n) => n.endsWith('.wasm'))) {
      const bytes = new Uint8Array(readFileSync(join(root, dir, name)));
      guests.push({ name: `${dir}/${name}`, bytes, out: instrumentWaits(bytes, TARGETS) });
    }
  }
  return guests;
}

test('every guest of the suite instruments into a valid module', () => {
  let checked = 0;
  for (const { name, out } of instrumentedGuests()) {
    assert.ok(WebAssembly.validate(out.bytes as Uint8Array<ArrayBuffer>), name);
    checked++;
  }
  assert.ok(checked > 20);
});

/** Each body's local declarations (the bytes before its first instruction), in the order of the code section. */
function localDeclarations(bytes: Uint8Array): string[] {
  const code = sections(bytes).find((x) => x.id === 10)!;
  const r = new Reader(bytes, code.payload);
  const out: string[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const size = r.u32();
    const end = r.pos + size;
    const start = r.pos;
    for (let g = r.u32(); g > 0; g--) {
      r.u32();
      r.byte();
    }
    out.push(Buffer.from(bytes.subarray(start, r.pos)).toString('hex'));
    r.pos = end;
  }
  return out;
}

test('one frame layout: each fast version declares the locals its rewind version declares, in every guest', () => {
  // A capture unwinds fast versions and a restore rewinds into rewind versions: the frame one
  // pushes is the frame the other pops, local by local.
  let compared = 0;
  for (const { name, bytes, out } of instrumentedGuests()) {
    const marked = functionsReaching(bytes, TARGETS);
    const imported = callGraph(bytes).imported;
    const decls = localDeclarations(out.bytes);
    assert.equal(marked.length, out.instrumented);
    marked.forEach((f, k) => {
      assert.equal(decls[f - imported], decls[out.defined + k], `${name}: function ${f}`);
      compared++;
    });
  }
  assert.ok(compared > 100);
});

test('a damaged module that is still valid instruments into a valid module, or is refused in one line', () => {
  let valid = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(SHAPES.length - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }), (flips) => {
      const bytes = SHAPES.slice();
      for (const [at, value] of flips) bytes[at] = value;
      if (!WebAssembly.validate(bytes)) return;
      valid++;
      try {
        const out = instrumentWaits(bytes, TARGETS);
        assert.ok(WebAssembly.validate(out.bytes as Uint8Array<ArrayBuffer>));
      } catch (e) {
        assert.ok(e instanceof AsyncifyUnsupported || e instanceof Error);
        assert.doesNotMatch((e as Error).message, /\n/);
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(valid > 0, 'some damaged modules were still valid');
});

test('what it does not take is refused with a reason: no memory to unwind into', () => {
  // (module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32))) (func (export "_start") (drop (call 0))))
  const name = (text: string): number[] => [text.length, ...new TextEncoder().encode(text)];
  const section = (id: number, payload: number[]): number[] => [id, payload.length, ...payload];
  const bytes = Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [2, 0x60, 0, 1, 0x7f, 0x60, 0, 0]),
    ...section(2, [1, ...name('wasi_snapshot_preview1'), ...name('sched_yield'), 0, 0]),
    ...section(3, [1, 1]),
    ...section(7, [1, ...name('_start'), 0, 1]),
    ...section(10, [1, 5, 0, 0x10, 0, 0x1a, 0x0b]),
  ]);
  assert.ok(WebAssembly.validate(bytes));
  assert.throws(
    () => instrumentWaits(bytes, TARGETS),
    (e: Error) => e instanceof AsyncifyUnsupported && /no memory/.test(e.message),
  );
});
