// Loading and compiling guest modules, cached by content hash so that a module started many
// times is compiled once per host process.

import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { sha256 } from '../host/node/lazy-builtins.ts';
import { loadCompiled, prepareCodeCache, storeCompiled } from './code-cache.ts';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export class ModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleError';
  }
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

export function contentHash(bytes: Uint8Array): string {
  return sha256(bytes).toString('hex');
}

/** Read a module file; a one-line error for a missing file or something that is not Wasm. */
export async function readModuleFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModuleError(`${path}: no such file`);
    if (code === 'EISDIR') throw new ModuleError(`${path}: is a directory, not a Wasm module`);
    if (code === 'EACCES') throw new ModuleError(`${path}: permission denied`);
    throw new ModuleError(`${path}: ${(e as Error).message}`);
  }
  checkMagic(bytes, path);
  return bytes;
}

export function checkMagic(bytes: Uint8Array, name: string): void {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ModuleError(`${name}: not a WebAssembly module (no \\0asm header)`);
  }
}

// Tiering (the figures: README "Benchmarks" and docs/performance.md, "Tiering and the code
// cache"). V8 starts Wasm in its baseline compiler (Liftoff) and tiers a function up to
// TurboFan only on a later call: there is no on-stack replacement, so a hot loop that runs
// inside one long call (main) stays in Liftoff code for good. Compiling every function with
// TurboFan up front fixes that, but its cost grows with the module's size, where a lazy
// compile costs little at any size. So: modules up to EAGER_OPTIMIZE_MAX_BYTES compile eagerly
// with TurboFan (once per process and content hash); bigger ones keep V8's default (lazy
// Liftoff, then dynamic tier-up), where start-up dominates (a big program compiled eagerly
// would spend a short run compiling, mostly functions the run never calls). The V8 flags are
// process-wide and read when a function is compiled, lazily or not: they are set only around
// a synchronous, eager compile (nothing else runs meanwhile, and nothing of this module is
// left to compile after), then restored.
// A process started with its own --liftoff/lazy-compilation flags keeps them untouched.
// DRAWBRIDGE_WASM_TIERING=baseline|optimize overrides the choice (auto: the default), and
// =tierup runs a small prepared module the other way (see tierUpPrepared).
// With the code cache (code-cache.ts), only the first process to run a module pays for the
// eager compile.
export const EAGER_OPTIMIZE_MAX_BYTES = 128 * 1024;
const userTieringFlags = process.execArgv.some((a) => /liftoff|wasm-lazy-compilation/.test(a));

function eagerlyOptimize(bytes: Uint8Array): boolean {
  const choice = process.env.DRAWBRIDGE_WASM_TIERING;
  if (choice === 'optimize') return true;
  if (choice === 'baseline' || userTieringFlags) return false;
  return bytes.length <= EAGER_OPTIMIZE_MAX_BYTES;
}

/**
 * V8 flags for the eager compile. Without Wasm inlining TurboFan compiles a small module in
 * about half the time, and the compute kernels ran no slower (docs/performance.md, "Tiering
 * and the code cache"). DRAWBRIDGE_WASM_EAGER_FLAGS replaces them (an experiment switch; ''
 * for V8's defaults).
 */
const EAGER_FLAGS = (process.env.DRAWBRIDGE_WASM_EAGER_FLAGS ?? '--no-wasm-inlining').split(/\s+/).filter(Boolean);

function compileOptimized(bytes: Uint8Array): WebAssembly.Module {
  v8.setFlagsFromString('--no-liftoff');
  v8.setFlagsFromString('--no-wasm-lazy-compilation');
  // Without this, V8 hands back the code of an earlier compile of the same bytes in this
  // process (lazy, baseline), which the code cache must not serialize (a fatal error in V8).
  v8.setFlagsFromString('--no-wasm-native-module-cache');
  for (const f of EAGER_FLAGS) v8.setFlagsFromString(f);
  try {
    // Synchronous on purpose: an async eager compile would leave the flags changed while other
    // code runs, and (Node 24.21) does not even keep the event loop alive until it settles.
    return new WebAssembly.Module(bytes);
  } finally {
    v8.setFlagsFromString('--liftoff');
    v8.setFlagsFromString('--wasm-lazy-compilation');
    v8.setFlagsFromString('--wasm-native-module-cache');
    for (const f of EAGER_FLAGS) v8.setFlagsFromString(f.replace(/^--no-/, '--'));
  }
}

/**
 * An eager compile, through the on-disk code cache (code-cache.ts): the first process pays the
 * TurboFan compile, the later ones load its code, far faster than compiling it again.
 */
function compileOptimizedCached(bytes: Uint8Array, wireHash: Buffer): WebAssembly.Module {
  prepareCodeCache();
  const cached = loadCompiled(bytes, wireHash);
  if (cached) return cached;
  const module = compileOptimized(bytes);
  storeCompiled(module, wireHash);
  return module;
}

/** A compile started elsewhere (bin/drawbridge.js), with compileModule's error message. */
export function adoptCompiled(compiling: Promise<WebAssembly.Module>, name: string): Promise<WebAssembly.Module> {
  return compiling.catch((e: unknown) => {
    throw new ModuleError(`${name}: invalid WebAssembly module: ${(e as Error).message}`);
  });
}

/**
 * Whether a prepared module should start in the baseline tier and move onto a tiered-up
 * instance after its first time slice (PicoprocessOptions.optimize), instead of compiling
 * eagerly. Only on request (DRAWBRIDGE_WASM_TIERING=tierup): with the code cache, an eager
 * compile costs only the first run, and the prepared compute kernels ran faster compiled
 * eagerly (README, "Benchmarks", after the tiering table).
 */
export function tierUpPrepared(prepared: Uint8Array): boolean {
  return process.env.DRAWBRIDGE_WASM_TIERING === 'tierup' && prepared.length <= EAGER_OPTIMIZE_MAX_BYTES;
}

/** Compile (once per content hash). */
export function compileModule(bytes: Uint8Array, name = 'module', options: { cache?: boolean; baseline?: boolean } = {}): Promise<WebAssembly.Module> {
  checkMagic(bytes, name);
  // A one-shot process (the CLI) compiles a module once: hashing a big module would only cost time.
  // The same SHA-256 keys this map and the code cache; hashed once (not at all for a big
  // module that the CLI compiles lazily).
  const eager = !options.baseline && eagerlyOptimize(bytes);
  const digest = options.cache === false && !eager ? null : sha256(bytes);
  const key = options.cache === false ? null : digest!.toString('hex');
  let p = key === null ? undefined : compiled.get(key);
  if (!p) {
    const compiling = eager ? new Promise<WebAssembly.Module>((resolve) => resolve(compileOptimizedCached(bytes, digest!))) : WebAssembly.compile(bytes);
    p = compiling.catch((e: unknown) => {
      if (key !== null) compiled.delete(key);
      throw new ModuleError(`${name}: invalid WebAssembly module: ${(e as Error).message}`);
    });
    if (key !== null) compiled.set(key, p);
  }
  return p;
}
