// The CPU quota of a module without the tick counter (not prepared, or --waits-only) on a
// CLI's main thread. Such a guest is charged and checked only at its imports that wait
// (quotas.ts); a loop without one, or a start function that loops inside instantiation, holds
// the thread, and nothing on it can run again. So a watchdog thread reads the Governor's count
// (a SharedArrayBuffer the Governor writes at every resume and pause) and, once the running
// slice passes the limit, writes the one-line message and ends the whole process with SIGXCPU,
// whose status a shell reports as 152 (128 + SIGXCPU), the status of the Governor's own stop.
// The process holds this one program (and its children): `drawbridge run`, `restore`, `receive`.
// A host service never uses it (it ends a dedicated worker thread instead: server/pool).

import { Worker } from 'node:worker_threads';
import { cpuExceededMessage, type Governor } from './quotas.ts';

/** How often the watchdog looks, and how far past the limit it lets the guest's own check come first. */
const POLL_MS = 50;
const GRACE_MS = 100;

// process.getBuiltinModule, not require: the worker inherits the process's flags, and under
// --input-type=module (node -e with ESM) its eval code is a module, where require is undefined.
const WATCHDOG = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
const { writeSync } = process.getBuiltinModule('node:fs');
const count = new Float64Array(workerData.shared);
const now = () => Number(process.hrtime.bigint()) / 1e6;
// Once: the signal may take a poll or more to end a loaded process, and the line is said once.
const timer = setInterval(() => {
  const mark = count[1];
  if (mark < 0 || count[0] + (now() - mark) <= workerData.limitMs) return;
  clearInterval(timer);
  try { writeSync(2, workerData.line); } catch {}
  process.kill(process.pid, 'SIGXCPU');
}, workerData.pollMs);
`;

/** Watch `governor` until the returned function is called; `prefix` starts the line written (e.g. "drawbridge: app.wasm: "). */
export function watchCpu(governor: Governor, prefix: string): () => void {
  if (!Number.isFinite(governor.cpuLimitMs)) return () => {};
  const shared = new SharedArrayBuffer(16);
  governor.shared = new Float64Array(shared);
  governor.shared[1] = -1;
  const worker = new Worker(WATCHDOG, {
    eval: true,
    workerData: { shared, limitMs: governor.cpuLimitMs + GRACE_MS, pollMs: POLL_MS, line: `${prefix}${cpuExceededMessage(governor.cpuLimitMs)}\n` },
    stdout: false,
    stderr: false,
  });
  // A watchdog that fails must not take the program down with it (an unhandled 'error' would).
  worker.on('error', (e) => process.emitWarning(`drawbridge: the CPU watchdog failed (${e.message}); limits.cpu_time holds only at waiting calls`));
  worker.unref();
  return () => void worker.terminate();
}
