// Preparing a module for capture (checkpoints): Binaryen's Asyncify pass, restricted to the
// imports that can wait, optimized after, and every mutable global exported so that a
// snapshot can read and restore it. Prepared modules are cached on disk by content hash.
//
// Asyncify is cheap for small modules and very expensive for big ones (minutes and gigabytes:
// docs/snapshot.md, "Preparing big modules"), so `drawbridge run` prepares a module by itself
// only up to AUTO_PREPARE_MAX_BYTES; bigger ones are prepared once with `drawbridge prepare`.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSCALLS } from '../libos/index.ts';
import { DRAWBRIDGE_CALLS } from '../libos/drawbridge/index.ts';
import { customSection, customSectionNames, exportMutableGlobals, exportNames } from '../wasm/sections.ts';
import { addControlExport, ASYNCIFY_EXPORTS, CONTROL_EXPORT } from '../wasm/control.ts';
import { concat } from '../wasm/binary.ts';
import { insertTicks, TICK_MODULE, TICK_NAME } from '../wasm/ticks.ts';
import { nodeChildProcess, sha256 } from '../host/node/lazy-builtins.ts';
import { devirtualizeUnwinding } from '../wasm/indirect.ts';
import { cacheRoot } from './cache-root.ts';

/**
 * Modules up to this size are prepared automatically at first run, which waits for it in
 * silence. The time wasm-opt takes grows faster than the module (docs/snapshot.md,
 * "Preparing big modules"): this limit keeps the worst first-run wait to seconds; bigger
 * modules are prepared once with `drawbridge prepare`, which shows its progress.
 */
export const AUTO_PREPARE_MAX_BYTES = 256 * 1024;
/**
 * Bumped when the preparation changes, so that old cache entries are not reused (what each
 * version changed: docs/snapshot.md, "The prepared-module cache").
 */
const PREPARE_VERSION = 10;

/**
 * Modules up to this size are optimized with -O3 after Asyncify, bigger ones with -O2. -O3
 * makes the prepared compute kernels a little faster for a little more preparation time on a
 * small module, but a big one waits markedly longer, and a first run waits for it in silence
 * (docs/snapshot.md, "Costs, measured").
 */
const OPTIMIZE_MORE_MAX_BYTES = 64 * 1024;

/** The imports a capture can unwind through: exactly those that may wait, and the tick. */
export function captureImports(): string[] {
  return [
    `${TICK_MODULE}.${TICK_NAME}`,
    'drawbridge.fork',
    ...Object.entries(SYSCALLS)
      .filter(([, e]) => e.blocking)
      .map(([n]) => `wasi_snapshot_preview1.${n}`),
    ...Object.entries(DRAWBRIDGE_CALLS)
      .filter(([, e]) => e.blocking)
      .map(([n]) => `drawbridge.${n}`),
  ];
}

export function isPrepared(module: WebAssembly.Module): boolean {
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  return names.has(CONTROL_EXPORT) || ASYNCIFY_EXPORTS.every((n) => names.has(n));
}

export function cacheDir(): string {
  return join(cacheRoot(), 'prepared');
}

/**
 * The cache entry of a module: its size first, so that a miss is found without hashing it.
 * A module prepared without the tick counter (waitsOnly) has an entry of its own.
 */
export function preparedPath(bytes: Uint8Array, waitsOnly = false): string {
  return join(cacheDir(), `${bytes.length}-${hashOf(bytes)}.v${PREPARE_VERSION}${waitsOnly ? '.waits' : ''}.wasm`);
}

/**
 * The module's SHA-256, once per bytes: one run looks up both cache entries, and `run` asks
 * mayBePrepared before prepareModule (hashing a big module is not free).
 */
const hashes = new WeakMap<Uint8Array, string>();
function hashOf(bytes: Uint8Array): string {
  let h = hashes.get(bytes);
  if (h === undefined) hashes.set(bytes, (h = sha256(bytes).toString('hex')));
  return h;
}

/** The cached prepared module for `bytes`, with the tick counter or else without; null if none. */
function cachedPrepared(bytes: Uint8Array, waitsOnly: boolean | undefined): string | null {
  const paths = waitsOnly === undefined ? [preparedPath(bytes), preparedPath(bytes, true)] : [preparedPath(bytes, waitsOnly)];
  return paths.find((p) => existsSync(p)) ?? null;
}

/**
 * The custom section that marks a module prepared without the tick counter: it can be
 * captured only while it waits in a call, and cannot be preempted (a host service gives it a
 * worker of its own, as an unprepared module).
 */
const WAITS_ONLY_SECTION = 'drawbridge.waits-only';

/** Whether a prepared module was prepared without the tick counter (`drawbridge prepare --waits-only`). */
export function isWaitsOnly(prepared: Uint8Array): boolean {
  return customSectionNames(prepared).includes(WAITS_ONLY_SECTION);
}

/**
 * Whether the cache may hold this module prepared: false when no entry has its size, which a
 * directory listing answers without hashing the module (costly for a big one).
 */
export function mayBePrepared(bytes: Uint8Array): boolean {
  try {
    const prefix = `${bytes.length}-`;
    return readdirSync(cacheDir()).some((f) => f.startsWith(prefix)) && cachedPrepared(bytes, undefined) !== null;
  } catch {
    return false;
  }
}

export class PrepareError extends Error {}

function findWasmOpt(): string {
  const local = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'wasm-opt');
  for (const candidate of [process.env.DRAWBRIDGE_WASM_OPT, 'wasm-opt', local]) {
    if (!candidate) continue;
    const r = nodeChildProcess().spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return candidate;
  }
  throw new PrepareError("preparing a module for checkpoints needs Binaryen's wasm-opt: apt-get install binaryen (or set DRAWBRIDGE_WASM_OPT)");
}

export interface PrepareOptions {
  /**
   * Without the tick counter: capture only while the program waits in a call (a computing
   * program is captured at its next one), no preemption. Asyncify then instruments only the
   * functions that can reach a call that waits, which makes a big module preparable where the
   * full preparation runs out of memory (docs/snapshot.md, "Preparing big modules").
   * Undefined: use whichever the cache holds (the full preparation first), else make the full one.
   */
  waitsOnly?: boolean;
  /**
   * Called when each step starts (seconds 0) and about every second while wasm-opt runs,
   * with the seconds elapsed in that step: step of steps (PREPARE_STEPS), and its name.
   */
  onProgress?: (phase: string, seconds: number, step: number, steps: number) => void;
}

/** The steps of a preparation, as onProgress names them (waitsOnly: the last two). */
export const PREPARE_STEPS = ['marking loops', 'tick counter', 'indirect calls', 'asyncify'] as const;

type Step = (typeof PREPARE_STEPS)[number];

/** The prepared module for `bytes`, from the cache or made now. */
export async function prepareModule(bytes: Uint8Array, options: PrepareOptions = {}): Promise<Uint8Array> {
  const cached = cachedPrepared(bytes, options.waitsOnly);
  if (cached !== null) return readFileSync(cached);
  const waitsOnly = options.waitsOnly === true;
  const target = preparedPath(bytes, waitsOnly);
  const steps: readonly Step[] = waitsOnly ? PREPARE_STEPS.slice(2) : PREPARE_STEPS;
  const progress = { options, steps };
  if (exportNames(bytes).includes('asyncify_start_unwind')) {
    // Ruby's ruby.wasm, for one, is built with Asyncify for its own fibers; a second Asyncify
    // pass fails (after many minutes on a big module), so say so at once.
    throw new PrepareError('the module already uses Asyncify for its own purposes; drawbridge cannot prepare it for checkpoints');
  }
  const wasmOpt = findWasmOpt();
  const work = mkdtempSync(join(tmpdir(), 'drawbridge-prepare-'));
  try {
    const input = join(work, 'in.wasm');
    const marked = join(work, 'marked.wasm');
    const output = join(work, 'out.wasm');
    writeFileSync(input, bytes);
    // 1. The tick counter (compute-bound capture): --log-execution marks function entries,
    //    loop heads and returns; wasm/ticks.ts turns the marks into an inline countdown, but
    //    for loops with a small constant trip count (wasm/counted-loops.ts).
    let source = input;
    if (!waitsOnly) {
      await run(wasmOpt, [input, '-o', marked, ...FEATURES, '--log-execution'], progress, 'marking loops');
      step(progress, 'tick counter');
      const ticked = tryInsertTicks(readFileSync(marked));
      if (ticked) {
        writeFileSync(marked, ticked);
        source = marked;
      }
    }
    // Indirect calls that may unwind become direct ones (wasm/indirect.ts), so that Asyncify
    // can leave the others alone (a loop that calls a leaf comparator stays uninstrumented);
    // those of a type with one function in the table get a guarded direct call, which the
    // optimizer below inlines (docs/snapshot.md, "Costs, measured").
    step(progress, 'indirect calls');
    const direct = devirtualizeUnwinding(readFileSync(source), new Set(captureImports()));
    if (direct) {
      writeFileSync(marked, direct.bytes);
      source = marked;
    }
    // 2. Asyncify through the imports that may wait (and the tick), then optimize.
    const args = [
      source,
      '-o',
      output,
      ...FEATURES,
      '--asyncify',
      `--pass-arg=asyncify-imports@${captureImports().join(',')}`,
      ...(direct ? ['--pass-arg=asyncify-ignore-indirect'] : []),
      bytes.length <= OPTIMIZE_MORE_MAX_BYTES ? '-O3' : '-O2',
    ];
    await run(wasmOpt, args, progress, 'asyncify');
    // One control export instead of Asyncify's, the countdown's and one per mutable global
    // (wasm/control.ts: V8 makes a JS object for each export at every instantiation).
    const optimized = readFileSync(output);
    let prepared = addControlExport(optimized) ?? exportMutableGlobals(optimized);
    if (waitsOnly) prepared = concat([prepared, customSection(WAITS_ONLY_SECTION)]);
    mkdirSync(cacheDir(), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, prepared);
    renameSync(tmp, target);
    return prepared;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Features a C or Rust toolchain commonly emits; the optimizer may use them too. */
const FEATURES = ['--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals', '--enable-nontrapping-float-to-int', '--enable-simd'];

function tryInsertTicks(bytes: Uint8Array): Uint8Array | null {
  try {
    return insertTicks(bytes);
  } catch {
    // An instruction the rewriter does not know: capture then waits for the next system call.
    return null;
  }
}

interface Progress {
  options: PrepareOptions;
  steps: readonly Step[];
}

function step(p: Progress, name: Step, seconds = 0): void {
  p.options.onProgress?.(name, seconds, p.steps.indexOf(name) + 1, p.steps.length);
}

function run(cmd: string, args: string[], progress: Progress, name: Step): Promise<void> {
  step(progress, name);
  return new Promise((resolve, reject) => {
    const child = nodeChildProcess().spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const started = Date.now();
    const timer = setInterval(() => step(progress, name, Math.round((Date.now() - started) / 1000)), 1000);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(new PrepareError(`wasm-opt failed to start: ${e.message}`));
    });
    child.on('close', (code) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else reject(new PrepareError(`wasm-opt failed (status ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}
