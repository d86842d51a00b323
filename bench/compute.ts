// 1. Compute kernels in C (xorshift, sha256, n-body, qsort): drawbridge vs node:wasi vs the
// same C built natively. Time is compile + instantiate + run inside the child (Node's own
// start-up excluded); native is the whole process. 'run only' compares the times without the
// compile (drawbridge compiles small modules eagerly with TurboFan, which costs up front; a
// daemon compiles a module once). Every run's checksum must be equal.

import type { Benchmark, BenchContext } from './lib/context.ts';
import { guestMs, runGuest, type Runner } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { nativePath, wasmPath } from './lib/paths.ts';

/** Sized so that the native run takes ~0.5-0.8 s on the 2-core reference machine. */
export const KERNELS: { name: string; arg: string }[] = [
  { name: 'xorshift', arg: '150000000' },
  { name: 'sha256', arg: '6' },
  { name: 'nbody', arg: '6000000' },
  { name: 'qsort', arg: '4' },
];

const RUNNERS: Runner[] = ['native', 'node:wasi', 'drawbridge'];

export const compute: Benchmark = {
  name: 'compute',
  description: 'compute kernels: drawbridge vs node:wasi vs native clang -O2',
  byDefault: true,
  async run(ctx: BenchContext) {
    const rows: string[][] = [];
    for (const k of KERNELS) {
      const times: Record<Runner, number[]> = { native: [], 'node:wasi': [], drawbridge: [] };
      const compiles: Record<Runner, number[]> = { native: [], 'node:wasi': [], drawbridge: [] };
      const sums = new Set<string>();
      // Interleaved, so that a slow moment of the machine hits all three alike.
      for (let rep = 0; rep < ctx.reps; rep++) {
        for (const runner of RUNNERS) {
          const o = await runGuest(runner, { module: wasmPath(k.name), args: [k.name, k.arg] }, nativePath(k.name));
          if (o.exitCode !== 0 || (o.result && o.result.exitCodes.some((c) => c !== 0))) ctx.fail(`compute ${k.name} ${runner}: exit ${o.exitCode}: ${o.stderr.trim()}`);
          sums.add(o.stdout.trim());
          times[runner].push(guestMs(o));
          compiles[runner].push(o.result?.compileMs ?? 0);
        }
      }
      if (sums.size !== 1) ctx.fail(`compute ${k.name}: checksums differ: ${[...sums].join(' / ')}`);
      const [n, w, d] = RUNNERS.map((r) => median(times[r]));
      const [wc, dc] = [median(compiles['node:wasi']), median(compiles.drawbridge)];
      rows.push([k.name, fixed(n!, 0), fixed(w!, 0), fixed(d!, 0), fixed(dc, 0), ratio(d! / w!), ratio((d! - dc) / (w! - wc)), ratio(d! / n!), ratio(w! / n!), sums.size === 1 ? 'equal' : 'DIFFER']);
    }
    printTable(
      `Compute kernels (ms, median of ${ctx.reps}; drawbridge and node:wasi: compile + instantiate + run)`,
      ['kernel', 'native', 'node:wasi', 'drawbridge', 'db compile', 'db/node:wasi', 'run only', 'db/native', 'node:wasi/native', 'checksums'],
      rows,
    );
  },
};
