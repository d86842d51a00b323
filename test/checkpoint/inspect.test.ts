// drawbridge inspect: what a snapshot holds and asks for, read without running it, for a file
// sealed with this host's key, one sealed and encrypted with another, one not sealed, and one
// that is not a snapshot at all.
import { testNeedingBinaryen as test, beforeNeedingBinaryen as before } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSealedSnapshot } from '../../src/checkpoint/snapshot-file.ts';
import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-inspect-'));
const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
let sealed: string;

/** A checkpoint of the counter, taken with `flags`, into `file`. */
async function checkpoint(file: string, flags: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const data = mkdtempSync(join(dir, 'data-'));
  const child = spawn(
    process.execPath,
    [BIN, 'run', '--dir', `${data}::/data`, '--env', 'API_TOKEN=not-shown', 'build/guests/checkpoint/counter.wasm', '150', '20'],
    { env },
  );
  await collect(child, 'stdout').waitFor(/step 3 /);
  const c = cli(['checkpoint', String(child.pid), '-o', file, ...flags], env);
  assert.equal(c.status, 0, c.stderr);
  await new Promise((r) => child.on('close', r));
}

before(async () => {
  sealed = join(dir, 'sealed.snap');
  await checkpoint(sealed, []);
});

test('a sealed snapshot: its seal, module, memory and what it asks a restorer for; environment values are not shown', () => {
  const r = cli(['inspect', sealed]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^seal: +sealed with this host's key \(id [0-9a-f]{16}\), intact$/m);
  assert.match(r.stdout, /^module: +build\/guests\/checkpoint\/counter\.wasm \(sha256 [0-9a-f]{64}, \d+ bytes\)$/m);
  assert.match(r.stdout, /^ +mounts: +\/data \(rw\)$/m);
  assert.match(r.stdout, /^env: +API_TOKEN$/m);
  assert.doesNotMatch(r.stdout, /not-shown/);
  const j = JSON.parse(cli(['inspect', '--json', sealed]).stdout);
  assert.equal(j.seal.state, 'this host');
  assert.match(j.seal.measurement.digest, /^[0-9a-f]{64}$/);
  assert.deepEqual(j.snapshot.requests.mounts, [{ guest: '/data', mode: 'rw' }]);
  assert.deepEqual(j.snapshot.args, ['build/guests/checkpoint/counter.wasm', '150', '20']);
  assert.ok(j.snapshot.memory.nonZeroPages > 0 && j.snapshot.memory.nonZeroPages <= j.snapshot.memory.pages);
});

test('encrypted with another key: the seal only; with that key: everything', async () => {
  const other = join(dir, 'other.key');
  assert.equal(cli(['key', '--key', other]).status, 0);
  const file = join(dir, 'other.snap');
  await checkpoint(file, ['--encrypt', '--key', other]);
  const r = cli(['inspect', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^seal: +sealed with another key \(id [0-9a-f]{16}\), not checked, encrypted: its contents need that key/m);
  assert.doesNotMatch(r.stdout, /^module:/m);
  const withKey = cli(['inspect', '--key', other, file]);
  assert.match(withKey.stdout, /^seal: +sealed with the key given .*, intact, encrypted$/m);
  assert.match(withKey.stdout, /^module: +build\/guests\/checkpoint\/counter\.wasm/m);
});

test('not sealed, not a snapshot, no file: said in one line', () => {
  const plain = join(dir, 'plain.snap');
  writeFileSync(plain, readSealedSnapshot(sealed).bytes);
  assert.match(cli(['inspect', plain]).stdout, /^seal: +not sealed: anyone could have written it/m);
  const junk = join(dir, 'junk.snap');
  writeFileSync(junk, 'hello, not a snapshot at all, but long enough to be read as one');
  for (const [file, why] of [
    [junk, /not a drawbridge snapshot/],
    [join(dir, 'absent.snap'), /no such file/],
  ] as const) {
    const r = cli(['inspect', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(cli(['inspect']).status, 2);
});
