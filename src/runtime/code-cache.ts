// A cache of V8's machine code, kept on disk, as wasmtime's compilation cache is (the figures:
// docs/performance.md, "Tiering and the code cache"): for the small modules compiled eagerly
// with TurboFan (module-cache.ts), so that only the first process pays for the optimizing
// compile; and for big modules, compiled lazily, the functions their runs optimized
// (cli/early-compile.ts, storeTieredUp), so that a later start neither validates nor compiles
// the whole module again.
//
// V8 can serialize a compiled WebAssembly.Module, but Node exposes that only to V8's own test
// intrinsics (%SerializeWasmModule / %DeserializeWasmModule, behind --allow-natives-syntax).
// They are safe to use only with care, so this file takes it:
//   - V8 checks its version and flag hash and answers `undefined` on a mismatch, but it trusts
//     the rest: wire bytes other than the module's, or a damaged payload, crash the process.
//     So an entry holds the SHA-256 of the module's bytes and of its payload, both checked
//     before V8 sees it.
//   - The payload is machine code that the host will run: an entry is read only from a
//     directory owned by this user and writable by nobody else, and from a file owned by this
//     user, as ssh treats its keys. Anything else is ignored (and the compile happens as usual).
//   - Serializing a module without one function compiled by V8's optimizing tier is a fatal
//     error: a module compiled eagerly has them all; for one compiled lazily (a big module),
//     storeTieredUp optimizes one of its exports first.
// Entries are written atomically (temporary file, rename). DRAWBRIDGE_CODE_CACHE=0 turns the
// cache off; its folder is $DRAWBRIDGE_CACHE/code (default ~/.cache/drawbridge/code).

import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { sha256 } from '../host/node/lazy-builtins.ts';
import { cacheRoot } from './cache-root.ts';
import { tuneV8ForManyMemories } from './v8-tuning.ts';

const MAGIC = Buffer.from('DBCODE01');
const HEADER = MAGIC.length + 32 + 32;

type Serialize = (m: WebAssembly.Module) => ArrayBuffer;
type Deserialize = (code: ArrayBuffer, wire: Uint8Array) => WebAssembly.Module | undefined;
type TierUp = (f: unknown) => void;

let natives: { serialize: Serialize; deserialize: Deserialize; tierUp: TierUp } | null | undefined;

/** V8's serializer, or null when this V8 does not offer it. */
function v8Natives(): { serialize: Serialize; deserialize: Deserialize; tierUp: TierUp } | null {
  if (natives !== undefined) return natives;
  try {
    // V8 accepts an entry only under the flags it was written with (its flag hash). A host
    // service sets the GC flag of v8-tuning.ts before it compiles; every process that reads or
    // writes the cache sets it too, so that `drawbridge run` and `drawbridge serve` share entries
    // (docs/performance.md, "Tiering and the code cache").
    tuneV8ForManyMemories();
    // The flag stays on: V8 parses a function's body again when it first runs it.
    v8.setFlagsFromString('--allow-natives-syntax');
    natives = {
      serialize: new Function('m', 'return %SerializeWasmModule(m)') as Serialize,
      deserialize: new Function('b', 'w', 'return %DeserializeWasmModule(b, w)') as Deserialize,
      tierUp: new Function('f', '%WasmTierUpFunction(f)') as TierUp,
    };
  } catch {
    natives = null;
  }
  return natives;
}

/**
 * Called before an eager compile: V8 keeps the flag hash of the moment it compiles a module
 * with the module, so the flag that the serializer needs must be on already, in the process
 * that writes an entry as in the ones that read it.
 */
export function prepareCodeCache(): void {
  if (enabled()) v8Natives();
}

export function codeCacheDir(): string {
  return join(cacheRoot(), 'code');
}

function enabled(): boolean {
  return process.env.DRAWBRIDGE_CODE_CACHE !== '0';
}

/** Owned by this user and writable by nobody else (the uid check only where uids exist). */
function trusted(st: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/**
 * The entry's path: the module's hash, V8's version (a new Node starts a new entry), and the
 * eager compile's own flags when an experiment sets them (module-cache.ts): V8 checks the
 * flags of the moment it serializes, which are the process's usual ones by then.
 */
function entryPath(dir: string, wireHash: Buffer): string {
  const flags = process.env.DRAWBRIDGE_WASM_EAGER_FLAGS;
  const variant = flags === undefined ? '' : `-flags-${sha256(Buffer.from(flags)).toString('hex').slice(0, 12)}`;
  return join(dir, `${wireHash.toString('hex')}${variant}-v8-${process.versions.v8}.code`);
}

/** The cached code of `bytes`, or null (no entry, not trusted, damaged, or V8 refused it). */
export function loadCompiled(bytes: Uint8Array, wireHash: Buffer = sha256(bytes)): WebAssembly.Module | null {
  if (!enabled()) return null;
  const dir = codeCacheDir();
  const path = entryPath(dir, wireHash);
  let fd: number;
  try {
    if (!trusted(statSync(dir))) return null;
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  let data: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !trusted(st) || st.size < HEADER) return null;
    data = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < data.length) {
      const n = readSync(fd, data, off, data.length - off, off);
      if (n === 0) return null;
      off += n;
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  if (!data.subarray(MAGIC.length, MAGIC.length + 32).equals(wireHash)) return null;
  const payload = data.subarray(HEADER);
  if (!sha256(payload).equals(data.subarray(MAGIC.length + 32, HEADER))) return null;
  const n = v8Natives();
  if (!n) return null;
  // A fresh ArrayBuffer holding exactly the payload, as the intrinsic wants.
  const code = payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length) as ArrayBuffer;
  try {
    return n.deserialize(code, bytes) ?? null; // undefined: another V8 build or other flags
  } catch {
    return null;
  }
}

/** The size of the entry of the module whose bytes hash to `wireHash`, 0 when there is none. */
export function storedSize(wireHash: Buffer): number {
  try {
    return statSync(entryPath(codeCacheDir(), wireHash)).size;
  } catch {
    return 0;
  }
}

/**
 * Store the code of a module compiled lazily (a big one), as far as its runs so far compiled
 * it: V8 writes the functions its optimizing tier compiled, and a process that loads the entry
 * compiles the others when they first run, as after any lazy compile. V8 refuses, fatally, a
 * module with no optimized function at all, so one function the module defines and exports
 * (`defined`: their names, wasm/export-types.ts) is optimized first; V8 also ends the process
 * when asked to optimize anything else, such as an import the module exports again. False when
 * nothing was stored (no such function, no serializer).
 */
export function storeTieredUp(module: WebAssembly.Module, wireHash: Buffer, instance: WebAssembly.Instance, defined: readonly string[], atLeast = 0): boolean {
  if (!enabled()) return false;
  const n = v8Natives();
  const exported = defined.map((name) => instance.exports[name]).find((e) => typeof e === 'function');
  if (!n || exported === undefined) return false;
  n.tierUp(exported);
  return storeCompiled(module, wireHash, atLeast);
}

/**
 * Store the code of a module compiled eagerly (every function compiled: see the top); not when
 * V8's serialized code is smaller than `atLeast` bytes (an entry that holds more is kept).
 */
export function storeCompiled(module: WebAssembly.Module, wireHash: Buffer, atLeast = 0): boolean {
  if (!enabled()) return false;
  const n = v8Natives();
  if (!n) return false;
  const dir = codeCacheDir();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(statSync(dir))) return false;
    const payload = new Uint8Array(n.serialize(module));
    if (payload.length < atLeast) return false;
    const path = entryPath(dir, wireHash);
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, Buffer.concat([MAGIC, wireHash, sha256(payload), payload]), { mode: 0o600 });
      renameSync(tmp, path);
      return true;
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
    }
  } catch {
    // A cache that cannot be written only costs the next process a compile.
  }
  return false;
}

/** Whether the code cache is on (DRAWBRIDGE_CODE_CACHE=0 turns it off). */
export function codeCacheEnabled(): boolean {
  return enabled();
}
