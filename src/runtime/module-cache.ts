// Loading and compiling guest modules, cached by content hash so that a module started many
// times is compiled once per host process.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export class ModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleError';
  }
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
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

/** Compile (once per content hash). */
export function compileModule(bytes: Uint8Array, name = 'module'): Promise<WebAssembly.Module> {
  checkMagic(bytes, name);
  const key = contentHash(bytes);
  let p = compiled.get(key);
  if (!p) {
    p = WebAssembly.compile(bytes).catch((e: unknown) => {
      compiled.delete(key);
      throw new ModuleError(`${name}: invalid WebAssembly module: ${(e as Error).message}`);
    });
    compiled.set(key, p);
  }
  return p;
}
