// wasmtime as a second peer: the `wasmtime` wheel from PyPI (Cranelift and wasmtime_wasi, the
// code of the wasmtime CLI) driven by bench/lib/wasmtime-runner.py in a fresh Python process.
// Optional: without Python or the wheel, the benchmarks print WASMTIME_MISSING in its columns
// and go on. DRAWBRIDGE_BENCH_PYTHON names the Python to use (default python3).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ChildSpec } from './child-spec.ts';
import { ROOT } from './paths.ts';
import { runProcess, type Outcome, type SpawnOptions } from './spawn.ts';

export const PYTHON = process.env.DRAWBRIDGE_BENCH_PYTHON || 'python3';
const RUNNER = join(ROOT, 'bench', 'lib', 'wasmtime-runner.py');

/** What a wasmtime cell says when the wheel cannot be imported. */
export const WASMTIME_MISSING = 'wasmtime: pip install wasmtime';

let version: string | null | undefined;

/** The wheel's version, or null when Python or the wheel is missing (asked once per process). */
export function wasmtimeVersion(): string | null {
  if (version !== undefined) return version;
  const r = spawnSync(PYTHON, ['-c', "import importlib.metadata as m, wasmtime; print(m.version('wasmtime'))"], { encoding: 'utf8' });
  version = r.status === 0 ? r.stdout.trim() : null;
  if (version === null) console.log(`(${WASMTIME_MISSING}: ${PYTHON} could not import it; its columns stay empty)`);
  return version;
}

/** Run a module under wasmtime in a fresh Python process; spec.aot: precompiled code to load or write. */
export function runWasmtime(spec: ChildSpec, options: SpawnOptions = {}): Promise<Outcome> {
  return runProcess(PYTHON, [RUNNER, JSON.stringify(spec)], options, true);
}

/** Python's own part of a wasmtime process: its wall time less what the runner script measured. */
export function pythonOwnMs(o: Outcome): number {
  return o.result?.scriptMs === undefined ? NaN : o.wallMs - o.result.scriptMs;
}
