// Investigation: which V8 tiering should drawbridge compile guest modules with? Runs each
// compute kernel (and, when installed, the 75 MB clang's `--version`) under drawbridge with
// several choices, and node:wasi (V8's default tiering) as the reference. Only when named:
// `node bench/run.ts tiering`. What the runtime does with the answer: src/runtime/module-cache.ts.
//
// The choices:
//  - auto: what src/runtime/module-cache.ts does by default (today: eager TurboFan for
//    modules up to 128 KiB, V8's default above).
//  - baseline: V8's default (DRAWBRIDGE_WASM_TIERING=baseline): lazy Liftoff first, TurboFan
//    after a budget, per function and for the next call only: V8 has no on-stack replacement
//    for Wasm, so a hot loop already running stays in Liftoff code.
//  - optimize: eager TurboFan whatever the size (DRAWBRIDGE_WASM_TIERING=optimize).
//  - no-liftoff: the whole process with --no-liftoff: TurboFan only, lazily, per function on
//    its first call (cannot be chosen per module: the flag is read when a function compiles).
//  - budget: Liftoff with a tiny tier-up budget (--wasm-tiering-budget=1000): functions
//    called often tier up almost at once; does nothing for a loop that is already running.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import type { ChildSpec } from './lib/child-spec.ts';
import { guestMs, runGuest } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { wasmPath } from './lib/paths.ts';
import { KERNELS } from './compute.ts';
import { CLANG_WASM, clangVersionSpec } from './clang.ts';

interface Choice {
  name: string;
  spec: Partial<ChildSpec>;
  /** Skipped for the 75 MB module: eager TurboFan of all of it takes minutes here. */
  smallOnly?: boolean;
}

const BASELINE = { DRAWBRIDGE_WASM_TIERING: 'baseline' };

export const CHOICES: Choice[] = [
  { name: 'auto', spec: {} },
  { name: 'baseline', spec: { hostEnv: BASELINE } },
  { name: 'optimize', spec: { hostEnv: { DRAWBRIDGE_WASM_TIERING: 'optimize' } }, smallOnly: true },
  { name: 'no-liftoff', spec: { hostEnv: BASELINE, v8Flags: ['--no-liftoff'] } },
  { name: 'budget', spec: { hostEnv: BASELINE, v8Flags: ['--wasm-tiering-budget=1000'] } },
];

export const tiering: Benchmark = {
  name: 'tiering',
  description: 'drawbridge under several V8 tiering choices, per compute kernel and clang',
  byDefault: false,
  async run(ctx: BenchContext) {
    const root = mkdtempSync(join(tmpdir(), 'drawbridge-bench-tiering-'));
    const cases: { name: string; spec: ChildSpec; big: boolean }[] = KERNELS.map((k) => ({
      name: k.name,
      spec: { module: wasmPath(k.name), args: [k.name, k.arg] },
      big: false,
    }));
    if (existsSync(CLANG_WASM)) cases.push({ name: 'clang --version', spec: clangVersionSpec(root), big: true });
    else console.log('tiering: clang --version left out: @yowasp/clang is not installed');
    const rows: string[][] = [];
    try {
      for (const c of cases) {
        const choices = CHOICES.filter((ch) => !(c.big && ch.smallOnly));
        const times = new Map<string, { total: number[]; compile: number[] }>();
        for (const name of ['node:wasi', ...choices.map((ch) => ch.name)]) times.set(name, { total: [], compile: [] });
        const outputs = new Set<string>();
        for (let rep = 0; rep < ctx.reps; rep++) {
          const peer = await runGuest('node:wasi', c.spec, null);
          times.get('node:wasi')!.total.push(guestMs(peer));
          times.get('node:wasi')!.compile.push(peer.result!.compileMs);
          outputs.add(peer.stdout.trim());
          for (const ch of choices) {
            const o = await runGuest('drawbridge', { ...c.spec, ...ch.spec }, null);
            if (o.exitCode !== 0) ctx.fail(`tiering ${c.name} ${ch.name}: exit ${o.exitCode}: ${o.stderr.trim()}`);
            times.get(ch.name)!.total.push(guestMs(o));
            times.get(ch.name)!.compile.push(o.result!.compileMs);
            outputs.add(o.stdout.trim());
          }
        }
        if (outputs.size !== 1) ctx.fail(`tiering ${c.name}: outputs differ: ${[...outputs].join(' / ')}`);
        const peer = times.get('node:wasi')!;
        const peerRun = median(peer.total) - median(peer.compile);
        for (const [name, t] of times) {
          const total = median(t.total);
          const compile = median(t.compile);
          rows.push([
            c.name,
            name,
            fixed(total, 0),
            fixed(compile, 1),
            fixed(total - compile, 0),
            ratio(total / median(peer.total)),
            ratio((total - compile) / peerRun),
          ]);
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    printTable(
      `V8 tiering choices for drawbridge (ms, median of ${ctx.reps}; total = compile + instantiate + run)`,
      ['case', 'choice', 'total', 'compile', 'run', 'total vs node:wasi', 'run vs node:wasi'],
      rows,
    );
  },
};
