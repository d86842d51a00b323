// The control socket of `drawbridge run` (checkpoint/control.ts) is removed on every exit path:
// the program's end, Ctrl-C (SIGINT), SIGTERM, SIGHUP, an uncaught error. Before, only a normal
// exit removed it: a signal left a socket naming a process that was gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = 'bin/drawbridge.js';
const IDLE = 'build/guests/density/idle.wasm';

async function until(f: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A `drawbridge run` of a guest that waits on stdin, with its own runtime folder; resolves once its control socket exists. */
async function runWithSocket() {
  const runtime = mkdtempSync(join(tmpdir(), 'db-ctl-'));
  const child = spawn(process.execPath, [BIN, 'run', IDLE], { env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
  const socket = join(runtime, `drawbridge-${process.getuid!()}`, `${child.pid}.sock`);
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  await until(() => existsSync(socket), socket);
  return { child, socket, ended };
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(`drawbridge run: ${signal} removes the control socket, and the run still ends by ${signal}`, async () => {
    const { child, socket, ended } = await runWithSocket();
    child.kill(signal);
    assert.deepEqual(await ended, { code: null, signal });
    assert.equal(existsSync(socket), false, `${socket} left behind`);
  });
}

test('drawbridge run: the program ending removes the control socket', async () => {
  const { child, socket, ended } = await runWithSocket();
  child.stdin.end('bye\n');
  assert.deepEqual(await ended, { code: 0, signal: null });
  assert.equal(existsSync(socket), false);
});

test('an uncaught error removes the file; a signal that something else handles leaves it and the process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-ctl-err-'));
  const module = join(import.meta.dirname, '..', '..', 'src', 'checkpoint', 'control-cleanup.ts');
  const file = join(dir, 'x.sock');
  writeFileSync(file, '');
  const thrown = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `(await import(${JSON.stringify(module)})).removeOnExit(${JSON.stringify(file)}); setTimeout(() => { throw new Error('boom'); }, 5);`,
    ],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(thrown.status, 1);
  assert.match(thrown.stderr, /boom/);
  assert.equal(existsSync(file), false);

  writeFileSync(file, '');
  const handled = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { existsSync } from 'node:fs';
       (await import(${JSON.stringify(module)})).removeOnExit(${JSON.stringify(file)});
       process.on('SIGTERM', () => { console.log('handled; still there: ' + existsSync(${JSON.stringify(file)})); process.exit(0); });
       process.kill(process.pid, 'SIGTERM');
       setTimeout(() => {}, 1000);`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(handled.status, 0, handled.stderr);
  assert.equal(handled.stdout, 'handled; still there: true\n');
  assert.equal(existsSync(file), false, 'removed at the exit that followed');
});
