// Limits come from whoever restores, as grants do: a program checkpointed under a generous
// manifest and restored (or received) under `memory = "64MiB"` cannot grow past 64 MiB there
// (issue: restore and receive ignored [limits]). guests/runtime/limits.c `wait-grow` waits for
// a line of stdin, where the checkpoint takes it, then grows.
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';
const GUEST = 'build/guests/runtime/limits.wasm';
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-restore-limits-'));
const generous = join(dir, 'generous.toml');
const small = join(dir, 'small.toml');
writeFileSync(generous, '[limits]\nmemory = "256MiB"\n');
writeFileSync(small, '[limits]\nmemory = "64MiB"\n');

/** A snapshot of `wait-grow 100` taken while it waits for its line, under the generous manifest. */
async function waitingSnapshot(name: string): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'run', '--manifest', generous, GUEST, 'wait-grow', '100']);
  const out = collect(child, 'stdout');
  await out.waitFor(/waiting\n/);
  const file = join(dir, name);
  const c = spawnSync(process.execPath, [BIN, 'checkpoint', String(child.pid), '-o', file], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  await new Promise((r) => child.on('close', r));
  return file;
}

test("restore: the restorer's limits.memory holds (100 MiB fit under the snapshot's manifest, not under the restorer's 64 MiB)", async () => {
  const file = await waitingSnapshot('grow.snap');
  const opts = { encoding: 'utf8' as const, input: 'go\n', timeout: 60_000 };
  const big = spawnSync(process.execPath, [BIN, 'restore', '--manifest', generous, file], opts);
  assert.equal(big.status, 0, big.stderr);
  assert.match(big.stdout, /grew 100 MiB\n/);
  // Another manifest than the one it ran under: the measurement differs, so say so.
  const smallRun = spawnSync(process.execPath, [BIN, 'restore', '--manifest', small, '--ignore-measurement', file], opts);
  assert.equal(smallRun.status, 3, smallRun.stderr);
  assert.match(smallRun.stdout, /out of memory after \d+ MiB\n/);
});

test("receive: the receiver's limits.memory holds for a program migrated to it", async () => {
  const tokenFile = join(mkdtempSync(join(dir, 'tok-')), 'token');
  const rx = spawn(process.execPath, [BIN, 'receive', '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--manifest', small, '--once']);
  try {
    const rxOut = collect(rx, 'stdout');
    const port = Number((await rxOut.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const src = spawn(process.execPath, [BIN, 'run', '--manifest', generous, GUEST, 'wait-grow', '100']);
    await collect(src, 'stdout').waitFor(/waiting\n/);
    const m = spawnSync(process.execPath, [BIN, 'migrate', String(src.pid), '--to', `127.0.0.1:${port}`, '--token-file', tokenFile], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    // The program now waits on the receiver's stdin.
    rx.stdin.end('go\n');
    const code = await new Promise((r) => rx.on('close', r));
    assert.equal(code, 3, rxOut.text());
    assert.match(rxOut.text(), /out of memory after \d+ MiB\n/);
  } finally {
    rx.kill();
  }
});
