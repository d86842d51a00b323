// What an embedder grants a picoprocess, as the public API spells it (a manifest, directories,
// environment, network), made into one effective manifest by the functions `drawbridge run`
// uses for its --manifest, --dir, --env, --listen and --connect: a picoprocess started through
// the API gets exactly what the same flags would give it, and measures the same.

import { emptyManifest, withCliGrants, type Manifest } from '../monitor/manifest/manifest.ts';
import { buildManifest, parseManifest } from '../monitor/manifest/parse.ts';
import { networkFlagGrants } from '../cli/grant-flags.ts';
import { DrawbridgeError } from './errors.ts';
import type { Grants } from './options.ts';

/** The effective manifest of `grants`; a DrawbridgeError ('grants') names what is malformed. */
export function manifestOf(grants: Grants): Manifest {
  let base = emptyManifest();
  if (grants.manifest !== undefined) {
    const r = typeof grants.manifest === 'string' ? parseManifest(grants.manifest, 'manifest') : buildManifest(grants.manifest);
    if (!r.ok) throw new DrawbridgeError('grants', `manifest: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    base = r.manifest;
  }
  const dirs = (grants.dirs ?? []).map((d) => (typeof d === 'string' ? d : d.guest === undefined ? d.host : `${d.host}::${d.guest}`));
  const names = Object.keys(grants.env ?? {});
  const bad = names.find((k) => k === '' || k.includes('='));
  if (bad !== undefined) throw new DrawbridgeError('grants', `env: bad variable name "${bad}" (a name is not empty and has no "=")`);
  const env = Object.entries(grants.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const granted = withCliGrants(base, { dirs, env }, { cwd: process.cwd(), hostEnv: {} });
  if (!granted.ok) throw new DrawbridgeError('grants', granted.errors.map((e) => `${e.path.replace(/^--/, '')}: ${e.message}`).join('; '));
  const manifest = granted.manifest;
  // A read-only grant: withCliGrants mounts read-write, as --dir does; the mount it made at that guest path is the last one.
  (grants.dirs ?? []).forEach((d, i) => {
    if (typeof d === 'string' || !d.readOnly) return;
    const guest = withCliGrants(emptyManifest(), { dirs: [dirs[i]!] }, { cwd: process.cwd() });
    const at = guest.ok ? manifest.mounts.findIndex((m) => m.guest === guest.manifest.mounts[0]!.guest) : -1;
    if (at >= 0) manifest.mounts[at] = { ...manifest.mounts[at]!, mode: 'ro' };
  });
  const network = networkFlagGrants(base.network, [...(grants.listen ?? [])], [...(grants.connect ?? [])]);
  if (typeof network === 'string') throw new DrawbridgeError('grants', network.replace(/^--/, ''));
  return { ...manifest, network };
}
