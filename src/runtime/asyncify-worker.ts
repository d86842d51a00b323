// The worker thread that runs drawbridge's own Asyncify (wasm/asyncify.ts) for a waits-only
// preparation (asyncify-thread.ts starts it): off the caller's thread, so that a daemon goes on
// answering while a big module is instrumented, and stoppable, so that the preparation's caps
// (time, memory) hold for it as they hold for wasm-opt's process.

import { parentPort, workerData } from 'node:worker_threads';
import { AsyncifyUnsupported, instrumentWaits, withoutRewindVersions } from '../wasm/asyncify.ts';
import { callGraph } from '../wasm/call-graph.ts';
import { addControlExport } from '../wasm/control.ts';
import { exportMutableGlobals } from '../wasm/sections.ts';

/** What the worker is given. */
export interface AsyncifyJob {
  bytes: Uint8Array;
  imports: string[];
}

/** What it answers, once. */
export type AsyncifyAnswer =
  /** The prepared module, and the same without its rewind versions (asyncify.ts withoutRewindVersions). */
  | { kind: 'done'; bytes: Uint8Array; run: Uint8Array }
  /** The module uses what the instrumenter does not take: wasm-opt's turn. */
  | { kind: 'unsupported'; message: string }
  | { kind: 'invalid' }
  | { kind: 'error'; message: string };

function answer(job: AsyncifyJob): AsyncifyAnswer {
  try {
    const own = instrumentWaits(job.bytes, new Set(job.imports), callGraph(job.bytes));
    if (!WebAssembly.validate(own.bytes as Uint8Array<ArrayBuffer>)) return { kind: 'invalid' };
    const bytes = addControlExport(own.bytes) ?? exportMutableGlobals(own.bytes);
    return { kind: 'done', bytes, run: withoutRewindVersions(bytes, own) };
  } catch (e) {
    if (e instanceof AsyncifyUnsupported) return { kind: 'unsupported', message: e.message };
    return { kind: 'error', message: (e as Error).message };
  }
}

function reply(job: AsyncifyJob): void {
  const result = answer(job);
  parentPort!.postMessage(result, result.kind === 'done' ? [result.bytes.buffer as ArrayBuffer, result.run.buffer as ArrayBuffer] : []);
}

// The job comes with the thread, or by message to a thread started ahead of it (asyncify-thread.ts).
if (workerData) reply(workerData as AsyncifyJob);
else parentPort!.once('message', (job: AsyncifyJob) => reply(job));
