// V8 settings for a host that holds thousands of Wasm memories.
//
// V8 counts each Wasm memory's pages as "external memory" and, by default, starts a full
// mark-compact every time that external total has grown by some tens of MiB. A thousand
// picoprocesses of two pages each make a GC every few hundred starts, each one longer as the
// heap fills. With external memory counted in V8's global heap limit instead
// (--external-memory-accounted-in-global-limit) a memory is created several times faster
// with thousands alive, and a host fills up to its thousands of picoprocesses several times
// faster (docs/serve.md, "Density"). The pages themselves are untouched (not resident) until
// a guest writes them, so the GCs that flag saves would reclaim nothing.
//
// Flags are process-wide (every worker thread shares them), so setting it once is enough.

import { setFlagsFromString } from 'node:v8';

let done = false;

export function tuneV8ForManyMemories(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--external-memory-accounted-in-global-limit');
}

/** Semi-space of the young generation, MiB, at the least (above V8's default for a worker, which V8 also shrinks when idle). */
export const POOL_MIN_SEMI_SPACE_MB = 16;

let poolDone = false;

/**
 * Before a pool starts its worker threads: a young generation of at least
 * POOL_MIN_SEMI_SPACE_MB per semi-space for every isolate made from now on (the workers'; the
 * main thread's heap was set up at Node's start, and the flag does not change it).
 *
 * Why: every start allocates young objects and the guest memory's ArrayBuffer, so a young
 * generation of V8's default size fills every few dozen starts, and each scavenge scans every
 * suspended guest stack, so it costs more the more picoprocesses wait. V8 grows the young
 * generation as a host gets busy and shrinks it back after some seconds of quiet (its memory
 * reducer), so a burst of starts after a pause would pay for growing it again. With the floor
 * a worker's first starts run fewer GCs and a burst after a pause starts as fast as before it
 * (the figures: docs/serve.md, "Density"). The semi-spaces' pages become resident only as they
 * are used: an idle daemon's RSS does not change; a busy one holds at most
 * 2 x POOL_MIN_SEMI_SPACE_MB more per worker. The flag reaches the dedicated workers (one
 * unprepared guest each) too, which then hold a little more memory each.
 */
export function tuneV8ForPoolWorkers(): void {
  tuneV8ForManyMemories();
  if (poolDone) return;
  poolDone = true;
  setFlagsFromString(`--min-semi-space-size=${POOL_MIN_SEMI_SPACE_MB}`);
}
