// V8 settings for a host service's pool of worker threads, over those of every process that
// holds many Wasm memories (src/runtime/v8-tuning.ts).

import { setFlagsFromString } from 'node:v8';
import { tuneV8ForManyMemories } from '../../runtime/v8-tuning.ts';

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
