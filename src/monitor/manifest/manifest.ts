// The manifest: what a picoprocess is granted, which the security monitor enforces (monitor.ts).
// TOML text, parsed with smol-toml and validated by one zod schema (monitor/manifest/parse.ts, loaded
// only where a manifest is read: loading zod is a large share of CLI start-up); every error names the
// field it is about (`mounts[1].mode: expected "ro" or "rw"`). Absent means nothing granted:
// no mounts, no environment, no network, and limits at the defaults below.
// The format is documented in docs/manifest.md.

import { normaliseMountPath, pathComponents } from '../guest-path.ts';
import type { EndpointPattern } from '../network/pattern.ts';
import { formatDuration, formatSize } from './units.ts';

export interface Mount {
  /** Absolute, normalised host path (for the memory host: a path in its in-memory tree). */
  host: string;
  /** Absolute, normalised guest path. */
  guest: string;
  mode: 'ro' | 'rw';
}

export interface Limits {
  /** Bytes of memory the picoprocess may commit through DkVirtualMemoryAlloc / DkStreamMap. */
  memory: number;
  /** Handles open at once. */
  handles: number;
  /** Child picoprocesses it may create (DkProcessCreate), in its whole life. */
  children: number;
  /** CPU time in milliseconds (enforced by the runtime's scheduler, not the monitor). */
  cpuTimeMs: number;
  /** Bytes it may write through DkStreamWrite, over all streams, in its whole life. */
  bytesWritten: number;
}

export interface NetworkGrants {
  connect: EndpointPattern[];
  listen: EndpointPattern[];
}

export interface Manifest {
  /**
   * Named pipes (pipe.server:/pipe.client:) are visible only among picoprocesses with the same
   * namespace. Not a TOML field: a host that serves several tenants gives each its own (a
   * child keeps its parent's). Absent: the host's shared namespace.
   */
  pipeNamespace?: string;
  mounts: Mount[];
  env: Record<string, string>;
  /** Arguments the manifest fixes; null when it leaves them to the command line. */
  args: string[] | null;
  network: NetworkGrants;
  limits: Limits;
  /** Extensions to stack, top (nearest the library OS) first; null when absent. */
  extensions: ExtensionEntry[] | null;
  /** The SHA-256 (lowercase hex) of the only module this manifest runs; null or absent: any. */
  moduleSha256?: string | null;
  /** Guest paths of files whose bytes must have these SHA-256s (lowercase hex) when read (trusted-files.ts). */
  trustedFiles?: Record<string, string>;
  /**
   * How a checkpoint captures it ([continuity], docs/durable.md): "log" runs it with a durable
   * log (the host file `log`, or the default place). Grants nothing, so it is not measured.
   */
  continuity?: Continuity;
  /** Where it runs in a cluster of hosts ([placement], docs/cluster.md): a host whose labels hold these. Grants nothing. */
  placement?: { labels: Record<string, string> };
}

export interface Continuity {
  mode: 'log' | 'snapshot';
  /** The durable log's host path; null: the default place. */
  log: string | null;
  /** In a cluster: its restorable state is kept in JetStream, and another host continues it if its host dies (docs/cluster.md). */
  durable?: boolean;
}

/** One extension as [[extensions]] names it (docs/extensions.md). */
export interface ExtensionEntry {
  /** A built-in extension (trace, remap, record, replay), a module path or a package name. */
  name: string;
  /** Its options, as strings (what `--ext NAME:key=value` gives too). */
  options: Record<string, string>;
}

/**
 * Defaults for a multi-tenant host: enough for ordinary command-line programs, small enough
 * that hundreds of picoprocesses fit on one machine. No children: spawning is a grant.
 */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memory: 256 * 2 ** 20,
  handles: 1024,
  children: 0,
  cpuTimeMs: 60_000,
  bytesWritten: 2 ** 30,
});

export interface ManifestError {
  /** The field, e.g. "mounts[1].mode", "limits.memory", "(toml)" for syntax errors. */
  path: string;
  message: string;
}

export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; errors: ManifestError[] };

export function emptyManifest(): Manifest {
  return {
    mounts: [],
    env: {},
    args: null,
    network: { connect: [], listen: [] },
    limits: { ...DEFAULT_LIMITS },
    extensions: null,
    moduleSha256: null,
    trustedFiles: {},
  };
}

// ---------------------------------------------------------------------------------------------
// Command-line grants (wasmtime-style flags) on top of a manifest

export interface CliGrants {
  /** "--dir HOST::GUEST" (read-write, like wasmtime), or "--dir DIR" for the same path on both sides. */
  dirs?: readonly string[];
  /** "--env NAME=VALUE", or "--env NAME" to pass the host's value (from hostEnv). */
  env?: readonly string[];
  args?: readonly string[];
}

/** Lexically resolves a host path typed on a command line against cwd ('..' is textual here). */
function resolveHostPath(path: string, cwd: string): string {
  const out: string[] = [];
  for (const part of pathComponents(path.startsWith('/') ? path : `${cwd}/${path}`)) {
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/**
 * Adds command-line grants to a manifest and validates the result. A --dir at a guest path the
 * manifest already mounts replaces that mount (the command line is the more specific request).
 * A relative DIR is resolved against cwd on the host side and mounted at "/DIR" in the guest
 * ("--dir ." mounts the current directory at "/", where the library OS starts).
 */
export function withCliGrants(
  base: Manifest,
  grants: CliGrants,
  opts: { cwd?: string; hostEnv?: Readonly<Record<string, string | undefined>> } = {},
): ManifestResult {
  const errors: ManifestError[] = [];
  const mounts = base.mounts.map((m) => ({ ...m }));
  (grants.dirs ?? []).forEach((spec, i) => {
    const sep = spec.indexOf('::');
    const hostText = sep >= 0 ? spec.slice(0, sep) : spec;
    if (hostText === '') return errors.push({ path: `--dir[${i}]`, message: `expected HOST::GUEST or DIR, got "${spec}"` });
    if (!hostText.startsWith('/') && opts.cwd === undefined) {
      return errors.push({ path: `--dir[${i}]`, message: `host path "${hostText}" must be absolute` });
    }
    const host = resolveHostPath(hostText, opts.cwd ?? '/');
    const guestText = sep >= 0 ? spec.slice(sep + 2) : hostText.startsWith('/') ? host : '/' + hostText;
    const guest = normaliseMountPath(guestText.startsWith('/') ? guestText : '/' + guestText);
    if ('error' in guest) return errors.push({ path: `--dir[${i}]`, message: `guest path ${guest.error}` });
    const hostCheck = normaliseMountPath(host);
    if ('error' in hostCheck) return errors.push({ path: `--dir[${i}]`, message: `host path ${hostCheck.error}` });
    const mount: Mount = { host: hostCheck.path, guest: guest.path, mode: 'rw' };
    const at = mounts.findIndex((m) => m.guest === mount.guest);
    if (at >= 0) mounts[at] = mount;
    else mounts.push(mount);
  });
  const env = { ...base.env };
  (grants.env ?? []).forEach((spec, i) => {
    const eq = spec.indexOf('=');
    const name = eq >= 0 ? spec.slice(0, eq) : spec;
    if (name === '' || name.includes('\0')) return errors.push({ path: `--env[${i}]`, message: `bad variable name in "${spec}"` });
    const value = eq >= 0 ? spec.slice(eq + 1) : opts.hostEnv?.[name];
    if (value === undefined) return errors.push({ path: `--env[${i}]`, message: `expected NAME=VALUE, and "${name}" is not set on the host` });
    if (value.includes('\0')) return errors.push({ path: `--env[${i}]`, message: 'value must not contain NUL bytes' });
    env[name] = value;
  });
  if (grants.args?.some((a) => a.includes('\0'))) errors.push({ path: 'args', message: 'must not contain NUL bytes' });
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    manifest: { ...base, mounts, env, args: grants.args ? [...grants.args] : base.args },
  };
}

/** One line for `manifest check`: what is granted, at a glance. */
export function summariseManifest(m: Manifest): string {
  const mounts = m.mounts.length ? m.mounts.map((x) => `${x.guest}(${x.mode})`).join(' ') : 'none';
  const net = m.network.connect.length + m.network.listen.length ? `connect ${m.network.connect.length}, listen ${m.network.listen.length}` : 'none';
  const l = m.limits;
  return (
    `mounts: ${mounts}; env: ${Object.keys(m.env).length}; network: ${net}; ` +
    `limits: memory ${formatSize(l.memory)}, handles ${l.handles}, children ${l.children}, ` +
    `cpu_time ${formatDuration(l.cpuTimeMs)}, bytes_written ${formatSize(l.bytesWritten)}`
  );
}
