// What a capture needs of the browser (checkpoint/capture-core.ts CapturePlatform): the page's
// clock and event loop, the snapshot format with the browser's primitives, and the module's
// SHA-256, which WebCrypto gives only asynchronously: it is computed before the module starts
// (sha256Hex) and handed over known.

import type { CapturePlatform } from '../checkpoint/capture-core.ts';
import { CaptureError } from '../checkpoint/capture-core.ts';
import { encodeSnapshotWith, snapshotInProcessWith } from '../checkpoint/snapshot-format.ts';
import { afterOtherWork } from './event-loop.ts';
import { BROWSER_FORMAT } from './format-primitives.ts';

/** SHA-256 of `bytes`, lowercase hex, by WebCrypto. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The platform of one picoprocess whose module's bytes are `module`, of SHA-256 `moduleSha256`. */
export function capturePlatform(module: Uint8Array, moduleSha256: string): CapturePlatform {
  return {
    nowMs: () => performance.now(),
    afterOtherWork,
    sha256: (bytes) => {
      if (bytes !== module) throw new CaptureError('the browser host knows the SHA-256 of its own module only');
      return moduleSha256;
    },
    encode: (meta, memory, bytes) => encodeSnapshotWith(BROWSER_FORMAT, meta, memory, bytes),
    // A move onto another instance in this page (not used: the browser host does not tier up).
    inProcess: (meta, memory, bytes) => snapshotInProcessWith(BROWSER_FORMAT, meta, memory, bytes, 4096),
    registerFork: () => {
      throw new CaptureError('fork is not available in the browser host');
    },
  };
}
