// The module that bin/drawbridge.js began to read and compile before the CLI loaded (a big
// module of `drawbridge run`): its bytes, and its lazily compiled WebAssembly.Module.

interface EarlyModule {
  path: string;
  bytes: Promise<Uint8Array>;
  module: Promise<WebAssembly.Module>;
  /** The limits.memory written into the module before that compile (undefined: none). */
  memoryLimit?: number;
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
