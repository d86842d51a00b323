// The frame buffer and input calls of the drawbridge import module (src/libos/drawbridge/fb.ts),
// run as users run them: the C guest guests/fb/fb_api.c through runCommand on a kernel host whose
// frame-buffer listener and input injection are the embedder's (what `run --fb` uses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { runCommand } from '../../src/runtime/run.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import type { FrameBufferUpdate, InputEvent, KernelHost } from '../../src/host/kernel/kernel.ts';

const GUEST = resolve('build/guests/fb/fb_api.wasm');

interface Seen {
  rect: [number, number, number, number];
  size: [number, number];
  /** The kernel's frame buffer as it was when the update was notified. */
  pixels: Uint8Array;
}

async function run(role: string, host: KernelHost, onUpdate: (u: FrameBufferUpdate, n: number) => void = () => {}) {
  const seen: Seen[] = [];
  host.onFrameBufferUpdate((u) => {
    seen.push({ rect: [u.x, u.y, u.w, u.h], size: [u.width, u.height], pixels: u.pixels.slice() });
    onUpdate(u, seen.length);
  });
  const r = await runCommand({ module: GUEST, args: ['fb_api', role], capture: true, host });
  host.onFrameBufferUpdate(null);
  return { code: r.exitCode, error: r.error, out: Buffer.from(r.stdout).toString(), seen };
}

/** The RGBA bytes of pixel (x, y) in a frame buffer of width w. */
const at = (pixels: Uint8Array, w: number, x: number, y: number) => [...pixels.subarray((y * w + x) * 4, (y * w + x) * 4 + 4)];

test('fb_export sends the whole frame; fb_update copies exactly its rectangle into the kernel frame buffer', async () => {
  const r = await run('rect', createMemoryHost());
  assert.equal(r.out, 'export: OK\nupdate: OK\nwhole rows: OK\n');
  assert.deepEqual(
    r.seen.map((s) => [s.rect, s.size]),
    [
      [
        [0, 0, 8, 6],
        [8, 6],
      ],
      [
        [2, 1, 3, 2],
        [8, 6],
      ],
      [
        [0, 4, 8, 2],
        [8, 6],
      ],
    ],
  );
  const first = r.seen[0]!.pixels;
  for (let y = 0; y < 6; y++) for (let x = 0; x < 8; x++) assert.deepEqual(at(first, 8, x, y), [x * 10, y * 10, 1, 255]);
  // Every pixel of the guest's array changed; only the rectangle reached the kernel.
  const second = r.seen[1]!.pixels;
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 8; x++) {
      const inside = x >= 2 && x < 5 && y >= 1 && y < 3;
      assert.deepEqual(at(second, 8, x, y), inside ? [200 + x, 200 + y, 2, 255] : [x * 10, y * 10, 1, 255], `pixel ${x},${y}`);
    }
  }
  const third = r.seen[2]!.pixels;
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 8; x++) {
      const changed = y >= 4 || (x >= 2 && x < 5 && y >= 1 && y < 3);
      assert.deepEqual(at(third, 8, x, y), changed ? [200 + x, 200 + y, 2, 255] : [x * 10, y * 10, 1, 255], `pixel ${x},${y}`);
    }
  }
});

test('sizes and rectangles outside the frame buffer are refused, and nothing is sent for them', async () => {
  const r = await run('bounds', createMemoryHost());
  assert.equal(
    r.out,
    [
      'export 0x6: EINVAL',
      'export -8x6: EINVAL',
      'export 8193x8193: ENOMEM',
      'export 8x6: OK',
      'update past the right edge: EINVAL',
      'update past the bottom: EINVAL',
      'update at -1: EINVAL',
      'update of width -1: EINVAL',
      'update 0x0: OK',
      'read max -1: EINVAL',
      'read with none waiting: OK, 0 events',
      'wait max 0: EINVAL',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    r.seen.map((s) => s.rect),
    [[0, 0, 8, 6]],
  );
});

test('pixels that run past the end of memory are a guest fault: the program stops, nothing is exported', async () => {
  const r = await run('fault', createMemoryHost());
  assert.equal(r.out, 'before\n');
  assert.match(r.error ?? '', /pointer out of bounds: 16384 bytes of frame buffer pixels at \d+/);
  assert.equal(r.code, 1);
  assert.equal(r.seen.length, 0);
});

const EVENTS: InputEvent[] = [
  { type: 2, code: 5, value: 4 },
  { type: 3, code: 1, value: 1 },
  { type: 2, code: 6, value: 4 },
  { type: 3, code: 1, value: 0 },
  { type: 1, code: 'c'.charCodeAt(0), value: 1 },
];
const EVENT_LINES = EVENTS.map((e) => `event type=${e.type} code=${e.code} value=${e.value}`);

test('input_wait with no timeout waits for events and reads them in the order they were injected', async () => {
  const host = createNodeHost();
  const r = await run('events', host, (u) => {
    // The export is the guest's signal: inject once it is waiting (after this turn), in two batches.
    setImmediate(() => {
      for (const e of EVENTS.slice(0, 2)) assert.equal(host.injectInput(u.processId, e), 0);
      setTimeout(() => {
        for (const e of EVENTS.slice(2)) assert.equal(host.injectInput(u.processId, e), 0);
      }, 5);
    });
  });
  assert.equal(r.error, undefined);
  assert.equal(r.out, EVENT_LINES.join('\n') + '\n');
  assert.equal(r.code, 0);
});

test('input_read never waits: a guest calling it in a loop still lets the host deliver events', async () => {
  const host = createNodeHost();
  const r = await run('spin', host, (u) => {
    setTimeout(() => host.injectInput(u.processId, EVENTS[4]!), 10);
  });
  assert.equal(r.error, undefined);
  assert.equal(r.out, `read after more than one call: yes\n${EVENT_LINES[4]}\n`);
});

test('input_wait with a timeout and nothing coming answers 0 events once the timeout has passed', async () => {
  const r = await run('timeout', createNodeHost());
  assert.equal(r.out, 'timeout: OK, 0 events, waited at least 30 ms: yes\n');
});

test('drawing into the frame buffer does not count against limits.bytes_written; other writes still do', async () => {
  const manifest = emptyManifest();
  manifest.limits = { ...manifest.limits, bytesWritten: 64 * 1024 };
  const host = createMemoryHost();
  let updates = 0;
  host.onFrameBufferUpdate(() => updates++);
  const r = await runCommand({ module: GUEST, args: ['fb_api', 'quota'], capture: true, host, manifest });
  host.onFrameBufferUpdate(null);
  // 2000 whole frames of 8x6 pixels: 384 000 bytes drawn, six times the limit.
  assert.equal(Buffer.from(r.stdout).toString(), 'updates refused: 0\nbig write: refused\n');
  assert.equal(updates, 2000);
  assert.equal(r.exitCode, 0);
});
