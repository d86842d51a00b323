// The canonical form of a manifest, what a measurement hashes (docs/manifest.md, "Measurement"):
// the effective manifest (the file's grants with the command line's added) as JSON with every
// key sorted and every unordered list sorted, limits in bytes and milliseconds, so that two
// spellings of the same grants (key order, "64MiB" or 67108864, a trailing slash) give the
// same text. The extension stack keeps its order (it is the stacking order); the pipe
// namespace, which a host picks, is left out.

import type { Manifest } from './manifest.ts';

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sorted((value as Record<string, unknown>)[key]);
  return out;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The manifest as canonical JSON text. */
export function canonicalManifest(m: Manifest): string {
  return JSON.stringify(
    sorted({
      mounts: [...m.mounts].sort((a, b) => byText(a.guest, b.guest)).map((x) => ({ guest: x.guest, host: x.host, mode: x.mode })),
      env: m.env,
      args: m.args,
      network: { connect: m.network.connect.map((p) => p.text).sort(byText), listen: m.network.listen.map((p) => p.text).sort(byText) },
      limits: {
        memory: m.limits.memory,
        handles: m.limits.handles,
        children: m.limits.children,
        cpu_time_ms: m.limits.cpuTimeMs,
        bytes_written: m.limits.bytesWritten,
      },
      extensions: (m.extensions ?? []).map((e) => ({ name: e.name, options: e.options })),
      module_sha256: m.moduleSha256 ?? null,
      trusted_files: m.trustedFiles ?? {},
    }),
  );
}
