// A snapshot handed to the page, opened for a restore: decoded and checked as Node checks it
// (snapshot-format.ts: magic, version, checksums, pages; the module's SHA-256 by WebCrypto),
// and what it asks for compared with what the page grants (checkpoint/request.ts). The page
// holds no host key, so it cannot check a seal: it restores a plain snapshot file, or the body
// of a sealed one that is not encrypted, only when told it trusts their source (trustUnsealed),
// as `drawbridge restore --trust-unsealed` does with a file sealed by a key it was not given.

import { decodeSnapshotWith, moduleHashMismatch, PAGE_SIZE, SnapshotError, SNAPSHOT_MAGIC, type Snapshot } from '../checkpoint/snapshot-format.ts';
import { isSealed, sealParts } from '../checkpoint/seal-layout.ts';
import { compareRequest, missingGrantsMessage } from '../checkpoint/request.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import { BROWSER_FORMAT } from './format-primitives.ts';
import { sha256Hex } from './capture-platform.ts';

/** The unwind buffer a capture adds to a guest's memory (compile.ts CAPTURE_PAGES). */
const CAPTURE_BYTES = 16 * PAGE_SIZE;

export interface OpenedSnapshot {
  snapshot: Snapshot;
  /** The module it carries, and that module's SHA-256. */
  module: Uint8Array;
  sha256: string;
  /** The manifest to run it under: the page's, with its listening sockets' concrete addresses. */
  manifest: Manifest;
}

/** Open `bytes` (named `name` in messages) to run under `granted`; a SnapshotError says, in one line, why not. */
export async function openSnapshot(bytes: Uint8Array, name: string, granted: Manifest, trustUnsealed: boolean): Promise<OpenedSnapshot> {
  if (isSealed(bytes)) {
    const { header, body } = sealParts(bytes, name);
    const key = header.key_id.slice(0, 16);
    if (header.encrypted !== false)
      throw new SnapshotError(`${name} is encrypted with a host key (id ${key}), which the browser host does not hold: take the checkpoint without --encrypt`);
    if (!trustUnsealed)
      throw new SnapshotError(
        `${name} is sealed with a host key (id ${key}), which the browser host does not hold to check it: restore it only if you trust its source, with trustUnsealed: true`,
      );
    bytes = body;
  } else if (!trustUnsealed && new TextDecoder().decode(bytes.subarray(0, 8)) === SNAPSHOT_MAGIC)
    throw new SnapshotError(`${name} is not sealed: anyone could have written it; restore it only if you trust its source, with trustUnsealed: true`);
  const snapshot = decodeSnapshotWith(BROWSER_FORMAT, bytes, name, { lazyPages: true });
  const module = snapshot.module;
  if (!module) throw new SnapshotError(`${name} carries no module: the browser host restores only snapshots with their module`);
  const sha256 = await sha256Hex(module);
  const wrong = moduleHashMismatch(snapshot, sha256, name);
  if (wrong) throw wrong;
  // Its memory must fit under the page's limit (with a capture's unwind buffer, which it holds).
  const bytesHeld = snapshot.meta.memory.pages * PAGE_SIZE;
  if (bytesHeld > granted.limits.memory + CAPTURE_BYTES)
    throw new SnapshotError(`${name} holds ${bytesHeld / 2 ** 20} MiB of memory, more than memoryLimit allows (${granted.limits.memory / 2 ** 20} MiB)`);
  const request = compareRequest(snapshot.meta, granted);
  const missing = missingGrantsMessage(request.missing);
  if (missing) throw new SnapshotError(`${name}: ${missing}`);
  return { snapshot, module, sha256, manifest: request.manifest };
}
