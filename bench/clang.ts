// 5. Time to first output of a big real program: the 75 MB clang of the npm package
// @yowasp/clang (gen/llvm.core.wasm, a plain wasi_snapshot_preview1 command) running
// `clang --version`. The package's own JS (gen/bundle.js) runs it as a multicall binary with
// argv ['yowasp-llvm', 'clang', ...] and a virtual file system at '/' (its resources under /usr,
// not needed for --version); here '/' is an empty temporary directory for both runners and
// argv[0] is the module path (the multicall binary picks the tool from argv[1] as well).
// Time to first output is what a user sees: a whole process, `drawbridge run` (built CLI)
// against a plain node:wasi script, from spawn to the first stdout byte (Node's start-up,
// reading and compiling the module included). The compile time alone is measured apart, in
// the library-level children.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import type { ChildSpec } from './lib/child-spec.ts';
import { runGuest, runProcess } from './lib/spawn.ts';
import { ensureDist } from './startup.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { NODE, ROOT } from './lib/paths.ts';

export const CLANG_WASM = join(ROOT, 'node_modules', '@yowasp', 'clang', 'gen', 'llvm.core.wasm');

/** The spec for `clang --version`, with `root` mounted as '/'. */
export function clangVersionSpec(root: string): ChildSpec {
  return { module: CLANG_WASM, args: [CLANG_WASM, 'clang', '--version'], dirs: [{ host: root, guest: '/' }] };
}

function cliCommand(runner: 'node:wasi' | 'drawbridge', root: string): string[] {
  const tail = ['--dir', `${root}::/`, CLANG_WASM, 'clang', '--version'];
  return runner === 'drawbridge'
    ? [join(ROOT, 'bin', 'drawbridge.js'), 'run', ...tail]
    : ['--single-threaded-gc', join(ROOT, 'bench', 'lib', 'nodewasi-cli.mjs'), ...tail];
}

export const clang: Benchmark = {
  name: 'clang',
  description: 'time to first output of the 75 MB @yowasp/clang, `clang --version`',
  byDefault: true,
  async run(ctx: BenchContext) {
    if (!existsSync(CLANG_WASM)) {
      console.log(`\nclang: skipped: ${CLANG_WASM} is missing (npm install adds @yowasp/clang, a devDependency)`);
      return;
    }
    if (!ensureDist()) {
      console.log('\nclang: skipped: dist/cli/main.js could not be built');
      return;
    }
    const root = mkdtempSync(join(tmpdir(), 'drawbridge-bench-clang-'));
    try {
      const first = { 'node:wasi': [] as number[], drawbridge: [] as number[] };
      const compile = { 'node:wasi': [] as number[], drawbridge: [] as number[] };
      const outputs = new Set<string>();
      for (let rep = 0; rep < ctx.reps; rep++) {
        for (const runner of ['node:wasi', 'drawbridge'] as const) {
          const o = await runProcess(NODE, cliCommand(runner, root));
          if (o.exitCode !== 0 || !/clang version/.test(o.stdout)) ctx.fail(`clang ${runner} CLI: exit ${o.exitCode}: ${o.stdout.trim()} ${o.stderr.trim()}`);
          outputs.add(o.stdout);
          first[runner].push(o.firstOutputMs);
          const c = await runGuest(runner, clangVersionSpec(root), null);
          if (c.exitCode !== 0 || !/clang version/.test(c.stdout)) ctx.fail(`clang ${runner}: exit ${c.exitCode}: ${c.stdout.trim()} ${c.stderr.trim()}`);
          compile[runner].push(c.result!.compileMs);
        }
      }
      if (outputs.size !== 1) ctx.fail(`clang: the two runners printed different outputs`);
      const w = median(first['node:wasi']);
      const d = median(first.drawbridge);
      printTable(
        `clang --version, 75 MB module (ms, median of ${ctx.reps}; whole process, Node start-up included)`,
        ['', 'node:wasi', 'drawbridge', 'db/node:wasi'],
        [
          ['time to first output', fixed(w, 0), fixed(d, 0), ratio(d / w)],
          [
            'compile alone (in process)',
            fixed(median(compile['node:wasi']), 0),
            fixed(median(compile.drawbridge), 0),
            ratio(median(compile.drawbridge) / median(compile['node:wasi'])),
          ],
        ],
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
