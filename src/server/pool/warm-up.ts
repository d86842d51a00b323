// A daemon warms its start path before it takes requests: it starts and ends WARM_UP_STARTS
// picoprocesses of a tiny built-in guest, then forgets them (ids start at 1 after it).
//
// Why: the first thousand starts of a fresh host run markedly slower than those of a host
// that has been serving a while: garbage collection while V8 grows the heap (none once it has
// grown), and the start path's JavaScript running in V8's lower tiers until it has been
// called some thousands of times. A guest of a few instructions exercises the same path (the
// host, library OS, monitor and supervisor code is the same for every module): warming with
// it makes the next thousand starts of another module as fast as warming with that module
// itself. It costs a fraction of a second, once, before the daemon listens; `drawbridge serve
// --warm-up 0` skips it. With --workers 0 (one thread for all) it gained nothing: not done
// there unless asked for. Its gain lasts through quiet spells because the pool keeps its
// workers' young generations from shrinking (v8-tuning.ts, tuneV8ForPoolWorkers): without
// that, V8 gives the grown heap back after some seconds idle and the next thousand starts run
// as if cold. The figures: docs/serve.md, "Worker threads" and "Density".
//
// The guest is built here, in code (like page-sum.ts's), so the daemon needs no file: its
// _start reads stdin once (empty: end of input) and returns, as an interactive program that
// is told to stop would. It is prepared like any module (Asyncify, ticks; cached on disk), so
// the prepared path warms; without preparation (no wasm-opt, --no-prepare) a pool would give
// each start a worker thread of its own, so nothing is warmed.

import { concat, leb, MODULE_HEADER, nameBytes, section, sleb } from '../../wasm/binary.ts';
import type { Pool } from './pool.ts';

export const WARM_UP_STARTS = 2000;

const I32 = 0x7f;

/** wasi_snapshot_preview1 command: _start { e = fd_read(0, [{buf 64, len 16}], 1, &nread at 8); if e: proc_exit(e) }. */
export function warmUpModuleBytes(): Uint8Array {
  const i32 = (n: number) => [0x41, ...sleb(n)]; // i32.const
  const body = [
    1,
    1,
    I32, // one local: fd_read's errno
    ...i32(0),
    ...i32(64),
    0x36,
    2,
    0, // iovec at 0: buf = 64 (i32.store align 4, offset 0)
    ...i32(0),
    ...i32(16),
    0x36,
    2,
    4, //              len = 16 (offset 4)
    ...i32(0),
    ...i32(0),
    ...i32(1),
    ...i32(8),
    0x10,
    0, // fd_read(0, 0, 1, 8)
    0x22,
    0,
    0x04,
    0x40,
    0x20,
    0,
    0x10,
    1,
    0x0b, // if errno: proc_exit(errno)
    0x0b,
  ];
  const wasi = nameBytes('wasi_snapshot_preview1');
  return concat([
    MODULE_HEADER,
    // types: 0 (i32 i32 i32 i32) -> i32, 1 (i32) -> (), 2 () -> ()
    section(1, [3, 0x60, 4, I32, I32, I32, I32, 1, I32, 0x60, 1, I32, 0, 0x60, 0, 0]),
    section(2, [2, ...wasi, ...nameBytes('fd_read'), 0, 0, ...wasi, ...nameBytes('proc_exit'), 0, 1]),
    section(3, [1, 2]), // function 2 (_start): type 2
    section(5, [1, 0, 2]), // memory: 2 pages (a C program's least)
    section(7, [2, ...nameBytes('memory'), 2, 0, ...nameBytes('_start'), 0, 2]),
    section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** Who watches a warm-up: told the count once it begins (not when it is skipped), then each end. */
export interface WarmUpProgress {
  start(total: number): void;
  ended(count: number): void;
}

export interface WarmUpResult {
  /** Picoprocesses started and ended (0: skipped, `skipped` says why). */
  starts: number;
  ms: number;
  skipped?: string;
}

/**
 * Warm a pool that has started nothing yet (see the top of this file) with `guest` (the built-in
 * one unless a test gives another); `starts` undefined:
 * WARM_UP_STARTS with worker threads, none on the main thread alone (--workers 0), where it
 * gains nothing (a warmed main-thread pool started the density guest no faster: README,
 * "Density").
 */
export async function warmUpPool(pool: Pool, starts?: number, guest: Uint8Array = warmUpModuleBytes(), progress?: WarmUpProgress): Promise<WarmUpResult> {
  const t0 = performance.now();
  if (starts === undefined && pool.onMainThread) return { starts: 0, ms: 0, skipped: 'none by default with --workers 0' };
  starts ??= WARM_UP_STARTS;
  if (!Number.isSafeInteger(starts) || starts < 0) throw new Error(`warm-up: ${starts}: expected a count of 0 or more`);
  if (starts === 0) return { starts: 0, ms: 0, skipped: 'asked for none' };
  let done: number;
  try {
    const module = await pool.load(guest, 'warm-up');
    progress?.start(starts);
    done = await pool.warmUp(module, starts, progress?.ended);
  } catch (e) {
    // A host that cannot start this guest will say so about the tenants' own: start anyway.
    return { starts: 0, ms: Math.round(performance.now() - t0), skipped: `failed: ${(e as Error).message}` };
  }
  const ms = Math.round(performance.now() - t0);
  return done === 0 ? { starts: 0, ms, skipped: 'modules are not prepared here: each would get a worker thread of its own' } : { starts: done, ms };
}
