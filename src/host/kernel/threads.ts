// Threads of a picoprocess: green threads on the host event loop. Which thread makes a Dk
// call is carried by an AsyncLocalStorage context: DkThreadCreate runs LibOsThreadStart
// inside it, and the context follows every await of that thread (and nothing else).

import { AsyncLocalStorage } from 'node:async_hooks';
import { KObject } from './kobject.ts';

/** A wait in progress on a thread (a PendingWait, wait.ts): what an interrupt ends. */
export interface ThreadWait {
  finish(result: number): void;
}

export class ThreadObject extends KObject {
  readonly kind = 'thread';
  /** Who owns it: a thread's context only counts for calls into its own picoprocess. */
  readonly owner: object;
  readonly param: number;
  exited = false;
  exitCode = 0;
  /**
   * Waits in progress on this thread, which DkThreadRaiseException interrupts. A Wasm thread
   * has at most one (its stack is suspended in it), but host-side JS on the first thread may
   * issue several at once.
   */
  readonly waits = new Set<ThreadWait>();

  constructor(owner: object, param: number) {
    super();
    this.owner = owner;
    this.param = param;
  }
  override isSignalled(): boolean {
    return this.exited;
  }
  /** End every wait of the thread with result (INTERRUPTED). */
  interrupt(result: number): void {
    for (const w of [...this.waits]) w.finish(result);
  }
  finish(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.exitCode = code;
    this.notify();
  }
}

/** The calling thread, as set by the thread's start; undefined on a first (main) thread. */
export const threadContext = new AsyncLocalStorage<ThreadObject>();
