// The thread and synchronisation primitives: green threads (threads.ts), events and
// semaphores (sync.ts), DkObjectsWaitAny (wait.ts) and the abort events the host sets when
// the picoprocess is asked to stop. The rules of every primitive are in process.ts.

import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import type { DkResult, Handle } from '../../abi/dk.ts';
import { retain, type KObject } from './kobject.ts';
import type { ProcessState } from './process-state.ts';
import { EventObject, NotificationEvent, Semaphore, SynchronizationEvent } from './sync.ts';
import { ThreadObject, threadContext } from './threads.ts';
import { PendingWait, pollObjects } from './wait.ts';
import { ChildProcess } from './child-process.ts';
import { isInt } from './arg-checks.ts';

const INT32_MAX = 0x7fffffff;
/** Most objects one DkObjectsWaitAny takes (like MAXIMUM_WAIT_OBJECTS, but roomier). */
export const MAX_WAIT_OBJECTS = 1024;

// ---- threads ----

export function dkThreadCreate(p: ProcessState, param: number): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(param)) return DkError.INVALID_ARGUMENT;
  if (p.upcalls === null) return DkError.NOT_SUPPORTED;
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  const t = new ThreadObject(p, param);
  (p.threads ??= new Set()).add(t);
  const h = p.insert(t);
  // Start after the creator has its handle, as a new green thread with its own context.
  queueMicrotask(() => runThread(p, t));
  return h;
}

function runThread(p: ProcessState, t: ThreadObject): void {
  const upcalls = p.upcalls;
  if (t.exited || p.exitCode !== null || upcalls === null) return;
  let run: Promise<void>;
  try {
    run = threadContext.run(t, () => upcalls.libOsThreadStart(t.param));
  } catch (e) {
    threadEnded(p, t, -1, e);
    return;
  }
  Promise.resolve(run).then(
    () => threadEnded(p, t, 0, null),
    (e: unknown) => threadEnded(p, t, -1, e),
  );
}
function threadEnded(p: ProcessState, t: ThreadObject, code: number, error: unknown): void {
  if (error !== null) p.debug(`thread ${t.param}: LibOsThreadStart failed: ${String(error)}`);
  t.finish(code); // no effect if it called DkThreadExit: that code stands
  p.threads?.delete(t);
}

export async function dkThreadDelayExecution(p: ProcessState, ns: bigint): Promise<DkResult<0>> {
  if (p.gone()) return DkError.EXITED;
  if (typeof ns !== 'bigint' || ns < 0n) return DkError.INVALID_ARGUMENT;
  const r = await new PendingWait([], ns, p.platform, p.currentThread(), p.waits).promise;
  return r === DkError.TIMED_OUT ? 0 : (r as DkErrorCode);
}
export async function dkThreadYieldExecution(p: ProcessState): Promise<DkResult<0>> {
  if (p.gone()) return DkError.EXITED;
  await p.platform.yieldNow();
  return p.exitCode !== null ? DkError.EXITED : 0;
}
export function dkThreadExit(p: ProcessState, code: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(code)) return DkError.INVALID_ARGUMENT;
  const t = p.currentThread();
  t.finish(code);
  p.exitedThreads++;
  return 0;
}
export function dkThreadGetParameter(p: ProcessState): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  return p.currentThread().param;
}
export function dkThreadRaiseException(p: ProcessState, thread: Handle, code: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const t = p.handles.get(thread);
  if (t === undefined) return DkError.BAD_HANDLE;
  if (t instanceof ChildProcess) {
    // On a child's handle: ask the child to stop (its launcher kills it; the handle signals
    // when it has). The closed ABI has no DkProcessKill; this is the closest honest primitive.
    if (!isInt(code)) return DkError.INVALID_ARGUMENT;
    t.kill();
    return 0;
  }
  if (!(t instanceof ThreadObject)) return DkError.WRONG_HANDLE_TYPE;
  if (!isInt(code)) return DkError.INVALID_ARGUMENT;
  if (t.exited) return DkError.EXITED;
  const upcalls = p.upcalls;
  if (upcalls !== null) {
    try {
      // In the target's context: the library OS sees the exception on that thread.
      threadContext.run(t, () => upcalls.libOsExceptionDispatch({ thread, code }));
    } catch (e) {
      p.debug(`LibOsExceptionDispatch failed: ${String(e)}`);
    }
  }
  t.interrupt(DkError.INTERRUPTED);
  return 0;
}

// ---- events and semaphores ----

export function dkNotificationEventCreate(p: ProcessState, initiallySet: boolean): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  if (typeof initiallySet !== 'boolean') return DkError.INVALID_ARGUMENT;
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  return p.insert(new NotificationEvent(initiallySet));
}
export function dkSynchronizationEventCreate(p: ProcessState, initiallySet: boolean): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  if (typeof initiallySet !== 'boolean') return DkError.INVALID_ARGUMENT;
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  return p.insert(new SynchronizationEvent(initiallySet));
}
export function dkSemaphoreCreate(p: ProcessState, initialCount: number, maxCount: number): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(initialCount) || !isInt(maxCount)) return DkError.INVALID_ARGUMENT;
  if (maxCount < 1 || maxCount > INT32_MAX || initialCount < 0 || initialCount > maxCount) return DkError.INVALID_ARGUMENT;
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  return p.insert(new Semaphore(initialCount, maxCount));
}
export function dkSemaphoreRelease(p: ProcessState, semaphore: Handle, count: number): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  const s = p.handles.get(semaphore);
  if (s === undefined) return DkError.BAD_HANDLE;
  if (!(s instanceof Semaphore)) return DkError.WRONG_HANDLE_TYPE;
  if (!isInt(count) || count < 0) return DkError.INVALID_ARGUMENT;
  return s.add(count);
}
export function dkSemaphorePeek(p: ProcessState, semaphore: Handle): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  const s = p.handles.get(semaphore);
  if (s === undefined) return DkError.BAD_HANDLE;
  return s instanceof Semaphore ? s.peek() : DkError.WRONG_HANDLE_TYPE;
}
export function dkEventSet(p: ProcessState, event: Handle): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const e = p.handles.get(event);
  if (e === undefined) return DkError.BAD_HANDLE;
  if (!(e instanceof EventObject)) return DkError.WRONG_HANDLE_TYPE;
  e.set();
  return 0;
}
export function dkEventClear(p: ProcessState, event: Handle): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const e = p.handles.get(event);
  if (e === undefined) return DkError.BAD_HANDLE;
  if (!(e instanceof EventObject)) return DkError.WRONG_HANDLE_TYPE;
  e.clear();
  return 0;
}
/** Works on every event, stream readiness events included (their state, not consumed). */
export function dkEventPeek(p: ProcessState, event: Handle): DkResult<0 | 1> {
  if (p.gone()) return DkError.EXITED;
  const e = p.handles.get(event);
  if (e === undefined) return DkError.BAD_HANDLE;
  if (e.kind !== 'event') return DkError.WRONG_HANDLE_TYPE;
  return e.isSignalled() ? 1 : 0;
}

// ---- waits ----

export async function dkObjectsWaitAny(p: ProcessState, handles: readonly Handle[], timeoutNs: bigint | null): Promise<DkResult<number>> {
  if (p.gone()) return DkError.EXITED;
  if (!Array.isArray(handles) || handles.length > MAX_WAIT_OBJECTS) return DkError.INVALID_ARGUMENT;
  if (timeoutNs !== null && (typeof timeoutNs !== 'bigint' || timeoutNs < 0n)) return DkError.INVALID_ARGUMENT;
  if (handles.length === 0 && timeoutNs === null) return DkError.INVALID_ARGUMENT; // would never return
  const objects: KObject[] = [];
  for (const h of handles) {
    const obj = p.handles.get(h);
    if (obj === undefined) return DkError.BAD_HANDLE;
    objects.push(obj);
  }
  const ready = pollObjects(objects);
  if (ready >= 0) return ready;
  // A poll (timeout 0) answers without waiting for the event loop.
  if (timeoutNs === 0n) return DkError.TIMED_OUT;
  return new PendingWait(objects, timeoutNs, p.platform, p.currentThread(), p.waits).promise;
}

export function dkAbortEventRegister(p: ProcessState, event: Handle): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const e = p.handles.get(event);
  if (e === undefined) return DkError.BAD_HANDLE;
  if (!(e instanceof EventObject)) return DkError.WRONG_HANDLE_TYPE;
  p.abortEvents ??= new Set();
  if (!p.abortEvents.has(e)) {
    retain(e); // it stays registered after the guest closes its handle
    p.abortEvents.add(e);
  }
  return 0;
}
