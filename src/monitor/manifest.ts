// The manifest: what a picoprocess is granted (DESIGN.md, "Security monitor and manifest").
// TOML text, parsed with smol-toml and validated by one zod schema; every error names the
// field it is about (`mounts[1].mode: expected "ro" or "rw"`). Absent means nothing granted:
// no mounts, no environment, no network, and limits at the defaults below.
// The format is documented in docs/manifest.md.

import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { normaliseMountPath, pathComponents } from './guest-path.ts';
import { parseEndpointPattern, type EndpointPattern } from './network-pattern.ts';
import { formatDuration, formatSize, parseDurationMs, parseSize } from './units.ts';

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
  mounts: Mount[];
  env: Record<string, string>;
  /** Arguments the manifest fixes; null when it leaves them to the command line. */
  args: string[] | null;
  network: NetworkGrants;
  limits: Limits;
  /** Extensions to stack, top (nearest the library OS) first; null when absent. */
  extensions: ExtensionEntry[] | null;
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
  };
}

// ---------------------------------------------------------------------------------------------
// Schema

const HANDLES_MAX = 1_000_000;

const required = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? 'required' : `expected ${what}`;

const noNul = (what: string) =>
  z.string({ error: required(what) }).refine((s) => !s.includes('\0'), 'must not contain NUL bytes');

const mountPath = (what: string) =>
  z.string({ error: required(what) }).transform((s, ctx) => {
    const r = normaliseMountPath(s);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r.path;
  });

const mountSchema = z.strictObject(
  {
    host: mountPath('an absolute host path'),
    guest: mountPath('an absolute guest path'),
    mode: z.enum(['ro', 'rw'], { error: 'expected "ro" or "rw"' }),
  },
  { error: 'expected a table { host = "...", guest = "...", mode = "ro" | "rw" }' },
);

const mountsSchema = z.array(mountSchema, { error: 'expected an array of tables ([[mounts]])' }).superRefine((mounts, ctx) => {
  const seen = new Map<string, number>();
  mounts.forEach((m, i) => {
    const first = seen.get(m.guest);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'guest'], message: `duplicate mount point "${m.guest}" (also mounts[${first}])` });
    } else {
      seen.set(m.guest, i);
    }
  });
});

const envSchema = z
  .record(z.string(), noNul('a string value'), { error: 'expected a table of NAME = "value"' })
  .superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      if (name === '' || name.includes('=') || name.includes('\0')) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'a variable name must be non-empty, without "=" or NUL' });
      }
    }
  });

const endpointList = z.array(
  z.string({ error: required('a "host:port" string') }).transform((s, ctx) => {
    const r = parseEndpointPattern(s);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  }),
  { error: 'expected an array of "host:port" strings' },
);

const networkSchema = z.strictObject(
  { connect: endpointList.optional(), listen: endpointList.optional() },
  { error: 'expected a table with connect = [...] and listen = [...]' },
);

function unitField(parse: (v: unknown) => number | string) {
  return z.unknown().transform((v, ctx) => {
    const r = parse(v);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  });
}

const count = (max: number) =>
  z
    .number({ error: required('a whole number') })
    .int('expected a whole number')
    .min(0, 'must be >= 0')
    .max(max, `must be <= ${max}`);

const limitsSchema = z.strictObject(
  {
    memory: unitField(parseSize).optional(),
    handles: count(HANDLES_MAX).optional(),
    children: count(HANDLES_MAX).optional(),
    cpu_time: unitField(parseDurationMs).optional(),
    bytes_written: unitField(parseSize).optional(),
  },
  { error: 'expected a table' },
);

// [[extensions]] name = "trace"  options = { format = "json" }: an ordered list (the stack order).
// The short table form `[extensions] trace = { format = "json" }` is read as the same list, in
// key order (one entry per name).
const extensionOptionsSchema = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' }).transform(String),
  { error: 'expected a table of options' },
);

const extensionsSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v).map(([name, options]) => ({ name, options })) : v),
  z.array(
    z.strictObject(
      {
        name: z.string({ error: required('a string: a built-in extension, a module path or a package name') }).min(1, 'must not be empty'),
        options: extensionOptionsSchema.optional(),
      },
      { error: 'expected a table { name = "...", options = { ... } }' },
    ),
    { error: 'expected an array of tables ([[extensions]])' },
  ),
);

const manifestSchema = z.strictObject(
  {
    mounts: mountsSchema.optional(),
    env: envSchema.optional(),
    args: z.array(noNul('a string'), { error: 'expected an array of strings' }).optional(),
    network: networkSchema.optional(),
    limits: limitsSchema.optional(),
    extensions: extensionsSchema.optional(),
  },
  { error: 'expected a table' },
);

// ---------------------------------------------------------------------------------------------
// Errors

/** ["mounts", 1, "mode"] -> "mounts[1].mode"; odd keys quoted: env["A=B"]. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(manifest)';
}

function zodErrors(error: z.ZodError): ManifestError[] {
  const out: ManifestError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatFieldPath([...issue.path, key]), message: 'unknown key' });
    } else {
      out.push({ path: formatFieldPath(issue.path), message: issue.message });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building

/**
 * Validates a manifest given as plain data, in the same shape as the TOML (snake_case keys):
 * how a program builds one without text. `parseManifest` goes through here too.
 */
export function buildManifest(input: unknown): ManifestResult {
  const r = manifestSchema.safeParse(input ?? {});
  if (!r.success) return { ok: false, errors: zodErrors(r.error) };
  const v = r.data;
  const m = emptyManifest();
  m.mounts = (v.mounts ?? []).map((x) => ({ host: x.host, guest: x.guest, mode: x.mode }));
  m.env = Object.fromEntries(Object.entries(v.env ?? {}));
  m.args = v.args ? [...v.args] : null;
  m.network = { connect: v.network?.connect ?? [], listen: v.network?.listen ?? [] };
  const l = v.limits ?? {};
  m.limits = {
    memory: l.memory ?? DEFAULT_LIMITS.memory,
    handles: l.handles ?? DEFAULT_LIMITS.handles,
    children: l.children ?? DEFAULT_LIMITS.children,
    cpuTimeMs: l.cpu_time ?? DEFAULT_LIMITS.cpuTimeMs,
    bytesWritten: l.bytes_written ?? DEFAULT_LIMITS.bytesWritten,
  };
  m.extensions = v.extensions ? v.extensions.map((x) => ({ name: x.name, options: { ...(x.options ?? {}) } })) : null;
  return { ok: true, manifest: m };
}

/** Parses and validates manifest text. `sourceName` only labels TOML syntax errors. */
export function parseManifest(text: string, sourceName?: string): ManifestResult {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (e) {
    if (e instanceof TomlError) {
      // The first line of smol-toml's message is the cause; the rest is a code excerpt.
      const cause = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      const where = `${sourceName ? sourceName + ':' : ''}${e.line}:${e.column}`;
      return { ok: false, errors: [{ path: '(toml)', message: `syntax error at ${where}: ${cause}` }] };
    }
    return { ok: false, errors: [{ path: '(toml)', message: `cannot parse: ${String(e)}` }] };
  }
  return buildManifest(data);
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
  const mounts = m.mounts.length
    ? m.mounts.map((x) => `${x.guest}(${x.mode})`).join(' ')
    : 'none';
  const net = m.network.connect.length + m.network.listen.length
    ? `connect ${m.network.connect.length}, listen ${m.network.listen.length}`
    : 'none';
  const l = m.limits;
  return (
    `mounts: ${mounts}; env: ${Object.keys(m.env).length}; network: ${net}; ` +
    `limits: memory ${formatSize(l.memory)}, handles ${l.handles}, children ${l.children}, ` +
    `cpu_time ${formatDuration(l.cpuTimeMs)}, bytes_written ${formatSize(l.bytesWritten)}`
  );
}
