// The runtime: commands and reactors as picoprocesses, JSPI suspension with other
// picoprocesses running meanwhile, stdin/stdout, exit statuses, traps, both hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCommand } from '../../src/runtime/run.ts';
import { loadReactor } from '../../src/runtime/reactor.ts';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

const guest = (name: string) => `build/guests/runtime/${name}.wasm`;
const text = (b: Uint8Array) => Buffer.from(b).toString();

test('stdin bytes reach the guest through fd_read; stdout and stderr are captured', async () => {
  const r = await runCommand({ module: guest('echo_upper'), args: ['echo_upper'], stdin: Buffer.from('hello, picoprocess\n'), capture: true });
  assert.equal(r.exitCode, 0);
  assert.equal(text(r.stdout), 'HELLO, PICOPROCESS\n');
  assert.equal(text(r.stderr), '19 bytes\n');
});

test("the exit status is the guest's own", async () => {
  for (const code of [0, 3, 42, 125]) {
    const r = await runCommand({ module: guest('exit_code'), args: ['exit_code', String(code)], capture: true });
    assert.equal(r.exitCode, code);
    assert.equal(text(r.stdout), 'out\n');
    assert.equal(text(r.stderr), 'err\n');
  }
});

test('a sleeping picoprocess suspends (JSPI) while another one runs to completion on the same event loop', async () => {
  const module = await compileModule(readFileSync(guest('sleeper')));
  const host = createNodeHost();
  const order: string[] = [];
  const start = async (ms: string, word: string) => {
    const out: Uint8Array[] = [];
    const r = await startCommand({ host, module, args: ['sleeper', ms, word], manifest: emptyManifest(), stdout: (b) => void out.push(b) });
    return r.done.then((s) => {
      order.push(word);
      assert.equal(s.exitCode, 0);
      assert.equal(Buffer.concat(out).toString(), word + '\n');
    });
  };
  const slow = start('300', 'slow');
  const fast = start('1', 'fast');
  await Promise.all([slow, fast]);
  assert.deepEqual(order, ['fast', 'slow']);
});

test('the same command runs on the in-memory host, deterministically', async () => {
  const module = await compileModule(readFileSync(guest('sleeper')));
  const runs: string[] = [];
  for (let i = 0; i < 2; i++) {
    const out: Uint8Array[] = [];
    const r = await startCommand({
      host: createMemoryHost({ deterministic: true }),
      module,
      args: ['sleeper', '3600000', 'an hour later'],
      manifest: emptyManifest(),
      stdout: (b) => void out.push(b),
    });
    const s = await r.done;
    assert.equal(s.exitCode, 0);
    runs.push(Buffer.concat(out).toString());
  }
  // An hour of virtual time passes at once, with the same output each run.
  assert.deepEqual(runs, ['an hour later\n', 'an hour later\n']);
});

test('a reactor is initialised once and its exports called through the library API', async () => {
  const module = await compileModule(readFileSync(guest('reactor')));
  const out: Uint8Array[] = [];
  const r = await loadReactor({ host: createNodeHost(), module, args: ['reactor'], manifest: emptyManifest(), stdout: (b) => void out.push(b) });
  assert.equal(await r.call('add', 5), 105);
  assert.equal(await r.call('add', 10), 115);
  await r.call('greet');
  r.close();
  assert.equal(Buffer.concat(out).toString(), 'hello from a reactor, counter=115\n');
});

test('a module that is not a WASI command gets a clear error', async () => {
  await assert.rejects(runCommand({ module: guest('reactor'), args: ['x'] }), /no _start export/);
  await assert.rejects(runCommand({ module: 'no/such/file.wasm', args: ['x'] }), /no such file/);
  await assert.rejects(runCommand({ module: 'README.md', args: ['x'] }), /not a WebAssembly module/);
});
