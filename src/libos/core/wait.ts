// How a syscall of the library OS waits, and how a capture ends a wait.
//
// Restartable calls: a syscall that must wait does no side effect before its last wait.
// It tries once; on WOULD_BLOCK it waits on the stream's event (DkObjectsWaitAny) and then
// issues the whole call again from the start. A capture can therefore abandon a waiting
// call at any moment and re-issue it after restore.
//
// WaitState is the part of the library OS state (WasiState, state.ts, extends it) that waits:
// the readiness events of stream handles and the interrupt event every wait also waits on.

import { StreamSide, type Dk, type Handle } from '../../abi/dk.ts';
import { isDkError } from '../../abi/errors.ts';
import { errnoOf } from './errno.ts';

/** Sentinel: the attempt found nothing ready; wait and retry. */
export const RETRY = -1;
/**
 * Sentinel a waiting call returns when the runtime interrupted its wait to capture the
 * picoprocess: the call did nothing (calls are restartable) and will be issued again after
 * the capture (by the same instance, or by a restored one).
 */
export const INTERRUPTED_CALL = -2;

export class WaitState {
  readonly dk: Dk;
  /** Set by the runtime to end waits early for a capture (see INTERRUPTED_CALL). */
  interrupted = false;
  private interruptEvent = 0;
  /**
   * Readiness events of stream handles, made once per handle and side and kept until the
   * handle is closed (closeHandle): a server that polls many descriptors in a loop would
   * otherwise make and close an event per descriptor per poll.
   */
  private readonly readiness = new Map<Handle, [Handle, Handle]>();

  constructor(dk: Dk) {
    this.dk = dk;
  }

  /** The event every wait also waits on, so that the runtime can end it for a capture. */
  interruptHandle(): Handle {
    if (this.interruptEvent === 0) {
      const h = this.dk.notificationEventCreate(false);
      this.interruptEvent = isDkError(h) ? 0 : h;
    }
    return this.interruptEvent;
  }

  interrupt(): void {
    this.interrupted = true;
    const h = this.interruptHandle();
    if (h) this.dk.eventSet(h);
  }

  clearInterrupt(): void {
    this.interrupted = false;
    if (this.interruptEvent) this.dk.eventClear(this.interruptEvent);
  }

  /** The event set while `handle` is ready on `side` (READ or WRITE), or a DkError. */
  readinessEvent(handle: Handle, side: number): Handle | number {
    let pair = this.readiness.get(handle);
    if (!pair) this.readiness.set(handle, (pair = [0, 0]));
    const i = side === StreamSide.WRITE ? 1 : 0;
    if (pair[i] === 0) {
      const ev = this.dk.streamGetEvent(handle, side);
      if (isDkError(ev)) return ev;
      pair[i] = ev;
    }
    return pair[i];
  }

  /** Close a stream handle and the readiness events made for it. */
  closeHandle(handle: Handle): void {
    const pair = this.readiness.get(handle);
    if (pair) {
      this.readiness.delete(handle);
      for (const ev of pair) if (ev !== 0) this.dk.objectClose(ev);
    }
    this.dk.objectClose(handle);
  }

  /** Wait until `handle` is ready on `side`, then run `attempt` again; repeat while it says RETRY. */
  async waitAndRetry(handle: Handle, side: number, attempt: () => number): Promise<number> {
    for (;;) {
      if (this.interrupted) return INTERRUPTED_CALL;
      const ev = this.readinessEvent(handle, side);
      if (isDkError(ev)) return errnoOf(ev);
      const r = await this.dk.objectsWaitAny([ev, this.interruptHandle()], null);
      if (r === 1 || this.interrupted) return INTERRUPTED_CALL;
      if (isDkError(r)) return errnoOf(r);
      const result = attempt();
      if (result !== RETRY) return result;
    }
  }
}
