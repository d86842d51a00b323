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

/** Semi-space of the young generation, MiB, at the least (a worker's new space was 4 MiB here without it; V8 shrinks an idle one). */
export const POOL_MIN_SEMI_SPACE_MB = 16;

let poolDone = false;

/**
 * Before a pool starts its worker threads: a young generation of at least
 * POOL_MIN_SEMI_SPACE_MB per semi-space for every isolate made from now on (the workers'; the
 * main thread's heap was set up at Node's start, and the flag does not change it).
 *
 * Why: every start allocates young objects (~20 KiB) and the guest memory's ArrayBuffer, so a
 * young generation of V8's default size fills every few dozen starts, and each scavenge scans
 * every suspended guest stack, so it costs more the more picoprocesses wait. V8 grows the young
 * generation as a host gets busy and shrinks it back after ~10 s of quiet (its memory reducer),
 * so a burst of starts after a pause paid for growing it again. Measured (2 workers, the first
 * 1 000 starts of the density guest, --trace-gc): 23 scavenges and 6 mark-compacts before, 11
 * and 2 with 16 MiB; after serve's warm-up and 10 s idle, 5 230-5 740 starts/s before and
 * 6 734-10 952 with it (8 MiB: 3 889-7 236). The semi-spaces' pages become resident only as
 * they are used: an idle daemon's RSS did not change (171-178 MiB); a busy one holds at most
 * 2 x 16 MiB more per worker. The flag reaches the dedicated workers (one unprepared guest
 * each) too: 8 of them echoing 200 lines each took 32.1 MiB apiece against 28.3 without it.
 */
export function tuneV8ForPoolWorkers(): void {
  tuneV8ForManyMemories();
  if (poolDone) return;
  poolDone = true;
  setFlagsFromString(`--min-semi-space-size=${POOL_MIN_SEMI_SPACE_MB}`);
}
