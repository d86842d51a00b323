// `drawbridge command-from-reactor` as a user runs it: the command it writes runs under
// `drawbridge run` with its arguments; a mistake in the command line is status 2 with the
// usage, a module it cannot make into a command status 1 with one line naming what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = 'bin/drawbridge.js';
const REACTOR = 'build/guests/runtime/list_reactor.wasm';
const ENTRY = 'show-args: func(args: list<string>) -> ()';
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, DRAWBRIDGE_CHECKPOINT: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('command-from-reactor writes a command that drawbridge run starts with its arguments', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cfr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'cmd.wasm');
  const made = cli(['command-from-reactor', REACTOR, '--entry', ENTRY, '-o', out]);
  assert.equal(made.code, 0, made.err);
  assert.equal(made.out, `wrote ${out}: a command whose _start calls "${ENTRY}" with its arguments\n`);
  const run = cli(['run', out, 'one', 'two words']);
  assert.equal(run.code, 0, run.err);
  assert.match(
    run.out,
    /^init-calls=1 argc=3 list-aligned=1\n0: len=\d+ .*\n1: len=4 nul-terminated=1 bytes=6f6e65\n2: len=10 nul-terminated=1 bytes=74776f20776f726473\n$/,
  );

  const noEntry = cli(['command-from-reactor', REACTOR, '-o', join(dir, 'x.wasm')]);
  assert.equal(noEntry.code, 2);
  assert.match(noEntry.err, /^drawbridge command-from-reactor: --entry EXPORT is required/);
  const wrong = cli(['command-from-reactor', REACTOR, '--entry', 'cabi_realloc', '-o', join(dir, 'x.wasm')]);
  assert.equal(wrong.code, 1);
  assert.equal(
    wrong.err,
    `drawbridge command-from-reactor: ${REACTOR}: its export "cabi_realloc" has type (i32, i32, i32, i32) -> (i32), not (i32, i32) -> () (a list<string> as (pointer, length))\n`,
  );
  assert.equal(existsSync(join(dir, 'x.wasm')), false);
  const missing = cli(['command-from-reactor', join(dir, 'nope.wasm'), '--entry', ENTRY, '-o', join(dir, 'x.wasm')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nope\.wasm: no such file/);
});
