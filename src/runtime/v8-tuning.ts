// V8 settings for a process that holds many Wasm memories: a host service's pool, or a program
// that forks (every child is a new instance with a memory of its own).
//
// V8 counts each Wasm memory's pages as "external memory" and, by default, starts a full
// mark-compact every time that external total has grown by some tens of MiB: a host with
// thousands of picoprocesses, or a program that forks in a loop (its children carry its memory
// and the 1 MiB of its capture buffer), runs one after every few dozen or hundred memories,
// each longer as the heap fills. With external memory counted in V8's global heap limit instead
// (--external-memory-accounted-in-global-limit) those collections mostly go away (the figures:
// docs/serve.md, "Density"; docs/snapshot.md, "fork"). The pages themselves are untouched (not
// resident) until a guest writes them, so the GCs that flag saves would reclaim nothing.
//
// Flags are process-wide (every worker thread shares them), so setting it once is enough.

import { setFlagsFromString } from 'node:v8';

let done = false;

export function tuneV8ForManyMemories(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--external-memory-accounted-in-global-limit');
}
