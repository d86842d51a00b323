// Snapshot files on disk as every command writes and reads them: sealed with the host key
// (seal.ts) on the way out; on the way in, the seal checked, the file refused in one line when
// it is unsealed or sealed by a key not given (unless the restorer trusts it), and the
// measurement it ran under compared with the restorer's (measure.ts).

import { readFileSync } from 'node:fs';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import { measureWith, type Measurement } from './measure.ts';
import { ensureKey, keyPath, readKey, SEAL_MAGIC, seal, unseal, type HostKey } from './seal.ts';
import { SNAPSHOT_MAGIC, SnapshotError, writeFileAtomic } from './snapshot.ts';

export interface WriteSealedOptions {
  /** The key file (default: keyPath()); made when there is none. */
  keyFile?: string;
  encrypt?: boolean;
  measurement?: Measurement;
}

/** Seal `snapshot` with the host key and write it atomically to `path`; the bytes written. */
export function writeSealedSnapshot(path: string, snapshot: Uint8Array, options: WriteSealedOptions = {}): number {
  const { key } = ensureKey(keyPath(options.keyFile));
  const sealed = seal(snapshot, key, { encrypt: options.encrypt, measurement: options.measurement });
  writeFileAtomic(path, sealed);
  return sealed.length;
}

export interface ReadSealedOptions {
  /** Key files to accept seals of (default: this host's, when it has one). */
  keyFiles?: readonly string[];
  /** Accept a file with no seal, or sealed by a key not given (not encrypted). */
  trustUnsealed?: boolean;
}

export interface OpenedFile {
  /** The plain snapshot (snapshot.ts format). */
  bytes: Uint8Array;
  /** The measurement a sealed file recorded; null when unsealed or none was recorded. */
  measurement: Measurement | null;
  sealed: boolean;
}

/** The keys to check seals with: those named, or this host's when it has one. */
export function keysFor(files: readonly string[] | undefined): HostKey[] {
  if (files?.length) return files.map((f) => readKey(keyPath(f)));
  try {
    return [readKey(keyPath())];
  } catch {
    return []; // no host key yet: nothing this host sealed
  }
}

/** A snapshot file's bytes; a SnapshotError names a file that cannot be read. */
export function readSnapshotBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SnapshotError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** Whether `bytes` begin as a snapshot or a sealed snapshot. */
export function isSnapshotOrSealed(bytes: Uint8Array): boolean {
  const magic = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(8, bytes.length)).toString('latin1');
  return magic === SNAPSHOT_MAGIC || magic === SEAL_MAGIC;
}

/** Read a snapshot file and check its seal; a SnapshotError (or KeyError) says what is wrong in one line. */
export function readSealedSnapshot(path: string, options: ReadSealedOptions = {}): OpenedFile {
  return openSealedBytes(readSnapshotBytes(path), path, options);
}

/** The same for bytes already read (`name` labels messages). */
export function openSealedBytes(bytes: Uint8Array, name: string, options: ReadSealedOptions = {}): OpenedFile {
  const keys = keysFor(options.keyFiles);
  const opened = unseal(bytes, keys, name);
  if (opened.kind === 'sealed') return { bytes: opened.snapshot, measurement: opened.measurement, sealed: true };
  if (opened.kind === 'unsealed') {
    if (options.trustUnsealed) return { bytes: opened.snapshot, measurement: null, sealed: false };
    throw new SnapshotError(`${name} is not sealed: anyone could have written it; restore it only if you trust its source, with --trust-unsealed`);
  }
  if (options.trustUnsealed && opened.snapshot) return { bytes: opened.snapshot, measurement: null, sealed: false };
  const mine = keys.length ? keys.map((k) => k.id).join(', ') : 'not made yet';
  if (options.trustUnsealed) throw new SnapshotError(`${name} is encrypted with another host's key (id ${opened.keyId}): give --key FILE with that host's key`);
  throw new SnapshotError(
    `${name} is sealed with another host's key (id ${opened.keyId}; this host's is ${mine}): give --key FILE with that host's key, or --trust-unsealed`,
  );
}

/**
 * Compare the measurement a sealed snapshot ran under with the restorer's (its module and
 * `manifest`, the effective one with its extensions): a SnapshotError when they differ, or when
 * the manifest pins a module the file cannot vouch for. `ignore`: only the pin is checked.
 */
export function checkMeasurement(name: string, file: OpenedFile, manifest: Manifest, ignore: boolean): void {
  const recorded = file.measurement;
  const pin = manifest.moduleSha256;
  if (pin) {
    if (!recorded)
      throw new SnapshotError(
        `${name} records no measurement, so the manifest's module_sha256 cannot be checked: restore it without the pin, or take a sealed checkpoint`,
      );
    if (recorded.module_sha256 !== pin)
      throw new SnapshotError(
        `${name} ran module ${recorded.module_sha256}; the manifest pins module_sha256 = ${pin}: restore it under the manifest it ran with`,
      );
  }
  if (ignore || !recorded) return;
  const mine = measureWith(recorded.module_sha256, manifest);
  if (mine.digest !== recorded.digest)
    throw new SnapshotError(
      `${name} ran under measurement ${recorded.digest}, and this restore's is ${mine.digest} (module or manifest differ): restore with the same manifest and flags, or --ignore-measurement`,
    );
}
