// 4. Start-up of a hello-world command.
//  - in process: the module compiled once (drawbridge caches by content hash), then run many
//    times in the same process; mean ms per run (instantiate + _start + exit), first run excluded.
//  - as a whole CLI process: `node bin/drawbridge.js run hello.wasm` against a plain node:wasi
//    script (bench/lib/nodewasi-cli.mjs); mean ms per process, including Node's own start-up.
//    The CLI runs from dist/, which is rebuilt first when src/ is newer.
//  - the first run of a module never seen (an empty DRAWBRIDGE_CACHE: prepared, compiled, its
//    code cached) against the run after it, whole CLI processes, for hello and for the sha256
//    kernel of `bench compute`: what preparing at first run costs a user.
//  - wasmtime 49 (the PyPI wheel, bench/lib/wasmtime.ts) beside them: in process as the others
//    (compiled once, then run many times); as a whole process, bench/lib/wasmtime-runner.py
//    loading precompiled code (as `wasmtime run` of a `wasmtime compile` output). That process
//    is Python's start and `import wasmtime` plus wasmtime's own part; both are reported apart,
//    since Python's start is not wasmtime's (the wasmtime CLI, a native binary, starts in a few ms).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { runGuest, runProcess, type Outcome, type Runner } from './lib/spawn.ts';
import { fixed, mean, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { NODE, ROOT, wasmPath } from './lib/paths.ts';
import { pythonOwnMs, runWasmtime, WASMTIME_MISSING, wasmtimeVersion } from './lib/wasmtime.ts';
import { KERNELS } from './compute.ts';

const IN_PROCESS_RUNS = 300;
const CLI_RUNS = 10;
const EXPECTED = 'hello from a picoprocess';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Make sure dist/ (what bin/drawbridge.js runs) is built from the current src/; false if it cannot be. */
export function ensureDist(): boolean {
  // bin/drawbridge.js runs the esbuild bundle (dist/cli-bundle) when there is one.
  const main = join(ROOT, 'dist', 'cli-bundle', 'main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(ROOT, 'src'))) return true;
  console.log('(building dist/ for the CLI: npm run build)');
  try {
    execFileSync('npm', ['run', 'build'], {
      cwd: ROOT,
      stdio: 'pipe',
      env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
    });
  } catch (e) {
    console.log(
      `(the build failed: ${String((e as { stdout?: Buffer }).stdout ?? '')
        .split('\n')
        .slice(-3)
        .join(' ')})`,
    );
  }
  return existsSync(main);
}

export const startup: Benchmark = {
  name: 'startup',
  description: 'hello-world start-up, in process (module cached) and as a whole CLI process (and wasmtime, if its wheel is installed)',
  byDefault: true,
  async run(ctx: BenchContext) {
    const rows: string[][] = [];
    const hello = wasmPath('hello');
    const wasmtime = wasmtimeVersion();
    const wtCell = (ms: number, digits: number) => (wasmtime ? fixed(ms, digits) : WASMTIME_MISSING);
    const helloOk = (o: Outcome, runs: number) => {
      const lines = o.stdout.trim().split('\n');
      return o.exitCode === 0 && lines.length === runs && lines.every((l) => l === EXPECTED) && (o.result?.exitCodes.every((c) => c === 0) ?? true);
    };

    const inProcess: Partial<Record<Runner, number>> = {};
    for (const runner of ['node:wasi', 'drawbridge'] as const) {
      const o = await runGuest(runner, { module: hello, args: ['hello'], repeat: IN_PROCESS_RUNS + 1 }, null);
      const lines = o.stdout.trim().split('\n');
      if (o.exitCode !== 0 || lines.length !== IN_PROCESS_RUNS + 1 || lines.some((l) => l !== EXPECTED))
        ctx.fail(`startup in-process ${runner}: exit ${o.exitCode}, ${lines.length} lines: ${o.stderr.trim()}`);
      inProcess[runner] = mean(o.result!.runMs.slice(1));
    }
    let wtInProcess = NaN;
    if (wasmtime) {
      const o = await runWasmtime({ module: hello, args: ['hello'], repeat: IN_PROCESS_RUNS + 1 });
      if (!helloOk(o, IN_PROCESS_RUNS + 1)) ctx.fail(`startup in-process wasmtime: exit ${o.exitCode}: ${o.stderr.trim()}`);
      wtInProcess = mean(o.result!.runMs.slice(1));
    }
    rows.push([
      `in process, module cached (mean of ${IN_PROCESS_RUNS})`,
      fixed(inProcess['node:wasi']!, 3),
      fixed(inProcess.drawbridge!, 3),
      wtCell(wtInProcess, 3),
      ratio(inProcess.drawbridge! / inProcess['node:wasi']!),
      ratio(inProcess.drawbridge! / wtInProcess),
    ]);

    if (!ensureDist()) {
      console.log('startup: skipping the CLI measurement: dist/cli/main.js could not be built');
    } else {
      const cli: Record<'node:wasi' | 'drawbridge', number[]> = { 'node:wasi': [], drawbridge: [] };
      const wt = { wall: [] as number[], own: [] as number[], python: [] as number[] };
      const aotDir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-wasmtime-'));
      const aotSpec = { module: hello, args: ['hello'], aot: join(aotDir, 'hello.cwasm') };
      const commands = {
        'node:wasi': ['--single-threaded-gc', join(ROOT, 'bench', 'lib', 'nodewasi-cli.mjs'), hello],
        drawbridge: [join(ROOT, 'bin', 'drawbridge.js'), 'run', hello],
      };
      for (let i = 0; i < CLI_RUNS + 1; i++) {
        for (const runner of ['node:wasi', 'drawbridge'] as const) {
          const o = await runProcess(NODE, commands[runner]);
          if (o.exitCode !== 0 || o.stdout.trim() !== EXPECTED) ctx.fail(`startup CLI ${runner}: exit ${o.exitCode}: ${o.stdout.trim()} ${o.stderr.trim()}`);
          if (i > 0) cli[runner].push(o.wallMs); // the first run warms the page cache
        }
        if (wasmtime) {
          // The first run also writes the precompiled code that the others load.
          const o = await runWasmtime(aotSpec);
          if (!helloOk(o, 1)) ctx.fail(`startup CLI wasmtime: exit ${o.exitCode}: ${o.stdout.trim()} ${o.stderr.trim()}`);
          if (i > 0) {
            wt.wall.push(o.wallMs);
            wt.own.push(o.result!.compileMs + o.result!.runMs[0]!);
            wt.python.push(pythonOwnMs(o) + o.result!.importMs!);
          }
        }
      }
      rmSync(aotDir, { recursive: true, force: true });
      const w = mean(cli['node:wasi']);
      const d = mean(cli.drawbridge);
      const [wtWall, wtOwn] = [mean(wt.wall), mean(wt.own)];
      rows.push([
        `whole CLI process (mean of ${CLI_RUNS}; wasmtime: Python + the wheel, AOT)`,
        fixed(w, 1),
        fixed(d, 1),
        wtCell(wtWall, 1),
        ratio(d / w),
        ratio(d / wtWall),
      ]);
      rows.push([
        `  wasmtime's own part of that process (load precompiled + instantiate + run, timed in Python)`,
        '-',
        fixed(d, 1),
        wtCell(wtOwn, 2),
        '-',
        ratio(d / wtOwn),
      ]);
      rows.push([`  Python's part of that process (its start and exit, import wasmtime)`, '-', '-', wtCell(mean(wt.python), 1), '-', '-']);
    }
    printTable(
      `Hello-world start-up (ms)${wasmtime ? `; wasmtime ${wasmtime}` : ''}`,
      ['how', 'node:wasi', 'drawbridge', 'wasmtime', 'db/node:wasi', 'db/wasmtime'],
      rows,
    );
    if (ensureDist())
      printTable(
        `First run of a module never seen, then the run after it (whole CLI process, ms, median of ${ctx.reps})`,
        ['module', 'first run', 'cached run', 'first/cached'],
        await firstRuns(ctx),
      );
  },
};

/** Each module's first `drawbridge run` in an empty cache, then its second, `ctx.reps` times. */
async function firstRuns(ctx: BenchContext): Promise<string[][]> {
  const rows: string[][] = [];
  // sha256 with the work of `bench compute` (about half a second): a program that runs a while.
  for (const [name, args] of [
    ['hello', []],
    ['sha256', [KERNELS.find((k) => k.name === 'sha256')!.arg]],
  ] as const) {
    const first: number[] = [];
    const cached: number[] = [];
    for (let r = 0; r < ctx.reps; r++) {
      const cache = mkdtempSync(join(tmpdir(), 'drawbridge-bench-first-'));
      try {
        for (const into of [first, cached]) {
          const o = await runProcess(NODE, [join(ROOT, 'bin', 'drawbridge.js'), 'run', wasmPath(name), ...args], { env: { DRAWBRIDGE_CACHE: cache } });
          if (o.exitCode !== 0) ctx.fail(`startup first run ${name}: exit ${o.exitCode}: ${o.stderr.trim()}`);
          into.push(o.wallMs);
        }
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }
    rows.push([`${name}.wasm`, fixed(median(first), 0), fixed(median(cached), 0), ratio(median(first) / median(cached))]);
  }
  return rows;
}
