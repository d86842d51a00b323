// A migrated program can be migrated again (issue 19): run on the source, migrate to
// receive A, then migrate A's program (by the pid of `drawbridge receive --once`) on to
// receive B. Before, the received program had no control socket: the second `migrate` found
// "no running drawbridge with pid ... that can be checkpointed".
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';
const COUNTER = 'build/guests/checkpoint/counter.wasm';

function receiver(tokenFile: string, dir: string) {
  const p = spawn(process.execPath, [BIN, 'receive', '--once', '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--dir', `${dir}::/data`]);
  const out = collect(p, 'stdout');
  const err = collect(p, 'stderr');
  const code = new Promise<number | null>((r) => p.on('close', r));
  return { p, out, err, code, port: async () => Number((await out.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]) };
}

function migrate(pid: number, port: number, tokenFile: string) {
  // spawn, not spawnSync: the test's own event loop must go on reading the other processes' output.
  const m = spawn(process.execPath, [BIN, 'migrate', String(pid), '--to', `127.0.0.1:${port}`, '--token-file', tokenFile]);
  const out = collect(m, 'stdout');
  const err = collect(m, 'stderr');
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((r) =>
    m.on('close', (status) => r({ status, stdout: out.text(), stderr: err.text() })),
  );
}

test('a migrated program is migrated again: source -> receive A -> receive B, same output as a run that never moved', async () => {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'db-mig2-tok-')), 'token');
  // One folder for /data on every host: the log file goes on where it was.
  const dir = mkdtempSync(join(tmpdir(), 'db-mig2-'));
  const a = receiver(tokenFile, dir);
  const portA = await a.port();
  const b = receiver(tokenFile, dir);
  const portB = await b.port();
  const src = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, COUNTER, '200', '20']);
  const srcEnded = new Promise((r) => src.on('close', r));
  try {
    const srcOut = collect(src, 'stdout');
    await srcOut.waitFor(/step 3 /);
    const first = await migrate(src.pid!, portA, tokenFile);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(await srcEnded, 0);

    // A runs it now: once it has taken a few steps, on to B.
    const steps = () => (a.out.text().match(/^step /gm) ?? []).length;
    const deadline = Date.now() + 60_000;
    while (steps() < 3) {
      assert.ok(Date.now() < deadline, `receive A ran no steps: ${a.out.text()} ${a.err.text()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = await migrate(a.p.pid!, portB, tokenFile);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /migrated \d+ to 127\.0\.0\.1:\d+: sent \d+ of \d+ pages/);
    assert.equal(await a.code, 0, a.err.text());
    await b.out.waitFor(/done sum \d+\n/);
    assert.equal(await b.code, 0, b.err.text());

    const ref = mkdtempSync(join(tmpdir(), 'db-mig2-ref-'));
    const whole = spawnSync(process.execPath, [BIN, 'run', '--dir', `${ref}::/data`, COUNTER, '200', '20'], { encoding: 'utf8' });
    const moved = (o: string) => o.replace(/^[^]*?listening on .*\n/, '');
    assert.equal(srcOut.text() + moved(a.out.text()) + moved(b.out.text()), whole.stdout);
    assert.equal(readFileSync(join(dir, 'log.txt'), 'utf8'), readFileSync(join(ref, 'log.txt'), 'utf8'));
  } finally {
    for (const p of [src, a.p, b.p]) if (p.exitCode === null && p.signalCode === null) p.kill();
  }
});
