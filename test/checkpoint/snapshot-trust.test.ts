// A snapshot file grants nothing (docs/snapshot.md, "Who grants what"): its metadata edited and
// its checksums recomputed, as anyone who can write the file could, it still cannot point a
// mount at another host folder, load an extension, aim the trace extension at a host file, or
// carry a module other than the one its hash names. Sealing (docs/snapshot.md, "Sealed
// snapshots"): an unsealed or foreign-sealed file is refused unless --trust-unsealed; a sealed
// one is bound to the measurement (module and manifest) it ran under.
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE, type SnapshotMeta } from '../../src/checkpoint/snapshot.ts';

const BIN = 'bin/drawbridge.js';
const COUNTER = 'build/guests/checkpoint/counter.wasm';
const STATUS = 328350 % 7; // counter.wasm 100: the sum of the squares below 100, mod 7
const TRUST = ['--trust-unsealed'];

const work = mkdtempSync(join(tmpdir(), 'db-trust-'));
const KEY = join(work, 'host.key');
const env = { ...process.env, DRAWBRIDGE_KEY: KEY, DRAWBRIDGE_CACHE: join(work, 'cache') };
const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 60_000 });

/** A checkpoint of counter.wasm as `drawbridge run --dir DIR::/data ...runArgs` runs it, taken after its first lines. */
async function checkpointCounter(
  name: string,
  runArgs: string[] = [],
  extraEnv: Record<string, string> = {},
  checkpointArgs: string[] = [],
): Promise<{ dir: string; snap: string }> {
  const dir = join(work, name);
  mkdirSync(dir);
  const snap = join(dir, 'c.snap');
  const child = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, ...runArgs, COUNTER, '100', '20'], { env: { ...env, ...extraEnv } });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.split('\n').length > 3) resolve();
    }),
  );
  const ck = cli(['checkpoint', String(child.pid), '-o', snap, ...checkpointArgs], extraEnv);
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await new Promise((r) => child.on('close', r)), 0);
  return { dir, snap };
}

/** The plain snapshot inside a file `drawbridge checkpoint` wrote (sealed with KEY, or not sealed at all). */
async function plainSnapshot(file: string): Promise<Uint8Array> {
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 8).toString() === 'DRAWBSNP') return bytes;
  const { readKey, unseal } = await import('../../src/checkpoint/seal.ts');
  const opened = unseal(bytes, [readKey(KEY)], file);
  assert.ok(opened.kind === 'sealed', opened.kind);
  return opened.snapshot;
}

/** The snapshot in `file` with its metadata edited by `edit`, re-encoded with every checksum right, written unsealed to `out`. */
async function tamper(file: string, out: string, edit: (meta: SnapshotMeta) => void): Promise<string> {
  const s = decodeSnapshot(await plainSnapshot(file), file);
  const memory = new Uint8Array(s.meta.memory.pages * PAGE_SIZE);
  for (const [p, page] of s.pages) memory.set(page, p * PAGE_SIZE);
  const { memory: _layout, ...meta } = s.meta;
  edit(meta as SnapshotMeta);
  writeFileSync(out, encodeSnapshot(meta, memory, s.module));
  return out;
}

test('a mount whose host folder the snapshot changed is not obeyed: the restorer names every host folder', async () => {
  const { dir, snap } = await checkpointCounter('mount');
  // Stands for `/`: the folder an attacker would name (a guest then listed the host's /etc).
  const victim = join(work, 'mount-victim');
  mkdirSync(victim);
  writeFileSync(join(victim, 'log.txt'), 'victim\n');
  const bad = await tamper(snap, join(dir, 'bad.snap'), (m) => {
    m.mounts = m.mounts.map((x) => ({ ...x, host: victim }));
  });
  const refused = cli(['restore', ...TRUST, bad]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /^drawbridge restore: the snapshot asks for mount \/data \(rw\), not granted: give --dir HOST::\/data or a manifest\n$/);
  assert.equal(readFileSync(join(victim, 'log.txt'), 'utf8'), 'victim\n', 'the snapshot-named host folder was written');
  const good = join(work, 'mount-good');
  mkdirSync(good);
  copyFileSync(join(dir, 'log.txt'), join(good, 'log.txt')); // the open descriptor's file, moved along
  const restored = cli(['restore', ...TRUST, '--dir', `${good}::/data`, bad]);
  assert.equal(restored.status, STATUS, restored.stderr);
  assert.match(readFileSync(join(good, 'log.txt'), 'utf8'), /step 99\n$/);
  assert.equal(readFileSync(join(victim, 'log.txt'), 'utf8'), 'victim\n', 'the snapshot-named host folder was written');
});

test('a snapshot naming the trace extension with a host file does not write that file', async () => {
  const { dir, snap } = await checkpointCounter('trace');
  const precious = join(work, 'trace-precious.txt');
  writeFileSync(precious, 'precious\n');
  const bad = await tamper(snap, join(dir, 'bad.snap'), (m) => {
    m.extensions = [{ name: 'trace', options: { file: precious }, state: null }];
  });
  const restored = cli(['restore', ...TRUST, '--dir', `${dir}::/data`, bad]);
  assert.equal(restored.status, STATUS, restored.stderr);
  assert.equal(readFileSync(precious, 'utf8'), 'precious\n');
});

test('a data: extension is never loaded: not from a snapshot, not from --ext', async () => {
  const { dir, snap } = await checkpointCounter('data-url');
  const marker = join(work, 'data-url-ran');
  const code = `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(marker)}, 'ran'); export default (lower) => lower;`;
  const url = `data:text/javascript,${encodeURIComponent(code)}`;
  const bad = await tamper(snap, join(dir, 'bad.snap'), (m) => {
    m.extensions = [{ name: url, options: {}, state: null }];
  });
  const restored = cli(['restore', ...TRUST, '--dir', `${dir}::/data`, bad]);
  assert.equal(restored.status, STATUS, restored.stderr);
  assert.equal(existsSync(marker), false, 'host JavaScript named by the snapshot ran');
  // --ext takes NAME up to its first ":", so a URL there is a bad option list; a manifest can
  // spell one whole.
  for (const name of [url, 'https://example.com/x.js', 'http://127.0.0.1:9/x.js', 'file:///tmp/x.js', 'node:fs']) {
    const manifest = join(dir, 'ext.toml');
    writeFileSync(manifest, `[[extensions]]\nname = ${JSON.stringify(name)}\n`);
    const r = cli(['run', '--manifest', manifest, COUNTER, '1', '0']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^drawbridge run: extension ".*" is a URL: name a built-in, a module path or an installed package\n$/);
    const flag = cli(['run', '--ext', name, COUNTER, '1', '0']);
    assert.equal(flag.status, 2, flag.stderr);
    assert.equal(flag.stderr.split('\n').length, 2, flag.stderr);
  }
  assert.equal(existsSync(marker), false);
});

test('a module hash that does not match the module carried is refused', async () => {
  const { dir, snap } = await checkpointCounter('hash');
  const bad = await tamper(snap, join(dir, 'bad.snap'), (m) => {
    m.module.sha256 = '0'.repeat(64);
  });
  const r = cli(['restore', ...TRUST, '--dir', `${dir}::/data`, bad]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /^drawbridge restore: .*bad\.snap: the module carried has sha256 [0-9a-f]{64}, not the 0{64} its metadata names: the file was altered\n$/,
  );
});

test('sealed snapshots: an unsealed or foreign-sealed file is refused unless --trust-unsealed; encryption hides the contents', async () => {
  const { dir, snap } = await checkpointCounter('seal');
  assert.equal(readFileSync(snap).subarray(0, 8).toString(), 'DRAWBSEL');
  const unsealed = await tamper(snap, join(dir, 'plain.snap'), () => {});
  const refused = cli(['restore', '--dir', `${dir}::/data`, unsealed]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /^drawbridge restore: .*plain\.snap is not sealed: anyone could have written it; restore it only if you trust its source, with --trust-unsealed\n$/,
  );
  const trusted = cli(['restore', '--trust-unsealed', '--dir', `${dir}::/data`, unsealed]);
  assert.equal(trusted.status, STATUS, trusted.stderr);

  // Sealed by another host's key: refused, unless that key is named.
  const other = join(work, 'other.key');
  const foreign = await checkpointCounter('seal-foreign', [], { DRAWBRIDGE_KEY: other }, ['--encrypt']);
  const bytes = readFileSync(foreign.snap);
  assert.equal(bytes.includes(Buffer.from('drawbridge-snapshot')), false, 'an encrypted snapshot shows its metadata');
  const r = cli(['restore', '--dir', `${foreign.dir}::/data`, foreign.snap]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /^drawbridge restore: .*c\.snap is sealed with another host's key \(id [0-9a-f]{16}; this host's is [0-9a-f]{16}\): give --key FILE with that host's key, or --trust-unsealed\n$/,
  );
  const withKey = cli(['restore', '--key', other, '--dir', `${foreign.dir}::/data`, foreign.snap]);
  assert.equal(withKey.status, STATUS, withKey.stderr);
  // One byte changed anywhere in a sealed file: refused.
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 100]! ^= 1;
  writeFileSync(join(foreign.dir, 'flipped.snap'), flipped);
  const f = cli(['restore', '--key', other, '--dir', `${foreign.dir}::/data`, join(foreign.dir, 'flipped.snap')]);
  assert.equal(f.status, 1, f.stderr);
  assert.match(f.stderr, /^drawbridge restore: .*flipped\.snap: its seal does not match its contents: the file was altered or damaged\n$/);
});

test('a sealed snapshot is bound to its measurement: a restore under another manifest is refused unless --ignore-measurement', async () => {
  const { dir, snap } = await checkpointCounter('measure', ['--env', 'A=1']);
  const other = cli(['restore', '--dir', `${dir}::/data`, snap]);
  assert.equal(other.status, 1, other.stderr);
  assert.match(
    other.stderr,
    /^drawbridge restore: .*c\.snap ran under measurement [0-9a-f]{64}, and this restore's is [0-9a-f]{64} \(module or manifest differ\): restore with the same manifest and flags, or --ignore-measurement\n$/,
  );
  const ignored = cli(['restore', '--ignore-measurement', '--dir', `${dir}::/data`, snap]);
  assert.equal(ignored.status, STATUS, ignored.stderr);
});
