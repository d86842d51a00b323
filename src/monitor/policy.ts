// What the monitor enforces, derived from a manifest: plain data, no parsing left to do.

import type { Manifest, NetworkGrants } from './manifest/manifest.ts';

export interface MountGrant {
  /** Absolute normalised host path: the directory the URIs below `guest` map to. */
  host: string;
  /** Absolute normalised guest path. */
  guest: string;
  readOnly: boolean;
}

export interface Denial {
  /** The primitive, e.g. DkStreamOpen. */
  call: string;
  /** What it named: a URI, or `handle N`. */
  subject: string;
  /** The grant or limit that refused it, in the manifest's words. */
  rule: string;
  /** The limit that refused it, when a quota did (`bytes_written`, `memory`, `children`, `handles`). */
  quota?: 'bytes_written' | 'memory' | 'children' | 'handles';
}

/** Told of each refusal (monitor/denials.ts explains it). */
export type DenialLog = (d: Denial) => void;

export interface MonitorLimits {
  memory: number;
  handles: number;
  children: number;
  bytesWritten: number;
}

export interface MonitorPolicy {
  /** Prefix of every named pipe this picoprocess creates or connects to ('' = shared). */
  pipeNamespace?: string;
  mounts: readonly MountGrant[];
  network: NetworkGrants;
  limits: MonitorLimits;
  /** Guest path -> SHA-256 (hex) of the files whose reads are checked (trusted-files.ts); absent or empty: none. */
  trustedFiles?: ReadonlyMap<string, string>;
  /** Told of each call the monitor refused (denials.ts); absent: refusals are only answered. */
  onDenied?: DenialLog;
}

export function policyFromManifest(m: Manifest): MonitorPolicy {
  return {
    pipeNamespace: m.pipeNamespace ?? '',
    mounts: m.mounts.map((x) => ({ host: x.host, guest: x.guest, readOnly: x.mode === 'ro' })),
    network: { connect: [...m.network.connect], listen: [...m.network.listen] },
    limits: {
      memory: m.limits.memory,
      handles: m.limits.handles,
      children: m.limits.children,
      bytesWritten: m.limits.bytesWritten,
    },
    trustedFiles: new Map(Object.entries(m.trustedFiles ?? {})),
  };
}
