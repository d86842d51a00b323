// The command line, as a user runs it: bin/drawbridge.js in a child process.
import { test } from 'node:test';
import { withPadding } from '../support/wasm-padding.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = 'bin/drawbridge.js';
function cli(args: string[], opts: { node?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(opts.node ?? process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...opts.env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--help and --version', () => {
  const h = cli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /drawbridge run/);
  assert.match(h.out, /abi \[--json\]/);
  assert.match(cli(['run', '--help']).out, /--dir HOST\[::GUEST\]/);
  assert.match(cli(['--version']).out, /^drawbridge \d+\.\d+\.\d+\n$/);
});

test('abi --json lists every primitive with its fields; abi prints the table', () => {
  const r = cli(['abi', '--json']);
  assert.equal(r.code, 0);
  const table = JSON.parse(r.out) as { name: string; category: string; blocking: boolean; support: string }[];
  const open = table.find((e) => e.name === 'DkStreamOpen')!;
  assert.equal(open.category, 'streams');
  assert.equal(open.blocking, false);
  assert.equal(table.find((e) => e.name === 'DkObjectsWaitAny')!.blocking, true);
  assert.ok(table.length >= 48);
  const human = cli(['abi']);
  assert.equal(human.code, 0);
  assert.match(human.out, /DkStreamOpen\(uri: string/);
  assert.equal(cli(['abi', '--yaml']).code, 2);
});

test('run: the bundled example, with a mount, an environment variable and arguments', () => {
  const plain = cli(['run', 'examples/hello.wasm']);
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /^Hello, world, from a drawbridge picoprocess!\narguments: 1, environment variables: 0\n/);
  assert.match(plain.out, /no \/data mount granted/);
  const granted = cli(['run', '--dir', 'examples::/data', '--env', 'GREETING=Hi', '--', 'examples/hello.wasm', 'you']);
  assert.equal(granted.code, 0, granted.err);
  assert.match(granted.out, /^Hi, you, from a drawbridge picoprocess!\narguments: 2, environment variables: 1\n/);
  assert.match(granted.out, /\/data holds \d+ entries/);
});

test("run: the exit status is the guest's; a trap is one line and 134", () => {
  const exit = cli(['run', 'build/guests/runtime/exit_code.wasm', '42']);
  assert.equal(exit.code, 42);
  assert.equal(exit.out, 'out\n');
  const trap = cli(['run', 'build/guests/wasi/trap.wasm']);
  assert.equal(trap.code, 134);
  assert.match(
    trap.err,
    /^drawbridge: build\/guests\/wasi\/trap\.wasm: wasm trap: wasm `unreachable` instruction executed\nwasm backtrace:\n( +\d+: +0x[0-9a-f]+ - .+\n)+$/m,
  );
});

test('run: a trap prints its Wasm backtrace innermost first, with the names of the name section, as wasmtime does', () => {
  // Unprepared: the module runs as clang built it (-O0, nothing inlined), so every call is a frame.
  const trap = cli(['run', 'build/guests/runtime/trap-named.wasm'], { env: { DRAWBRIDGE_CHECKPOINT: '0' } });
  assert.equal(trap.code, 134);
  assert.equal(trap.out, 'before the trap\n');
  const lines = trap.err.trimEnd().split('\n');
  assert.equal(lines[0], 'drawbridge: build/guests/runtime/trap-named.wasm: wasm trap: integer divide by zero');
  assert.equal(lines[1], 'wasm backtrace:');
  const frames = lines.slice(2).map((l) => /^ +(\d+): +0x[0-9a-f]+ - (.+)$/.exec(l));
  assert.ok(
    frames.every((f) => f !== null),
    trap.err,
  );
  assert.deepEqual(
    frames.map((f) => Number(f![1])),
    frames.map((_, i) => i),
  );
  assert.deepEqual(
    frames.slice(0, 4).map((f) => f![2]),
    ['divide', 'compute_ratio', '__original_main', '_start'],
  );
});

/** `head` followed by zeros up to 2 MiB. */
function bigFile(dir: string, name: string, head: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([head, Buffer.alloc(2 * 1024 * 1024)]));
  return path;
}

/** hello.wasm with a 2 MiB custom section: a module too big to be prepared at first run. */
function bigHello(dir: string): string {
  const path = join(dir, 'big-hello.wasm');
  writeFileSync(path, withPadding(readFileSync('examples/hello.wasm'), 2 * 1024 * 1024));
  return path;
}

test('run: a module too big to prepare at first run runs unprepared, compiled while the CLI loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-big-'));
  const r = cli(['run', '--env', 'X=1', '--dir', `${dir}::/data`, '--', bigHello(dir), 'you'], { env: { DRAWBRIDGE_CACHE: join(dir, 'cache') } });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Hello, you, from a drawbridge picoprocess!/);
});

test('run: mistakes get one clear line and status 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-'));
  const bad = join(dir, 'bad.toml');
  writeFileSync(bad, '[[mounts]]\nhost = "/tmp"\nguest = "/x"\nmode = "rx"\n');
  const cases: [string[], RegExp][] = [
    [['run', 'missing.wasm'], /missing\.wasm: no such file/],
    [['run', 'README.md'], /not a WebAssembly module/],
    [['run', '--bogus', 'examples/hello.wasm'], /unknown option --bogus/],
    [['run'], /missing MODULE\.wasm/],
    [['run', '--dir'], /--dir needs a value/],
    [['run', '--manifest', bad, 'examples/hello.wasm'], /mounts\[0\]\.mode/],
    [['run', '--manifest', join(dir, 'none.toml'), 'examples/hello.wasm'], /no such file/],
    [['frobnicate'], /unknown command "frobnicate"/],
    // Too big to prepare at first run: bin/drawbridge.js starts reading and compiling these before the CLI loads.
    [['run', bigFile(dir, 'big.txt', Buffer.from('not wasm at all'))], /big\.txt: not a WebAssembly module/],
    [['run', bigFile(dir, 'big.wasm', Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x0a, 0xff]))], /big\.wasm: invalid WebAssembly module/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.err}`);
  }
});

test("an older Node is refused with a one-line message, or re-runs the project's Node 24", () => {
  const system = spawnSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const major = Number(system.stdout?.split('.')[0]);
  if (!(major < 24)) {
    // This machine's own node is new enough: it must simply run.
    assert.equal(cli(['--version'], { node: 'node' }).code, 0);
    return;
  }
  const refused = cli(['--version'], { node: 'node', env: { DRAWBRIDGE_NO_REEXEC: '1' } });
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^drawbridge: needs Node\.js >= 24 \(this is [\d.]+\); .+\n$/);
  const reexec = cli(['run', 'examples/hello.wasm'], { node: 'node' });
  assert.equal(reexec.code, 0, reexec.err);
  assert.match(reexec.out, /from a drawbridge picoprocess/);
});

test('run: output to a pipe comes out while the guest computes, not only when it waits or ends', async () => {
  // Unprepared, so the guest never gives the event loop a turn while it computes; it prints a
  // line every ~40 ms. Coalescing must still let lines through when none went out for a while
  // (held until 64 KiB were pending, the first line would come after about two minutes).
  const child = spawn(process.execPath, [BIN, 'run', 'build/guests/checkpoint/spin.wasm', '100000', '20000000'], {
    env: { ...process.env, DRAWBRIDGE_CHECKPOINT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const lines = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no output in 30 s: ${JSON.stringify(out)}`)), 30_000);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        out += d;
        const complete = out.split('\n').slice(0, -1);
        if (complete.length >= 2) {
          clearTimeout(timer);
          resolve(complete);
        }
      });
    });
    assert.match(lines[0]!, /^round 0 [0-9a-f]{16}$/);
    assert.equal(child.exitCode, null, 'still computing');
  } finally {
    child.kill('SIGKILL');
  }
});

test('run: a --dir whose host folder is missing or is a file is one line naming the host folder, status 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-dir-'));
  try {
    writeFileSync(join(dir, 'file'), 'x');
    const missing = cli(['run', '--dir', `${join(dir, 'nope')}::/w`, 'examples/hello.wasm']);
    assert.equal(missing.code, 2);
    assert.equal(missing.err, `drawbridge run: cannot pre-open /w: host folder ${join(dir, 'nope')}: no such folder\n`);
    const file = cli(['run', '--dir', `${join(dir, 'file')}::/w`, 'examples/hello.wasm']);
    assert.equal(file.code, 2);
    assert.equal(file.err, `drawbridge run: cannot pre-open /w: host folder ${join(dir, 'file')}: not a folder\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("run: a manifest's args replace the command line's, and run says so in one line", () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-args-'));
  try {
    writeFileSync(join(dir, 'm.toml'), 'args = ["hello", "from-manifest"]\n');
    const r = cli(['run', '--manifest', join(dir, 'm.toml'), 'examples/hello.wasm', 'typed']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Hello, from-manifest, from a drawbridge picoprocess!\n/);
    assert.equal(r.err, "drawbridge: the manifest's args replace the 1 argument(s) after examples/hello.wasm, which are not passed\n");
    const quiet = cli(['run', '--manifest', join(dir, 'm.toml'), 'examples/hello.wasm']);
    assert.equal(quiet.err, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--json on the commands that print a record: measure, key, manifest check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-json-'));
  try {
    const m = JSON.parse(cli(['measure', 'examples/hello.wasm', '--json']).out) as Record<string, string>;
    assert.deepEqual(Object.keys(m), ['module_sha256', 'manifest_sha256', 'measurement']);
    assert.match(m.module_sha256!, /^[0-9a-f]{64}$/);
    const k = JSON.parse(cli(['key', '--json', '--key', join(dir, 'k')]).out) as { path: string; id: string; made: boolean };
    assert.deepEqual([k.path, k.made], [join(dir, 'k'), true]);
    writeFileSync(join(dir, 'bad.toml'), '[limits]\nbogus = 1\n');
    const bad = cli(['manifest', 'check', '--json', join(dir, 'bad.toml')]);
    assert.equal(bad.code, 1);
    assert.deepEqual(JSON.parse(bad.out), { file: join(dir, 'bad.toml'), ok: false, errors: [{ path: 'limits.bogus', message: 'unknown key' }] });
    writeFileSync(join(dir, 'ok.toml'), '[limits]\nmemory = "64MiB"\n');
    const ok = JSON.parse(cli(['manifest', 'check', '--json', join(dir, 'ok.toml')]).out) as { ok: boolean; manifest: { limits: { memory: number } } };
    assert.deepEqual([ok.ok, ok.manifest.limits.memory], [true, 64 * 2 ** 20]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run loads no HTTP client or server when nothing asks for one (node:http pulls in undici: a start slower by a fifth)', () => {
  const hook =
    'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nloaded:"+process.moduleLoadList.filter((m)=>/^NativeModule (_?http|undici)/.test(m)).join(",")+"\\n"))';
  const r = spawnSync(process.execPath, ['--import', hook, BIN, 'run', 'examples/hello.wasm'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\nloaded:\n$/);
});
