// Snapshots waiting to become fork children. drawbridge.fork (capture.ts) captures the
// caller with --leave-running semantics, registers the snapshot here under a random token and
// asks the host for a child with DkProcessCreate("fork:TOKEN"); the launcher (launcher.ts)
// takes the snapshot back, only for the same parent picoprocess, and restores it as the child.
// The snapshot's descriptors are not reopened but shared: DkProcessCreate's handle list carries
// the parent's streams past stdio, and the child's library OS opens each with inherit:N
// (WasiState.saveForFork), so both hold one open file description, as POSIX fork does.

import { nodeCrypto } from '../host/node/lazy-builtins.ts';
import type { Snapshot } from './snapshot.ts';

interface Pending {
  parentId: number;
  snapshot: Snapshot;
}

const pending = new Map<string, Pending>();
/** Tokens are this process's random prefix and a count: unique, and not guessable from outside. */
let prefix: string | null = null;
let count = 0;

export function registerFork(parentId: number, snapshot: Snapshot): string {
  prefix ??= nodeCrypto().randomBytes(16).toString('hex');
  const token = `${prefix}-${(count++).toString(36)}`;
  pending.set(token, { parentId, snapshot });
  return token;
}

/** The snapshot for `fork:TOKEN`, once, and only for the picoprocess that made it. */
export function takeFork(uri: string, parentId: number): Snapshot | null {
  const token = uri.slice('fork:'.length);
  const p = pending.get(token);
  if (!p || p.parentId !== parentId) return null;
  pending.delete(token);
  return p.snapshot;
}
