// Where things are: the repository root, the guest sources, the build output.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GUESTS_DIR = join(ROOT, 'bench', 'guests');
export const BUILD_DIR = join(ROOT, 'build', 'bench');
/** The Node that runs the benchmark (>= 24) also runs every child, drawbridge and peer alike. */
export const NODE = process.execPath;

export function wasmPath(name: string): string {
  return join(BUILD_DIR, `${name}.wasm`);
}
export function nativePath(name: string): string {
  return join(BUILD_DIR, `${name}.native`);
}
