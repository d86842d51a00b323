// 1. Compute kernels in C (xorshift, sha256, n-body, qsort): drawbridge vs node:wasi vs the
// same C built natively. Time is compile + instantiate + run inside the child (Node's own
// start-up excluded); native is the whole process. 'run only' compares the times without the
// compile. drawbridge compiles small modules eagerly with TurboFan and keeps the machine code
// in its on-disk code cache (src/runtime/code-cache.ts), so only the first process to run a
// module pays that compile: the bench gives drawbridge a fresh cache folder, reports that first
// (cold) run apart, and takes the median of the runs after it. Every run's checksum must be
// equal. 'db prepared' runs the module prepared for checkpoints (Asyncify and the tick
// counter), started as `drawbridge run` starts it.
// wasmtime 49 (the PyPI wheel, bench/lib/wasmtime.ts) is the second peer, in a second table:
// 'wasmtime' compiles with Cranelift in every process (as node:wasi compiles in V8), 'wasmtime
// AOT' loads the code that a first, uncounted run wrote (as `wasmtime compile` and `wasmtime
// run` of the .cwasm); their times are measured inside Python, and the whole process (Python's
// start and `import wasmtime` included) apart.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { guestMs, runGuest, runMs, type Runner } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { nativePath, wasmPath } from './lib/paths.ts';
import { pythonOwnMs, runWasmtime, WASMTIME_MISSING, wasmtimeVersion } from './lib/wasmtime.ts';

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
  description: 'compute kernels: drawbridge vs node:wasi vs native clang -O2 (and wasmtime, if its wheel is installed)',
  byDefault: true,
  async run(ctx: BenchContext) {
    const rows: string[][] = [];
    const peerRows: string[][] = [];
    const wasmtime = wasmtimeVersion();
    const cache = mkdtempSync(join(tmpdir(), 'drawbridge-bench-cache-'));
    const hostEnv = { DRAWBRIDGE_CACHE: cache };
    try {
      for (const k of KERNELS) {
        const times: Record<Runner, number[]> = { native: [], 'node:wasi': [], drawbridge: [] };
        const compiles: Record<Runner, number[]> = { native: [], 'node:wasi': [], drawbridge: [] };
        const sums = new Set<string>();
        const spec = { module: wasmPath(k.name), args: [k.name, k.arg], hostEnv };
        const cold = await runGuest('drawbridge', spec, null);
        if (cold.exitCode !== 0) ctx.fail(`compute ${k.name} drawbridge (cold cache): exit ${cold.exitCode}: ${cold.stderr.trim()}`);
        sums.add(cold.stdout.trim());
        // Prepared for checkpoints (as `drawbridge run` runs it): this first run makes the
        // prepared module (wasm-opt, ~1 s) and is not counted.
        const preparedSpec = { ...spec, prepared: true };
        const first = await runGuest('drawbridge', preparedSpec, null);
        if (first.exitCode !== 0) ctx.fail(`compute ${k.name} drawbridge prepared: exit ${first.exitCode}: ${first.stderr.trim()}`);
        const preparedTimes: number[] = [];
        // wasmtime: the first AOT run compiles and writes the precompiled code (not counted).
        const aotSpec = { ...spec, aot: join(cache, `${k.name}.cwasm`) };
        const wt = {
          jit: [] as number[],
          jitCompile: [] as number[],
          aot: [] as number[],
          aotRun: [] as number[],
          aotWall: [] as number[],
          python: [] as number[],
        };
        if (wasmtime) {
          const o = await runWasmtime(aotSpec);
          if (o.exitCode !== 0 || o.result!.exitCodes.some((c) => c !== 0))
            ctx.fail(`compute ${k.name} wasmtime (precompile): exit ${o.exitCode}: ${o.stderr.trim()}`);
          sums.add(o.stdout.trim());
        }
        // Interleaved, so that a slow moment of the machine hits all three alike.
        for (let rep = 0; rep < ctx.reps; rep++) {
          for (const runner of RUNNERS) {
            const o = await runGuest(runner, spec, nativePath(k.name));
            if (o.exitCode !== 0 || (o.result && o.result.exitCodes.some((c) => c !== 0)))
              ctx.fail(`compute ${k.name} ${runner}: exit ${o.exitCode}: ${o.stderr.trim()}`);
            sums.add(o.stdout.trim());
            times[runner].push(guestMs(o));
            compiles[runner].push(o.result?.compileMs ?? 0);
          }
          if (wasmtime) {
            for (const aot of [false, true]) {
              const o = await runWasmtime(aot ? aotSpec : spec);
              if (o.exitCode !== 0 || o.result!.exitCodes.some((c) => c !== 0))
                ctx.fail(`compute ${k.name} wasmtime${aot ? ' AOT' : ''}: exit ${o.exitCode}: ${o.stderr.trim()}`);
              sums.add(o.stdout.trim());
              if (aot) {
                wt.aot.push(guestMs(o));
                wt.aotRun.push(runMs(o));
                wt.aotWall.push(o.wallMs);
                wt.python.push(pythonOwnMs(o) + o.result!.importMs!);
              } else {
                wt.jit.push(guestMs(o));
                wt.jitCompile.push(o.result!.compileMs);
              }
            }
          }
          const p = await runGuest('drawbridge', preparedSpec, null);
          if (p.exitCode !== 0 || p.result!.exitCodes.some((c) => c !== 0))
            ctx.fail(`compute ${k.name} drawbridge prepared: exit ${p.exitCode}: ${p.stderr.trim()}`);
          sums.add(p.stdout.trim());
          preparedTimes.push(guestMs(p));
        }
        if (sums.size !== 1) ctx.fail(`compute ${k.name}: checksums differ: ${[...sums].join(' / ')}`);
        const [n, w, d] = RUNNERS.map((r) => median(times[r]));
        const [wc, dc] = [median(compiles['node:wasi']), median(compiles.drawbridge)];
        rows.push([
          k.name,
          fixed(n!, 0),
          fixed(w!, 0),
          fixed(d!, 0),
          fixed(dc, 0),
          ratio(d! / w!),
          ratio((d! - dc) / (w! - wc)),
          ratio(d! / n!),
          ratio(w! / n!),
          fixed(guestMs(cold), 0),
          fixed(cold.result!.compileMs, 0),
          fixed(median(preparedTimes), 0),
          ratio(median(preparedTimes) / w!),
          sums.size === 1 ? 'equal' : 'DIFFER',
        ]);
        const wa = median(wt.aot);
        peerRows.push(
          wasmtime
            ? [
                k.name,
                fixed(n!, 0),
                fixed(w!, 0),
                fixed(d!, 0),
                fixed(median(wt.jit), 0),
                fixed(median(wt.jitCompile), 0),
                fixed(wa, 0),
                ratio(d! / w!),
                ratio(d! / wa),
                ratio((d! - dc) / median(wt.aotRun)),
                ratio(d! / n!),
                ratio(wa / n!),
                fixed(median(wt.aotWall), 0),
                fixed(median(wt.python), 0),
                sums.size === 1 ? 'equal' : 'DIFFER',
              ]
            : [k.name, fixed(n!, 0), fixed(w!, 0), fixed(d!, 0), WASMTIME_MISSING, ...Array<string>(10).fill('-')],
        );
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
    printTable(
      `Compute kernels (ms, median of ${ctx.reps}; drawbridge and node:wasi: compile + instantiate + run; drawbridge's code cache warm, and its first run with the cache cold)`,
      [
        'kernel',
        'native',
        'node:wasi',
        'drawbridge',
        'db compile',
        'db/node:wasi',
        'run only',
        'db/native',
        'node:wasi/native',
        'db cold cache',
        'cold compile',
        'db prepared',
        'prepared/node:wasi',
        'checksums',
      ],
      rows,
    );
    printTable(
      `Compute kernels against wasmtime ${wasmtime ?? '(missing)'} as a second peer, same runs (ms, median of ${ctx.reps}; wasmtime: compile + instantiate + run, its AOT: load of precompiled code + instantiate + run, measured inside Python; its whole process, Python's start and import wasmtime included, parent-measured)`,
      [
        'kernel',
        'native',
        'node:wasi',
        'drawbridge',
        'wasmtime',
        'wt compile',
        'wasmtime AOT',
        'db/node:wasi',
        'db/wasmtime AOT',
        'run only db/wt AOT',
        'db/native',
        'wt AOT/native',
        'wt AOT process',
        'of it Python + import',
        'checksums',
      ],
      peerRows,
    );
  },
};
