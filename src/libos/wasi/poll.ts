// poll_oneoff: clocks (relative and absolute, realtime and monotonic) and descriptor
// readiness. Restartable: each round reads the subscriptions afresh, checks what is ready,
// and only writes events when something is; otherwise it waits on the streams' events and
// the earliest deadline (DkObjectsWaitAny) and runs the round again.
//
// A poll that answers at once with no descriptor ready (timeout 0, or a deadline already past)
// is a would-block answer: a guest polling so in a loop would hold the event loop that
// delivers its data, so such answers are counted (core/wait.ts, spinDue) and, past the budget,
// the event loop gets one turn before the round is run again and answered.

import { Clock, StreamSide, type Handle } from '../../abi/dk.ts';
import { DkError, isDkError } from '../../abi/errors.ts';
import { ClockId, Errno, EventType, Eventrwflags, Subclockflags } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { Description } from '../core/fds.ts';
import type { WasiState } from '../core/state.ts';
import { INTERRUPTED_CALL } from '../core/wait.ts';

const SUB_SIZE = 48;
const EVENT_SIZE = 32;

interface Sub {
  userdata: bigint;
  type: number;
  /** Clock: monotonic deadline in ns. */
  deadline: bigint;
  desc: Description | null;
}

export function pollCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;

  /** Parse the subscriptions; an errno for a bad one (the whole call fails, as in wasmtime). */
  function parse(inPtr: number, n: number, monoNow: bigint): Sub[] | number {
    mem.refresh();
    const subs: Sub[] = [];
    for (let i = 0; i < n; i++) {
      const p = inPtr + i * SUB_SIZE;
      const userdata = mem.dv.getBigUint64(p, true);
      const type = mem.dv.getUint8(p + 8);
      if (type === EventType.CLOCK) {
        const id = mem.u32(p + 16);
        const timeout = mem.dv.getBigUint64(p + 24, true);
        const abs = (mem.dv.getUint16(p + 40, true) & Subclockflags.ABSTIME) !== 0;
        let deadline: bigint;
        if (id === ClockId.MONOTONIC) deadline = abs ? timeout : monoNow + timeout;
        else if (id === ClockId.REALTIME) {
          if (!abs) deadline = monoNow + timeout;
          else {
            const real = os.now(Clock.REALTIME);
            deadline = monoNow + (timeout > real ? timeout - real : 0n);
          }
        } else return Errno.INVAL;
        subs.push({ userdata, type, deadline, desc: null });
      } else if (type === EventType.FD_READ || type === EventType.FD_WRITE) {
        const fd = mem.u32(p + 16);
        const desc = os.fds.get(fd);
        if (!desc) return Errno.BADF;
        const ok =
          type === EventType.FD_READ
            ? desc.kind === 'stdin' || desc.kind === 'file' || desc.kind === 'stream'
            : desc.kind === 'stdout' || desc.kind === 'stderr' || desc.kind === 'file' || desc.kind === 'stream';
        if (!ok) return Errno.BADF;
        subs.push({ userdata, type, deadline: 0n, desc });
      } else return Errno.INVAL;
    }
    return subs;
  }

  function writeEvent(outPtr: number, index: number, s: Sub, nbytes: bigint, flags: number): void {
    const p = outPtr + index * EVENT_SIZE;
    mem.bytes(p, EVENT_SIZE).fill(0);
    mem.dv.setBigUint64(p, s.userdata, true);
    mem.setU16(p + 8, Errno.SUCCESS);
    mem.setU8(p + 10, s.type);
    mem.dv.setBigUint64(p + 16, nbytes, true);
    mem.setU16(p + 24, flags);
  }

  interface Ready {
    s: Sub;
    nbytes: bigint;
    flags: number;
  }

  /** One round: what is ready; when nothing is, `waits` has the events to wait on. */
  function round(subs: Sub[], monoNow: bigint, waits: Handle[]): Ready[] {
    const ready: Ready[] = [];
    for (const s of subs) {
      if (s.type === EventType.CLOCK) {
        if (s.deadline <= monoNow) ready.push({ s, nbytes: 0n, flags: 0 });
        continue;
      }
      const d = s.desc!;
      if (d.kind === 'file') {
        let flags = 0;
        if (s.type === EventType.FD_READ) {
          const a = dk.streamAttributesQueryByHandle(d.handle);
          if (!isDkError(a) && a.size <= d.position) flags = Eventrwflags.HANGUP;
        }
        ready.push({ s, nbytes: 1n, flags });
        continue;
      }
      const ev = os.readinessEvent(d.handle, s.type === EventType.FD_READ ? StreamSide.READ : StreamSide.WRITE);
      if (isDkError(ev)) {
        // No event to wait on (e.g. a null stream): it is always ready.
        ready.push({ s, nbytes: 1n, flags: 0 });
        continue;
      }
      // The events are the descriptors' own (cached by the state): nothing to close here.
      if (dk.eventPeek(ev) === 1) ready.push({ s, nbytes: 1n, flags: 0 });
      else waits.push(ev);
    }
    if (ready.length > 0) waits.length = 0;
    return ready;
  }

  /** Write the events of a round and their count: the call's only side effect, done last. */
  function answer(ready: Ready[], outPtr: number, neventsPtr: number): number {
    mem.refresh();
    ready.forEach((r, i) => writeEvent(outPtr, i, r.s, r.nbytes, r.flags));
    mem.setU32(neventsPtr, ready.length);
    return Errno.SUCCESS;
  }

  /** Whether a round found no descriptor ready (only deadlines): a would-block answer. */
  function onlyClocks(ready: Ready[]): boolean {
    for (const r of ready) if (r.s.type !== EventType.CLOCK) return false;
    return true;
  }

  /** Descriptors looked up again (a round after a wait): the deadlines stay those of the first round. */
  function refresh(inPtr: number, n: number, subs: Sub[]): number {
    const again = parse(inPtr, n, os.monotonicNow());
    if (typeof again === 'number') return again;
    subs.forEach((s, i) => {
      if (s.type !== EventType.CLOCK) s.desc = again[i]!.desc;
    });
    return Errno.SUCCESS;
  }

  /** The event loop's turn a spinning guest is due, then the round again. */
  async function afterTurn(inPtr: number, outPtr: number, n: number, neventsPtr: number, subs: Sub[]): Promise<number> {
    const y = await os.yieldTurn();
    if (y !== Errno.SUCCESS) return y;
    const bad = refresh(inPtr, n, subs);
    if (bad !== Errno.SUCCESS) return bad;
    const ready = round(subs, os.monotonicNow(), []);
    return ready.length > 0 ? answer(ready, outPtr, neventsPtr) : wait(inPtr, outPtr, n, neventsPtr, subs);
  }

  /**
   * Wait until a round finds something ready. The first round may use the time the caller's round
   * read (`firstNow`): then the deadline it found not yet due is waited for, not found passed by a
   * later reading of the clock, so a wait is always a wait (and is recorded as one).
   */
  async function wait(inPtr: number, outPtr: number, n: number, neventsPtr: number, subs: Sub[], firstNow?: bigint): Promise<number> {
    for (let now = firstNow; ; now = undefined) {
      const monoNow = now ?? os.monotonicNow();
      const waits: Handle[] = [];
      const ready = round(subs, monoNow, waits);
      if (ready.length > 0) return answer(ready, outPtr, neventsPtr);
      let deadline: bigint | null = null;
      for (const s of subs) if (s.type === EventType.CLOCK && (deadline === null || s.deadline < deadline)) deadline = s.deadline;
      const timeout = deadline === null ? null : deadline - monoNow;
      if (os.interrupted) return INTERRUPTED_CALL;
      // The interrupt event comes last: the runtime sets it to capture the picoprocess.
      const interruptAt = waits.length;
      const r = await dk.objectsWaitAny([...waits, os.interruptHandle()], timeout === null ? null : timeout < 0n ? 0n : timeout);
      // Nothing was ready and no deadline had passed: a real wait, the event loop had its turn.
      os.loopTurned();
      if (r === interruptAt || os.interrupted) return INTERRUPTED_CALL;
      if (isDkError(r) && r !== DkError.TIMED_OUT) return errnoOf(r);
      // Keep the original deadlines: a relative timeout counts from the first round.
      const bad = refresh(inPtr, n, subs);
      if (bad !== Errno.SUCCESS) return bad;
    }
  }

  return {
    poll_oneoff(inPtr: number, outPtr: number, n: number, neventsPtr: number): number | Promise<number> {
      if (n === 0) return Errno.INVAL;
      const monoNow = os.monotonicNow();
      const subs = parse(inPtr, n, monoNow);
      if (typeof subs === 'number') return subs;
      const ready = round(subs, monoNow, []);
      if (ready.length === 0) return wait(inPtr, outPtr, n, neventsPtr, subs, monoNow);
      if (onlyClocks(ready) && os.spinDue()) return afterTurn(inPtr, outPtr, n, neventsPtr, subs);
      return answer(ready, outPtr, neventsPtr);
    },
  };
}
