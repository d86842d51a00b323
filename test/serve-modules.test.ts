// The host service's module store: small modules are prepared at load, big ones only when
// `drawbridge prepare` put them in the cache (preparing one takes minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withPadding } from './wasm-padding.ts';
import { ModuleStore } from '../src/server/modules.ts';
import { isPrepared, prepareModule } from '../src/runtime/prepare.ts';

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
