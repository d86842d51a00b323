// Prepared modules against node:wasi, alternating: each round runs node:wasi, drawbridge,
// drawbridge with the module prepared for checkpoints (Asyncify, tick counter) by its own
// rewriters, and the same prepared by Binaryen's wasm-opt (which also optimizes), one after the
// other, so that a slow moment of the machine hits all three alike; the ratios are of the
// medians over the rounds (`--reps`, 9 or more on a noisy machine). The time is the guest's run
// alone: every run compiles afresh (below), and the compile is a first run's cost, which the
// code cache takes away from the later ones (`bench compute` shows both). The continuity issue's bar:
// prepared within 1.15x of the WASI bar (≤ 1.02x node:wasi), so ≤ 1.17x.
// Usage: node bench/run.ts --reps 11 prepared

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { KERNELS } from './compute.ts';
import { wasmPath } from './lib/paths.ts';
import { runGuest, runMs } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';

export const prepared: Benchmark = {
  name: 'prepared',
  description: 'compute kernels prepared for checkpoints vs node:wasi, in alternating rounds',
  byDefault: false,
  async run(ctx: BenchContext) {
    const cache = mkdtempSync(join(tmpdir(), 'drawbridge-bench-cache-'));
    const binaryenCache = mkdtempSync(join(tmpdir(), 'drawbridge-bench-cache-wasm-opt-'));
    const rows: string[][] = [];
    try {
      for (const k of KERNELS) {
        // Each run compiles the module afresh (no code cache): where V8 places the machine code
        // moves a tight loop's speed by up to ~10%, and a cached compile would fix one placement
        // for all rounds (prepared qsort gave 1.12x in one run and 1.24x in the next that way).
        const spec = { module: wasmPath(k.name), args: [k.name, k.arg], hostEnv: { DRAWBRIDGE_CACHE: cache, DRAWBRIDGE_CODE_CACHE: '0' } };
        const prepSpec = { ...spec, prepared: true };
        const binaryenSpec = { ...prepSpec, instrumenter: 'wasm-opt' as const, hostEnv: { ...spec.hostEnv, DRAWBRIDGE_CACHE: binaryenCache } };
        // Not counted: the first runs prepare the module and fill the code cache.
        for (const s of [spec, prepSpec, binaryenSpec]) {
          const o = await runGuest('drawbridge', s, null);
          if (o.exitCode !== 0) ctx.fail(`prepared ${k.name}: exit ${o.exitCode}: ${o.stderr.trim()}`);
        }
        const t = { wasi: [] as number[], db: [] as number[], prep: [] as number[], binaryen: [] as number[] };
        for (let r = 0; r < ctx.reps; r++) {
          for (const [key, runner, s] of [
            ['wasi', 'node:wasi', spec],
            ['db', 'drawbridge', spec],
            ['prep', 'drawbridge', prepSpec],
            ['binaryen', 'drawbridge', binaryenSpec],
          ] as const) {
            const o = await runGuest(runner, s, null);
            if (o.exitCode !== 0) ctx.fail(`prepared ${k.name} ${key}: exit ${o.exitCode}: ${o.stderr.trim()}`);
            t[key].push(runMs(o));
          }
        }
        const [w, d, p, b] = [median(t.wasi), median(t.db), median(t.prep), median(t.binaryen)];
        rows.push([k.name, fixed(w, 0), fixed(d, 0), fixed(p, 0), fixed(b, 0), ratio(d / w), ratio(p / w), ratio(p / d), ratio(b / d)]);
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
      rmSync(binaryenCache, { recursive: true, force: true });
    }
    printTable(
      `Prepared modules (ms, median of ${ctx.reps} alternating rounds)`,
      ['kernel', 'node:wasi', 'drawbridge', 'db prepared', 'prepared by wasm-opt', 'db/node:wasi', 'prepared/node:wasi', 'prepared/db', 'wasm-opt/db'],
      rows,
    );
  },
};
