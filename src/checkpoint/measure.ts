// The measurement of a launch (docs/manifest.md, "Measurement"; the analog of SGX's MRENCLAVE):
// the SHA-256 of the module's bytes as given (before any preparation), the SHA-256 of the
// canonical manifest (monitor/manifest/canonical.ts), and one digest over both. `drawbridge
// measure` prints it; a sealed snapshot records the one it ran under (seal.ts), and a restore
// compares it with its own.

import { sha256 } from './snapshot.ts';
import { canonicalManifest } from '../monitor/manifest/canonical.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';

export interface Measurement {
  /** SHA-256 of the module file's bytes. */
  module_sha256: string;
  /** SHA-256 of the canonical manifest text. */
  manifest_sha256: string;
  /** SHA-256 of "drawbridge-measurement-1\n" + module_sha256 + "\n" + manifest_sha256 + "\n". */
  digest: string;
}

const enc = new TextEncoder();

export function measureWith(moduleSha256: string, manifest: Manifest): Measurement {
  const manifestSha256 = sha256(enc.encode(canonicalManifest(manifest)));
  return {
    module_sha256: moduleSha256,
    manifest_sha256: manifestSha256,
    digest: sha256(enc.encode(`drawbridge-measurement-1\n${moduleSha256}\n${manifestSha256}\n`)),
  };
}

/** The measurement of a module's bytes under a manifest. */
export function measure(module: Uint8Array, manifest: Manifest): Measurement {
  return measureWith(sha256(module), manifest);
}

/** Whether an object read from a sealed header is a Measurement. */
export function isMeasurement(v: unknown): v is Measurement {
  const m = v as Measurement;
  const hex = (s: unknown) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
  return typeof v === 'object' && v !== null && hex(m.module_sha256) && hex(m.manifest_sha256) && hex(m.digest);
}
