// The public Node API (src/index.ts) from the source tree: what each option does and every bound
// it keeps. test/package/pack.test.ts uses the same API from the packed and installed package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { DrawbridgeError, restore, run, ServeClient, ServeError, start } from '../../src/index.ts';
import { manifestOf } from '../../src/api/grants.ts';
import { testNeedingBinaryen } from '../support/toolchain.ts';

const GUESTS = join(import.meta.dirname, '..', '..', 'build', 'guests');
const LINES = join(GUESTS, 'package', 'lines.wasm');
const SLEEPER = join(GUESTS, 'runtime', 'sleeper.wasm');
const SPIN = join(GUESTS, 'checkpoint', 'spin.wasm');
const text = (b: Uint8Array) => new TextDecoder().decode(b);

// Snapshots are sealed with a key of these tests' own.
const keys = mkdtempSync(join(tmpdir(), 'db-api-'));
process.env.DRAWBRIDGE_KEY = join(keys, 'host.key');
test.after(() => rmSync(keys, { recursive: true, force: true }));

/** The DrawbridgeError `fn` rejects with. */
async function failure(fn: () => Promise<unknown>): Promise<DrawbridgeError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof DrawbridgeError, `not a DrawbridgeError: ${String(e)}`);
    assert.doesNotMatch(e.message, /\n/);
    return e;
  }
  assert.fail('it did not fail');
}

test('run: stdin from a stream, stdout to a function, stderr to a Writable, argv and env as given', async () => {
  const chunks: string[] = [];
  const err = new PassThrough();
  let errText = '';
  err.on('data', (d: Buffer) => (errText += d.toString()));
  const r = await run({
    module: LINES,
    args: ['lines', 'x'],
    env: { GREETING: 'hello' },
    stdin: Readable.from(['one\n', 'two\n']),
    stdout: (chunk) => chunks.push(text(chunk)),
    stderr: err,
  });
  assert.equal(r.exitCode, 0);
  assert.equal(chunks.join(''), 'arg x\ngreeting hello\n1 ONE\n2 TWO\n');
  assert.equal(errText, '2 lines\n');
  assert.equal(r.stdout.length, 0, 'output given elsewhere is not collected too');
});

test('run: a guest is granted nothing it was not given (no host environment)', async () => {
  process.env.GREETING = 'from the host';
  try {
    const r = await run({ module: LINES, stdin: 'a\n' });
    assert.equal(text(r.stdout), '1 A\n');
  } finally {
    delete process.env.GREETING;
  }
});

test('output nobody takes is bounded: past maxBuffer the picoprocess is stopped (137), collected or piped', async () => {
  const input = 'line\n'.repeat(20_000);
  const r = await run({ module: LINES, stdin: input, maxBuffer: 4096 });
  assert.equal(r.exitCode, 137);
  assert.match(r.error!, /^stdout: \d+ bytes unread, more than maxBuffer \(4096\): read it as it comes, or raise maxBuffer$/);
  assert.ok(r.stdout.length <= 4096 + 256, `kept ${r.stdout.length} bytes`);
  // A piped stream that is never read, likewise.
  const p = await start({ module: LINES, stdin: input, maxBuffer: 4096 });
  const status = await p.wait();
  assert.equal(status.exitCode, 137);
  assert.match(status.error!, /^stdout: .*maxBuffer \(4096\)/);
});

test('stdin a guest does not read is bounded: a big write waits for room and fails once the picoprocess ends', async () => {
  const p = await start({ module: SLEEPER, args: ['sleeper', '100000000'], checkpointable: false });
  const write = p.writeStdin(new Uint8Array(3 * 1024 * 1024));
  p.kill();
  assert.equal((await p.wait()).exitCode, 137);
  const e = await failure(() => write);
  assert.equal(e.code, 'stdio');
  assert.match(e.message, /^stdin is closed/);
});

test('a big stdin reaches a guest that reads it, through the bounded queue', async () => {
  const p = await start({ module: LINES });
  let out = '';
  p.stdout!.setEncoding('utf8');
  p.stdout!.on('data', (d: string) => (out += d));
  const n = 200_000;
  await p.writeStdin('ab\n'.repeat(n));
  p.closeStdin();
  assert.equal((await p.wait()).exitCode, 0);
  await new Promise((r) => p.stdout!.once('end', r));
  assert.ok(out.endsWith(`${n} AB\n`), out.slice(-40));
});

testNeedingBinaryen('kill() stops a prepared guest that computes without system calls', async () => {
  const p = await start({ module: SPIN, args: ['spin', '1000000', '1000000000'], stdout: 'ignore' });
  assert.equal(p.checkpointable, true);
  p.kill();
  const status = await p.wait();
  assert.equal(status.exitCode, 137);
  assert.equal(status.error, 'killed');
});

test('writeStdin and checkpoint say what is wrong when the picoprocess was not started for them', async () => {
  const p = await start({ module: LINES, stdin: 'a\n', stdout: 'ignore', checkpointable: false });
  const e = await failure(() => p.writeStdin('x'));
  assert.equal(e.code, 'stdio');
  assert.equal(e.message, "writeStdin: stdin was not 'pipe' when the picoprocess started");
  assert.equal(p.checkpointable, false);
  assert.equal((await failure(() => p.checkpoint())).code, 'checkpoint');
  assert.equal((await p.wait()).exitCode, 0);
});

testNeedingBinaryen('restore grants only what its caller grants: a mount the snapshot had is refused, naming the option to give', async () => {
  const data = mkdtempSync(join(tmpdir(), 'db-api-data-'));
  try {
    const p = await start({ module: LINES, dirs: [`${data}::/data`] });
    const snapshot = await p.checkpoint();
    const e = await failure(() => restore({ snapshot }));
    assert.equal(e.code, 'snapshot');
    assert.match(e.message, /mount \/data \(rw\), not granted: give dirs: \['HOST::\/data'\] or a manifest/);
    // Granted, it goes on; and a snapshot not sealed by this host's key is refused unless trusted.
    const q = await restore({ snapshot, dirs: [`${data}::/data`], stdin: 'z\n' });
    assert.equal((await q.wait()).exitCode, 0);
    const other = await failure(() => restore({ snapshot, dirs: [`${data}::/data`], keyFiles: [join(keys, 'other.key')] }));
    assert.equal(other.code, 'key');
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test('grants: a manifest as TOML or data, read-only dirs, network, and one line naming what is malformed', () => {
  const m = manifestOf({
    manifest: '[limits]\nmemory = "64MiB"\n',
    dirs: [{ host: '/tmp', guest: '/t', readOnly: true }, '/srv::/s'],
    env: { A: '1' },
    listen: ['127.0.0.1:8080'],
    connect: ['*.example.com:443'],
  });
  assert.equal(m.limits.memory, 64 * 1024 * 1024);
  assert.deepEqual(
    m.mounts.map((x) => [x.host, x.guest, x.mode]),
    [
      ['/tmp', '/t', 'ro'],
      ['/srv', '/s', 'rw'],
    ],
  );
  assert.deepEqual(m.env, { A: '1' });
  assert.equal(m.network.listen.length, 1);
  assert.equal(m.network.connect.length, 1);
  assert.equal(manifestOf({ manifest: { limits: { handles: 7 } } }).limits.handles, 7);
  const bad = (g: Parameters<typeof manifestOf>[0]) =>
    assert.throws(
      () => manifestOf(g),
      (e: unknown) => e instanceof DrawbridgeError && e.code === 'grants',
    );
  bad({ manifest: '[limits]\nmemory = "lots"\n' });
  bad({ manifest: 'not toml [' });
  bad({ env: { 'A=B': 'c' } });
  bad({ listen: ['example.com:80'] });
  bad({ dirs: ['/tmp::relative/../../x'] });
});

test('run: a module that cannot start rejects with a DrawbridgeError saying why', async () => {
  assert.equal((await failure(() => run({ module: '/no/such.wasm' }))).code, 'module');
  assert.equal((await failure(() => run({ module: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 9]) }))).code, 'module');
  assert.equal((await failure(() => run({ module: join(GUESTS, 'runtime', 'reactor.wasm'), checkpointable: false }))).code, 'guest');
});

test('ServeClient: no daemon there is a ServeError with status 0 that says what to do', async () => {
  const client = new ServeClient({ daemon: join(keys, 'nothing.json') });
  const e = await failure(() => client.list());
  assert.ok(e instanceof ServeError);
  assert.equal(e.status, 0);
  assert.match(e.message, /^no drawbridge daemon found \(.*nothing\.json is missing\): start one with drawbridge serve/);
});

testNeedingBinaryen('checkpoint() of a picoprocess that has ended rejects in one line', async () => {
  const p = await start({ module: LINES, stdin: 'a\n', stdout: 'ignore' });
  assert.equal((await p.wait()).exitCode, 0);
  const e = await failure(() => p.checkpoint());
  assert.equal(e.code, 'checkpoint');
});

testNeedingBinaryen('a checkpoint that stopped the picoprocess answers, a second one is refused; a restored one is checkpointed again', async () => {
  const p = await start({ module: LINES, stdout: 'ignore' });
  const snapshot = await p.checkpoint();
  assert.equal((await p.wait()).checkpointed, true);
  assert.ok(snapshot.length > 0);
  assert.equal((await failure(() => p.checkpoint())).code, 'checkpoint');
  // The restored one is checkpointable again, and with leaveRunning goes on.
  const q = await restore({ snapshot, stdout: 'ignore' });
  assert.ok((await q.checkpoint({ leaveRunning: true })).length > 0);
  await q.writeStdin('a\n');
  q.closeStdin();
  assert.equal((await q.wait()).exitCode, 0);
});
