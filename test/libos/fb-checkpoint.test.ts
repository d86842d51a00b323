// A program with a frame buffer, captured while it waits for input (input_wait goes through the
// library OS's waiting, so a capture ends the wait), restored on another host: it reads the event
// injected there and its next update sends its whole frame, as it was before the capture plus
// the rectangle it changed, though the new host never saw an export (guests/fb/fb_api.c resume).
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { prepareModule } from '../../src/runtime/prepare.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import type { FrameBufferUpdate, KernelHost } from '../../src/host/kernel/kernel.ts';

const GUEST = readFileSync('build/guests/fb/fb_api.wasm');

async function start(host: KernelHost, restore?: Uint8Array) {
  const prepared = await prepareModule(GUEST);
  const out: string[] = [];
  const running = await startCommand({
    host,
    module: await compileModule(prepared),
    args: ['fb_api', 'resume'],
    manifest: emptyManifest(),
    capture: { moduleBytes: prepared, moduleName: 'fb_api.wasm' },
    restore: restore ? decodeSnapshot(restore) : undefined,
    stdout: (b) => void out.push(Buffer.from(b).toString()),
  });
  return { running, out };
}

test('a program captured in input_wait is restored elsewhere: it reads the event sent there and sends its whole frame again', async () => {
  const first = createNodeHost();
  const updates: FrameBufferUpdate[] = [];
  let snapshot: Promise<Uint8Array> | null = null;
  const ref: { checkpoint?: (leave: boolean) => Promise<Uint8Array> } = {};
  first.onFrameBufferUpdate((u) => {
    updates.push({ ...u, pixels: u.pixels.slice() });
    // The export is the guest's signal: capture it once it waits for input.
    setImmediate(() => (snapshot ??= ref.checkpoint!(false)));
  });
  const a = await start(first);
  ref.checkpoint = a.running.checkpoint!;
  const status = await a.running.done;
  assert.equal(status.checkpointed, true);
  assert.equal(a.out.join(''), 'export: OK\n');
  assert.deepEqual(
    updates.map((u) => [u.x, u.y, u.w, u.h]),
    [[0, 0, 8, 6]],
  );

  const second = createNodeHost();
  const later: FrameBufferUpdate[] = [];
  second.onFrameBufferUpdate((u) => void later.push({ ...u, pixels: u.pixels.slice() }));
  const b = await start(second, await snapshot!);
  assert.equal(second.injectInput(b.running.process, { type: 1, code: 'x'.charCodeAt(0), value: 1 }), 0);
  await b.running.done;
  assert.equal(b.out.join(''), 'after the wait: OK, 1 event of type 1\nupdate: OK\n');
  // One update: the whole frame, since this kernel had no frame buffer for the program yet.
  assert.deepEqual(
    later.map((u) => [u.x, u.y, u.w, u.h, u.width, u.height]),
    [[0, 0, 8, 6, 8, 6]],
  );
  const px = later[0]!.pixels;
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 8; x++) {
      const changed = x >= 1 && x < 4 && y >= 2 && y < 4;
      assert.deepEqual([...px.subarray((y * 8 + x) * 4, (y * 8 + x) * 4 + 4)], changed ? [250, 250, 4, 255] : [x, y, 3, 255], `pixel ${x},${y}`);
    }
  }
});
