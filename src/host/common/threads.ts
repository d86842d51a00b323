// Threads of a picoprocess: green threads on the host event loop. Which thread makes a Dk
// call is carried by an AsyncLocalStorage context: DkThreadCreate runs LibOsThreadStart
// inside it, and the context follows every await of that thread (and nothing else).

import { AsyncLocalStorage } from 'node:async_hooks';
import { KObject } from './kobject.ts';
import type { PendingWait } from './wait.ts';

export class ThreadObject extends KObject {
  readonly kind = 'thread';
  /** Who owns it: a thread's context only counts for calls into its own picoprocess. */
  readonly owner: object;
  readonly param: number;
  exited = false;
  exitCode = 0;
  /** The wait in progress on this thread, which DkThreadRaiseException interrupts. */
  wait: PendingWait | null = null;

  constructor(owner: object, param: number) {
    super();
    this.owner = owner;
    this.param = param;
  }
  override isSignalled(): boolean {
    return this.exited;
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
