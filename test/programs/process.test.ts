// Child picoprocesses and pipes between them (drawbridge import module, process family), run as
// users run them: C programs through runCommand on the node and memory hosts, and the CLI with
// a manifest. The guests are guests/process/*.c; the child module is mounted at /bin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from '../../src/runtime/run.ts';
import { type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { buildManifest } from '../../src/monitor/manifest/parse.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import { childManifest, ENV_MARKER, splitChildArgs } from '../../src/runtime/launcher.ts';

const BIN = resolve('build/guests/process');
const guest = (name: string) => join(BIN, `${name}.wasm`);
const text = (b: Uint8Array) => Buffer.from(b).toString();

function manifest(children: number, extra: Record<string, unknown> = {}): Manifest {
  const m = buildManifest({ mounts: [{ host: BIN, guest: '/bin', mode: 'ro' }], limits: { children }, ...extra });
  if (!m.ok) throw new Error(JSON.stringify(m.errors));
  return m.manifest;
}

async function run(name: string, args: string[], m: Manifest, host?: Parameters<typeof runCommand>[0]['host']) {
  const r = await runCommand({ module: guest(name), args: [name, ...args], manifest: m, capture: true, host });
  return { code: r.exitCode, error: r.error, out: text(r.stdout), err: text(r.stderr) };
}

test('a pipeline of two children: producer | filter, output and exit codes collected by the parent', async () => {
  const r = await run('pipeline', ['/bin/child.wasm', '3'], manifest(2));
  assert.equal(r.error, undefined);
  assert.equal(r.out, 'LINE 1\nLINE 2\nLINE 3\nfilter stderr: lines=3\nproducer exit 3, filter exit 5\nwait again: ECHILD\n');
  assert.equal(r.code, 0);
});

test('a pipeline moves 1 MB through two pipes with backpressure (64 KiB buffers), nothing lost', async () => {
  const r = await run('pipeline', ['/bin/child.wasm', '100000'], manifest(2));
  // "line 1\n".."line 100000\n": 100000 * 6 + (9 + 90*2 + 900*3 + 9000*4 + 90000*5 + 1*6) bytes
  assert.equal(r.out, '1088895 bytes, 100000 lines\nfilter stderr: lines=100000\nproducer exit 3, filter exit 5\nwait again: ECHILD\n');
});

test('pipes in one picoprocess: EOF, EPIPE, non-blocking EAGAIN both ways, capacity, poll', async () => {
  const r = await run('procs', ['pipes'], manifest(0));
  assert.equal(r.code, 0, r.out + r.err);
  assert.equal(
    r.out,
    [
      'pipe: fds ok',
      'eof: read 3 then 0',
      'epipe: write -1 EPIPE',
      'nonblocking read of an empty pipe: -1 EAGAIN',
      'nonblocking write until full: 65536 bytes, then EAGAIN',
      'poll on the full pipe: 1 ready, in=1 out=0',
      'after a read it takes a write again: yes',
      'done',
      '',
    ].join('\n'),
  );
});

const CHILDREN_EXPECTED = [
  "write to an exited child's stdin: -1 EPIPE (status 7)",
  'waitpid WNOHANG while it runs: EAGAIN',
  'drain: wrote 200000, any-child wait got pid right, status 64 (= 64 % 256)',
  'killed child: status 137',
  'wait again: ECHILD; kill again: ESRCH; wait with no children: ECHILD',
  'child environment: A=1;B=two words; (parent has PARENT_ONLY=yes)',
  'grandchild spawn: EDQUOT',
  'bad mode: EINVAL',
  'bad fd: EBADF',
  'bad env: EINVAL',
  'missing module: ENOENT',
  'not a module: EISDIR',
  'outside the mounts: EPERM',
  'wait for a stranger: ECHILD; kill a stranger: ESRCH',
  'done',
  '',
].join('\n');

test('children: EPIPE and blocking writes across picoprocesses, WNOHANG, kill, env, no grandchildren, bad arguments', async () => {
  const r = await run('procs', ['children', '/bin/child.wasm'], manifest(16, { env: { PARENT_ONLY: 'yes' } }));
  assert.equal(r.code, 0, r.out + r.err);
  assert.equal(r.out, CHILDREN_EXPECTED);
});

test('quota: spawning is a grant (default children = 0: EDQUOT); the limit counts every child', async () => {
  assert.equal((await run('procs', ['quota', '/bin/child.wasm'], manifest(0))).out, 'spawn: EDQUOT\ndone\n');
  const one = await run('pipeline', ['/bin/child.wasm'], manifest(1));
  assert.equal(one.code, 1);
  assert.match(one.out, /^FAIL spawn filter: /, 'the second child is over the limit');
});

test('a child sees no more than its parent: an unmounted host file is refused to both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-proc-'));
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  writeFileSync(join(dir, 'shared.txt'), 'shared');
  // The parent mounts /data (one file's directory) but not the host's temp dir as such.
  const m = manifest(2, {
    mounts: [
      { host: BIN, guest: '/bin', mode: 'ro' },
      { host: dir, guest: '/data', mode: 'ro' },
    ],
  });
  const hidden = await run('procs', ['open', join(dir, 'secret.txt'), '/bin/child.wasm'], m);
  assert.equal(hidden.out, `parent open ${join(dir, 'secret.txt')}: ENOTCAPABLE\nchild open ${join(dir, 'secret.txt')}: ENOTCAPABLE\ndone\n`);
  const granted = await run('procs', ['open', '/data/shared.txt', '/bin/child.wasm'], m);
  assert.equal(granted.out, 'parent open /data/shared.txt: OK\nchild open /data/shared.txt: OK\ndone\n');
  // Without the /data mount the child cannot see it either.
  const narrow = await run('procs', ['open', '/data/shared.txt', '/bin/child.wasm'], manifest(2));
  assert.equal(narrow.out, 'parent open /data/shared.txt: ENOTCAPABLE\nchild open /data/shared.txt: ENOTCAPABLE\ndone\n');
});

test('the same pipeline on the in-memory host (the child module is a file of its in-memory tree)', async () => {
  const host = createMemoryHost({ files: { '/bin/child.wasm': readFileSync(guest('child')) } });
  const m = buildManifest({ mounts: [{ host: '/bin', guest: '/bin', mode: 'ro' }], limits: { children: 2 } });
  assert.ok(m.ok);
  const r = await run('pipeline', ['/bin/child.wasm', '3'], m.manifest, host);
  assert.equal(r.out, 'LINE 1\nLINE 2\nLINE 3\nfilter stderr: lines=3\nproducer exit 3, filter exit 5\nwait again: ECHILD\n');
  const c = await run(
    'procs',
    ['children', '/bin/child.wasm'],
    manifest(16, { env: { PARENT_ONLY: 'yes' }, mounts: [{ host: '/bin', guest: '/bin', mode: 'ro' }] }),
    host,
  );
  assert.equal(c.out, CHILDREN_EXPECTED);
});

test('the CLI: drawbridge run --manifest grants children; without it spawning is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-proc-cli-'));
  const file = join(dir, 'pipeline.toml');
  writeFileSync(file, `[[mounts]]\nhost = "${BIN}"\nguest = "/bin"\nmode = "ro"\n\n[limits]\nchildren = 4\n`);
  const cli = (args: string[]) => spawnSync(process.execPath, ['bin/drawbridge.js', 'run', ...args], { encoding: 'utf8' });
  const r = cli(['--manifest', file, guest('pipeline'), '/bin/child.wasm', '2']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'LINE 1\nLINE 2\nfilter stderr: lines=2\nproducer exit 3, filter exit 5\nwait again: ECHILD\n');
  assert.equal(r.status, 0);
  const refused = cli(['--dir', `${BIN}::/bin`, guest('procs'), 'quota', '/bin/child.wasm']);
  assert.equal(refused.stdout, 'spawn: EDQUOT\ndone\n');
  // A child inherits the CLI's stdout: its lines reach the terminal's stream directly.
  const inherit = cli(['--manifest', file, guest('procs'), 'open', '/bin/child.wasm', '/bin/child.wasm']);
  assert.equal(inherit.stdout, 'parent open /bin/child.wasm: OK\nchild open /bin/child.wasm: OK\ndone\n');
});

test('launcher rules: the environment rides after a NUL marker; a child manifest drops children only', () => {
  assert.deepEqual(splitChildArgs(['a', 'b']), { argv: ['a', 'b'], env: {} });
  assert.deepEqual(splitChildArgs(['a', ENV_MARKER, 'X=1', 'bad', '=no', 'Y=a=b']), { argv: ['a'], env: { X: '1', Y: 'a=b' } });
  const parent = manifest(3, { env: { SECRET: 's' }, network: { connect: ['127.0.0.1:80'] } });
  const child = childManifest(parent, { A: '1' });
  assert.equal(child.limits.children, 0);
  assert.equal(child.limits.memory, parent.limits.memory);
  assert.deepEqual(child.env, { A: '1' });
  assert.deepEqual(child.mounts, parent.mounts);
  assert.notEqual(child.mounts, parent.mounts, "a copy: the parent's grants cannot be changed through it");
  assert.equal(child.network.connect.length, 1);
});

test('hostile arguments to the process imports: an errno or a guest fault, never a host crash', async () => {
  const { createWasiLibOs, GuestFault } = await import('../../src/libos/index.ts');
  const { createMonitor, policyFromManifest } = await import('../../src/monitor/monitor.ts');
  const { createNodeHost } = await import('../../src/host/node/index.ts');
  const m = manifest(4);
  const p = createNodeHost().createProcess({});
  const libos = createWasiLibOs(createMonitor(p.dk, policyFromManifest(m)), { args: ['x'], env: [], preopens: [] });
  const memory = new WebAssembly.Memory({ initial: 1 });
  libos.attachMemory(memory);
  p.attachMemory(memory);
  const f = Object.fromEntries(['process_spawn', 'process_wait', 'process_kill', 'pipe'].map((n) => [n, libos.drawbridgeCall(n)]));
  const u8 = new Uint8Array(memory.buffer);
  const put = (at: number, s: string) => u8.set(Buffer.from(s), at);
  const outcome = async (call: () => unknown): Promise<string> => {
    try {
      const r = await call();
      return typeof r === 'number' ? `errno ${r}` : `odd ${String(r)}`;
    } catch (e) {
      return e instanceof GuestFault ? 'fault' : `THREW ${String(e)}`;
    }
  };
  put(0, '/bin/child.wasm');
  const BIG = 0xffff_fff0;
  const cases: [string, () => unknown, string][] = [
    ['path past memory', () => f.process_spawn!(65530, 100, 0, 0, 0, 0, 200, 300, 400), 'fault'],
    ['path length huge', () => f.process_spawn!(0, BIG, 0, 0, 0, 0, 200, 300, 400), 'fault'],
    ['argv without final NUL', () => f.process_spawn!(0, 15, 0, 4, 0, 0, 200, 300, 400), 'errno 28'],
    ['pid pointer past memory', () => f.process_spawn!(0, 15, 0, 0, 0, 0, 200, 300, 65535), 'fault'],
    ['modes pointer negative', () => f.process_spawn!(0, 15, 0, 0, 0, 0, -4, 300, 400), 'fault'],
    ['empty path', () => f.process_spawn!(0, 0, 0, 0, 0, 0, 200, 300, 400), 'errno 44'],
    ['wait with bad flags', () => f.process_wait!(1, 0x80, 0, 4), 'errno 28'],
    ['wait for no child', () => f.process_wait!(-7, 0, 0, 4), 'errno 12'],
    ['wait with NaN pid', () => f.process_wait!(Number.NaN, 0, 0, 4), 'errno 12'],
    ['kill pid 0', () => f.process_kill!(0), 'errno 71'],
    ['pipe into the last bytes', () => f.pipe!(65532), 'fault'],
  ];
  for (const [what, call, want] of cases) assert.equal(await outcome(call), want, what);
  // Nothing leaked: the only handles left are the stdio ones the library OS opened.
  const fdsBefore = [...libos.state.fds.entries()].length;
  assert.equal(await outcome(() => f.pipe!(1000)), 'errno 0');
  assert.equal([...libos.state.fds.entries()].length, fdsBefore + 2);
  p.kill(0);
});

test('a module reached through a symbolic link inside the mount runs; one leading outside is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-proc-link-'));
  copyFileSync(guest('child'), join(dir, 'child.wasm'));
  symlinkSync('child.wasm', join(dir, 'link.wasm'));
  symlinkSync(guest('child'), join(dir, 'escape.wasm'));
  const m = manifest(4, { mounts: [{ host: dir, guest: '/bin', mode: 'ro' }] });
  const ok = await run('pipeline', ['/bin/link.wasm', '1'], m);
  assert.equal(ok.out, 'LINE 1\nfilter stderr: lines=1\nproducer exit 3, filter exit 5\nwait again: ECHILD\n');
  const out = await run('pipeline', ['/bin/escape.wasm', '1'], m);
  assert.equal(out.code, 1);
  assert.match(out.out, /^FAIL spawn producer: /);
});
