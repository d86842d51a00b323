// 4. Start-up of a hello-world command.
//  - in process: the module compiled once (drawbridge caches by content hash), then run many
//    times in the same process; mean ms per run (instantiate + _start + exit), first run excluded.
//  - as a whole CLI process: `node bin/drawbridge.js run hello.wasm` against a plain node:wasi
//    script (bench/lib/nodewasi-cli.mjs); mean ms per process, including Node's own start-up.
//    The CLI runs from dist/, which is rebuilt first when src/ is newer.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { runGuest, runProcess, type Runner } from './lib/spawn.ts';
import { fixed, mean, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { NODE, ROOT, wasmPath } from './lib/paths.ts';

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
  description: 'hello-world start-up, in process (module cached) and as a whole CLI process',
  byDefault: true,
  async run(ctx: BenchContext) {
    const rows: string[][] = [];
    const hello = wasmPath('hello');

    const inProcess: Partial<Record<Runner, number>> = {};
    for (const runner of ['node:wasi', 'drawbridge'] as const) {
      const o = await runGuest(runner, { module: hello, args: ['hello'], repeat: IN_PROCESS_RUNS + 1 }, null);
      const lines = o.stdout.trim().split('\n');
      if (o.exitCode !== 0 || lines.length !== IN_PROCESS_RUNS + 1 || lines.some((l) => l !== EXPECTED))
        ctx.fail(`startup in-process ${runner}: exit ${o.exitCode}, ${lines.length} lines: ${o.stderr.trim()}`);
      inProcess[runner] = mean(o.result!.runMs.slice(1));
    }
    rows.push([
      `in process, module cached (mean of ${IN_PROCESS_RUNS})`,
      fixed(inProcess['node:wasi']!, 3),
      fixed(inProcess.drawbridge!, 3),
      ratio(inProcess.drawbridge! / inProcess['node:wasi']!),
    ]);

    if (!ensureDist()) {
      console.log('startup: skipping the CLI measurement: dist/cli/main.js could not be built');
    } else {
      const cli: Record<'node:wasi' | 'drawbridge', number[]> = { 'node:wasi': [], drawbridge: [] };
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
      }
      const w = mean(cli['node:wasi']);
      const d = mean(cli.drawbridge);
      rows.push([`whole CLI process (mean of ${CLI_RUNS})`, fixed(w, 1), fixed(d, 1), ratio(d / w)]);
    }
    printTable('Hello-world start-up (ms)', ['how', 'node:wasi', 'drawbridge', 'db/node:wasi'], rows);
  },
};
