// How `drawbridge run` ends. process.exit() shuts V8's worker threads down without the
// isolate: a JIT compile job on one of them, waiting for a collection only the main thread
// would run, then holds the exit forever (nodejs/node#54918). A burst of forks leaves such jobs
// in flight: `drawbridge run forkloop.wasm 25` hung at its end in some runs until the CLI
// ended as an empty event loop ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = 'bin/drawbridge.js';
const FORKLOOP = 'build/guests/bench/forkloop.wasm';
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-exit-'));
const manifest = join(dir, 'children.toml');
writeFileSync(manifest, '[limits]\nchildren = 1000\n');

/** Run the CLI; a run that has not ended after `limitMs` is killed and reported as hung. */
function run(args: string[], input: string | null, limitMs = 20_000): Promise<{ status: number | null; out: string; hung: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: [input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let hung = false;
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out, hung });
    });
    if (input !== null) child.stdin!.end(input);
  });
}

test('run: a program that forked 20-30 times ends, with its status, every time', async () => {
  for (const count of [22, 25, 28, 25, 22, 28]) {
    const r = await run(['run', '--manifest', manifest, FORKLOOP, String(count)], null);
    assert.equal(r.hung, false, `drawbridge run forkloop.wasm ${count} did not end within 20 s (it printed ${JSON.stringify(r.out)})`);
    assert.equal(r.status, 0);
    assert.match(r.out, new RegExp(`^forks=${count} ns_per_fork=\\d+\\n$`));
  }
});

test('run: the exit status is the guest’s, and a stdin still open does not hold the process', async () => {
  // forkloop with a bad count fails its first fork (limits.children = 0 by default): status 2.
  const refused = await run(['run', FORKLOOP, '3'], 'unread input\n');
  assert.equal(refused.hung, false);
  assert.equal(refused.status, 2);
  // stdin left open by the parent and never read: the run still ends when the guest does.
  const open = await new Promise<{ status: number | null }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', '--manifest', manifest, FORKLOOP, '1'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      child.stdin!.destroy();
      resolve({ status });
    });
  });
  assert.equal(open.status, 0, 'ended by the guest, not killed');
});
