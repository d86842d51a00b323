// What bin/drawbridge.js compiles before the CLI has loaded, for a big module of `drawbridge
// run`: the module as a run under the default limits compiles it, limits.memory written into
// its memory maximum (wasm/memory-limit.ts). So that early compile is the one the run uses,
// unless a manifest asks for another memory limit (runtime/load.ts, compileImage).
// The on-disk code cache (runtime/code-cache.ts) is looked up first: a module an earlier run
// left there is neither validated nor compiled again, and its optimized functions start
// optimized. The run stores or refreshes the entry when it ends (early-module.ts).

import { DEFAULT_LIMITS } from '../monitor/manifest/manifest.ts';
import { limitModuleMemory } from '../wasm/memory-limit.ts';
import { definedFunctionExports } from '../wasm/export-types.ts';
import { codeCacheEnabled, loadCompiled, prepareCodeCache, storedSize } from '../runtime/code-cache.ts';

/** The code cache's view of an early compile: the key of its entry, and how big the entry it loaded was (0: none loaded). */
export interface EarlyCode {
  wireHash: Buffer;
  loadedBytes: number;
  /** The functions the module defines and exports (storeTieredUp optimizes one of them). */
  defined: string[];
}

export function earlyCompile(bytes: Promise<Uint8Array>): { module: Promise<WebAssembly.Module>; memoryLimit: number; code: Promise<EarlyCode | null> } {
  const memoryLimit = DEFAULT_LIMITS.memory;
  const cache = codeCacheEnabled();
  // V8 serializes code with the flags of the moment it compiled: the serializer's flag goes on first.
  if (cache) prepareCodeCache();
  const compiled = bytes.then(async (b) => {
    const limited = limitModuleMemory(b, memoryLimit) as Uint8Array<ArrayBuffer>;
    if (!cache) return { module: WebAssembly.compile(limited), code: null };
    // Hashed off the main thread (WebCrypto's digest runs on libuv's pool), which meanwhile loads the CLI.
    const wireHash = Buffer.from(await crypto.subtle.digest('SHA-256', limited));
    const loaded = loadCompiled(limited, wireHash);
    return {
      module: loaded ? Promise.resolve(loaded) : WebAssembly.compile(limited),
      code: { wireHash, loadedBytes: loaded ? storedSize(wireHash) : 0, defined: definedExports(limited) },
    };
  });
  return { module: compiled.then((c) => c.module), memoryLimit, code: compiled.then((c) => c.code) };
}

/** definedFunctionExports, or none for bytes it cannot read (V8's compile then says what is wrong). */
function definedExports(bytes: Uint8Array): string[] {
  try {
    return definedFunctionExports(bytes);
  } catch {
    return [];
  }
}
