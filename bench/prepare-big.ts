// Waits-only preparation of big real modules from npm (@yowasp/yosys, @yowasp/clang): the wall
// time and peak memory of `drawbridge prepare --waits-only` (the CLI, into a fresh cache), and
// for clang the wall time of `drawbridge run` of cc1 prepared against unprepared, compiling a C
// file in alternating rounds, each a fresh process (what a user starts: load, compile, run).
// Peak memory is the resident memory of the whole process tree (the CLI and its wasm-opt runs,
// summed), sampled every 100 ms from /proc. The bars: 30 MB in <= 60 s and <= 2 GB,
// the 75 MB clang in <= 5 min and <= 4 GB, prepared within 1.1x of unprepared.
// Usage: node bench/run.ts --reps 5 prepare-big (DRAWBRIDGE_CACHE=DIR: use and keep that cache)

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { runProcess } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { NODE, ROOT } from './lib/paths.ts';
import { ensureDist } from './startup.ts';
import { CLANG_WASM } from './clang.ts';
import { LLVM_ARGV0, parseJobs, yowaspUsrDir } from '../test/real/programs/yowasp-clang.ts';
import { runCommand } from '../src/runtime/run.ts';

const YOSYS_WASM = join(ROOT, 'node_modules', '@yowasp', 'yosys', 'gen', 'yosys.core.wasm');

const MODULES = [
  { name: '@yowasp/yosys', path: YOSYS_WASM, seconds: 60, bytes: 2 * 2 ** 30 },
  { name: '@yowasp/clang', path: CLANG_WASM, seconds: 300, bytes: 4 * 2 ** 30 },
];

/** A C file with enough in it for cc1 -O2 to work a while. */
const SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct node { struct node *l, *r; int k; } node;
static node *insert(node *t, int k) { if (!t) { t = calloc(1, sizeof *t); t->k = k; return t; } if (k < t->k) t->l = insert(t->l, k); else t->r = insert(t->r, k); return t; }
static int depth(node *t) { if (!t) return 0; int a = depth(t->l), b = depth(t->r); return 1 + (a > b ? a : b); }
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000, *v = malloc(sizeof(int) * n);
  node *t = 0;
  for (int i = 0; i < n; i++) { v[i] = (i * 7919) % n; t = insert(t, v[i]); }
  qsort(v, n, sizeof *v, cmp);
  char buf[64]; snprintf(buf, sizeof buf, "%d %d", v[n / 2], depth(t));
  printf("%s %zu\\n", buf, strlen(buf));
  return 0;
}
`;

/**
 * A C file that keeps cc1 -O2 busy for seconds (300 functions, each a loop over a switch):
 * there the code V8 compiles weighs less against the code it runs.
 */
function longSource(): string {
  const fns: string[] = [];
  const calls: string[] = [];
  for (let i = 0; i < 300; i++) {
    fns.push(
      `static int f${i}(int *a, int n) { int s = ${i}; for (int k = 0; k < n; k++) { switch ((a[k] + k) % 5) { case 0: s += a[k] * ${(i % 7) + 1}; break; case 1: s ^= a[k] << ${i % 5}; break; case 2: s -= k; break; case 3: if (s > ${i}) s /= 2; else s *= 3; break; default: s += strlen("x${i}"); } } return s; }`,
    );
    calls.push(` t += f${i}(a, 64);`);
  }
  return `#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n${fns.join('\n')}\nint main(void) { int a[64]; for (int i = 0; i < 64; i++) a[i] = rand(); long t = 0;\n${calls.join('\n')}\n printf("%ld\\n", t); return 0; }\n`;
}

export const prepareBig: Benchmark = {
  name: 'prepare-big',
  description: 'waits-only preparation of @yowasp/yosys and @yowasp/clang (time, peak memory); clang prepared vs not',
  byDefault: false,
  async run(ctx: BenchContext) {
    if (!ensureDist()) {
      console.log('\nprepare-big: skipped: dist/cli/main.js could not be built');
      return;
    }
    // DRAWBRIDGE_CACHE set: that cache, kept (a module it holds already is not prepared again,
    // and its row says so); else a fresh one, removed at the end.
    const given = process.env.DRAWBRIDGE_CACHE;
    const cache = given ?? mkdtempSync(join(tmpdir(), 'drawbridge-bench-prepare-'));
    try {
      const rows: string[][] = [];
      for (const m of MODULES) {
        if (!existsSync(m.path)) {
          console.log(`\nprepare-big: ${m.name} skipped: ${m.path} is missing (npm install adds it, a devDependency)`);
          continue;
        }
        const size = statSync(m.path).size;
        const had = () =>
          existsSync(join(cache, 'prepared')) && readdirSync(join(cache, 'prepared')).find((f) => f.startsWith(`${size}-`) && f.endsWith('.waits.wasm'));
        if (had()) {
          rows.push([m.name, fixed(size / 2 ** 20, 1), 'cached', '', '', '', '']);
          continue;
        }
        const r = await prepareMeasured(m.path, cache);
        if (r.exitCode !== 0) ctx.fail(`prepare ${m.name}: exit ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
        const prepared = had();
        const out = prepared ? statSync(join(cache, 'prepared', prepared)).size : NaN;
        rows.push([
          m.name,
          fixed(size / 2 ** 20, 1),
          fixed(r.wallMs / 1000, 1),
          fixed(r.peakBytes / 2 ** 20, 0),
          ratio(out / size),
          ratio(r.wallMs / 1000 / m.seconds),
          ratio(r.peakBytes / m.bytes),
        ]);
      }
      printTable(
        'drawbridge prepare --waits-only (wall s, peak resident MiB of the process tree)',
        ['module', 'MiB', 'wall s', 'peak MiB', 'size after', 'wall/bar', 'peak/bar'],
        rows,
      );
      if (existsSync(CLANG_WASM)) {
        await clangRuns(ctx, cache, 'a 20-line C file', SOURCE);
        await clangRuns(ctx, cache, 'a 300-function C file', longSource());
      }
    } finally {
      if (given === undefined) rmSync(cache, { recursive: true, force: true });
    }
  },
};

/** `drawbridge prepare --waits-only PATH` into `cache`, with its wall time and the peak resident memory of its process tree. */
async function prepareMeasured(path: string, cache: string): Promise<{ wallMs: number; peakBytes: number; exitCode: number; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const t = performance.now();
  const child = spawn(NODE, [join(ROOT, 'bin', 'drawbridge.js'), 'prepare', '--waits-only', path], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DRAWBRIDGE_CACHE: cache },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, treeRss(child.pid!))), 100);
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  clearInterval(timer);
  return { wallMs: performance.now() - t, peakBytes: peak, exitCode, stderr };
}

/** The resident bytes of a process and all its descendants (Linux /proc). */
function treeRss(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(fields[1]));
      rss.set(Number(d), Number(fields[21]) * 4096);
    } catch {
      // ended meanwhile
    }
  }
  let total = 0;
  for (const [pid, bytes] of rss) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += bytes;
        break;
      }
    }
  }
  return total;
}

/** cc1 compiling `source`, the module as it is against prepared (waits-only, from `cache`): run times and the object files. */
async function clangRuns(ctx: BenchContext, cache: string, what: string, source: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'drawbridge-bench-clang-work-'));
  const tmp = mkdtempSync(join(tmpdir(), 'drawbridge-bench-clang-tmp-'));
  try {
    writeFileSync(join(work, 'main.c'), source);
    const dirs = [
      { host: yowaspUsrDir(), guest: '/usr' },
      { host: work, guest: '/work' },
      { host: tmp, guest: '/tmp' },
    ];
    const list = await runCommand({
      module: CLANG_WASM,
      args: [LLVM_ARGV0, 'clang', '-###', '-O2', '-c', '/work/main.c', '-o', '/work/main.o'],
      dirs,
      capture: true,
    });
    const jobs = parseJobs(new TextDecoder().decode(list.stderr));
    if (!jobs || jobs.length !== 1) {
      ctx.fail(`prepare-big: clang -### gave no single cc1 job: ${new TextDecoder().decode(list.stderr)}`);
      return;
    }
    // `drawbridge run`, as a user starts it: the prepared module from `cache`, the unprepared
    // one with an empty cache (a module this big is not prepared at first run).
    const empty = mkdtempSync(join(tmpdir(), 'drawbridge-bench-clang-cache-'));
    const cli = (key: 'plain' | 'prepared') =>
      runProcess(
        NODE,
        [join(ROOT, 'bin', 'drawbridge.js'), 'run', '--argv0', LLVM_ARGV0, ...dirs.flatMap((d) => ['--dir', `${d.host}::${d.guest}`]), CLANG_WASM, ...jobs[0]!],
        { env: { DRAWBRIDGE_CACHE: key === 'prepared' ? cache : empty, DRAWBRIDGE_CODE_CACHE: '0' }, stdout: 'ignore' },
      );
    const t = { plain: [] as number[], prepared: [] as number[] };
    let reference: Buffer | null = null;
    try {
      for (let r = 0; r < ctx.reps; r++) {
        for (const key of ['plain', 'prepared'] as const) {
          rmSync(join(work, 'main.o'), { force: true });
          const o = await cli(key);
          if (o.exitCode !== 0) ctx.fail(`prepare-big: cc1 ${key}: exit ${o.exitCode}: ${o.stderr.trim()}`);
          t[key].push(o.wallMs);
          const obj = readFileSync(join(work, 'main.o'));
          if (reference === null) reference = obj;
          else if (!obj.equals(reference)) ctx.fail(`prepare-big: cc1 ${key} wrote another object file`);
        }
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const [p, q] = [median(t.plain), median(t.prepared)];
    printTable(
      `clang -cc1 -O2 of ${what}, 75 MB module: \`drawbridge run\` wall ms, median of ${ctx.reps} alternating rounds, each a fresh process`,
      ['', 'unprepared', 'prepared waits-only', 'prepared/unprepared'],
      [['wall', fixed(p, 0), fixed(q, 0), ratio(q / p)]],
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}
