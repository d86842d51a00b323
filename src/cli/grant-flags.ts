// The grants whoever starts or restores a picoprocess gives: --manifest FILE plus the flags
// `drawbridge run` has (--dir, --env, --listen, --connect, --ext), as one effective manifest
// and extension stack. `run`, `restore`, `receive` and `measure` read them here, so a restore
// is granted exactly what a run with the same flags would be, and measures the same.

import { readFileSync } from 'node:fs';
import { emptyManifest, withCliGrants, type Manifest, type NetworkGrants } from '../monitor/manifest/manifest.ts';
import { parseEndpoint, parseEndpointPattern } from '../monitor/network/pattern.ts';
import { ExtensionError, parseExtensionArg, type ExtensionRequest } from '../runtime/extensions.ts';
import type { OptionTable } from './args.ts';

export const GRANT_OPTIONS = {
  manifest: { type: 'string', value: 'FILE', needs: 'a file', help: 'the grants and limits of a manifest (TOML; see `drawbridge manifest check`)' },
  dir: { type: 'string', multiple: true, value: 'HOST::GUEST', help: 'mount the host directory HOST at GUEST, read-write' },
  env: { type: 'string', multiple: true, value: 'NAME=VALUE', help: "set an environment variable (--env NAME passes the host's value)" },
  listen: { type: 'string', multiple: true, value: 'ADDR:PORT', help: "grant listening on ADDR:PORT (port 0: the port a snapshot's socket has)" },
  connect: { type: 'string', multiple: true, value: 'HOST:PORT', help: "grant connecting to HOST:PORT (patterns as the manifest's)" },
  ext: {
    type: 'string',
    multiple: true,
    value: 'NAME[:OPTIONS]',
    needs: 'a value: --ext NAME[:key=value,...]',
    help: 'stack an extension, as drawbridge run --ext',
  },
} as const satisfies OptionTable;

export interface GrantValues {
  manifest?: string | undefined;
  dir?: string[];
  env?: string[];
  listen?: string[];
  connect?: string[];
  ext?: string[];
}

export interface Grants {
  manifest: Manifest;
  /** The extension stack, top first: the manifest's [[extensions]], then --ext. */
  extensions: ExtensionRequest[];
  /** The manifest file's own grants, before the flags (run names its pre-opens by them). */
  base: Manifest;
}

/** The effective manifest and extensions of these flags; a string is the one-line error. */
export async function grantsFromFlags(v: GrantValues): Promise<Grants | string> {
  let base = emptyManifest();
  if (v.manifest) {
    let text: string;
    try {
      text = readFileSync(v.manifest, 'utf8');
    } catch (e) {
      return `cannot read manifest ${v.manifest}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
    }
    const { parseManifest } = await import('../monitor/manifest/parse.ts');
    const m = parseManifest(text, v.manifest);
    if (!m.ok) return `${v.manifest}: ${m.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
    base = m.manifest;
  }
  const granted = withCliGrants(base, { dirs: v.dir ?? [], env: v.env ?? [] }, { cwd: process.cwd(), hostEnv: process.env });
  if (!granted.ok) return granted.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  const network = networkFlagGrants(base.network, v.listen ?? [], v.connect ?? []);
  if (typeof network === 'string') return network;
  let extensions: ExtensionRequest[];
  try {
    extensions = [...(base.extensions ?? []), ...(v.ext ?? []).map(parseExtensionArg)];
  } catch (e) {
    if (e instanceof ExtensionError) return e.message;
    throw e;
  }
  return { manifest: { ...granted.manifest, network }, extensions, base };
}

/** The manifest's network grants plus --listen and --connect; a string is the error message. */
export function networkFlagGrants(base: NetworkGrants, listen: string[], connect: string[]): NetworkGrants | string {
  const out: NetworkGrants = { connect: [...base.connect], listen: [...base.listen] };
  for (const a of listen) {
    // A concrete address to listen on (port 0: any free port; the program asks which).
    const ep = parseEndpoint(a);
    const pattern = parseEndpointPattern(a);
    if (ep === null || typeof pattern === 'string' || !/^[\d.]+$|^\[.*\]$/.test(a.slice(0, a.lastIndexOf(':')))) {
      return `--listen ${a}: expected ADDR:PORT with an IP address (127.0.0.1:8080, [::1]:8080)`;
    }
    out.listen.push(pattern);
  }
  for (const c of connect) {
    const pattern = parseEndpointPattern(c);
    if (typeof pattern === 'string') return `--connect ${c}: ${pattern}`;
    out.connect.push(pattern);
  }
  return out;
}

/** The manifest as measured (measure.ts): the effective one, with the whole extension stack. */
export function measuredManifest(manifest: Manifest, extensions: readonly ExtensionRequest[]): Manifest {
  return { ...manifest, extensions: extensions.map((e) => ({ name: e.name, options: { ...e.options } })) };
}
