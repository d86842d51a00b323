// record / replay: a program that reads the clocks, random bits, a sleep and stdin (a pipe)
// is recorded, then replayed twice without stdin: the same output and exit status, bit for
// bit. Replay does not touch the outside world (files deleted since are still read), and the
// first call that differs stops the run with a message naming it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { ExtensionHalt } from '../../src/extensions/api.ts';
import { parseLog } from '../../src/extensions/record-log.ts';
import { extGuest, memoryExtensionHost, runWith } from '../support/ext-support.ts';

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'db-rr-'));
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data', 'a.txt'), 'alpha\n');
  writeFileSync(join(root, 'data', 'b.txt'), 'beta\n');
});
after(() => rmSync(root, { recursive: true, force: true }));

const record = (file = 'run.log') => ({ name: 'record', options: { file } });
const replay = (file = 'run.log') => ({ name: 'replay', options: { file } });
const STDIN = Buffer.from('hello from a pipe\nsecond line\n');

test('record a run that reads time, random bits, a wait and stdin; replay it twice: identical output and status', async () => {
  const host = memoryExtensionHost();
  const rec = await runWith(extGuest('inputs'), ['inputs'], { exts: [record()], host, stdin: STDIN });
  assert.equal(rec.exitCode, 1 + (STDIN.length % 50));
  assert.match(rec.stdout, /^first: hello from a pipe\nsecond line\n\nwall=\d+ slept=\d+\nrandom=[0-9a-f]{32}\nstdin=30 sum=[0-9a-f]{8}\n$/);
  assert.equal(rec.stderr, 'done\n');

  // The log holds the nondeterministic results: time, random bits, the wait, the bytes read.
  const log = parseLog(host.written.get('run.log')!);
  const names = new Set(log.map((e) => e.c));
  for (const n of ['DkSystemTimeQuery', 'DkRandomBitsRead', 'DkObjectsWaitAny', 'DkStreamRead', 'DkStreamWrite', 'DkProcessExit']) assert.ok(names.has(n), n);
  assert.equal(Buffer.from(log.find((e) => e.c === 'DkStreamRead')!.o!, 'base64').toString(), STDIN.toString());

  // A run without the log differs (the clock moved, new random bits) ...
  const fresh = await runWith(extGuest('inputs'), ['inputs'], { stdin: STDIN });
  assert.notEqual(fresh.stdout, rec.stdout);
  // ... a replay, with no stdin at all, does not.
  for (let i = 0; i < 2; i++) {
    const rep = await runWith(extGuest('inputs'), ['inputs'], { exts: [replay()], host });
    assert.equal(rep.error, undefined);
    assert.equal(rep.stdout, rec.stdout);
    assert.equal(rep.stderr, rec.stderr);
    assert.equal(rep.exitCode, rec.exitCode);
  }
});

test('replay does not touch the outside world: files are answered from the log, even once deleted', async () => {
  const dir = join(root, 'gone');
  mkdirSync(dir);
  writeFileSync(join(dir, 'f.txt'), 'was here\n');
  const manifest: Manifest = { ...emptyManifest(), mounts: [{ host: dir, guest: '/d', mode: 'ro' }] };
  const host = memoryExtensionHost();
  const rec = await runWith(extGuest('cat'), ['cat', '/d/f.txt'], { exts: [record()], host, manifest });
  assert.equal(rec.stdout, 'was here\n');
  rmSync(dir, { recursive: true });
  const plain = await runWith(extGuest('cat'), ['cat', '/d/f.txt'], { manifest: { ...manifest, mounts: [] } });
  assert.equal(plain.stdout, 'cat: /d/f.txt: Capabilities insufficient\n');
  const rep = await runWith(extGuest('cat'), ['cat', '/d/f.txt'], { exts: [replay()], host, manifest });
  assert.equal(rep.stdout, 'was here\n');
  assert.equal(rep.exitCode, 0);
});

test('a replay of the log with other arguments stops at the first call that differs, naming it', async () => {
  const manifest: Manifest = { ...emptyManifest(), mounts: [{ host: join(root, 'data'), guest: '/data', mode: 'ro' }] };
  const host = memoryExtensionHost();
  await runWith(extGuest('cat'), ['cat', '/data/a.txt'], { exts: [record()], host, manifest });
  const d = await runWith(extGuest('cat'), ['cat', '/data/b.txt'], { exts: [replay()], host, manifest });
  assert.equal(d.exitCode, 125);
  assert.equal(
    d.error,
    'replay: diverged at call 8: the log has DkStreamOpen(uri="file:/data/a.txt", access=READ, create=0, options=0), ' +
      'but the program called DkStreamOpen(uri="file:/data/b.txt", access=READ, create=0, options=0)',
  );
  assert.equal(d.stdout, '');
});

test('a replay of the log with another program stops with a clear message (here while the library OS starts)', async () => {
  const host = memoryExtensionHost();
  await runWith(extGuest('inputs'), ['inputs'], { exts: [record()], host, stdin: STDIN });
  const manifest: Manifest = { ...emptyManifest(), mounts: [{ host: join(root, 'data'), guest: '/data', mode: 'ro' }] };
  await assert.rejects(
    runWith(extGuest('cat'), ['cat', '/data/a.txt'], { exts: [replay()], host, manifest }),
    (e: unknown) =>
      e instanceof ExtensionHalt &&
      e.exitCode === 125 &&
      e.message ===
        'replay: diverged at call 7: the log has DkSystemTimeQuery(clock=REALTIME), but the program called DkStreamOpen(uri="dir:/data", access=READ, create=0, options=DIRECTORY)',
  );
  // A log cut short: the run stops where the log ends.
  const lines = host.written.get('run.log')!.split('\n');
  host.inputs.set('cut.log', lines.slice(0, 10).join('\n'));
  const cut = await runWith(extGuest('inputs'), ['inputs'], { exts: [replay('cut.log')], host });
  assert.equal(cut.exitCode, 125);
  assert.match(cut.error!, /^replay: diverged at call 10: the log ends after call 9, but the program called DkSystemTimeQuery\(clock=MONOTONIC\)$/);
});

test('record and replay from the command line, with stdin a real pipe', () => {
  const log = join(root, 'cli.log');
  const run = (args: string[], input?: string) =>
    spawnSync(process.execPath, ['bin/drawbridge.js', 'run', ...args], {
      encoding: 'utf8',
      input,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  const rec = run(['--ext', `record:file=${log}`, extGuest('inputs')], 'piped bytes\n');
  assert.equal(rec.status, 13, rec.stderr);
  assert.match(rec.stdout, /^first: piped bytes\n/);
  assert.match(readFileSync(log, 'utf8'), /^\{"drawbridge":"record","version":1/);
  for (let i = 0; i < 2; i++) {
    const rep = run(['--ext', `replay:file=${log}`, extGuest('inputs')]);
    assert.equal(rep.stdout, rec.stdout);
    assert.equal(rep.stderr, rec.stderr);
    assert.equal(rep.status, rec.status);
  }
  const other = run(['--ext', `replay:file=${log}`, extGuest('cat'), 'x']);
  assert.equal(other.status, 125);
  assert.match(
    other.stderr,
    /^drawbridge: .*cat\.wasm: replay: diverged at call 7: the log has DkSystemTimeQuery\(clock=REALTIME\), but the program called DkStreamWrite\(stream=2, offset=-1, data="cat: x: Capabilities insuffici/m,
  );
  const bad = run(['--ext', 'replay', extGuest('inputs')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /replay: needs file=PATH/);
});
