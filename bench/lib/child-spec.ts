// What the parent asks a child process to run, and what the child reports back (as JSON on
// fd 3, so that the guest keeps stdout and stderr to itself). The wasmtime runner
// (wasmtime-runner.py) reads and writes the same JSON.

export interface ChildSpec {
  module: string;
  /** argv including argv[0]. */
  args: string[];
  dirs?: { host: string; guest: string }[];
  /** V8 flags set with v8.setFlagsFromString before the first compile (whole-process tiering). */
  v8Flags?: string[];
  /** Set in the child's process.env before anything runs (e.g. DRAWBRIDGE_WASM_TIERING). */
  hostEnv?: Record<string, string>;
  /** Run it prepared for checkpoints, as `drawbridge run` does (drawbridge only). */
  prepared?: boolean;
  /** Prepared by Binaryen's wasm-opt instead of drawbridge's own rewriters (put in the child's cache for runCommand to find). */
  instrumenter?: 'wasm-opt';
  /** Run the (already compiled) module this many times in this process; default 1. */
  repeat?: number;
  /** wasmtime only: the file of the module's precompiled code (loaded if there, else written). */
  aot?: string;
}

export interface ChildResult {
  compileMs: number;
  /** Instantiate + _start, per run. */
  runMs: number[];
  exitCodes: number[];
  /** wasmtime only: `import wasmtime` (ms). */
  importMs?: number;
  /** wasmtime only: the runner script from its first line to its report (ms); the rest of the process's wall time is Python's own start and exit. */
  scriptMs?: number;
}

export const RESULT_FD = 3;
