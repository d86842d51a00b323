// Checkpoint and restore: a picoprocess captured while it waits continues from its snapshot
// with the output, files and exit status of an uninterrupted run.
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { prepareModule, isPrepared } from '../../src/runtime/prepare.ts';
import { startCommand, type ExitStatus } from '../../src/runtime/picoprocess.ts';
import { decodeSnapshot, SnapshotError } from '../../src/checkpoint/snapshot.ts';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

const COUNTER = readFileSync('build/guests/checkpoint/counter.wasm');
const host = createNodeHost();

function manifestFor(dir: string): Manifest {
  return { ...emptyManifest(), mounts: [{ host: dir, guest: '/data', mode: 'rw' }] };
}

async function run(dir: string, args: string[], opts: { snapshotAfterLines?: number; leaveRunning?: boolean; restore?: Uint8Array } = {}) {
  const prepared = await prepareModule(COUNTER);
  const module = await compileModule(prepared);
  assert.ok(isPrepared(module));
  const out: string[] = [];
  let lines = 0;
  let snapshot: Promise<Uint8Array> | null = null;
  const restore = opts.restore ? decodeSnapshot(opts.restore) : undefined;
  // The stdout sink refers to the running process, which is set by the time the guest writes.
  const ref: { running: Awaited<ReturnType<typeof startCommand>> | null } = { running: null };
  ref.running = await startCommand({
    host,
    module,
    args,
    manifest: manifestFor(dir),
    capture: { moduleBytes: prepared, moduleName: 'counter.wasm' },
    restore,
    stdout: (b) => {
      const text = Buffer.from(b).toString();
      out.push(text);
      lines += text.split('\n').length - 1;
      if (opts.snapshotAfterLines !== undefined && lines >= opts.snapshotAfterLines && !snapshot) {
        snapshot = ref.running!.checkpoint!(opts.leaveRunning ?? false);
      }
    },
  });
  const status: ExitStatus = await ref.running.done;
  return { status, out: out.join(''), snapshot: snapshot ? await (snapshot as Promise<Uint8Array>) : null };
}

test('a picoprocess captured while it waits continues from its snapshot, as if never stopped', async () => {
  const reference = mkdtempSync(join(tmpdir(), 'db-ckpt-ref-'));
  const whole = await run(reference, ['counter', '12', '5']);
  assert.equal(whole.status.exitCode, 506 % 7);
  assert.match(whole.out, /done sum 506\n$/);

  const dir = mkdtempSync(join(tmpdir(), 'db-ckpt-'));
  const first = await run(dir, ['counter', '12', '5'], { snapshotAfterLines: 4 });
  assert.equal(first.status.checkpointed, true);
  assert.ok(first.snapshot);
  assert.ok(!first.out.includes('done'));
  // Restoring continues where it stopped: the two outputs add up to the uninterrupted one.
  const second = await run(dir, ['counter', '12', '5'], { restore: first.snapshot! });
  assert.equal(second.status.exitCode, whole.status.exitCode);
  assert.equal(first.out + second.out, whole.out);
  // The appended log continued at its offset: every step once, in order.
  assert.equal(readFileSync(join(dir, 'log.txt'), 'utf8'), readFileSync(join(reference, 'log.txt'), 'utf8'));
});

test('--leave-running: the snapshot is taken and the program goes on undisturbed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-ckpt-live-'));
  const live = await run(dir, ['counter', '8', '5'], { snapshotAfterLines: 3, leaveRunning: true });
  assert.equal(live.status.checkpointed, undefined);
  assert.match(live.out, /done sum 140\n$/);
  assert.ok(live.snapshot);
  // Restoring that snapshot twice gives two independent runs with the same remaining output.
  // (Files are not in a snapshot: each restore gets a folder with the log file it reopens.)
  const fresh = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), name));
    writeFileSync(join(d, 'log.txt'), '');
    return d;
  };
  const a = await run(fresh('db-ckpt-a-'), ['counter', '8', '5'], { restore: live.snapshot! });
  const b = await run(fresh('db-ckpt-b-'), ['counter', '8', '5'], { restore: live.snapshot! });
  assert.equal(a.out, b.out);
  assert.ok(live.out.endsWith(a.out));
  assert.equal(a.status.exitCode, 140 % 7);
});

test('a truncated, corrupted or foreign snapshot is refused with a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-ckpt-bad-'));
  const first = await run(dir, ['counter', '6', '5'], { snapshotAfterLines: 2 });
  const good = first.snapshot!;
  assert.ok(decodeSnapshot(good).meta.memory.nonZeroPages > 0);
  assert.throws(
    () => decodeSnapshot(good.subarray(0, good.length - 100)),
    (e: unknown) => e instanceof SnapshotError && /checksum|truncated/.test((e as Error).message),
  );
  const flipped = good.slice();
  flipped[flipped.length >> 1]! ^= 0xff;
  assert.throws(() => decodeSnapshot(flipped), /checksum mismatch|does not match its hash/);
  const foreign = good.slice();
  new DataView(foreign.buffer).setUint32(8, 99, true);
  assert.throws(() => decodeSnapshot(foreign), /version 99/);
  assert.throws(() => decodeSnapshot(new TextEncoder().encode('not a snapshot at all, just some text here ......')), /bad magic/);
  const file = join(dir, 'x.snap');
  writeFileSync(file, good.subarray(0, 10));
  assert.throws(() => decodeSnapshot(readFileSync(file)), /too short/);
});

/** spin.wasm, prepared, started with `args` and `more`; its output goes into `out`. */
function startSpin(module: WebAssembly.Module, prepared: Uint8Array, args: string[], out: string[], more: Partial<Parameters<typeof startCommand>[0]> = {}) {
  return startCommand({
    host,
    module,
    args,
    manifest: emptyManifest(),
    capture: { moduleBytes: prepared, moduleName: 'spin.wasm' },
    stdout: (b) => void out.push(Buffer.from(b).toString()),
    ...more,
  });
}

for (const instrumenter of ['drawbridge', 'wasm-opt'] as const) {
  test(`a program that computes without any system call is captured by its tick counter (prepared by ${instrumenter === 'drawbridge' ? "drawbridge's own rewriters" : 'wasm-opt'})`, async () => {
    const raw = readFileSync('build/guests/checkpoint/spin.wasm');
    const prepared = await prepareModule(raw, { instrumenter });
    const module = await compileModule(prepared);
    const args = ['spin', '4', '40000000'];
    const runOnce = async (restore?: Uint8Array, snapshotAfterMs?: number) => {
      const out: string[] = [];
      const r = await startSpin(module, prepared, args, out, { restore: restore ? decodeSnapshot(restore) : undefined });
      let snap: Promise<Uint8Array> | null = null;
      // The guest never waits: the request is seen at its next tick (every few ms the tick also
      // lets the event loop run, which is what fires this timer at all).
      if (snapshotAfterMs !== undefined) setTimeout(() => (snap = r.checkpoint!(false)), snapshotAfterMs);
      const status = await r.done;
      return { status, out: out.join(''), snap: snap ? await (snap as Promise<Uint8Array>) : null };
    };
    const whole = await runOnce();
    assert.equal(whole.out.split('\n').length - 1, 4);
    const first = await runOnce(undefined, 150);
    assert.equal(first.status.checkpointed, true);
    assert.ok(first.out.split('\n').length - 1 < 4, 'captured before the end');
    const second = await runOnce(first.snap!);
    assert.equal(first.out + second.out, whole.out);
    assert.equal(second.status.exitCode, whole.status.exitCode);
  });
}

test('tier-up: a program still running after its first slice moves onto a new instance and ends as if it had not', async () => {
  const raw = readFileSync('build/guests/checkpoint/spin.wasm');
  const prepared = await prepareModule(raw);
  const module = await compileModule(prepared, 'spin.wasm', { cache: false, baseline: true });
  const args = ['spin', '3', '30000000'];
  const go = async (optimize?: () => WebAssembly.Module) => {
    const out: string[] = [];
    const r = await startSpin(module, prepared, args, out, { optimize });
    const first = r.instance;
    const status = await r.done;
    return { status, out: out.join(''), moved: r.instance !== first };
  };
  const plain = await go();
  let asked = 0;
  const tiered = await go(() => (asked++, module));
  assert.equal(asked, 1);
  assert.equal(tiered.moved, true);
  assert.equal(plain.moved, false);
  assert.equal(tiered.out, plain.out);
  assert.equal(tiered.status.exitCode, plain.status.exitCode);
});
