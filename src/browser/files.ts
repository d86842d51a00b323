// The browser host's file system as the page sees it: a tree of files, written into the
// in-memory file system at start and read back out of it (for IndexedDB, or to show the page
// what a program wrote). Directories are objects, files strings (UTF-8) or bytes. Symbolic
// links are not part of a tree: readTree leaves them out.

import { dkErrorName } from '../abi/errors.ts';
import type { MemoryFileSystem } from '../host/memory/fs.ts';

export interface FileTree {
  [name: string]: string | Uint8Array | FileTree;
}

const encoder = new TextEncoder();

/** Write `tree` under the folder `at` (made when missing); throws, naming the path, when one cannot be written. */
export function writeTree(fs: MemoryFileSystem, tree: FileTree, at = '/'): void {
  const base = at.endsWith('/') ? at : `${at}/`;
  const made = fs.mkdirs(base);
  if (made !== 0) throw new Error(`files: cannot make the folder ${base} (${dkErrorName(made)})`);
  for (const [name, value] of Object.entries(tree)) {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`files: ${JSON.stringify(name)} in ${base} is not a file name`);
    const path = base + name;
    if (typeof value === 'string' || value instanceof Uint8Array) {
      const r = fs.writeFile(path, typeof value === 'string' ? encoder.encode(value) : value);
      if (r !== 0) throw new Error(`files: cannot write ${path} (${dkErrorName(r)})`);
    } else writeTree(fs, value, path);
  }
}

/** The files and folders under `at` (bytes for files). */
export function readTree(fs: MemoryFileSystem, at = '/'): FileTree {
  const out: FileTree = {};
  const entries = fs.readdir(at);
  if (typeof entries === 'number') return out;
  const base = at.endsWith('/') ? at : `${at}/`;
  for (const e of entries) {
    if (e.name === '.' || e.name === '..') continue;
    if (e.kind === 'directory') out[e.name] = readTree(fs, base + e.name);
    else if (e.kind === 'file') {
      const bytes = fs.readFile(base + e.name);
      if (typeof bytes !== 'number') out[e.name] = bytes;
    }
  }
  return out;
}
