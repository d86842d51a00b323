// Milliseconds from an arbitrary start, for time slices and CPU accounting. Not the global
// `performance.now()`: its first use loads node:perf_hooks, which a CLI start need not pay for.

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
