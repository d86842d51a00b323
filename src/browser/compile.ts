// Compiling a module for the page under the manifest's limits.memory, as the runtime does on
// Node (runtime/load.ts): the maximum of its linear memory is rewritten before compiling
// (wasm/memory-limit.ts), so a memory.grow past the limit fails inside the guest; a prepared
// module gets 16 pages more, the unwind buffer of a capture. The bytes a snapshot carries stay
// the module's own.

import { limitModuleMemory } from '../wasm/memory-limit.ts';
import { exportNames } from '../wasm/sections.ts';
import { ASYNCIFY_EXPORTS, CONTROL_EXPORT } from '../wasm/control.ts';

/** The unwind buffer of a capture (checkpoint/capture-core.ts DATA_PAGES). */
const CAPTURE_PAGES = 16;

function looksPrepared(bytes: Uint8Array): boolean {
  const names = new Set(exportNames(bytes));
  return names.has(CONTROL_EXPORT) || ASYNCIFY_EXPORTS.every((n) => names.has(n));
}

/** `bytes` compiled with its memory at most `limitBytes` (a MemoryLimitError when even its initial memory is above). */
export async function compileUnderLimit(bytes: Uint8Array, limitBytes: number): Promise<WebAssembly.Module> {
  let limited: Uint8Array;
  try {
    limited = limitModuleMemory(bytes, limitBytes, looksPrepared(bytes) ? CAPTURE_PAGES : 0);
  } catch (e) {
    // Not a module drawbridge can read: V8 says what is wrong with it.
    await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    throw e;
  }
  return WebAssembly.compile(limited as Uint8Array<ArrayBuffer>);
}
