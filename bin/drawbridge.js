#!/usr/bin/env node
// Entry point. Plain JavaScript so that it runs on any Node: it checks the version first.
// drawbridge needs Node.js >= 24 (JSPI). When started by an older Node, it re-runs itself
// with the Node 24 that the project installs (the npm package `node`), or says what to do.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REQUIRED = 24;
const major = Number(process.versions.node.split('.')[0]);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (major < REQUIRED) {
  const local = join(root, 'node_modules', 'node', 'bin', 'node');
  if (process.env.DRAWBRIDGE_NO_REEXEC !== '1' && existsSync(local)) {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? (r.signal ? 128 + 9 : 1));
  }
  process.stderr.write(
    `drawbridge: needs Node.js >= ${REQUIRED} (this is ${process.versions.node}); run ./drawbridge in the checkout after npm ci, or install Node.js ${REQUIRED}.\n`,
  );
  process.exit(1);
}

// `drawbridge run [OPTIONS] MODULE`: a module too big to be prepared at first run (over
// 256 KiB, AUTO_PREPARE_MAX_BYTES) runs as it is, compiled lazily by V8 on its own threads. Start
// reading and compiling it now, so that loading the CLI happens meanwhile; the run
// command takes the result (src/cli/early-module.ts) when it runs that module unprepared.
const EARLY_MIN_BYTES = 256 * 1024;
// drawbridge's run options that take a value, then wasmtime's (src/cli/wasmtime-flags.ts).
const VALUE_FLAGS = new Set(['--dir', '--env', '--listen', '--connect', '--manifest', '--ext', '--log', '--fb']);
const WASMTIME_VALUE_FLAGS = ['--tcplisten', '--argv0', '--invoke', '--fuel', '--wasi', '--wasm', '--optimize', '--codegen', '--debug', '--record'];
for (const f of [...WASMTIME_VALUE_FLAGS, '-S', '-W', '-O', '-C', '-D', '-R']) VALUE_FLAGS.add(f);
/** The module of `drawbridge run ... MODULE`, or of `drawbridge MODULE.wasm` / `drawbridge --dir . MODULE` (run, as in wasmtime). */
function moduleOfRun(argv) {
  const first = argv[0] === 'run' ? 1 : argv[0]?.endsWith('.wasm') ? 0 : argv[0]?.startsWith('-') ? 0 : -1;
  if (first < 0) return null;
  for (let i = first; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv[i + 1] ?? null;
    if (!a.startsWith('-') || a === '-') return a;
    if (VALUE_FLAGS.has(a)) i++;
    else if (a === '--durable')
      continue; // its FILE only after '='
    // --help or a bad flag: the CLI answers that (-Sinherit-env: a value attached, as --env=A=1)
    else if (!a.includes('=') && !/^-[SWOCDR]./.test(a)) return null;
  }
  return null;
}
/**
 * Whether the prepared-module cache may hold it (src/runtime/prepare.ts names entries by size
 * first; the folder as src/runtime/cache-root.ts says, which this plain script cannot import).
 */
function mayBePrepared(size) {
  const base = process.env.DRAWBRIDGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'drawbridge');
  try {
    return readdirSync(join(base, 'prepared')).some((f) => f.startsWith(`${size}-`));
  } catch {
    return false;
  }
}
const earlyPath = moduleOfRun(process.argv.slice(2));
try {
  const size = earlyPath === null ? 0 : statSync(earlyPath).size;
  if (size > EARLY_MIN_BYTES && !process.env.DRAWBRIDGE_WASM_TIERING && !mayBePrepared(size)) {
    const bytes = readFile(earlyPath);
    // Compiled as a run under the default limits will run it (src/cli/early-compile.ts).
    const compiler = join(root, 'dist', 'cli-bundle', 'early-compile.js');
    const early = existsSync(compiler)
      ? (await import(pathToFileURL(compiler).href)).earlyCompile(bytes)
      : { module: bytes.then((b) => WebAssembly.compile(b)), memoryLimit: undefined };
    early.module.catch(() => {}); // reported, if it matters, by the run command
    early.code?.catch(() => {});
    globalThis.__drawbridgeEarlyModule = { path: earlyPath, bytes, module: early.module, memoryLimit: early.memoryLimit, code: early.code };
  }
} catch {
  // no such file: the run command says so
}

// Cache V8's compiled JavaScript of the CLI between runs (Node >= 22.1): start-up is most of
// a short run's time.
const { enableCompileCache } = await import('node:module');
if (typeof enableCompileCache === 'function' && process.env.DRAWBRIDGE_NO_COMPILE_CACHE !== '1') enableCompileCache();

// The CLI bundled by esbuild (npm run build): a few files to load instead of some sixty
// modules, a third of a short run's start-up. dist/cli/main.js (tsc's output) is the fallback.
const bundled = join(root, 'dist', 'cli-bundle', 'main.js');
const main = existsSync(bundled) ? bundled : join(root, 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`drawbridge: not built yet; run \`npm run build\` in ${root}.\n`);
  process.exit(1);
}
const { main: run } = await import(pathToFileURL(main).href);
const status = await run(process.argv.slice(2));
// End as an empty event loop ends, not by process.exit: that shuts V8's threads down without
// the isolate, and a JIT compile job on one of them, waiting for a collection only this thread
// would run, then holds the exit forever (nodejs/node#54918; seen after a burst of forks). A
// guest may leave host resources that keep Node alive (a stdin reader): past a moment, exit.
process.exitCode = status;
setTimeout(() => {
  if (process.env.DRAWBRIDGE_DEBUG_EXIT === '1') process._rawDebug(`drawbridge: still held by ${process.getActiveResourcesInfo().join(', ')}`);
  process.exit(status);
}, 250).unref();
