// Sealed snapshots (docs/snapshot.md, "Sealed snapshots"; the software analog of SGX sealing):
// every snapshot file this host writes is authenticated with its host key, and encrypted on
// request, so that `restore` can tell a file this host (or a host it shares a key with) wrote
// from one anyone else wrote or altered.
//
//   "DRAWBSEL" | u32 version (1) | u32 header length | header (UTF-8 JSON) | body | HMAC
//   header: { key_id, encrypted, iv?, tag?, measurement?, created }
//   body:   the snapshot file (snapshot.ts), or its AES-256-GCM ciphertext when encrypted
//   HMAC:   HMAC-SHA-256 over every byte before it (32 bytes)
//
// Why HMAC-SHA-256 and not Ed25519: a host that restores an encrypted snapshot must hold the
// secret that decrypts it anyway, so a shared secret is what two hosts that move picoprocesses
// to each other need in every case; one key then serves both, and HMAC is fast over a file of
// gigabytes. The cost is that whoever can check a seal can make one: a key is given only to
// hosts trusted as much as this one. The MAC and cipher keys are derived from the host key
// (HKDF-SHA-256, one label each); key_id names the key (not secret) so a foreign seal is told
// apart from an altered file.
//
// The host key: 32 random bytes as hex in a file of mode 0600 (in a folder of mode 0700),
// made once: `--key FILE`, else $DRAWBRIDGE_KEY, else $XDG_CONFIG_HOME/drawbridge/host.key
// (~/.config/drawbridge/host.key). A key file others may read, or not a regular file, is refused.

import { nodeCrypto } from '../host/node/lazy-builtins.ts';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isMeasurement, type Measurement } from './measure.ts';
import { SnapshotError } from './snapshot.ts';
import { HEADER_MAX, isSealed, MAC_LEN, SEAL_MAGIC, SEAL_VERSION, sealParts } from './seal-layout.ts';

export { SEAL_MAGIC } from './seal-layout.ts';
const KEY_FILE_MAX = 4096;

export class KeyError extends Error {}

export interface HostKey {
  path: string;
  /** Names the key in seals and messages: not secret. */
  id: string;
  macKey: Buffer;
  encKey: Buffer;
}

/** Where the host key lives: `explicit` (--key), $DRAWBRIDGE_KEY, or the config folder. */
export function keyPath(explicit?: string): string {
  if (explicit) return resolve(explicit);
  if (process.env.DRAWBRIDGE_KEY) return resolve(process.env.DRAWBRIDGE_KEY);
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'drawbridge', 'host.key');
}

function keyFrom(path: string, secret: Buffer): HostKey {
  const derive = (label: string) => Buffer.from(nodeCrypto().hkdfSync('sha256', secret, Buffer.alloc(0), label, 32));
  return {
    path,
    id: nodeCrypto().createHash('sha256').update('drawbridge key id\n').update(secret).digest('hex').slice(0, 16),
    macKey: derive('drawbridge seal mac'),
    encKey: derive('drawbridge seal enc'),
  };
}

/** Read a host key file; a KeyError says what is wrong with it in one line. */
export function readKey(path: string): HostKey {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KeyError(
      code === 'ENOENT'
        ? `no host key at ${path}: make one with drawbridge key`
        : code === 'ELOOP'
          ? `${path} is a symbolic link; a key file must be a regular file`
          : `cannot read ${path}: ${(e as Error).message}`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyError(`${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) throw new KeyError(`${path} may be read by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 ${path}`);
    const buf = Buffer.alloc(KEY_FILE_MAX);
    const n = readSync(fd, buf, 0, KEY_FILE_MAX, 0);
    const text = buf.subarray(0, n).toString('utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new KeyError(`${path} is not a drawbridge host key (64 hex digits)`);
    return keyFrom(path, Buffer.from(text, 'hex'));
  } finally {
    closeSync(fd);
  }
}

/** The host key at `path`, made first (once) when there is none. */
export function ensureKey(path: string): { key: HostKey; made: boolean } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { key: readKey(path), made: false };
    throw new KeyError(`cannot make a host key at ${path}: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, nodeCrypto().randomBytes(32).toString('hex') + '\n');
  } finally {
    closeSync(fd);
  }
  return { key: readKey(path), made: true };
}

export interface SealOptions {
  encrypt?: boolean;
  /** The measurement the picoprocess ran under (measure.ts), when known. */
  measurement?: Measurement;
}

/** Seal a snapshot file's bytes with `key`. */
export function seal(snapshot: Uint8Array, key: HostKey, options: SealOptions = {}): Uint8Array {
  const header: Record<string, unknown> = { key_id: key.id, encrypted: options.encrypt === true, created: new Date().toISOString() };
  if (options.measurement) header.measurement = options.measurement;
  let body: Uint8Array = snapshot;
  if (options.encrypt) {
    const iv = nodeCrypto().randomBytes(12);
    const cipher = nodeCrypto().createCipheriv('aes-256-gcm', key.encKey, iv);
    body = Buffer.concat([cipher.update(snapshot), cipher.final()]);
    header.iv = iv.toString('hex');
    header.tag = cipher.getAuthTag().toString('hex');
  }
  const headerBytes = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(16 + headerBytes.length + body.length + MAC_LEN);
  out.write(SEAL_MAGIC, 0, 'latin1');
  out.writeUInt32LE(SEAL_VERSION, 8);
  out.writeUInt32LE(headerBytes.length, 12);
  headerBytes.copy(out, 16);
  out.set(body, 16 + headerBytes.length);
  const end = out.length - MAC_LEN;
  nodeCrypto().createHmac('sha256', key.macKey).update(out.subarray(0, end)).digest().copy(out, end);
  return out;
}

export type Opened =
  /** Sealed with one of the keys given, and intact. */
  | { kind: 'sealed'; snapshot: Uint8Array; key: HostKey; measurement: Measurement | null }
  /** A plain snapshot file: no seal at all. */
  | { kind: 'unsealed'; snapshot: Uint8Array }
  /** Sealed with a key not given: `snapshot` is its body when not encrypted (usable only when trusted unsealed). */
  | { kind: 'foreign'; keyId: string; snapshot: Uint8Array | null };

/** What a seal's header says, unchecked (for `drawbridge inspect`): null when the bytes are not a seal. */
export function sealHeader(bytes: Uint8Array): { keyId: string; encrypted: boolean; created: string | null } | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 16 + MAC_LEN || buf.subarray(0, 8).toString('latin1') !== SEAL_MAGIC) return null;
  const headerLen = buf.readUInt32LE(12);
  if (headerLen > HEADER_MAX || 16 + headerLen > buf.length - MAC_LEN) return null;
  try {
    const h = JSON.parse(buf.subarray(16, 16 + headerLen).toString('utf8')) as { key_id?: unknown; encrypted?: unknown; created?: unknown };
    if (typeof h.key_id !== 'string') return null;
    return { keyId: h.key_id.slice(0, 16), encrypted: h.encrypted === true, created: typeof h.created === 'string' ? h.created.slice(0, 40) : null };
  } catch {
    return null;
  }
}

/** Open a snapshot file: check its seal with any of `keys`. A SnapshotError says, in one line, when it was altered. */
export function unseal(bytes: Uint8Array, keys: readonly HostKey[], name: string): Opened {
  // Not a seal: a plain snapshot, or something decodeSnapshot says it is not.
  if (!isSealed(bytes)) return { kind: 'unsealed', snapshot: bytes };
  const altered = () => new SnapshotError(`${name}: its seal does not match its contents: the file was altered or damaged`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { header, body, end } = sealParts(bytes, name);
  const key = keys.find((k) => k.id === header.key_id);
  if (!key) return { kind: 'foreign', keyId: header.key_id.slice(0, 16), snapshot: header.encrypted === false ? body : null };
  const mac = nodeCrypto().createHmac('sha256', key.macKey).update(buf.subarray(0, end)).digest();
  if (!nodeCrypto().timingSafeEqual(mac, buf.subarray(end))) throw altered();
  // From here on the header is the key holder's.
  let snapshot: Uint8Array = body;
  if (header.encrypted === true) {
    if (typeof header.iv !== 'string' || typeof header.tag !== 'string') throw altered();
    try {
      const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', key.encKey, Buffer.from(header.iv, 'hex'));
      decipher.setAuthTag(Buffer.from(header.tag, 'hex'));
      snapshot = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw altered();
    }
  }
  return { kind: 'sealed', snapshot, key, measurement: isMeasurement(header.measurement) ? header.measurement : null };
}
