// Each refusal of the monitor is told to the policy's onDenied with the call, what it named and
// the rule that refused it, in the manifest's words (`drawbridge run --log denials`); calls it
// lets through are not told, and without onDenied refusals are answered just the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Access, Create } from '../../src/abi/dk.ts';
import { DkError } from '../../src/abi/errors.ts';
import { parseManifest } from '../../src/monitor/manifest/parse.ts';
import { createMonitor, policyFromManifest, type Denial, type MonitorPolicy } from '../../src/monitor/monitor.ts';
import { FakeDk } from '../support/monitor-fake-dk.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function setup(bytesWritten = 1024, tell = true): { denials: Denial[]; dk: ReturnType<typeof createMonitor> } {
  const r = parseManifest(`
    [[mounts]]
    host = "/host/data"
    guest = "/data"
    mode = "rw"
    [[mounts]]
    host = "/host/ro"
    guest = "/ro"
    mode = "ro"
    [network]
    connect = ["127.0.0.1:80"]
  `);
  assert.ok(r.ok);
  const fake = new FakeDk();
  for (const d of ['/host/data', '/host/ro', '/etc']) fake.mkdirp(d);
  fake.writeFile('/host/ro/r.txt', 'R');
  fake.writeFile('/etc/passwd', 'root');
  fake.symlink('/host/data/out', '/etc/passwd');
  const denials: Denial[] = [];
  const base = policyFromManifest(r.manifest);
  const policy: MonitorPolicy = { ...base, limits: { ...base.limits, bytesWritten } };
  if (tell) policy.onDenied = (d) => denials.push(d);
  return { denials, dk: createMonitor(fake.dk, policy) };
}

/** The calls both tests make, refused and allowed ones: their results in order. */
function calls(dk: ReturnType<typeof createMonitor>): unknown[] {
  const out: unknown[] = [
    dk.streamOpen('file:/etc/passwd', Access.READ, 0, 0),
    dk.streamOpen('file:/ro/r.txt', Access.READ | Access.WRITE, 0, 0),
    dk.streamOpen('file:/data/out', Access.READ, 0, 0),
    dk.streamOpen('tcp:127.0.0.1:81', Access.READ | Access.WRITE, 0, 0),
  ];
  const ok = dk.streamOpen('file:/data/new.txt', Access.WRITE, Create.CREATE, 0);
  out.push(ok, dk.streamWrite(ok, 0, enc('abc')), dk.streamWrite(ok, -1, enc('de')));
  return out;
}

test('each refusal is told once with its rule; what is allowed is not told', () => {
  const { denials, dk } = setup(4);
  const [passwd, ro, out, tcp, ok, wrote, over] = calls(dk);
  assert.deepEqual([passwd, ro, out, tcp], [DkError.NOT_CAPABLE, DkError.READ_ONLY, DkError.NOT_CAPABLE, DkError.NOT_CAPABLE]);
  assert.ok((ok as number) > 0);
  assert.deepEqual([wrote, over], [3, DkError.QUOTA_EXCEEDED]);
  assert.deepEqual(denials, [
    { call: 'DkStreamOpen', subject: 'file:/etc/passwd', rule: 'no mount grants /etc/passwd' },
    { call: 'DkStreamOpen', subject: 'file:/ro/r.txt', rule: 'mount /ro is read-only' },
    { call: 'DkStreamOpen', subject: 'file:/data/out', rule: 'outside mount /data (a link or .. leads out of it)' },
    { call: 'DkStreamOpen', subject: 'tcp:127.0.0.1:81', rule: 'no [network] connect grant matches' },
    { call: 'DkStreamWrite', subject: `handle ${ok}`, rule: 'limits.bytes_written (4 bytes, 3 written)', quota: 'bytes_written' },
  ]);
});

test('without onDenied the same calls get the same answers, and nobody is told', () => {
  const told = setup(4);
  const silent = setup(4, false);
  assert.deepEqual(calls(silent.dk), calls(told.dk));
  assert.deepEqual(silent.denials, []);
});

test('drawbridge run --log denials prints each refusal on stderr; DRAWBRIDGE_LOG=denials does the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-denials-'));
  try {
    symlinkSync('/etc/passwd', join(dir, 'out'));
    const run = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['bin/drawbridge.js', 'run', '--dir', `${dir}::/data`, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    for (const r of [
      run(['--log', 'denials', 'build/guests/ext/cat.wasm', '/data/out']),
      run(['build/guests/ext/cat.wasm', '/data/out'], { DRAWBRIDGE_LOG: 'denials' }),
    ]) {
      assert.match(r.stderr, /^drawbridge: denied DkStreamOpen file:\/data\/out: outside mount \/data \(a link or \.\. leads out of it\)$/m, r.stderr);
      assert.match(r.stdout, /^cat: \/data\/out: /);
    }
    const quiet = run(['build/guests/ext/cat.wasm', '/data/out']);
    assert.doesNotMatch(quiet.stderr, /denied/);
    const bad = run(['--log', 'everything', 'build/guests/ext/cat.wasm']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'drawbridge run: --log everything: expected one of denials (also DRAWBRIDGE_LOG)\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output refused past limits.bytes_written is said once on stderr, without --log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-denials-'));
  try {
    writeFileSync(join(dir, 'm.toml'), '[limits]\nbytes_written = 8\n');
    writeFileSync(join(dir, 'f.txt'), 'a line longer than eight bytes\n');
    const r = spawnSync(
      process.execPath,
      ['bin/drawbridge.js', 'run', '--manifest', join(dir, 'm.toml'), '--dir', `${dir}::/d`, 'build/guests/ext/cat.wasm', '/d/f.txt'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.match(/output refused/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /^drawbridge: build\/guests\/ext\/cat\.wasm: output refused: limits\.bytes_written \(8 bytes, 0 written\)$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
