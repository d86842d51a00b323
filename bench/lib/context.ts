// What every benchmark gets: how many repetitions, and where to note a failed check.

export interface BenchContext {
  /** Repetitions of each timed run (the median is reported). */
  reps: number;
  /** Note a failed correctness check (printed at the end; the run exits non-zero). */
  fail(message: string): void;
}

export interface Benchmark {
  name: string;
  description: string;
  /** Part of the default `npm run bench` run (the rest run only when named). */
  byDefault: boolean;
  run(ctx: BenchContext): Promise<void>;
}
