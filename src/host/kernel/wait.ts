// DkObjectsWaitAny: one pending wait on a list of objects. It registers a waker on each
// object; any state change re-checks the list in order, and the first signalled object
// satisfies the wait and is consumed (auto-reset events, semaphores). Wakers run
// synchronously inside the state change, so a set of an auto-reset event is taken by the
// waiter that registered first (FIFO) before anyone else can observe it.

import { DkError } from '../../abi/errors.ts';
import type { DkResult } from '../../abi/dk.ts';
import type { KObject } from './kobject.ts';
import type { Platform, TimerToken } from './platform.ts';
import type { ThreadObject, ThreadWait } from './threads.ts';

/** Check the objects in order; consume and return the index of the first signalled one, else -1. */
export function pollObjects(objects: readonly KObject[]): number {
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i]!;
    if (obj.isSignalled()) {
      obj.consume();
      return i;
    }
  }
  return -1;
}

export class PendingWait implements ThreadWait {
  private readonly objects: readonly KObject[];
  private readonly platform: Platform;
  private readonly thread: ThreadObject;
  private readonly pending: Set<PendingWait>;
  private timer: TimerToken | null = null;
  private done = false;
  private resolve!: (r: DkResult<number>) => void;
  readonly promise: Promise<DkResult<number>>;

  /**
   * Starts waiting. The wait registers itself with its thread (for interruption) and in
   * `pending` (the picoprocess's set, so that an exit can end it with EXITED).
   */
  constructor(objects: readonly KObject[], timeoutNs: bigint | null, platform: Platform, thread: ThreadObject, pending: Set<PendingWait>) {
    this.objects = objects;
    this.platform = platform;
    this.thread = thread;
    this.pending = pending;
    this.promise = new Promise((resolve) => (this.resolve = resolve));
    for (const obj of objects) obj.addWaiter(this.wake);
    if (timeoutNs !== null) this.timer = platform.setTimer(timeoutNs, this.timeout);
    thread.waits.add(this);
    pending.add(this);
  }

  private readonly wake = (): void => {
    if (this.done) return;
    const i = pollObjects(this.objects);
    if (i >= 0) this.finish(i);
  };

  private readonly timeout = (): void => {
    this.timer = null;
    this.finish(DkError.TIMED_OUT);
  };

  /** Ends the wait with result (an index, TIMED_OUT, INTERRUPTED or EXITED). */
  finish(result: DkResult<number>): void {
    if (this.done) return;
    this.done = true;
    for (const obj of this.objects) obj.removeWaiter(this.wake);
    if (this.timer !== null) this.platform.clearTimer(this.timer);
    this.timer = null;
    this.thread.waits.delete(this);
    this.pending.delete(this);
    this.resolve(result);
  }
}
