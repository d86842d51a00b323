// Node built-ins loaded on first use, through require. A `drawbridge run` of a module that is
// already prepared, or too big to prepare, never spawns a process and may never hash or take a
// snapshot, and loading node:child_process, node:crypto and node:zlib up front would add to
// every CLI start (docs/performance.md, "Output buffering and lazy built-ins").
// (require also skips the ESM facade, which evaluates every lazy export of a built-in.)

import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';
import type * as Zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let childProcess: typeof ChildProcess | undefined;
let crypto: typeof Crypto | undefined;
let zlib: typeof Zlib | undefined;

export function nodeChildProcess(): typeof ChildProcess {
  return (childProcess ??= require('node:child_process') as typeof ChildProcess);
}

export function nodeCrypto(): typeof Crypto {
  return (crypto ??= require('node:crypto') as typeof Crypto);
}

export function nodeZlib(): typeof Zlib {
  return (zlib ??= require('node:zlib') as typeof Zlib);
}

/** CRC-32 of `bytes`, continuing from `value`. */
export function crc32(bytes: Uint8Array, value?: number): number {
  return nodeZlib().crc32(bytes, value);
}

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Buffer {
  return nodeCrypto().createHash('sha256').update(bytes).digest();
}
