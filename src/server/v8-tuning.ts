// V8 settings for a host that holds thousands of Wasm memories.
//
// V8 counts each Wasm memory's pages as "external memory" and, by default, starts a full
// mark-compact every time that external total has grown by some tens of MiB. A thousand
// picoprocesses of two pages each make a GC every few hundred starts, each one longer as the
// heap fills: measured, creating a 2-page memory cost ~50 µs with 3 000 alive, ~20 µs with
// external memory counted in V8's global heap limit instead (--external-memory-accounted-in-
// global-limit), and the density benchmark's start rate at N = 10 000 went from ~360/s to
// ~1 450/s. The pages themselves are untouched (not resident) until a guest writes them, so
// the GCs that flag saves were reclaiming nothing.
//
// Flags are process-wide (every worker thread shares them), so setting it once is enough.

import { setFlagsFromString } from 'node:v8';

let done = false;

export function tuneV8ForManyMemories(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--external-memory-accounted-in-global-limit');
}
