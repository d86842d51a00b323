// Parsing and validating a manifest: TOML (smol-toml) checked by one zod schema, every error
// naming its field. Apart from manifest.ts so that a run without a manifest never loads zod.

import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { normaliseMountPath } from '../guest-path.ts';
import { parseEndpointPattern } from '../network/pattern.ts';
import { parseDurationMs, parseSize } from './units.ts';
import { DEFAULT_LIMITS, emptyManifest, type ManifestError, type ManifestResult } from './manifest.ts';

// ---------------------------------------------------------------------------------------------
// Schema

const HANDLES_MAX = 1_000_000;

const required = (what: string) => (iss: { input?: unknown }) => (iss.input === undefined ? 'required' : `expected ${what}`);

const noNul = (what: string) => z.string({ error: required(what) }).refine((s) => !s.includes('\0'), 'must not contain NUL bytes');

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

const envSchema = z.record(z.string(), noNul('a string value'), { error: 'expected a table of NAME = "value"' }).superRefine((env, ctx) => {
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

const sha256Hex = z
  .string({ error: required('a SHA-256 as 64 hex digits') })
  .regex(/^[0-9a-fA-F]{64}$/, 'expected a SHA-256 as 64 hex digits')
  .transform((s) => s.toLowerCase());

// [trusted_files] "/guest/path" = "sha256": files checked against the bytes read (trusted-files.ts).
const trustedFilesSchema = z
  .record(z.string(), sha256Hex, { error: 'expected a table of "/guest/path" = "sha256"' })
  .superRefine((files, ctx) => {
    for (const path of Object.keys(files)) {
      const r = normaliseMountPath(path);
      if ('error' in r) ctx.addIssue({ code: 'custom', path: [path], message: `guest path ${r.error}` });
    }
  })
  .transform((files) => {
    const out: Record<string, string> = {};
    for (const [path, hash] of Object.entries(files)) {
      const r = normaliseMountPath(path);
      if ('path' in r) out[r.path] = hash;
    }
    return out;
  });

// [continuity] mode = "log" (log = "FILE"): how a checkpoint captures it (docs/durable.md).
const continuitySchema = z.strictObject(
  {
    mode: z.enum(['log', 'snapshot'], { error: 'expected "log" or "snapshot"' }).optional(),
    log: noNul('a file path').pipe(z.string().min(1, 'must not be empty')).optional(),
    durable: z.boolean({ error: 'expected true or false' }).optional(),
  },
  { error: 'expected a table { mode = "log" | "snapshot", log = "FILE", durable = true | false }' },
);

// [placement] labels = { zone = "east" }: in a cluster, a host whose labels hold these (docs/cluster.md).
const placementSchema = z.strictObject(
  {
    labels: z.record(
      z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a label name is letters, digits, _ . - (at most 64)'),
      z.string().regex(/^[A-Za-z0-9_.:-]{0,128}$/, 'a label value is letters, digits, _ . : - (at most 128)'),
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'expected a table of strings'
            : issue.code === 'invalid_key'
              ? 'a label name is letters, digits, _ . - (at most 64)'
              : undefined,
      },
    ),
  },
  { error: 'expected a table { labels = { NAME = "VALUE", ... } }' },
);

const manifestSchema = z.strictObject(
  {
    mounts: mountsSchema.optional(),
    env: envSchema.optional(),
    args: z.array(noNul('a string'), { error: 'expected an array of strings' }).optional(),
    network: networkSchema.optional(),
    limits: limitsSchema.optional(),
    extensions: extensionsSchema.optional(),
    module_sha256: sha256Hex.optional(),
    trusted_files: trustedFilesSchema.optional(),
    continuity: continuitySchema.optional(),
    placement: placementSchema.optional(),
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
  m.moduleSha256 = v.module_sha256 ?? null;
  m.trustedFiles = { ...(v.trusted_files ?? {}) };
  if (v.continuity) {
    m.continuity = { mode: v.continuity.mode ?? 'snapshot', log: v.continuity.log ?? null };
    if (v.continuity.durable !== undefined) m.continuity.durable = v.continuity.durable;
  }
  if (v.placement) m.placement = { labels: { ...v.placement.labels } };
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
