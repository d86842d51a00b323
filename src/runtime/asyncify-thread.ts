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

/** Instrument `bytes` for the waiting `imports` in a worker; stopped past `deadline` (Date.now()) or past `memoryBytes` of growth. */
export function instrumentInWorker(bytes: Uint8Array, imports: readonly string[], limits: { deadline: number; memoryBytes: number }): Promise<AsyncifyOutcome> {
  const job: AsyncifyJob = { bytes, imports: [...imports] };
  const heapMb = Number.isFinite(limits.memoryBytes) ? Math.max(64, Math.ceil(limits.memoryBytes / 2 ** 20)) : undefined;
  const base = process.memoryUsage.rss();
  const worker = new Worker(workerUrl(), {
    workerData: job,
    resourceLimits: heapMb ? { maxOldGenerationSizeMb: heapMb } : undefined,
    stdout: false,
    stderr: false,
  });
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
    worker.once('error', (e: Error & { code?: string }) =>
      end(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? { kind: 'over-memory', peakBytes: limits.memoryBytes } : { kind: 'error', message: e.message }),
    );
    worker.once('exit', () => end({ kind: 'error', message: 'the instrumenting thread ended without an answer' }));
  });
}
