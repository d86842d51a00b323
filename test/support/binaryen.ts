// Binaryen's command-line tools for tests that build modules from text: wasm-as, wasm-opt.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FEATURES = ['--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals', '--enable-reference-types'];

function inTemp<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'db-binaryen-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The module of a WAT text. */
export function assemble(wat: string): Uint8Array {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'm.wat'), wat);
    execFileSync('wasm-as', [...FEATURES, join(dir, 'm.wat'), '-o', join(dir, 'm.wasm')]);
    return readFileSync(join(dir, 'm.wasm'));
  });
}

/** `bytes` through wasm-opt with these passes. */
export function wasmOpt(bytes: Uint8Array, passes: string[]): Uint8Array {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'in.wasm'), bytes);
    execFileSync('wasm-opt', [join(dir, 'in.wasm'), '-o', join(dir, 'out.wasm'), ...FEATURES, ...passes]);
    return readFileSync(join(dir, 'out.wasm'));
  });
}
