// What bin/drawbridge.js compiles before the CLI has loaded, for a big module of `drawbridge
// run`: the module as a run under the default limits compiles it, limits.memory written into
// its memory maximum (wasm/memory-limit.ts). So that early compile is the one the run uses,
// unless a manifest asks for another memory limit (runtime/load.ts, compileImage).

import { DEFAULT_LIMITS } from '../monitor/manifest/manifest.ts';
import { limitModuleMemory } from '../wasm/memory-limit.ts';

export function earlyCompile(bytes: Promise<Uint8Array>): { module: Promise<WebAssembly.Module>; memoryLimit: number } {
  const memoryLimit = DEFAULT_LIMITS.memory;
  return { module: bytes.then((b) => WebAssembly.compile(limitModuleMemory(b, memoryLimit) as Uint8Array<ArrayBuffer>)), memoryLimit };
}
