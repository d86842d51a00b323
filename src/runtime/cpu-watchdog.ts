// The CPU quota of a module without the tick counter (not prepared, or --waits-only) on a
// CLI's main thread. Such a guest is charged and checked only at its imports that wait
// (quotas.ts); a loop without one, or a start function that loops inside instantiation, holds
// the thread, and nothing on it can run again. So a watchdog thread reads the Governor's count
// (a SharedArrayBuffer the Governor writes at every resume and pause) and, once the running
// slice passes the limit, writes the one-line message and ends the whole process with SIGXCPU,
// whose status a shell reports as 152 (128 + SIGXCPU), the status of the Governor's own stop.
// The process holds this one program (and its children): `drawbridge run`, `restore`, `receive`.
// A host service never uses it (it ends a dedicated worker thread instead: server/pool).
//
// One watchdog thread per process, started at the first watch (or earlier: startCpuWatchdog)
// and kept: starting a thread costs tens of milliseconds of CPU, which a process that runs many
// programs one after the other (runCommand in a library, a benchmark) would pay each time, on
// the core its guest runs on. Each watched Governor has a slot of the shared arrays.

import { Worker } from 'node:worker_threads';
import { cpuExceededMessage, type Governor } from './quotas.ts';

/** How often the watchdog looks, and how far past the limit it lets the guest's own check come first. */
const POLL_MS = 50;
const GRACE_MS = 100;
/** Programs watched at once (a slot each); past it a program is watched only at its waiting calls. */
const SLOTS = 1024;

// process.getBuiltinModule, not require: the worker inherits the process's flags, and under
// --input-type=module (node -e with ESM) its eval code is a module, where require is undefined.
// counts: per slot, [ms used before the running slice, when the slice began (-1: suspended)];
// limits: per slot, the limit in ms (0: a free slot). The lines come by message, before the slot is used.
const WATCHDOG = `
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
const { writeSync } = process.getBuiltinModule('node:fs');
const counts = new Float64Array(workerData.counts);
const limits = new Float64Array(workerData.limits);
const lines = new Map();
parentPort.on('message', (m) => lines.set(m.slot, m.line));
parentPort.unref();
const now = () => Number(process.hrtime.bigint()) / 1e6;
// Once: the signal may take a poll or more to end a loaded process, and the line is said once.
const timer = setInterval(() => {
  const t = now();
  for (let k = 0; k < limits.length; k++) {
    const limit = limits[k];
    if (limit <= 0) continue;
    const mark = counts[2 * k + 1];
    if (mark < 0 || counts[2 * k] + (t - mark) <= limit) continue;
    clearInterval(timer);
    try { writeSync(2, lines.get(k) ?? 'drawbridge: limits.cpu_time exceeded\\n'); } catch {}
    process.kill(process.pid, 'SIGXCPU');
    return;
  }
}, workerData.pollMs);
`;

interface Watchdog {
  worker: Worker;
  counts: Float64Array;
  limits: Float64Array;
  free: number[];
}

let watchdog: Watchdog | null = null;

/** The process's watchdog thread, started now if it is not running yet. */
export function startCpuWatchdog(): Watchdog {
  if (watchdog) return watchdog;
  const counts = new SharedArrayBuffer(SLOTS * 2 * 8);
  const limits = new SharedArrayBuffer(SLOTS * 8);
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { counts, limits, pollMs: POLL_MS }, stdout: false, stderr: false });
  // A watchdog that fails must not take the program down with it (an unhandled 'error' would).
  worker.on('error', (e) => {
    process.emitWarning(`drawbridge: the CPU watchdog failed (${e.message}); limits.cpu_time holds only at waiting calls`);
    if (watchdog?.worker === worker) watchdog = null;
  });
  worker.unref();
  const free = Array.from({ length: SLOTS }, (_, k) => SLOTS - 1 - k);
  return (watchdog = { worker, counts: new Float64Array(counts), limits: new Float64Array(limits), free });
}

/** Watch `governor` until the returned function is called; `prefix` starts the line written (e.g. "drawbridge: app.wasm: "). */
export function watchCpu(governor: Governor, prefix: string): () => void {
  if (!Number.isFinite(governor.cpuLimitMs)) return () => {};
  const w = startCpuWatchdog();
  const slot = w.free.pop();
  if (slot === undefined) return () => {};
  w.worker.postMessage({ slot, line: `${prefix}${cpuExceededMessage(governor.cpuLimitMs)}\n` });
  governor.shared = w.counts.subarray(2 * slot, 2 * slot + 2);
  governor.shared[0] = 0;
  governor.shared[1] = -1;
  w.limits[slot] = governor.cpuLimitMs + GRACE_MS;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    w.limits[slot] = 0;
    governor.shared = null;
    w.free.push(slot);
  };
}
