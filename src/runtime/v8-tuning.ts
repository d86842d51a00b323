// V8 settings for a process that holds many Wasm memories: a host service's pool, or a program
// that forks (every child is a new instance with a memory of its own).
//
// V8 counts each Wasm memory's pages as "external memory" and, by default, starts a full
// mark-compact every time that external total has grown by some tens of MiB. A thousand
// picoprocesses of two pages each make a GC every few hundred starts, each one longer as the
// heap fills; a program that forks in a loop, whose children carry its memory and the 1 MiB of
// its capture buffer, made one every fifty forks. With external memory counted in V8's global
// heap limit instead (--external-memory-accounted-in-global-limit) a memory is created several
// times faster with thousands alive, a host fills up to its thousands of picoprocesses several
// times faster, and a loop of 500 forks runs 2 mark-compacts instead of 11 (docs/serve.md,
// "Density"; docs/snapshot.md, "fork"). The pages themselves are untouched (not resident)
// until a guest writes them, so the GCs that flag saves would reclaim nothing.
//
// Flags are process-wide (every worker thread shares them), so setting it once is enough.

import { setFlagsFromString } from 'node:v8';

let done = false;

export function tuneV8ForManyMemories(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--external-memory-accounted-in-global-limit');
}
