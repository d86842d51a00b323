// The manifest's [limits] on every start path of the library (runtime/picoprocess.ts,
// startCommand): a picoprocess started afresh or continued from a snapshot gets the memory and
// cpu_time of the manifest it is started with, whatever its caller compiled or passed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../src/host/node/index.ts';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { compileImage, loadProgram, snapshotImage, startOptions } from '../../src/runtime/load.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { runCommand } from '../../src/runtime/run.ts';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { growModule, spinModule } from './crafted-modules.ts';

process.env.DRAWBRIDGE_CACHE = mkdtempSync(join(tmpdir(), 'drawbridge-runtime-limits-'));

function manifest(limits: Partial<Manifest['limits']>): Manifest {
  const m = emptyManifest();
  m.limits = { ...m.limits, ...limits };
  return m;
}

/** A liveness bound: a guest that is never stopped becomes a failure that says so. */
async function bounded<T>(p: Promise<T>, what: string, stop: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const r = await Promise.race([p.finally(() => clearTimeout(timer)), new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 20_000)))]);
  if (r === 'hung') {
    stop();
    assert.fail(`${what} was not ended by its limit`);
  }
  return r;
}

test('runCommand: limits.memory and limits.cpu_time of its manifest hold', async () => {
  const grow = await runCommand({ module: growModule(2000), args: ['grow'], manifest: manifest({ memory: 64 * 2 ** 20 }), capture: true });
  assert.equal(grow.exitCode, 3);
  const spin = await runCommand({ module: spinModule(), args: ['spin'], manifest: manifest({ cpuTimeMs: 500 }), capture: true, prepared: true });
  assert.deepEqual([spin.exitCode, spin.error], [152, "CPU time limit exceeded (500 ms of the manifest's limits.cpu_time)"]);
});

test("restore: the restorer's manifest limits hold for a snapshot taken without them", async () => {
  const host = createNodeHost();
  const program = await loadProgram({ source: spinModule(), name: 'spin', prepare: 'always' });
  const first = await startCommand({ ...startOptions(program), host, args: ['spin'], manifest: manifest({ cpuTimeMs: 0 }), stdout: 'null', stderr: 'null' });
  await new Promise((r) => setTimeout(r, 50));
  const bytes = await first.checkpoint!(false);
  assert.equal((await first.done).checkpointed, true);
  const snapshot = decodeSnapshot(bytes, 'snapshot');
  // Compiled as a restore compiles it, without a memory limit: the start path applies the manifest's.
  const compiled = await compileImage(snapshotImage(snapshot.module!, snapshot.meta));
  const restored = await startCommand({
    ...startOptions(compiled, { restore: snapshot }),
    host,
    args: snapshot.meta.args,
    manifest: manifest({ cpuTimeMs: 500 }),
    stdout: 'null',
    stderr: 'null',
  });
  const status = await bounded(restored.done, 'the restored spinner', () => restored.process.kill(137));
  assert.deepEqual([status.exitCode, status.error], [152, "CPU time limit exceeded (500 ms of the manifest's limits.cpu_time)"]);
});

test("a module compiled without a memory limit is started under the manifest's", async () => {
  const host = createNodeHost();
  const program = await loadProgram({ source: growModule(2000), name: 'grow', prepare: 'never' });
  const r = await startCommand({
    ...startOptions(program),
    host,
    args: ['grow'],
    manifest: manifest({ memory: 64 * 2 ** 20 }),
    stdout: 'null',
    stderr: 'null',
  });
  assert.equal((await r.done).exitCode, 3);
});
