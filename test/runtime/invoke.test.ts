// startCommand's `invoke` option (what `drawbridge run --invoke` uses): another export than
// _start, after _initialize for a reactor; its results come back in the exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import { GuestError } from '../../src/libos/index.ts';

const REACTOR = join(import.meta.dirname, '..', '..', 'build/guests/cli/invoke_reactor.wasm');

async function invoke(name: string, args: (number | bigint)[] = []) {
  const module = await WebAssembly.compile(readFileSync(REACTOR));
  const out: Uint8Array[] = [];
  const running = await startCommand({
    host: createMemoryHost(),
    module,
    args: ['invoke_reactor.wasm'],
    manifest: emptyManifest(),
    stdout: (b) => void out.push(b),
    invoke: { name, args },
  });
  const status = await running.done;
  return { status, out: Buffer.concat(out).toString() };
}

test('invoke: the export runs after _initialize, its results in the status', async () => {
  assert.deepEqual((await invoke('based', [5])).status, { exitCode: 0, results: [1005] });
  assert.deepEqual((await invoke('mul64', [-3n, 4n])).status, { exitCode: 0, results: [-12n] });
  const hello = await invoke('hello');
  assert.deepEqual(hello.status, { exitCode: 0 });
  assert.equal(hello.out, 'hello from the reactor, base=1000\n');
  assert.equal((await invoke('stop', [9])).status.exitCode, 9);
  assert.equal((await invoke('crash')).status.exitCode, 134);
  await assert.rejects(invoke('nope'), (e) => e instanceof GuestError && /no func export named `nope` found/.test(e.message));
});
