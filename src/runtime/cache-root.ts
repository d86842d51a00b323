// Where drawbridge keeps what it makes once and reuses: prepared modules (prepare.ts) and
// compiled code (code-cache.ts). bin/drawbridge.js, plain JavaScript that runs before any of
// this is loaded, computes the same path to look for a prepared module.

import { homedir } from 'node:os';
import { join } from 'node:path';

/** $DRAWBRIDGE_CACHE, or ~/.cache/drawbridge (XDG_CACHE_HOME honoured). */
export function cacheRoot(): string {
  return process.env.DRAWBRIDGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'drawbridge');
}
