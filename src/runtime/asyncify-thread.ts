// drawbridge's own Asyncify for a waits-only preparation, run in a worker thread
// (asyncify-worker.ts) under the preparation's caps: past the deadline, or once the process has
// grown by more than the memory cap since the work began (its resident size, polled), the worker
// is stopped and the preparation ends with a PrepareCapError, as wasm-opt's process group is
// killed past the same caps. The worker's V8 heap is bounded by the same figure besides.

import { Worker } from 'node:worker_threads';
import type { AsyncifyAnswer, AsyncifyJob } from './asyncify-worker.ts';

/** How a run in the worker ended. */
export type AsyncifyOutcome = AsyncifyAnswer | { kind: 'over-time' } | { kind: 'over-memory'; peakBytes: number };

/** How often the process's resident size is read while the worker runs. */
const POLL_MS = 50;

function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './asyncify-worker.ts' : './asyncify-worker.js', import.meta.url);
}

/** A worker thread for one job, started before the job is known (its start then overlaps the caller's work). */
export interface AsyncifyThread {
  /** Instrument `bytes` for the waiting `imports`; stopped past `deadline` (Date.now()) or past `memoryBytes` of growth from now. */
  run(bytes: Uint8Array, imports: readonly string[], limits: { deadline: number; memoryBytes: number }): Promise<AsyncifyOutcome>;
  /** Not needed after all: the thread ends. */
  cancel(): void;
}

/** Start the thread now; `memoryBytes` bounds its V8 heap (the preparation's memory cap). */
export function startAsyncifyThread(memoryBytes: number): AsyncifyThread {
  const heapMb = Number.isFinite(memoryBytes) ? Math.max(64, Math.ceil(memoryBytes / 2 ** 20)) : undefined;
  const worker = new Worker(workerUrl(), {
    workerData: null,
    resourceLimits: heapMb ? { maxOldGenerationSizeMb: heapMb } : undefined,
    stdout: false,
    stderr: false,
  });
  // Until run(): a thread that fails to start is answered then, as one that fails while working.
  let early: AsyncifyOutcome | null = null;
  const onEarlyError = (e: Error & { code?: string }) => (early ??= failure(e, memoryBytes));
  const onEarlyExit = () => (early ??= { kind: 'error', message: 'the instrumenting thread ended without an answer' });
  worker.once('error', onEarlyError);
  worker.once('exit', onEarlyExit);
  return {
    run(bytes, imports, limits) {
      worker.off('error', onEarlyError);
      worker.off('exit', onEarlyExit);
      if (early) return Promise.resolve(early);
      const base = process.memoryUsage.rss();
      return new Promise<AsyncifyOutcome>((resolve) => {
        let over: AsyncifyOutcome | null = null;
        const stop = (why: AsyncifyOutcome) => {
          over ??= why;
          void worker.terminate();
        };
        const poll = setInterval(() => {
          const grown = process.memoryUsage.rss() - base;
          if (grown > limits.memoryBytes) stop({ kind: 'over-memory', peakBytes: grown });
          else if (Date.now() > limits.deadline) stop({ kind: 'over-time' });
        }, POLL_MS);
        const end = (outcome: AsyncifyOutcome) => {
          clearInterval(poll);
          resolve(over ?? outcome);
        };
        worker.once('message', (m: AsyncifyAnswer) => end(m));
        worker.once('error', (e: Error & { code?: string }) => end(failure(e, limits.memoryBytes)));
        worker.once('exit', () => end({ kind: 'error', message: 'the instrumenting thread ended without an answer' }));
        const job: AsyncifyJob = { bytes, imports: [...imports] };
        worker.postMessage(job);
      });
    },
    cancel() {
      worker.off('error', onEarlyError);
      worker.off('exit', onEarlyExit);
      worker.on('error', () => {});
      void worker.terminate();
    },
  };
}

function failure(e: Error & { code?: string }, memoryBytes: number): AsyncifyOutcome {
  return e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? { kind: 'over-memory', peakBytes: memoryBytes } : { kind: 'error', message: e.message };
}

/** Instrument `bytes` for the waiting `imports` in a worker; stopped past `deadline` (Date.now()) or past `memoryBytes` of growth. */
export function instrumentInWorker(bytes: Uint8Array, imports: readonly string[], limits: { deadline: number; memoryBytes: number }): Promise<AsyncifyOutcome> {
  return startAsyncifyThread(limits.memoryBytes).run(bytes, imports, limits);
}
