// The control socket's folder ($XDG_RUNTIME_DIR/drawbridge-UID): `drawbridge checkpoint PID`
// reaches a run through it, so a folder that another user made, or that others may enter, is
// refused by both sides with one line (the run goes on, uncapturable), never used as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';
const uid = process.getuid?.() ?? -1;

async function refusedWith(runtimeDir: string, why: RegExp): Promise<void> {
  const env = { ...process.env, XDG_RUNTIME_DIR: runtimeDir };
  const src = spawn(process.execPath, [BIN, 'run', 'build/guests/checkpoint/counter.wasm', '60', '20'], { env });
  const out = collect(src, 'stdout');
  const err = collect(src, 'stderr');
  try {
    await out.waitFor(/step 3 /);
    // The run says so once, in one line, and goes on.
    await err.waitFor(/drawbridge: no checkpoints for this run: .*\n/, 'the run to refuse the folder');
    assert.match(err.text(), why);
    assert.equal(err.text().split('\n').filter(Boolean).length, 1, err.text());
    const c = spawnSync(process.execPath, [BIN, 'checkpoint', String(src.pid), '-o', join(runtimeDir, 'x.snap')], { env, encoding: 'utf8' });
    assert.equal(c.status, 1, c.stdout + c.stderr);
    assert.match(c.stderr, /^drawbridge checkpoint: [^\n]+\n$/);
    assert.match(c.stderr, why);
    const code = await new Promise((r) => src.on('close', r));
    assert.equal(code, 0, err.text());
    assert.match(out.text(), /done sum/);
  } finally {
    if (src.exitCode === null) src.kill();
  }
}

test('a control folder that others may enter is refused', async () => {
  const base = mkdtempSync(join(tmpdir(), 'db-ctl-'));
  const dir = join(base, `drawbridge-${uid}`);
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  await refusedWith(base, /mode 0?755/);
});

test('a control folder owned by another user is refused', async (t) => {
  if (uid !== 0) {
    t.skip('needs root to give a folder to another uid (chown)');
    return;
  }
  const base = mkdtempSync(join(tmpdir(), 'db-ctl-'));
  const dir = join(base, `drawbridge-${uid}`);
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 65534, 65534);
  await refusedWith(base, /uid 65534/);
});

test('a control folder that is a symbolic link is refused', async () => {
  const base = mkdtempSync(join(tmpdir(), 'db-ctl-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'db-ctl-elsewhere-'));
  symlinkSync(elsewhere, join(base, `drawbridge-${uid}`));
  await refusedWith(base, /not a folder/);
});
