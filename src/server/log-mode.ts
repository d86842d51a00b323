// Log mode in `drawbridge serve` (docs/durable.md, docs/serve.md): what a picoprocess that
// runs with a durable log needs besides the layer itself (checkpoint/durable-run.ts): where
// its log file goes, how its start is recorded, and a log checkpoint opened for a restore
// under the daemon's grants.
//
// Each placement of a picoprocess (its spawn, each move, a restore) writes a log file of its
// own in the daemon's folder (default $DRAWBRIDGE_CACHE/durable), made 0600 in a 0700 folder,
// and removed when that placement ends (the picoprocess ended, or moved on). A daemon that
// dies leaves them: `drawbridge restore --trust-unsealed --module` continues one.

import { join } from 'node:path';
import type { CheckpointStart } from '../checkpoint/durable-run.ts';
import { checkpointLog, decodeLogCheckpoint, requestOf, type LogCheckpoint } from '../checkpoint/log-checkpoint.ts';
import { checkpointStart } from '../checkpoint/log-control.ts';
import { compareRequest, missingGrantsMessage } from '../checkpoint/request.ts';
import { SnapshotError } from '../checkpoint/snapshot.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import { cacheRoot } from '../runtime/cache-root.ts';

/** Where a daemon keeps its logs unless told otherwise. */
export function defaultLogFolder(): string {
  return join(cacheRoot(), 'durable');
}

/** The log file of placement `gen` of picoprocess `id` of this daemon. */
export function placementLogPath(folder: string, id: number, gen: number): string {
  return join(folder, `serve-${process.pid}-${id}-${gen}.dlog`);
}

/** Whether a spawn runs in log mode: asked for (spawn --durable), or its manifest's [continuity] mode = "log". */
export function wantsLog(asked: boolean | undefined, manifest: Manifest): boolean {
  return asked === true || manifest.continuity?.mode === 'log';
}

/**
 * How a spawned picoprocess starts, as its log checkpoints record it: the module as given
 * (`source`: its SHA-256 and size, not those of the prepared bytes that run), its argv, its
 * environment, one pre-open per mount (serve's), and its grants as a request.
 */
export function spawnStart(module: { hash: string; name: string; source: Uint8Array }, args: readonly string[], manifest: Manifest): CheckpointStart {
  // The pre-opens every picoprocess gets when none are named (picoprocess.ts, defaultPreopens).
  const preopens = manifest.mounts.map((m) => ({ guestPath: m.guest, name: m.guest }));
  return checkpointStart({ sha256: module.hash, size: module.source.length, name: module.name }, args, manifest, preopens, [], []);
}

/** A log checkpoint made ready to replay under a restorer's grants. */
export interface OpenedLog {
  checkpoint: LogCheckpoint;
  /** The restorer's grants, with the environment the program started with (a replay must start as it started). */
  manifest: Manifest;
  start: CheckpointStart;
  /** The log to replay: every entry up to the checkpoint, checked. */
  log: Uint8Array;
  /** The memory digest where it was taken; null when there is none to check. */
  memorySha256: string | null;
}

/**
 * Read a log checkpoint's plain bytes (the seal was checked by whoever held the key) for a
 * restore under `grants`: refused, in one line (SnapshotError), when it is not valid, when its
 * request asks for a grant `grants` does not give (request.ts), or when its log is damaged.
 */
export function openLogCheckpoint(bytes: Uint8Array, name: string, grants: Manifest): OpenedLog {
  const checkpoint = decodeLogCheckpoint(bytes, name);
  const meta = checkpoint.meta;
  const compared = compareRequest(requestOf(meta), grants);
  const refusal = missingGrantsMessage(compared.missing);
  if (refusal) throw new SnapshotError(refusal);
  const checked = checkpointLog(checkpoint, name, meta.module.sha256);
  const manifest: Manifest = { ...compared.manifest, env: { ...meta.env }, args: null };
  return {
    checkpoint,
    manifest,
    // What its own checkpoints will record: how it started, and the grants it runs with now.
    start: checkpointStart(meta.module, meta.args, manifest, meta.preopens, meta.listenSockets, []),
    log: checkpoint.log.subarray(0, checked.validBytes),
    memorySha256: meta.memorySha256 || null,
  };
}
