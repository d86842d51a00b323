// The snapshot file format, version 4 (docs/snapshot.md): what encodeSnapshot writes comes back
// from decodeSnapshot and restoreMemory byte for byte; any damage (a truncation, any one byte
// changed anywhere) is refused with a SnapshotError, never another exception, and a damaged
// page is refused before the program runs, also when the page check is left to the restore.
import { test } from 'node:test';
import { testNeedingBinaryen } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkPages,
  decodeSnapshot,
  encodeSnapshot,
  nonZeroPages,
  PAGE_SIZE,
  readSnapshotFile,
  restoreMemory,
  snapshotInProcess,
  SnapshotError,
  SNAPSHOT_VERSION,
  type SnapshotMeta,
} from '../../src/checkpoint/snapshot.ts';
import { concat, leb, MODULE_HEADER, section, sleb } from '../../src/wasm/binary.ts';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { prepareModule } from '../../src/runtime/prepare.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

function meta(): Omit<SnapshotMeta, 'memory'> {
  return {
    format: 'drawbridge-snapshot',
    version: SNAPSHOT_VERSION,
    created: '2026-11-26T00:00:00.000Z',
    module: { sha256: createHash('sha256').update(MODULE).digest('hex'), size: 5, name: 'm.wasm' },
    args: ['m', 'x'],
    libos: { args: [], env: [], fds: [], monotonicNs: '7' },
    globals: [{ index: 0, type: 'i32', value: '65536' }],
    asyncify: { dataAddr: 0, dataSize: 0 },
    mounts: [],
    env: { A: 'b' },
  };
}

/** 8 pages: 1 and 7 full of data, 4 with only its last byte set, the rest zero. */
function memory(): Uint8Array {
  const m = new Uint8Array(8 * PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i++) m[PAGE_SIZE + i] = (i * 131 + 7) & 0xff;
  m[5 * PAGE_SIZE - 1] = 9;
  m.fill(0xee, 7 * PAGE_SIZE, 8 * PAGE_SIZE);
  return m;
}

const MODULE = new Uint8Array([0, 0x61, 0x73, 0x6d, 1]);

/** A fresh instance's memory: 2 pages of its own data (which the restore must zero where the snapshot has none). */
function instanceMemory(): WebAssembly.Memory {
  const m = new WebAssembly.Memory({ initial: 2, maximum: 100 });
  new Uint8Array(m.buffer).fill(0xaa);
  return m;
}

test('encode, decode and restore give back the memory byte for byte; zero pages are left out', () => {
  const mem = memory();
  assert.deepEqual(nonZeroPages(mem), [1, 4, 7]);
  const bytes = encodeSnapshot(meta(), mem, MODULE);
  // Header, three section headers, META, the module, three pages with their index and sum, trailer.
  const metaLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(16 + 4, true);
  assert.equal(bytes.length, 16 + 12 * 3 + metaLen + MODULE.length + 3 * (8 + PAGE_SIZE) + 4);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true), 4);
  for (const lazyPages of [false, true]) {
    const snap = decodeSnapshot(bytes, 's', { lazyPages });
    assert.deepEqual(snap.meta.memory, { pages: 8, nonZeroPages: 3 });
    assert.deepEqual(snap.meta.args, ['m', 'x']);
    assert.deepEqual([...snap.module!], [...MODULE]);
    assert.deepEqual([...snap.pages.keys()], [1, 4, 7]);
    assert.equal(snap.unchecked !== undefined, lazyPages);
    const target = instanceMemory();
    restoreMemory(snap, target);
    assert.equal(snap.unchecked, undefined, 'checked once restored');
    assert.deepEqual(new Uint8Array(target.buffer), mem);
  }
  // Without a module section.
  const bare = decodeSnapshot(encodeSnapshot(meta(), mem, null));
  assert.equal(bare.module, null);
  assert.equal(bare.pages.size, 3);
});

test('an in-process snapshot (fork) holds copies of the pages, not views of the memory', () => {
  const mem = memory();
  const snap = snapshotInProcess(meta(), mem, MODULE);
  mem.fill(1);
  const target = instanceMemory();
  restoreMemory(snap, target);
  assert.deepEqual(new Uint8Array(target.buffer), memory());
});

test('an in-process snapshot copies only the 4 KiB pages the program touched; a restore zeroes the instance pages it does not hold', () => {
  const source = new WebAssembly.Memory({ initial: 3 });
  const src = new Uint8Array(source.buffer);
  for (const at of [5, 4096 * 7 + 1, 65536 + 4096 * 3, 2 * 65536 + 65535]) src[at] = 0x5a;
  const snap = snapshotInProcess(meta(), src, MODULE);
  assert.equal(snap.pages.size, 4); // four 4 KiB pages, not three 64 KiB ones
  assert.ok([...snap.pages.values()].every((p) => p.length === 4096));
  // A fresh instance's memory holds its data segments: bytes the snapshot's program overwrote.
  const target = new WebAssembly.Memory({ initial: 1 });
  new Uint8Array(target.buffer).fill(0x11, 4096 * 2, 4096 * 2 + 10);
  restoreMemory(snap, target);
  assert.equal(target.buffer.byteLength, 3 * 65536);
  assert.deepEqual(new Uint8Array(target.buffer), src);
});

test("restored into an instance of the snapshot's module: the pages its data segments wrote and the snapshot does not hold are zeroed", () => {
  // A module with 2 pages of memory (exported) and data at 4 KiB pages 2 and 17.
  const data = (offset: number, bytes: number[]) => [0, 0x41, ...sleb(offset), 0x0b, ...leb(bytes.length), ...bytes];
  const module = concat([
    MODULE_HEADER,
    section(5, [1, 0, 2]),
    section(7, [1, 1, 0x6d, 2, 0]),
    section(11, [2, ...data(4096 * 2 + 7, [1, 2, 3]), ...data(4096 * 17, [9])]),
  ]);
  const compiled = new WebAssembly.Module(module);
  // The program zeroed page 2 and wrote page 5; page 17 still holds its data.
  const fresh = () => new WebAssembly.Instance(compiled).exports.m as WebAssembly.Memory;
  const src = new Uint8Array(fresh().buffer);
  src.fill(0, 4096 * 2, 4096 * 3);
  src[4096 * 5] = 0x77;
  const snap = snapshotInProcess(meta(), src, module);
  assert.deepEqual(
    [...snap.pages.keys()].sort((a, b) => a - b),
    [5, 17],
  );
  const target = fresh();
  restoreMemory(snap, target);
  assert.deepEqual(new Uint8Array(target.buffer), src);
});

test('a damaged page is refused: by decode, or by the restore before the program runs when decode left it', () => {
  const good = encodeSnapshot(meta(), memory(), MODULE);
  const page4 = decodeSnapshot(good).pages.get(4)!;
  const bad = good.slice();
  bad[page4.byteOffset + 12345]! ^= 0x10;
  assert.throws(
    () => decodeSnapshot(bad, 'x.snap'),
    (e: unknown) => e instanceof SnapshotError && /^x\.snap: checksum mismatch in page 4/.test(e.message),
  );
  const lazy = decodeSnapshot(bad, 'x.snap', { lazyPages: true });
  assert.throws(() => checkPages(lazy), /checksum mismatch in page 4/);
  assert.throws(
    () => restoreMemory(decodeSnapshot(bad, 'x.snap', { lazyPages: true }), instanceMemory()),
    (e: unknown) => e instanceof SnapshotError && /checksum mismatch in page 4/.test(e.message),
  );
  checkPages(decodeSnapshot(good, 'x.snap', { lazyPages: true }));
});

test('every truncation and every one-byte change anywhere is refused with a SnapshotError', () => {
  const good = encodeSnapshot(meta(), memory(), MODULE);
  const refused = (bytes: Uint8Array, what: string) => {
    for (const lazyPages of [false, true]) {
      try {
        const snap = decodeSnapshot(bytes, 's', { lazyPages });
        restoreMemory(snap, instanceMemory());
      } catch (e) {
        assert.ok(e instanceof SnapshotError, `${what}: ${String(e)}`);
        continue;
      }
      assert.fail(`${what} (lazy ${lazyPages}) was accepted`);
    }
  };
  const positions = new Set<number>();
  for (let i = 0; i < 400; i++) positions.add(i); // header, section headers, META
  for (let i = good.length - 300; i < good.length; i++) positions.add(i); // the last page's end, trailer
  let seed = 12345;
  for (let i = 0; i < 300; i++) positions.add((seed = (seed * 1103515245 + 12345) % 2 ** 31) % good.length);
  for (const at of positions) {
    const b = good.slice();
    b[at]! ^= 1 << (at % 8);
    refused(b, `bit ${at % 8} of byte ${at} flipped`);
  }
  for (const len of [0, 8, 15, 16, 20, 40, 200, good.length - 8 - PAGE_SIZE, good.length - 5, good.length - 1]) refused(good.subarray(0, len), `cut at ${len}`);
  const longer = new Uint8Array(good.length + 4);
  longer.set(good);
  refused(longer, 'four bytes added');
});

test('another format version is refused by number, this one named', () => {
  const good = encodeSnapshot(meta(), memory(), MODULE);
  for (const v of [3, 5]) {
    const b = good.slice();
    new DataView(b.buffer).setUint32(8, v, true);
    assert.throws(() => decodeSnapshot(b), new RegExp(`snapshot format version ${v}; this drawbridge reads version 4`));
  }
});

testNeedingBinaryen('drawbridge restore of a file with a damaged page: one clear line, and the program never ran', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-snapfmt-'));
  const prepared = await prepareModule(readFileSync('build/guests/checkpoint/counter.wasm'));
  const module = await compileModule(prepared);
  let out = '';
  let ready!: () => void;
  const twoLines = new Promise<void>((r) => (ready = r));
  const host = createNodeHost();
  const manifest = { ...emptyManifest(), mounts: [{ host: dir, guest: '/data', mode: 'rw' as const }] };
  const r = await startCommand({
    host,
    module,
    args: ['counter', '50', '20'],
    manifest,
    capture: { moduleBytes: prepared, moduleName: 'counter.wasm' },
    stdout: (b) => {
      out += Buffer.from(b).toString();
      if (out.split('\n').length > 2) ready();
    },
  });
  await twoLines;
  const good = await r.checkpoint!(false);
  assert.equal((await r.done).checkpointed, true);
  const snap = decodeSnapshot(good);
  const [index, page] = [...snap.pages].at(-1)!;
  const bad = good.slice();
  bad[page.byteOffset + 777]! ^= 0xff;
  const file = join(dir, 'bad.snap');
  writeFileSync(file, bad);

  const restored = spawnSync(process.execPath, ['bin/drawbridge.js', 'restore', '--trust-unsealed', '--dir', `${dir}::/data`, file], { encoding: 'utf8' });
  assert.equal(restored.status, 1, restored.stderr);
  assert.equal(restored.stdout, '', 'the program did not run');
  assert.equal(restored.stderr, `drawbridge restore: ${file}: checksum mismatch in page ${index}: the file is corrupted\n`);

  // In process, as the CLI does it: the start fails, no guest output.
  let outAfter = '';
  await assert.rejects(
    startCommand({
      host,
      module,
      args: ['counter', '50', '20'],
      manifest,
      capture: { moduleBytes: prepared, moduleName: 'counter.wasm' },
      restore: readSnapshotFile(file),
      stdout: (b) => void (outAfter += Buffer.from(b).toString()),
    }),
    (e: unknown) => e instanceof SnapshotError && new RegExp(`checksum mismatch in page ${index}`).test(e.message),
  );
  assert.equal(outAfter, '');
});
