// Path text rules shared by the manifest (mount points) and the monitor (guest URIs).
// Paths are '/'-separated and absolute; lengths are counted in UTF-8 bytes like POSIX.

export const NAME_MAX = 255;
export const PATH_MAX = 4096;

const encoder = new TextEncoder();
export function utf8Length(s: string): number {
  // Fast path: ASCII-only strings are as long in bytes as in UTF-16 units.
  return /^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).length;
}

/** The components of an absolute path, without empty ones and '.'; '..' is kept (the walk resolves it). */
export function pathComponents(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Normalises a mount point written in a manifest: absolute, no NUL, no '..' (a mount point
 * that depends on what '..' means is a mistake worth reporting), repeated slashes, '.' and a
 * trailing slash removed. Returns the normalised path or an error message.
 */
export function normaliseMountPath(path: string): { path: string } | { error: string } {
  if (path.includes('\0')) return { error: 'must not contain NUL bytes' };
  if (!path.startsWith('/')) return { error: `must be an absolute path (starting with "/"), got "${path}"` };
  const parts = pathComponents(path);
  if (parts.includes('..')) return { error: `must not contain ".." components, got "${path}"` };
  if (parts.some((p) => utf8Length(p) > NAME_MAX)) return { error: `has a component longer than ${NAME_MAX} bytes` };
  const out = '/' + parts.join('/');
  if (utf8Length(out) > PATH_MAX) return { error: `longer than ${PATH_MAX} bytes` };
  return { path: out };
}

/** Whether `path` is `prefix` or lies below it (both normalised). */
export function isUnder(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(prefix + '/');
}

/** Joins a normalised absolute directory and relative components. */
export function joinPath(dir: string, parts: readonly string[]): string {
  if (parts.length === 0) return dir;
  return (dir === '/' ? '' : dir) + '/' + parts.join('/');
}
