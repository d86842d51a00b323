// The other primitives: clocks, random bits, the instruction cache, handle references and
// debug output. The rules of every primitive are in process.ts.

import { DkError } from '../../abi/errors.ts';
import { Clock, type DkResult, type Handle } from '../../abi/dk.ts';
import type { ProcessState } from './process-state.ts';

/** Hot path: no allocation, closures or exceptions; the exit check is gone()'s, written out. */
export function dkSystemTimeQuery(p: ProcessState, clock: number): DkResult<bigint> {
  if (p.exitCode !== null || (p.exitedThreads !== 0 && p.currentThread().exited)) return DkError.EXITED;
  switch (clock) {
    case Clock.REALTIME:
      return p.platform.realtimeNs();
    case Clock.MONOTONIC:
      return p.platform.monotonicNs();
    case Clock.PROCESS_CPUTIME:
    case Clock.THREAD_CPUTIME:
      return p.platform.cpuTimeNs();
    default:
      return DkError.INVALID_ARGUMENT;
  }
}
export function dkRandomBitsRead(p: ProcessState, buffer: Uint8Array): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  if (!(buffer instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
  p.platform.randomFill(buffer);
  return buffer.length;
}
export function dkInstructionCacheFlush(p: ProcessState): DkResult<0> {
  return p.gone() ? DkError.EXITED : 0;
}
export function dkObjectReference(p: ProcessState, handle: Handle): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  return p.handles.reference(handle);
}
export function dkObjectClose(p: ProcessState, handle: Handle): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  return p.handles.close(handle);
}
export function dkDebugStringPrint(p: ProcessState, text: string): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  if (typeof text !== 'string') return DkError.INVALID_ARGUMENT;
  p.debug(text);
  return 0;
}
