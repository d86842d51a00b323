// Migration between hosts on loopback: `drawbridge receive` on the target, `drawbridge
// migrate PID --to` on the source; a second migration sends only what the target lacks.
import { test } from 'node:test';
import { testNeedingBinaryen } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';

async function runAndMigrate(dir: string, args: string[], port: number, tokenFile: string): Promise<{ before: string; migrate: string }> {
  // Long enough (150 steps of 20 ms) to be still running however busy the machine is.
  const src = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, 'build/guests/checkpoint/counter.wasm', ...args]);
  const out = collect(src, 'stdout');
  await out.waitFor(/step 3 /);
  const m = spawnSync(process.execPath, [BIN, 'migrate', String(src.pid), '--to', `127.0.0.1:${port}`, '--token-file', tokenFile], { encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  const code = await new Promise((r) => src.on('close', r));
  assert.equal(code, 0);
  return { before: out.text(), migrate: m.stdout };
}

testNeedingBinaryen('migrate a running picoprocess to another host; a second one sends only what differs', async () => {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'db-mig-tok-')), 'token');
  // The target grants its own folder for /data: a migrated snapshot names none.
  const dir = mkdtempSync(join(tmpdir(), 'db-mig-'));
  const target = spawn(process.execPath, [BIN, 'receive', '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--dir', `${dir}::/data`]);
  try {
    const tout = collect(target, 'stdout');
    const terr = collect(target, 'stderr');
    const port = Number((await tout.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);

    const ref = mkdtempSync(join(tmpdir(), 'db-mig-ref-'));
    const whole = spawnSync(process.execPath, [BIN, 'run', '--dir', `${ref}::/data`, 'build/guests/checkpoint/counter.wasm', '150', '20'], {
      encoding: 'utf8',
    });

    const first = await runAndMigrate(dir, ['150', '20'], port, tokenFile);
    const m1 = first.migrate.match(/sent (\d+) of (\d+) pages and the module/);
    assert.ok(m1, first.migrate);
    await tout.waitFor(/done sum 1113775\n/);
    // Same files and output as a run that never moved (the target reached the same folder).
    // What receive printed before it listened (where its token went), then the program's output.
    const moved = tout.text().replace(/^[^]*?listening on .*\n/, '');
    assert.equal(first.before + moved, whole.stdout);
    assert.equal(readFileSync(join(dir, 'log.txt'), 'utf8'), readFileSync(join(ref, 'log.txt'), 'utf8'));

    // The same program again: the module and the pages the target holds are not sent.
    const dir2 = mkdtempSync(join(tmpdir(), 'db-mig2-'));
    const second = await runAndMigrate(dir2, ['150', '20'], port, tokenFile);
    const m2 = second.migrate.match(/sent (\d+) of (\d+) pages, not the module/);
    assert.ok(m2, second.migrate);
    assert.ok(Number(m2[1]) < Number(m2[2]), `only differing pages: ${second.migrate}`);
    await terr.waitFor(/received [^\n]*\n[^]*received [^\n]*\n/);
  } finally {
    target.kill();
  }
});

test('migrate and receive mistakes get one clear line', () => {
  const env = { ...process.env, DRAWBRIDGE_MIGRATE_TOKEN: 'a'.repeat(64) };
  const cases: [string[], number, RegExp][] = [
    [['migrate', '999999', '--to', '127.0.0.1:1'], 1, /no running drawbridge with pid 999999/],
    [['migrate', '123'], 2, /missing or bad --to/],
    [['migrate', '123', '--to', '127.0.0.1:1', '--pin', 'abc'], 2, /--pin abc: expected a SHA-256 fingerprint/],
    [['receive'], 2, /--listen ADDR:PORT is required/],
  ];
  for (const [args, status, re] of cases) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});
