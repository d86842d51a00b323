// Investigation: which V8 tiering should drawbridge compile guest modules with? Runs each
// compute kernel under drawbridge with several choices, and node:wasi (default tiering) as
// the reference. Only when named: `node bench/run.ts tiering`.
//
// The choices:
//  - default: whatever src/runtime/module-cache.ts does today.
//  - liftoff: V8's default (Liftoff baseline first, TurboFan after a budget, per function,
//    next call only: no on-stack replacement, so a hot loop already running stays in Liftoff).
//  - no-liftoff: the whole process compiles with TurboFan only (--no-liftoff).
//  - eager-tf: TurboFan, all functions at compile time, with the flags set only around the
//    compile and restored after (--no-liftoff --no-wasm-lazy-compilation, then back):
//    what the runtime can do per module without changing the rest of the process.
//  - budget: Liftoff with a tiny tier-up budget (--wasm-tiering-budget=1000): functions that
//    are called often tier up almost at once; does nothing for a loop that is already running.

import type { Benchmark, BenchContext } from './lib/context.ts';
import type { ChildSpec } from './lib/child-spec.ts';
import { guestMs, runGuest } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { wasmPath } from './lib/paths.ts';
import { KERNELS } from './compute.ts';

interface Choice {
  name: string;
  spec: Partial<ChildSpec>;
}

const LIFTOFF_DEFAULTS = ['--liftoff', '--wasm-lazy-compilation', '--wasm-tiering-budget=13000000'];

export const CHOICES: Choice[] = [
  { name: 'default', spec: {} },
  { name: 'liftoff', spec: { v8Flags: LIFTOFF_DEFAULTS } },
  { name: 'no-liftoff', spec: { v8Flags: ['--no-liftoff'] } },
  { name: 'eager-tf', spec: { compileFlags: { set: ['--no-liftoff', '--no-wasm-lazy-compilation'], restore: ['--liftoff', '--wasm-lazy-compilation'] } } },
  { name: 'budget', spec: { v8Flags: ['--wasm-tiering-budget=1000'] } },
];

export const tiering: Benchmark = {
  name: 'tiering',
  description: 'drawbridge under several V8 tiering choices, per compute kernel',
  byDefault: false,
  async run(ctx: BenchContext) {
    const rows: string[][] = [];
    for (const k of KERNELS) {
      const times = new Map<string, number[]>([['node:wasi', []], ...CHOICES.map((c) => [c.name, []] as [string, number[]])]);
      const compile = new Map<string, number[]>([...times.keys()].map((n) => [n, []]));
      const sums = new Set<string>();
      for (let rep = 0; rep < ctx.reps; rep++) {
        const base = { module: wasmPath(k.name), args: [k.name, k.arg] };
        const peer = await runGuest('node:wasi', base, null);
        times.get('node:wasi')!.push(guestMs(peer));
        compile.get('node:wasi')!.push(peer.result!.compileMs);
        sums.add(peer.stdout.trim());
        for (const c of CHOICES) {
          const o = await runGuest('drawbridge', { ...base, ...c.spec }, null);
          if (o.exitCode !== 0) ctx.fail(`tiering ${k.name} ${c.name}: exit ${o.exitCode}: ${o.stderr.trim()}`);
          times.get(c.name)!.push(guestMs(o));
          compile.get(c.name)!.push(o.result!.compileMs);
          sums.add(o.stdout.trim());
        }
      }
      if (sums.size !== 1) ctx.fail(`tiering ${k.name}: checksums differ: ${[...sums].join(' / ')}`);
      const peer = median(times.get('node:wasi')!);
      for (const [name, ts] of times) {
        rows.push([k.name, name, fixed(median(ts), 0), fixed(median(compile.get(name)!), 1), ratio(median(ts) / peer)]);
      }
    }
    printTable(`V8 tiering choices for drawbridge (ms, median of ${ctx.reps}; compile + instantiate + run)`, ['kernel', 'choice', 'total', 'compile', 'vs node:wasi'], rows);
  },
};
