// The module that bin/drawbridge.js began to read and compile before the CLI loaded (a big
// module of `drawbridge run`): its bytes, and its lazily compiled WebAssembly.Module (from the
// code cache when an earlier run left it there: early-compile.ts).

import { storeTieredUp } from '../runtime/code-cache.ts';
import type { EarlyCode } from './early-compile.ts';

/** A run at least this long refreshes a cache entry it loaded: V8 has optimized more of it by then. */
const REFRESH_AFTER_MS = 2000;
/** ...when the code to store is this much bigger than the entry's. */
const REFRESH_GROWTH = 1.25;

interface EarlyModule {
  path: string;
  bytes: Promise<Uint8Array>;
  module: Promise<WebAssembly.Module>;
  /** The limits.memory written into the module before that compile (undefined: none). */
  memoryLimit?: number;
  /** The code cache's key and what it loaded (null: the cache is off). */
  code?: Promise<EarlyCode | null>;
}

declare global {
  var __drawbridgeEarlyModule: EarlyModule | undefined;
}

/** The early start of `path`, once (later calls get null). */
export function takeEarlyModule(path: string): EarlyModule | null {
  const early = globalThis.__drawbridgeEarlyModule;
  if (!early || early.path !== path) return null;
  globalThis.__drawbridgeEarlyModule = undefined;
  return early;
}

/**
 * After a run of `module` (`instance` its instance, `ranMs` how long it ran): when it is the
 * early compile, keep its code for the next run: stored when the cache had none, refreshed
 * after a long run when V8 has optimized a quarter more.
 */
export async function keepEarlyCode(early: EarlyModule, module: WebAssembly.Module, instance: WebAssembly.Instance, ranMs: number): Promise<void> {
  const code = await early.code?.catch(() => null);
  if (!code || module !== (await early.module.catch(() => null))) return;
  const store = (atLeast: number) => storeTieredUp(module, code.wireHash, instance, code.defined, atLeast);
  if (code.loadedBytes === 0) store(0);
  else if (ranMs >= REFRESH_AFTER_MS) store(Math.ceil(code.loadedBytes * REFRESH_GROWTH));
}
