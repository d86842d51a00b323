// A minimal ustar reader, enough to unpack @yowasp/clang's llvm-resources.tar (the sysroot
// and clang resource headers the package mounts at /usr) onto the real file system, so a
// drawbridge mount can serve it. No dependency and no `tar` binary: CI images differ.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';

const BLOCK = 512;

function field(header: Uint8Array, offset: number, length: number): string {
  const bytes = header.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octal(header: Uint8Array, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** The `path` record of a PAX extended header, if it has one. */
function paxPath(data: Uint8Array): string | null {
  const text = new TextDecoder().decode(data);
  for (const record of text.split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(record);
    if (m) return m[1]!;
  }
  return null;
}

/** Unpack regular files and directories of `tar` under `dest`; returns the number of files. */
export function untar(tar: Uint8Array, dest: string): number {
  let offset = 0;
  let files = 0;
  let nextPath: string | null = null;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156]!);
    const prefix = field(header, 345, 155);
    const name = nextPath ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    nextPath = null;
    const data = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      nextPath = paxPath(data);
      continue;
    }
    // Refuse names that would land outside dest (an archive is input like any other).
    const rel = normalize(name);
    if (rel.startsWith('..') || rel.startsWith(sep)) throw new Error(`tar entry outside the destination: ${name}`);
    const target = join(dest, rel);
    if (type === '5') {
      mkdirSync(target, { recursive: true });
    } else if (type === '0' || type === '\0') {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, data);
      files++;
    }
    // Other entry kinds (links, devices) do not occur in the archives we unpack.
  }
  return files;
}
