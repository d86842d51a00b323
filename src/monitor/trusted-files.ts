// trusted_files (docs/manifest.md): files whose bytes must have the SHA-256 the manifest gives,
// checked against the bytes the picoprocess actually reads, with no window between check and
// read (Gramine's sgx.trusted_files, without an enclave).
//
// At open, the monitor reads the whole file through the handle it just opened (so it hashes
// the object the guest will read, whatever the path named by then), compares the hash and
// keeps one SHA-256 per 64 KiB chunk. It never hands the guest bytes it has not just checked:
// every later read reads the chunks it covers again through the same handle, into a buffer of
// the monitor's own, checks each against the hash kept at open, and only then copies the bytes
// asked for. A file changed after its open (rewritten, truncated, grown) fails the read with
// IO_ERROR; reads past the size it had at open see its end. A trusted file is never opened
// for writing, nor mapped.

import { createHash } from 'node:crypto';
import { NO_OFFSET, type Dk, type Handle } from '../abi/dk.ts';
import { DkError, isDkError, type DkErrorCode } from '../abi/errors.ts';
import { pathComponents } from './guest-path.ts';

export const TRUSTED_CHUNK = 65536;
/** Larger trusted files are refused at open (their chunk hashes are kept per handle). */
export const TRUSTED_FILE_MAX = 1 << 30;

interface Verified {
  size: number;
  chunks: Buffer[];
}

const digest = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** The guest path lexically normalised ('.', '..' and repeated slashes resolved), the key of the manifest's table. */
export function trustedKey(path: string): string {
  const out: string[] = [];
  for (const part of pathComponents(path)) {
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export class TrustedFiles {
  private readonly expected: ReadonlyMap<string, string>;
  private readonly open = new Map<Handle, Verified>();
  private scratch: Uint8Array | null = null;

  constructor(expected: ReadonlyMap<string, string>) {
    this.expected = expected;
  }

  /** The SHA-256 the manifest gives for this guest path, or undefined when it is not a trusted file. */
  hashFor(path: string): string | undefined {
    return this.expected.get(trustedKey(path));
  }

  /** Whether `h` is an open trusted file. */
  has(h: Handle): boolean {
    return this.open.has(h);
  }

  private buffer(): Uint8Array {
    return (this.scratch ??= new Uint8Array(TRUSTED_CHUNK));
  }

  /** Read chunk `index` of `h` whole into the scratch buffer; its length, or an error. */
  private readChunk(lower: Dk, h: Handle, index: number, want: number): number | DkErrorCode {
    const buf = this.buffer();
    let got = 0;
    while (got < want) {
      const n = lower.streamRead(h, index * TRUSTED_CHUNK + got, buf.subarray(got, want));
      if (isDkError(n)) return n === DkError.WOULD_BLOCK ? DkError.IO_ERROR : n;
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  /** Hash a just-opened trusted file through its handle; 0 when it matches `hash` (then it is tracked), NOT_CAPABLE when not. */
  verifyOpened(lower: Dk, h: Handle, hash: string): 0 | DkErrorCode {
    const whole = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    for (let index = 0; ; index++) {
      const n = this.readChunk(lower, h, index, TRUSTED_CHUNK);
      if (isDkError(n)) return n;
      if (n === 0) break;
      const chunk = this.buffer().subarray(0, n);
      whole.update(chunk);
      chunks.push(digest(chunk));
      size += n;
      if (size > TRUSTED_FILE_MAX) return DkError.FILE_TOO_LARGE;
      if (n < TRUSTED_CHUNK) break;
    }
    if (whole.digest('hex') !== hash) return DkError.NOT_CAPABLE;
    this.open.set(h, { size, chunks });
    return 0;
  }

  /** A read of a trusted file: only bytes of chunks checked just now; IO_ERROR when one no longer matches. */
  read(lower: Dk, h: Handle, offset: number, buffer: Uint8Array): number | DkErrorCode {
    const v = this.open.get(h)!;
    let at = offset;
    if (offset === NO_OFFSET) {
      const a = lower.streamAttributesQueryByHandle(h);
      if (isDkError(a)) return a;
      at = a.position ?? 0;
    }
    const end = Math.min(v.size, at + buffer.length);
    let copied = 0;
    while (at + copied < end) {
      const pos = at + copied;
      const index = Math.floor(pos / TRUSTED_CHUNK);
      const want = Math.min(TRUSTED_CHUNK, v.size - index * TRUSTED_CHUNK);
      const n = this.readChunk(lower, h, index, want);
      if (isDkError(n)) return n;
      const chunk = this.buffer().subarray(0, n);
      if (n !== want || !digest(chunk).equals(v.chunks[index]!)) return DkError.IO_ERROR;
      const from = pos - index * TRUSTED_CHUNK;
      const take = Math.min(n - from, end - pos);
      buffer.set(chunk.subarray(from, from + take), copied);
      copied += take;
    }
    if (offset === NO_OFFSET && copied > 0) {
      const r = lower.streamAttributesSetByHandle(h, { position: at + copied });
      if (isDkError(r)) return r;
    }
    return copied;
  }

  closed(h: Handle): void {
    this.open.delete(h);
  }
}
