// Waits-only preparation (src/runtime/prepare.ts): Asyncify on the functions that can reach a
// call that waits (src/wasm/call-graph.ts), run on skeletons of the module and merged back
// (src/wasm/subset.ts). The other functions' bodies, the names and the custom sections stay
// the original's byte for byte; any split into chunks gives the same module; the program
// computes the same; and it is captured while it waits (test/checkpoint/checkpoint-cli.test.ts
// checkpoints and restores one through the CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader, concat, leb, nameBytes, section, sections } from '../../src/wasm/binary.ts';
import { callGraph, reaching } from '../../src/wasm/call-graph.ts';
import {
  captureImports,
  isWaitsOnly,
  PrepareCapError,
  prepareModule,
  preparedPath,
  WAITS_ONLY_STEPS,
  waitsOnlyByDefault,
  AUTO_PREPARE_MAX_BYTES,
} from '../../src/runtime/prepare.ts';
import { runCommand } from '../../src/runtime/run.ts';
import { withPadding } from '../support/wasm-padding.ts';

process.env.DRAWBRIDGE_CACHE = mkdtempSync(join(tmpdir(), 'db-prepare-waits-'));

/** Each defined function's body bytes (size prefix included). */
function bodies(bytes: Uint8Array): Uint8Array[] {
  const code = sections(bytes).find((s) => s.id === 10)!;
  const r = new Reader(bytes, code.payload);
  const out: Uint8Array[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos;
    const size = r.u32();
    r.pos += size;
    out.push(bytes.subarray(start, r.pos));
  }
  return out;
}

function customSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  const s = sections(bytes).find((x) => x.id === 0 && new Reader(bytes, x.payload).name() === name);
  return s && bytes.subarray(s.start, s.end);
}

/** A name section naming each function `fn_<index>`, and a custom section of our own. */
function withNames(bytes: Uint8Array): Uint8Array {
  const graph = callGraph(bytes);
  const names: number[] = [...leb(graph.total)];
  for (let f = 0; f < graph.total; f++) names.push(...leb(f), ...nameBytes(`fn_${f}`));
  return concat([bytes, section(0, [...nameBytes('name'), 1, ...leb(names.length), ...names]), section(0, nameBytes('other'))]);
}

// The guests are built without names: counter.wasm with a name section and another custom section.
const counter = withNames(readFileSync('build/guests/checkpoint/counter.wasm'));

test('only the functions that can reach a call that waits change; names and the other bodies stay byte for byte', async () => {
  const steps: string[] = [];
  const prepared = await prepareModule(counter, { waitsOnly: true, onProgress: (phase, s, step, n) => s === 0 && steps.push(`${step}/${n} ${phase}`) });
  assert.deepEqual(
    steps,
    WAITS_ONLY_STEPS.map((p, k) => `${k + 1}/${WAITS_ONLY_STEPS.length} ${p}`),
  );
  assert.ok(WebAssembly.validate(prepared as Uint8Array<ArrayBuffer>));
  assert.ok(isWaitsOnly(prepared));
  const graph = callGraph(counter);
  const instrumented = reaching(graph, new Set(captureImports()));
  const before = bodies(counter);
  const after = bodies(prepared);
  // The original functions keep their indices; Asyncify's and the control export's come after.
  assert.ok(after.length > before.length);
  let changed = 0;
  for (let i = 0; i < before.length; i++) {
    const f = graph.imported + i;
    const same = Buffer.compare(before[i]!, after[i]!) === 0;
    if (instrumented[f]) changed += same ? 0 : 1;
    else assert.ok(same, `function ${f} cannot reach a wait and is unchanged`);
  }
  assert.ok(changed > 0, 'some function was instrumented');
  const names = customSection(counter, 'name');
  assert.ok(names, 'the test module has a name section');
  assert.equal(Buffer.compare(customSection(prepared, 'name')!, names), 0);
  assert.ok(customSection(prepared, 'other'));
  // The cache has it, under the waits-only name.
  assert.deepEqual(readFileSync(preparedPath(counter, true)), Buffer.from(prepared));
});

test('by wasm-opt (what drawbridge hands it a module it does not take), in many small chunks the module is the same as in one, and computes the same', async () => {
  const one = await prepareModule(counter, { waitsOnly: true, instrumenter: 'wasm-opt' });
  const many = await prepareModule(counter, { waitsOnly: true, instrumenter: 'wasm-opt', chunkCodeBytes: 64 });
  assert.deepEqual(Buffer.from(many), Buffer.from(one));
  assert.ok(isWaitsOnly(one));
  const dir = mkdtempSync(join(tmpdir(), 'db-prepare-waits-opt-'));
  const dirs = [{ host: dir, guest: '/data' }];
  const plain = await runCommand({ module: counter, args: ['counter', '30', '0'], dirs, capture: true });
  const byOpt = await runCommand({ module: one, args: ['counter', '30', '0'], dirs, capture: true });
  assert.equal(new TextDecoder().decode(byOpt.stdout), new TextDecoder().decode(plain.stdout));
});

async function withCache<T>(f: () => Promise<T>): Promise<T> {
  const saved = process.env.DRAWBRIDGE_CACHE;
  process.env.DRAWBRIDGE_CACHE = mkdtempSync(join(tmpdir(), 'db-prepare-waits-'));
  try {
    return await f();
  } finally {
    process.env.DRAWBRIDGE_CACHE = saved;
  }
}

test('the waits-only module computes what the original computes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-prepare-waits-data-'));
  const dirs = [{ host: dir, guest: '/data' }];
  const plain = await runCommand({ module: counter, args: ['counter', '30', '0'], dirs, capture: true });
  const prepared = await prepareModule(counter, { waitsOnly: true });
  const waits = await runCommand({ module: prepared, args: ['counter', '30', '0'], dirs, capture: true });
  assert.equal(waits.error, undefined);
  assert.equal(waits.exitCode, plain.exitCode);
  assert.equal(new TextDecoder().decode(waits.stdout), new TextDecoder().decode(plain.stdout));
  assert.match(new TextDecoder().decode(waits.stdout), /done sum/);
});

test('past the automatic size a preparation is waits-only unless told otherwise', async () => {
  assert.equal(waitsOnlyByDefault(new Uint8Array(AUTO_PREPARE_MAX_BYTES)), false);
  assert.equal(waitsOnlyByDefault(new Uint8Array(AUTO_PREPARE_MAX_BYTES + 1)), true);
  const big = withPadding(counter, AUTO_PREPARE_MAX_BYTES);
  assert.ok(isWaitsOnly(await prepareModule(big)));
});

test('a waits-only preparation past its time cap stops with a PrepareCapError, and caches nothing', async () => {
  await withCache(async () => {
    const capped = counter;
    await assert.rejects(prepareModule(capped, { waitsOnly: true, chunkCodeBytes: 64, caps: { timeoutMs: 1, memoryBytes: Infinity } }), PrepareCapError);
    assert.equal(existsSync(preparedPath(capped, true)), false);
  });
});

// drawbridge's own Asyncify runs in a worker thread (src/runtime/asyncify-thread.ts) under the
// same caps as wasm-opt's process: Yosys (30 MB, from npm) needs several hundred MiB and seconds.
const YOSYS = 'node_modules/@yowasp/yosys/gen/yosys.core.wasm';

test("drawbridge's own instrumentation past its memory cap stops with a PrepareCapError, and caches nothing", async () => {
  await withCache(async () => {
    const yosys = readFileSync(YOSYS);
    await assert.rejects(
      prepareModule(yosys, { waitsOnly: true, caps: { timeoutMs: Infinity, memoryBytes: 128 * 2 ** 20 } }),
      (e: Error) => e instanceof PrepareCapError && /^instrumenting needed more than 128 MiB of memory \(DRAWBRIDGE_PREPARE_MEMORY\)$/.test(e.message),
    );
    assert.equal(existsSync(preparedPath(yosys, true)), false);
  });
});

test("drawbridge's own instrumentation past its time cap stops, and the caller's event loop ran all along", async () => {
  await withCache(async () => {
    const yosys = readFileSync(YOSYS);
    let ticks = 0;
    const tick = setInterval(() => ticks++, 10);
    try {
      await assert.rejects(
        prepareModule(yosys, { waitsOnly: true, caps: { timeoutMs: 1000, memoryBytes: Infinity } }),
        (e: Error) => e instanceof PrepareCapError && /took longer than 1 s \(DRAWBRIDGE_PREPARE_TIMEOUT\)/.test(e.message),
      );
    } finally {
      clearInterval(tick);
    }
    // In the caller's thread the instrumentation would have held the loop for the whole second.
    assert.ok(ticks >= 10, `the event loop ran ${ticks} times in a second of instrumenting`);
    assert.equal(existsSync(preparedPath(yosys, true)), false);
  });
});
