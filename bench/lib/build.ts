// Builds bench/guests/*.c twice: to wasm32-wasi (what both runtimes run) and natively with
// the same clang -O2 (the floor). Rebuilds only what is older than its source.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_DIR, GUESTS_DIR, nativePath, wasmPath } from './paths.ts';

function stale(out: string, src: string): boolean {
  return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
}

function clang(args: string[]): void {
  execFileSync('clang', args, { stdio: ['ignore', 'inherit', 'inherit'] });
}

export function buildGuests(): void {
  mkdirSync(BUILD_DIR, { recursive: true });
  for (const file of readdirSync(GUESTS_DIR)
    .filter((f) => f.endsWith('.c'))
    .sort()) {
    const name = file.slice(0, -2);
    const src = join(GUESTS_DIR, file);
    // -Wl,--strip-all: the name section does not change the code; smaller modules compile faster.
    if (stale(wasmPath(name), src)) clang(['--target=wasm32-wasi', '-O2', '-Wl,--strip-all', src, '-o', wasmPath(name), '-lm']);
    if (stale(nativePath(name), src)) clang(['-O2', src, '-o', nativePath(name), '-lm']);
  }
}
