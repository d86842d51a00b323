// Node built-ins loaded on first use, through require. A `drawbridge run` of a module that is
// already prepared, or too big to prepare, never spawns a process and may never hash, take a
// snapshot or use the network, and loading node:child_process, node:crypto, node:zlib or
// node:net (which node:tty loads too) up front would add to every CLI start
// (docs/performance.md, "Output buffering and lazy built-ins"). (require also skips the ESM
// facade, which evaluates every lazy export of a built-in.)

import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';
import type * as Dgram from 'node:dgram';
import type * as Dns from 'node:dns';
import type * as Http from 'node:http';
import type * as Net from 'node:net';
import type * as Tty from 'node:tty';
import type * as Zlib from 'node:zlib';
import { fstatSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** A getter of the built-in `name`, loaded at its first call. */
function lazy<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}

export const nodeChildProcess = lazy<typeof ChildProcess>('node:child_process');
export const nodeCrypto = lazy<typeof Crypto>('node:crypto');
export const nodeZlib = lazy<typeof Zlib>('node:zlib');
/** node:net, node:dgram, node:dns: for a program that uses the network (or a control socket). */
export const nodeNet = lazy<typeof Net>('node:net');
export const nodeDgram = lazy<typeof Dgram>('node:dgram');
export const nodeDns = lazy<typeof Dns>('node:dns');
/** node:http, when a program first serves HTTP: an ESM import of it makes Node evaluate its lazy exports, which loads undici. */
export const nodeHttp = lazy<typeof Http>('node:http');

/** CRC-32 of `bytes`, continuing from `value`. */
export function crc32(bytes: Uint8Array, value?: number): number {
  return nodeZlib().crc32(bytes, value);
}

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Buffer {
  return nodeCrypto().createHash('sha256').update(bytes).digest();
}

/**
 * Whether `fd` is a terminal. node:tty (which loads node:net) is loaded only for a character
 * device, the only kind a terminal is, and not for Linux's memory devices (major 1: /dev/null,
 * /dev/zero, /dev/urandom), which a program started by a service or a test often has as stdin;
 * `st` is the descriptor's stat when the caller has it.
 */
export function isTerminal(fd: number, st?: Stats | null): boolean {
  let stat: Stats;
  try {
    stat = st ?? fstatSync(fd);
  } catch {
    return false; // a closed descriptor
  }
  if (!stat.isCharacterDevice()) return false;
  if (process.platform === 'linux' && linuxMajor(stat.rdev) === 1) return false;
  return (require('node:tty') as typeof Tty).isatty(fd);
}

/** The major number of a Linux device number (glibc's major()). */
function linuxMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
