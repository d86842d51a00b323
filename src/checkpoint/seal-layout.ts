// The layout of a sealed snapshot file (seal.ts), read without Node and without checking
// anything a key would check: seal.ts checks the MAC (and decrypts) over these parts, and the
// browser host, which holds no key, can only tell a seal from a plain snapshot and take the
// body of one that is not encrypted, when its page trusts the file's source.
//
//   "DRAWBSEL" | u32 version (1) | u32 header length | header (UTF-8 JSON) | body | HMAC

import { SnapshotError } from './snapshot-format.ts';

export const SEAL_MAGIC = 'DRAWBSEL';
export const SEAL_VERSION = 1;
export const MAC_LEN = 32;
export const HEADER_MAX = 64 * 1024;

export interface SealHeader {
  key_id?: unknown;
  encrypted?: unknown;
  iv?: unknown;
  tag?: unknown;
  measurement?: unknown;
  created?: unknown;
}

/** The parts of a sealed file (a header with a string key_id), none of them checked yet. */
export interface SealParts {
  header: SealHeader & { key_id: string };
  /** The snapshot file, or its ciphertext. */
  body: Uint8Array;
  /** Where the MAC starts: it covers every byte before. */
  end: number;
}

/** Whether `bytes` begin with the seal's magic. */
export function isSealed(bytes: Uint8Array): boolean {
  if (bytes.length < SEAL_MAGIC.length) return false;
  for (let i = 0; i < SEAL_MAGIC.length; i++) if (bytes[i] !== SEAL_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** Split a sealed file (isSealed) into its parts; a SnapshotError says, in one line, what is wrong. */
export function sealParts(bytes: Uint8Array, name: string): SealParts {
  const altered = () => new SnapshotError(`${name}: its seal does not match its contents: the file was altered or damaged`);
  if (bytes.length < 16 + MAC_LEN) throw altered();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SEAL_VERSION) throw new SnapshotError(`${name}: sealed snapshot version ${version}; this drawbridge reads version ${SEAL_VERSION}`);
  const headerLen = dv.getUint32(12, true);
  if (headerLen > HEADER_MAX || 16 + headerLen > bytes.length - MAC_LEN) throw altered();
  let header: SealHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLen))) as SealHeader;
  } catch {
    throw altered();
  }
  if (typeof header !== 'object' || header === null || typeof header.key_id !== 'string') throw altered();
  const end = bytes.length - MAC_LEN;
  return { header: header as SealParts['header'], body: bytes.subarray(16 + headerLen, end), end };
}
