// How a syscall of the library OS waits, and how a capture ends a wait.
//
// Restartable calls: a syscall that must wait does no side effect before its last wait.
// It tries once; on WOULD_BLOCK it waits on the stream's event (DkObjectsWaitAny) and then
// issues the whole call again from the start. A capture can therefore abandon a waiting
// call at any moment and re-issue it after restore.
//
// WaitState is the part of the library OS state (WasiState, state.ts, extends it) that waits:
// the readiness events of stream handles and the interrupt event every wait also waits on.
//
// Spinning: the host delivers connections and bytes on its event loop, which runs only while
// the guest waits. A guest that asks again and again without waiting (a non-blocking read or
// accept answering EAGAIN, poll with timeout 0, a wake-up that finds nothing to do) would hold
// the loop for ever and never see its data. So would-block answers are counted since the loop
// last had a turn: past SPIN_ANSWERS of them, or SPIN_NS after the first, the next one is a real
// wait of one turn (DkThreadYieldExecution) and the call is tried once more after it. Only the
// calls imported as Suspending answer would-block, so this needs no import to change; the yield
// comes before any side effect, so the calls stay restartable.

import { Clock, StreamSide, type Dk, type Handle } from '../../abi/dk.ts';
import { isDkError } from '../../abi/errors.ts';
import { Errno } from './constants.ts';
import { errnoOf } from './errno.ts';

/** Sentinel: the attempt found nothing ready; wait and retry. */
export const RETRY = -1;
/**
 * Sentinel a waiting call returns when the runtime interrupted its wait to capture the
 * picoprocess: the call did nothing (calls are restartable) and will be issued again after
 * the capture (by the same instance, or by a restored one).
 */
export const INTERRUPTED_CALL = -2;

/** Would-block answers in a row after which the next one first gives the event loop a turn. */
export const SPIN_ANSWERS = 64;
/** Time (ns) from the first would-block answer after a turn at which the next one gives another. */
export const SPIN_NS = 2_000_000n;

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
  /** Would-block answers since the event loop last had a turn in a wait of this library OS. */
  private spins = 0;
  /** Monotonic time of the first of them (-1: none yet). */
  private spinSince = -1n;

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
      if (result !== RETRY) {
        // The call waited because its attempt would block: the event was not set, so the
        // wait was a real one and the event loop had its turn.
        this.loopTurned();
        return result;
      }
      // Woken and still nothing to do (an event that does not mean what the call waits for):
      // as much a spin as an EAGAIN, so the loop gets its turns all the same.
      if (this.spinDue()) {
        const y = await this.yieldTurn();
        if (y !== Errno.SUCCESS) return y;
      }
    }
  }

  /** The event loop had a turn: a real wait of this library OS ended. */
  loopTurned(): void {
    this.spins = 0;
    this.spinSince = -1n;
  }

  /** Count one would-block answer; whether the event loop is due a turn before it is given. */
  spinDue(): boolean {
    this.spins++;
    if (this.spins >= SPIN_ANSWERS) return true;
    const now = this.dk.systemTimeQuery(Clock.MONOTONIC);
    if (typeof now !== 'bigint') return false;
    if (this.spinSince < 0n) this.spinSince = now;
    return now - this.spinSince >= SPIN_NS;
  }

  /**
   * A call is about to answer `answer` (EAGAIN, EALREADY: it would block) to a guest that does
   * not wait. Usually that is the answer; when the guest has spun on such answers past the
   * budget (spinDue), the event loop first gets one turn and `attempt` (the call's own
   * restartable attempt) runs once more, so what arrived meanwhile is seen.
   */
  wouldBlock(answer: number, attempt: () => number): number | Promise<number> {
    if (!this.spinDue()) return answer;
    return this.yieldTurn().then((y) => {
      if (y !== Errno.SUCCESS) return y;
      const r = attempt();
      return r === RETRY ? answer : r; // (a shared description made blocking meanwhile: answer as before)
    });
  }

  /** One turn of the event loop; SUCCESS, INTERRUPTED_CALL (a capture) or an errno. */
  async yieldTurn(): Promise<number> {
    const r = await this.dk.threadYieldExecution();
    this.loopTurned();
    if (this.interrupted) return INTERRUPTED_CALL;
    return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
  }
}
