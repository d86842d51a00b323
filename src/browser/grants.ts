// What a browser picoprocess is granted: a manifest made from the page's own options (mounts of
// folders of the page's file tree, environment), never from a module or a snapshot. Absent
// means nothing granted, as everywhere in drawbridge: no mounts, no network, default limits.
// No trusted files (their check hashes synchronously, which the browser cannot: shims/crypto.ts).

import { emptyManifest, type Manifest } from '../monitor/manifest/manifest.ts';
import { normaliseMountPath } from '../monitor/guest-path.ts';

/** A folder of the page's file tree granted to the guest: at `guest`, from `host` (default: the same path). */
export interface MountOption {
  guest: string;
  /** The folder in the page's file tree (default: `guest`). */
  host?: string;
  /** Default "rw". */
  mode?: 'ro' | 'rw';
}

export interface GrantOptions {
  /** Folders granted, as "/data" (read-write, the same path in the tree) or a MountOption. */
  mounts?: readonly (string | MountOption)[];
  env?: Readonly<Record<string, string>>;
  /** Bytes of linear memory the guest may have (limits.memory; default 256 MiB). */
  memoryLimit?: number;
}

/** The manifest of `options`; throws one line naming a mount that is not an absolute path. */
export function manifestOf(options: GrantOptions): Manifest {
  const manifest = emptyManifest();
  manifest.mounts = (options.mounts ?? []).map((m, i) => {
    const given = typeof m === 'string' ? { guest: m } : m;
    const path = (p: string, what: string) => {
      const r = normaliseMountPath(p);
      if ('error' in r) throw new Error(`mounts[${i}].${what} ${r.error}`);
      return r.path;
    };
    const mode = given.mode ?? 'rw';
    if (mode !== 'ro' && mode !== 'rw') throw new Error(`mounts[${i}].mode must be "ro" or "rw"`);
    return { guest: path(given.guest, 'guest'), host: path(given.host ?? given.guest, 'host'), mode };
  });
  if (options.memoryLimit !== undefined) {
    if (!Number.isSafeInteger(options.memoryLimit) || options.memoryLimit <= 0) throw new Error('memoryLimit must be a positive number of bytes');
    manifest.limits.memory = options.memoryLimit;
  }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (k === '' || k.includes('=') || k.includes('\0') || String(v).includes('\0'))
      throw new Error(`env: ${JSON.stringify(k)} is not a variable name with a value`);
    manifest.env[k] = String(v);
  }
  return manifest;
}
