// The npm package as a user gets it: `npm pack` of the built checkout, the tarball installed into
// a scratch project, and the public API used from there with Node 24, its declarations checked
// with tsc, its CLI's daemon driven by the serve client, and (when the package has it) its
// browser build run in Chromium.
//
// The scratch install takes the package's runtime dependencies at the versions of this
// checkout's package-lock.json (a lock written for the scratch project), from npm's cache, which
// `npm ci` filled: no registry is asked. Where the cache lacks one, npm fetches it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { clangMissing, testNeedingBinaryen } from '../support/toolchain.ts';
import { launchChromium, testNeedingChromium } from '../support/browser.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = process.execPath;
const GUEST = join(ROOT, 'build', 'guests', 'package', 'lines.wasm');
const CONSUMER = join(import.meta.dirname, 'consumer');
const NAME = 'drawbridge-host';

interface Packed {
  filename: string;
  version: string;
  integrity: string;
  files: { path: string }[];
}

let dir = '';
let app = '';
let packed: Packed;
let env: NodeJS.ProcessEnv;

/** A command's stdout; a failure shows its status and output. */
function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: status ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The lock entries of the package's runtime dependencies and theirs, from this checkout's lock. */
function dependencyLock(): { dependencies: Record<string, string>; packages: Record<string, unknown> } {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string> }> };
  const own = lock.packages['']!;
  // Where node would find `name` from the package at lock path `from`: nested first, then up.
  const find = (from: string, name: string): string => {
    for (let base = from; ; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
      const path = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock.packages[path]) return path;
      assert.ok(base, `package-lock.json has no ${name} for ${from || 'the package'}`);
    }
  };
  const packages: Record<string, unknown> = {};
  const todo = Object.keys(own.dependencies ?? {}).map((n) => find('', n));
  while (todo.length) {
    const path = todo.pop()!;
    if (packages[path]) continue;
    packages[path] = lock.packages[path];
    for (const d of Object.keys(lock.packages[path]!.dependencies ?? {})) todo.push(find(path, d));
  }
  return { dependencies: own.dependencies ?? {}, packages };
}

/** A scratch project whose one dependency is the tarball, installed from its lock. */
function install(): void {
  app = join(dir, 'app');
  mkdirSync(app);
  const deps = dependencyLock();
  const spec = `file:../${packed.filename}`;
  const manifest = { name: 'app', version: '1.0.0', private: true, type: 'module', dependencies: { [NAME]: spec } };
  const lock = {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: manifest.dependencies },
      [`node_modules/${NAME}`]: { version: packed.version, resolved: spec, integrity: packed.integrity, dependencies: deps.dependencies },
      ...deps.packages,
    },
  };
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const flags = ['ci', '--ignore-scripts', '--no-audit', '--no-fund'];
  const offline = spawnSync('npm', [...flags, '--offline'], { cwd: app, env, encoding: 'utf8' });
  if (offline.status !== 0) sh('npm', [...flags, '--prefer-offline'], app);
  for (const f of ['use.mjs', 'serve.mjs']) copyFileSync(join(CONSUMER, f), join(app, f));
}

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'index.js')) && existsSync(join(ROOT, 'dist', 'index.d.ts')), 'the package is not built: run npm run build');
  assert.ok(existsSync(GUEST), `${GUEST} is missing: run node scripts/build-guests.ts (${clangMissing() || 'clang is here'})`);
  dir = mkdtempSync(join(tmpdir(), 'db-pack-'));
  // Snapshots are sealed with a key of this test's own, not the user's.
  env = { ...process.env, DRAWBRIDGE_KEY: join(dir, 'host.key'), npm_config_loglevel: 'error' };
  // --ignore-scripts: `prepare` would build again; the test packs what was built.
  const out = sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT);
  packed = (JSON.parse(out) as Packed[])[0]!;
  install();
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The one JSON line a consumer script printed. */
function consumer(...args: string[]): Record<string, any> {
  const out = sh(NODE, args, app);
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, any>;
}

test('the tarball holds what the package needs (bin, dist, man, include, README) and nothing else', () => {
  const files = packed.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'bin/drawbridge.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli-bundle/main.js', 'include/drawbridge.h']) {
    assert.ok(files.includes(f), `${f} is not in the tarball`);
  }
  assert.ok(files.some((f) => f.startsWith('man/man1/')));
  const stray = files.filter((f) => !/^(package\.json|README\.md|bin\/|dist\/|man\/|include\/)/.test(f) || f.endsWith('.map'));
  assert.deepEqual(stray, []);
  const manifest = JSON.parse(readFileSync(join(app, 'node_modules', NAME, 'package.json'), 'utf8')) as Record<string, any>;
  assert.equal(manifest.private, undefined);
  assert.equal(manifest.engines.node, '>=24');
  assert.deepEqual(Object.keys(manifest.exports), ['.', './browser', './package.json']);
  // Every file `exports`, `types` and `bin` name is in the tarball.
  const exported = Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap((e) =>
    typeof e === 'string' ? [e] : Object.values(e),
  );
  const named = [...exported, manifest.types, ...Object.values(manifest.bin as Record<string, string>)];
  for (const f of named) assert.ok(files.includes(f.replace(/^\.\//, '')), `${f} (named by package.json) is not in the tarball`);
});

test('a guest runs through the installed package: run(), its errors, and only what exports names imports', () => {
  const seen = consumer('use.mjs', 'run', GUEST);
  assert.deepEqual(seen.run, { exitCode: 0, stdout: 'arg a\narg b\ngreeting hi\n1 X\n2 Y\n', stderr: '2 lines\n' });
  assert.deepEqual(seen.missing, { isDrawbridgeError: true, code: 'module', message: 'missing.wasm: no such file' });
  assert.equal(seen.deepImport, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  assert.equal(seen.packageJson, NAME);
});

testNeedingBinaryen('start(), checkpoint() and restore() through the installed package: a restored guest counts on, and so does one the CLI restores', () => {
  const seen = consumer('use.mjs', 'checkpoint', GUEST);
  assert.equal(seen.before, '1 ONE\n');
  assert.deepEqual(seen.checkpointed, { exitCode: 0, checkpointed: true });
  assert.equal(seen.sealed, 'DRAWBSEL', 'a checkpoint is sealed with the host key');
  assert.deepEqual(seen.restored, { exitCode: 0, stdout: '2 TWO\n' });
  // The same checkpoint is a file the installed CLI restores.
  const cli = spawnSync(NODE, [join(app, 'node_modules', NAME, 'bin', 'drawbridge.js'), 'restore', 'count.snap'], {
    cwd: app,
    env,
    input: 'three\n',
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, '2 THREE\n');
  assert.equal(seen.refused.isDrawbridgeError, true);
  assert.equal(seen.refused.code, 'snapshot');
  assert.match(seen.refused.message, /^snapshot ran under measurement [0-9a-f]{64}, and this restore's is [0-9a-f]{64} .*ignoreMeasurement: true$/);
});

test('its declarations resolve from the package alone: a consumer of both entries typechecks, a deep import and a wrong option do not', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  // No skipLibCheck: the package's own .d.ts files are checked too; @types/node is the consumer's.
  const flags = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
  const types = ['--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
  writeFileSync(
    join(app, 'ok.ts'),
    [
      `import { run, start, restore, ServeClient, DrawbridgeError, ServeError, type RunResult, type Picoprocess, type ServeProcessInfo } from '${NAME}';`,
      "const r: RunResult = await run({ module: 'x.wasm', args: ['x'], dirs: [{ host: '.', guest: '/data', readOnly: true }, 'data::/d'], env: { A: 'b' } });",
      'const p: Picoprocess = await start({ module: new Uint8Array(), stdin: process.stdin, stdout: process.stdout, stderr: (chunk) => void chunk.length });',
      'const snapshot: Uint8Array = await p.checkpoint({ leaveRunning: true });',
      "const q = await restore({ snapshot, trustUnsealed: false, stdin: 'pipe', manifest: '[limits]\\nmemory = \"64MiB\"' });",
      "await q.writeStdin('x');",
      "const infos: ServeProcessInfo[] = await new ServeClient({ daemon: 'serve.json' }).list();",
      "const e = new DrawbridgeError('module', 'x');",
      'const status: number = new ServeError(404, "x").status;',
      'console.log(r.exitCode, r.stdout.length, infos.length, e.code, status, (await q.wait()).exitCode);',
    ].join('\n'),
  );
  const ok = spawnSync(NODE, [tsc, ...flags, ...types, 'ok.ts'], { cwd: app, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  writeFileSync(
    join(app, 'bad.ts'),
    [`import { run } from '${NAME}';`, `import type {} from '${NAME}/dist/runtime/run.js';`, "await run({ modul: 'x.wasm' });"].join('\n'),
  );
  const bad = spawnSync(NODE, [tsc, ...flags, ...types, 'bad.ts'], { cwd: app, encoding: 'utf8' });
  assert.match(bad.stdout, new RegExp(`bad\\.ts\\(2,\\d+\\): error TS2307: Cannot find module '${NAME}/dist/runtime/run\\.js'`));
  assert.match(bad.stdout, /bad\.ts\(3,\d+\): error TS2561: .*'modul' does not exist in type 'StartOptions'/);
});

testNeedingBinaryen(
  "the serve client drives the installed CLI's daemon: spawn, wait, logs, follow, list, get, remove, stdin, checkpoint, restore, kill",
  async () => {
    const connection = join(dir, 'serve.json');
    const cli = join(app, 'node_modules', NAME, 'bin', 'drawbridge.js');
    const daemon: ChildProcess = spawn(NODE, [cli, 'serve', '--connection-file', connection, '--workers', '1', '--warm-up', '0', '--quiet'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    daemon.stdout!.on('data', (d) => (said += d));
    daemon.stderr!.on('data', (d) => (said += d));
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    try {
      // Listening once it says so (it writes its connection file first).
      await new Promise<void>((resolve, reject) => {
        const look = () => (said.includes('listening on') ? resolve() : undefined);
        daemon.stdout!.on('data', look);
        daemon.stderr!.on('data', look);
        void exited.then(() => reject(new Error(`drawbridge serve ended: ${said}`)));
      });
      const r = spawnSync(NODE, ['serve.mjs', connection, GUEST], { cwd: app, env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const seen = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, any>;
      assert.equal(seen.waited, 0);
      assert.equal(seen.logs, 'arg a\ngreeting hi\n1 ONE\n');
      assert.equal(seen.stderr, '1 lines\n');
      assert.equal(seen.listed, true);
      assert.equal(seen.followed, seen.logs);
      assert.equal(seen.got, 'exited 0');
      assert.equal(seen.removed, true);
      assert.equal(seen.checkpointedState, 'checkpointed');
      assert.deepEqual(seen.restored, { exitCode: 0, stdout: '2 TWO\n' });
      assert.equal(seen.killed, 137);
      assert.deepEqual(seen.unknown, { isServeError: true, status: 404 });
    } finally {
      daemon.kill('SIGTERM');
      await exited;
    }
  },
);

testNeedingChromium('the browser build loads from the installed package in Chromium and runs a guest', async () => {
  // Resolved from the scratch project through the package's exports, as a bundler would.
  const entry = createRequire(join(app, 'index.js')).resolve(`${NAME}/browser`);
  assert.equal(entry, join(app, 'node_modules', NAME, 'dist', 'browser', 'drawbridge.js'));
  const files: Record<string, { path: string; type: string }> = {
    '/': { path: join(CONSUMER, 'page.html'), type: 'text/html' },
    '/drawbridge.js': { path: entry, type: 'text/javascript' },
    '/lines.wasm': { path: GUEST, type: 'application/wasm' },
  };
  const server: Server = createServer((req, res) => {
    const f = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f.type }).end(readFileSync(f.path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const { port } = server.address() as { port: number };
    await page.goto(`http://127.0.0.1:${port}/`);
    const result = await page.evaluate(() => (globalThis as unknown as { ran: Promise<unknown> }).ran);
    assert.deepEqual(result, { exitCode: 0, stdout: 'arg a\ngreeting hi\n1 X\n' });
  } finally {
    await browser.close();
    server.close();
  }
});
