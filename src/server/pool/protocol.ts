// The messages between the pool (main thread, workers.ts) and a scheduler (scheduler.ts), which
// runs in a worker thread (server/pool/worker.ts) or, with `--workers 0`, on the main thread itself.
// Everything here is structured-cloneable: a compiled WebAssembly.Module travels as one
// (V8 shares its code between the threads of a process; nothing is compiled twice).
//
// Requests carry `req`, a number the pool picks; the scheduler answers each with one `reply`.
// Output and ends are pushed without being asked. `gen` counts the placements of one id: a
// picoprocess that moved ends on its old worker ('checkpointed') and that end is not its own.

import type { Manifest } from '../../monitor/manifest/manifest.ts';
import type { ExitStatus } from '../../runtime/picoprocess.ts';
import type { CheckpointStart, LogCapture } from '../../checkpoint/durable-run.ts';
import type { CaptureMode } from '../supervisor.ts';
import type { InputEvent } from '../../host/kernel/kernel.ts';
import type { FrameMessage } from './frame-forward.ts';

/** What the scheduler knows of one picoprocess; the pool adds the rest of ProcessInfo. */
export interface LiveInfo {
  id: number;
  cpuMs: number;
  memoryBytes: number;
}

export type ToScheduler =
  | {
      op: 'module';
      key: string;
      name: string;
      hash: string;
      bytes: Uint8Array;
      prepared: boolean;
      preemptible: boolean;
      compiled: WebAssembly.Module;
      /** The limits.memory `compiled` was compiled under. */
      memoryLimit: number;
    }
  | {
      op: 'spawn';
      req: number;
      id: number;
      gen: number;
      key: string;
      args: string[];
      manifest: Manifest;
      stdin: Uint8Array | null;
      closeStdin: boolean;
      /** Log mode: its log file, how it started, and (a restore or a move) the log to replay first. */
      durable: DurableStart | null;
    }
  | { op: 'restore'; req: number; id: number; gen: number; snapshot: Uint8Array; manifest: Manifest | null; stdin: Uint8Array[]; closeStdin: boolean }
  | { op: 'stdin'; req: number; id: number; bytes: Uint8Array; close: boolean }
  | { op: 'kill'; id: number }
  /** forMove: the picoprocess stops, and its unread stdin comes back with the snapshot. */
  | { op: 'checkpoint'; req: number; id: number; leaveRunning: boolean; forMove: boolean }
  | { op: 'info'; req: number }
  /** An input event for the picoprocess's DkInputEventRead (the console's frame-buffer view). */
  | { op: 'input'; id: number; event: InputEvent }
  | { op: 'shutdown'; req: number }
  /** Several messages posted in one turn of the event loop, in order (one wake-up of the thread, not many). */
  | { op: 'batch'; messages: ToScheduler[] };

export type Reply = { op: 'reply'; req: number; ok: true; value?: unknown } | { op: 'reply'; req: number; ok: false; status: number; message: string };

export type FromScheduler =
  | Reply
  | { op: 'out'; id: number; fd: 1 | 2; bytes: Uint8Array }
  | { op: 'exit'; id: number; gen: number; status: ExitStatus; cpuMs: number }
  /** A replay (DurableStart.replay) has gone live. */
  | { op: 'live'; id: number; gen: number }
  /** A rectangle of its frame buffer (frame-forward.ts). */
  | FrameMessage
  | { op: 'batch'; messages: FromScheduler[] };

/** A log-mode start (SpawnRequest.durable, with its path chosen by the pool). */
export interface DurableStart {
  path: string;
  start: CheckpointStart;
  replay?: { log: Uint8Array; memorySha256: string | null };
}

/** The checkpoint reply's value: a snapshot, or (log mode) a log checkpoint but its module, which the pool adds. */
export interface CheckpointValue {
  snapshot: Uint8Array | null;
  log: LogCapture | null;
  /** forMove: stdin the guest had not read, and whether stdin was closed. */
  stdin?: Uint8Array[];
  stdinClosed?: boolean;
}

/** The spawn and restore replies' value. */
export interface StartedValue {
  capturable: boolean;
  capture: CaptureMode;
  /** argv, as the scheduler resolved it (a restore's come from its snapshot). */
  args: string[];
  name: string;
  /** A restore's manifest (its env and mounts come from the snapshot); a spawn's is the pool's already. */
  manifest?: Manifest;
}

/**
 * Post through `send`, gathering what is posted in one turn (until the microtasks run out)
 * into one 'batch' message: a start of many picoprocesses then costs each thread one wake-up
 * instead of one per picoprocess.
 */
export function batching<M extends { op: string }>(
  send: (m: M | { op: 'batch'; messages: M[] }, transfer: ArrayBuffer[]) => void,
): (m: M, transfer?: ArrayBuffer[]) => void {
  let queue: M[] = [];
  let transfers: ArrayBuffer[] = [];
  const flush = () => {
    const messages = queue;
    const t = transfers;
    queue = [];
    transfers = [];
    send(messages.length === 1 ? messages[0]! : { op: 'batch', messages }, t);
  };
  return (m, transfer) => {
    if (queue.length === 0) queueMicrotask(flush);
    queue.push(m);
    if (transfer) transfers.push(...transfer);
  };
}
