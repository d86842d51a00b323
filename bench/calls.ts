// 2. Per-call cost of the host ABI, as the guest sees it: N calls of clock_gettime
// (clock_time_get, a plain import in drawbridge) and N one-byte write(1, ...) (fd_write, a
// JSPI Suspending import in drawbridge) with stdout on /dev/null for every runner. The guest
// times its own loop, so start-up is not counted. Native is the floor (a vDSO call and a
// write(2) syscall).

import type { Benchmark, BenchContext } from './lib/context.ts';
import { reportValue } from './lib/guest-report.ts';
import { runGuest, type Runner } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { nativePath, wasmPath } from './lib/paths.ts';

const CASES = [
  { name: 'clock', what: 'clock_gettime', calls: 2_000_000, stdout: 'pipe' as const, reportOn: 'stdout' as const },
  { name: 'write1', what: '1-byte write', calls: 500_000, stdout: 'ignore' as const, reportOn: 'stderr' as const },
];
const RUNNERS: Runner[] = ['native', 'node:wasi', 'drawbridge'];

export const calls: Benchmark = {
  name: 'calls',
  description: 'per-call cost: clock_gettime and 1-byte write to /dev/null',
  byDefault: true,
  async run(ctx: BenchContext) {
    const rows: string[][] = [];
    for (const c of CASES) {
      const ns: Record<Runner, number[]> = { native: [], 'node:wasi': [], drawbridge: [] };
      for (let rep = 0; rep < ctx.reps; rep++) {
        for (const runner of RUNNERS) {
          const o = await runGuest(runner, { module: wasmPath(c.name), args: [c.name, String(c.calls)] }, nativePath(c.name), { stdout: c.stdout });
          const report = c.reportOn === 'stdout' ? o.stdout : o.stderr;
          const elapsed = reportValue(report, 'elapsed_ns');
          if (o.exitCode !== 0 || reportValue(report, 'calls') !== c.calls || !Number.isFinite(elapsed)) {
            ctx.fail(`calls ${c.name} ${runner}: exit ${o.exitCode}: ${o.stderr.trim()}`);
          }
          ns[runner].push(elapsed / c.calls);
        }
      }
      const [n, w, d] = RUNNERS.map((r) => median(ns[r]));
      rows.push([c.what, String(c.calls), fixed(n!, 1), fixed(w!, 1), fixed(d!, 1), ratio(d! / w!)]);
    }
    printTable(
      `Per-call cost (ns per call, median of ${ctx.reps}; timed by the guest)`,
      ['call', 'calls', 'native', 'node:wasi', 'drawbridge', 'db/node:wasi'],
      rows,
    );
  },
};
