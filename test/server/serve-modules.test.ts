// The host service's module store: small modules are prepared at load, big ones only when
// `drawbridge prepare` put them in the cache (preparing one takes minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withPadding } from '../support/wasm-padding.ts';
import { ModuleStore } from '../../src/server/modules.ts';
import { isPrepared, isWaitsOnly, prepareModule } from '../../src/runtime/prepare.ts';

test('a module over the automatic limit runs unprepared until `drawbridge prepare` caches it, then prepared', async () => {
  const saved = process.env.DRAWBRIDGE_CACHE;
  process.env.DRAWBRIDGE_CACHE = mkdtempSync(join(tmpdir(), 'db-store-cache-'));
  try {
    const big = withPadding(readFileSync('build/guests/checkpoint/counter.wasm'), 300 * 1024);
    const before = await new ModuleStore().load(big, 'big.wasm');
    assert.equal(before.prepared, false);
    assert.equal(before.bytes, big);
    const prepared = await prepareModule(big); // what `drawbridge prepare big.wasm` does
    const after = await new ModuleStore().load(big, 'big.wasm');
    assert.equal(after.prepared, true);
    assert.ok(Buffer.from(after.bytes).equals(Buffer.from(prepared)));
    assert.ok(isPrepared(await new ModuleStore().compiled(after, 64 << 20)));
  } finally {
    if (saved === undefined) delete process.env.DRAWBRIDGE_CACHE;
    else process.env.DRAWBRIDGE_CACHE = saved;
  }
});

test('a module prepared --waits-only has no tick: capturable but not preemptible, so a pool gives it a worker of its own and will not move it', async () => {
  const saved = process.env.DRAWBRIDGE_CACHE;
  process.env.DRAWBRIDGE_CACHE = mkdtempSync(join(tmpdir(), 'db-store-cache-'));
  const { Pool } = await import('../../src/server/pool/pool.ts');
  const pool = new Pool({ workers: 1 });
  try {
    const idle = readFileSync('build/guests/density/idle.wasm');
    const prepared = await prepareModule(idle, { waitsOnly: true });
    assert.ok(isWaitsOnly(prepared));
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(prepared)).map((i) => `${i.module}.${i.name}`);
    assert.ok(!imports.includes('drawbridge.tick'), imports.join(' '));
    assert.ok(isPrepared(new WebAssembly.Module(prepared)));
    const loaded = await new ModuleStore().load(idle, 'idle.wasm');
    assert.equal(loaded.prepared, true);
    assert.equal(loaded.preemptible, false);
    // The full preparation, once cached, is the one a store prefers.
    assert.ok(!isWaitsOnly(await prepareModule(idle, { waitsOnly: false })));
    assert.equal((await new ModuleStore().load(idle, 'idle.wasm')).preemptible, true);

    await pool.ready();
    const info = await pool.spawn({ module: loaded });
    assert.deepEqual(
      pool.workers().map((w) => [w.dedicated, w.processes]),
      [
        [false, 0],
        [true, 1],
      ],
    );
    await assert.rejects(pool.move(info.id, 0), (e: Error & { status?: number }) => e.status === 409 && /waits-only/.test(e.message));
    // Capturable: a checkpoint while it waits for stdin, restored on a worker of its own again.
    const snap = await pool.checkpoint(info.id, false);
    await assert.rejects(pool.restore(snap, 0), /waits-only/);
    const again = await pool.restore(snap);
    assert.equal(again.capturable, true);
    assert.deepEqual(
      pool
        .workers()
        .filter((w) => w.dedicated)
        .map((w) => w.processes),
      [1],
    );
    await pool.kill(again.id);
  } finally {
    await pool.shutdown();
    if (saved === undefined) delete process.env.DRAWBRIDGE_CACHE;
    else process.env.DRAWBRIDGE_CACHE = saved;
  }
});
