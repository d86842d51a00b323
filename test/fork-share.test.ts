// fork with POSIX sharing (guests/process/fork_share.c): parent and child share the open file
// description of every descriptor opened before fork (one position), and a pipe made before
// fork is one pipe whose write ends in both processes count for end of file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModule } from '../src/runtime/module-cache.ts';
import { prepareModule } from '../src/runtime/prepare.ts';
import { startCommand } from '../src/runtime/picoprocess.ts';
import { emptyManifest, type Manifest } from '../src/monitor/manifest.ts';
import { createNodeHost } from '../src/host/node/index.ts';
import { createMemoryHost } from '../src/host/memory/index.ts';
import type { Host, ProcessLauncher } from '../src/host/common/host.ts';
import { Access, StreamSide } from '../src/abi/dk.ts';
import { DkError } from '../src/abi/errors.ts';

const GUEST = readFileSync('build/guests/process/fork_share.wasm');

async function run(host: Host, dir: string) {
  const bytes = await prepareModule(GUEST);
  const module = await compileModule(bytes);
  const base = emptyManifest();
  const manifest: Manifest = { ...base, mounts: [{ host: dir, guest: '/data', mode: 'rw' }], limits: { ...base.limits, children: 1 } };
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const r = await startCommand({
    host, module, args: ['fork_share'], manifest,
    capture: { moduleBytes: bytes, moduleName: 'fork_share.wasm' },
    stdout: (b) => void out.push(b), stderr: (b) => void err.push(b),
  });
  const status = await r.done;
  return { status, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

const EXPECTED =
  "parent: child says 'go'; position 8\n" +
  "child: read 'through the pipe', then end of file\n" +
  'child: the shared position is 11\n' +
  'parent: child exited 7; its pipe reads 0 (end of file)\n' +
  "parent: file 'head:abcXYZ', position 11\n";

test('after fork: one file position for both, appends interleave, a pipe is shared and ends when both close it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-fork-share-'));
  const r = await run(createNodeHost(), dir);
  assert.equal(r.status.exitCode, 0, r.err + (r.status.error ?? ''));
  assert.equal(r.out, EXPECTED);
  // The parent's write landed after the child's: one position, not two copies.
  assert.equal(readFileSync(join(dir, 'shared.txt'), 'utf8'), 'head:abcXYZ');
  assert.equal(readFileSync(join(dir, 'append.log'), 'utf8'), 'child 1\nparent 1\nchild 2\nparent 2\n');
});

test('the kernel: DkProcessCreate passes handles past stdio; inherit:N opens each once; a shared pipe end says so', () => {
  const host = createMemoryHost();
  let passed: readonly unknown[] = [];
  const launcher: ProcessLauncher = (req) => {
    passed = req.stdio;
    return { exited: new Promise<number>(() => {}), kill() {} };
  };
  const parent = host.createProcess({ launcher });
  const RW = Access.READ | Access.WRITE;
  const a = parent.dk.streamOpen('pipe:', RW, 0, 0) as number;
  const b = parent.dk.streamOpen((parent.dk.streamAttributesQueryByHandle(a) as { peerUri: string }).peerUri, RW, 0, 0) as number;
  assert.ok(a > 0 && b > 0);
  assert.equal((parent.dk.streamAttributesQueryByHandle(b) as { shared: boolean }).shared, false);
  assert.ok(parent.dk.processCreate('file:/x.wasm', [], [0, 0, 0, b]) > 0);
  const child = host.createProcess({ stdioStreams: passed });
  assert.equal((parent.dk.streamAttributesQueryByHandle(b) as { shared: boolean }).shared, true, 'the child holds it too');
  for (const bad of ['inherit:0', 'inherit:x', 'inherit:03', 'inherit:', 'inherit:-4']) {
    assert.equal(child.dk.streamOpen(bad, 0, 0, 0), DkError.INVALID_ARGUMENT, bad);
  }
  assert.equal(child.dk.streamOpen('inherit:4', 0, 0, 0), DkError.NOT_FOUND);
  assert.equal(child.dk.streamOpen('inherit:2', 0, 0, 0), DkError.NOT_FOUND, 'stdio entries are opened as stdin: and the like');
  const h = child.dk.streamOpen('inherit:3', 0, 0, 0) as number;
  assert.ok(h > 0);
  assert.equal(child.dk.streamOpen('inherit:3', 0, 0, 0), DkError.NOT_FOUND, 'once');
  assert.equal(parent.dk.streamWrite(a, -1, new TextEncoder().encode('hi')), 2);
  const buf = new Uint8Array(8);
  assert.equal(child.dk.streamRead(h, 0, buf), 2, 'a read at an offset peeks');
  assert.equal(child.dk.streamRead(h, -1, buf), 2);
  assert.equal(new TextDecoder().decode(buf.subarray(0, 2)), 'hi');
  // Both hold the end: closing the parent's handle leaves it open for the child.
  assert.equal(parent.dk.objectClose(b), 0);
  assert.equal((parent.dk.streamAttributesQueryByHandle(a) as { peerReadable: boolean }).peerReadable, true);
  assert.equal(child.dk.objectClose(h), 0);
  const after = parent.dk.streamAttributesQueryByHandle(a) as { peerReadable: boolean; peerWritable: boolean };
  assert.equal(after.peerReadable, false, 'the last holder closed it');
  assert.equal(parent.dk.streamWrite(a, -1, new Uint8Array(1)), DkError.BROKEN_PIPE);
  assert.equal(parent.dk.streamDelete(a, StreamSide.BOTH), 0);
  child.kill(0);
  parent.kill(0);
});
