// fork for guests (drawbridge.fork), built on the snapshot machinery: the child continues
// from the call with a copy of memory and descriptors; the parent waits for it like any child.
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { prepareModule } from '../../src/runtime/prepare.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

const FORKER = readFileSync('build/guests/checkpoint/forker.wasm');

async function run(children: number, prepared: boolean) {
  const bytes = prepared ? await prepareModule(FORKER) : FORKER;
  const module = await compileModule(bytes);
  const dir = mkdtempSync(join(tmpdir(), 'db-fork-'));
  const base = emptyManifest();
  const manifest: Manifest = { ...base, mounts: [{ host: dir, guest: '/data', mode: 'rw' }], limits: { ...base.limits, children } };
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const r = await startCommand({
    host: createNodeHost(),
    module,
    args: ['forker'],
    manifest,
    capture: prepared ? { moduleBytes: bytes, moduleName: 'forker.wasm' } : undefined,
    stdout: (b) => void out.push(b),
    stderr: (b) => void err.push(b),
  });
  const status = await r.done;
  return { status, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString(), log: readFileSync(join(dir, 'fork.log'), 'utf8') };
}

test('the child continues from fork with a copy of memory and descriptors; the parent waits for it', async () => {
  const r = await run(1, true);
  assert.equal(r.status.exitCode, 0, r.err);
  assert.equal(r.out, "child: counter 42, note 'set before fork'\nparent: child 1 exited 7; counter 41\n");
  // The child's copy of the append descriptor wrote to the same file, before the parent.
  assert.equal(r.log, 'before\nchild\nparent\n');
});

test('fork is refused cleanly: without a children grant (EAGAIN), and in a module not prepared (ENOSYS)', async () => {
  const quota = await run(0, true);
  assert.equal(quota.status.exitCode, 2);
  assert.match(quota.err, /^fork: Resource (temporarily )?unavailable/);
  const plain = await run(1, false);
  assert.equal(plain.status.exitCode, 2);
  assert.match(plain.err, /^fork: (Function not implemented|Not implemented)/);
});
