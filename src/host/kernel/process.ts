// One picoprocess of a host: the Dk ABI it calls (every primitive, for every host). Its state
// and the Picoprocess controls the runtime uses are in process-state.ts; each primitive is one
// direct call into its family, in the ABI's order (src/abi/spec.ts): memory (dk-memory.ts),
// threads and synchronisation (dk-threads.ts), child processes (dk-children.ts), streams
// (dk-streams.ts, dk-stream-map.ts), other (dk-misc.ts, dk-devices.ts). Host differences live
// in the Platform (clocks, randomness, timers, file system, inherited stdio); host-wide state
// (pipe names, process ids, display listeners) lives in the kernel (kernel.ts).
//
// Rules kept in every family:
// - Guest input is hostile: every argument is checked and answered with a DkError code;
//   nothing throws out of a primitive.
// - A primitive that makes a handle checks the handle quota first, so that a refused call
//   has no side effect (calls must be restartable: docs/architecture.md, "The data path").
// - streamRead/streamWrite/systemTimeQuery are hot paths: no allocation, closures or
//   exceptions on them, and nothing between the Dk call and its family's function.

import type { AttributesUpdate, DirEntry, Dk, DkResult, Handle, StreamAttributes } from '../../abi/dk.ts';
import { ProcessState } from './process-state.ts';
import { dkVirtualMemoryAlloc, dkVirtualMemoryFree, dkVirtualMemoryProtect } from './dk-memory.ts';
import {
  dkAbortEventRegister,
  dkEventClear,
  dkEventPeek,
  dkEventSet,
  dkNotificationEventCreate,
  dkObjectsWaitAny,
  dkSemaphoreCreate,
  dkSemaphorePeek,
  dkSemaphoreRelease,
  dkSynchronizationEventCreate,
  dkThreadCreate,
  dkThreadDelayExecution,
  dkThreadExit,
  dkThreadGetParameter,
  dkThreadRaiseException,
  dkThreadYieldExecution,
} from './dk-threads.ts';
import { dkProcessCreate, dkProcessExit, dkProcessGetExitCode } from './dk-children.ts';
import {
  dkStreamAttributesQuery,
  dkStreamAttributesQueryByHandle,
  dkStreamAttributesSetByHandle,
  dkStreamDelete,
  dkStreamEnumerateChildren,
  dkStreamFlush,
  dkStreamGetEvent,
  dkStreamLinkCreate,
  dkStreamOpen,
  dkStreamRead,
  dkStreamRename,
  dkStreamSetLength,
  dkStreamWrite,
} from './dk-streams.ts';
import { dkStreamMap, dkStreamMapPeBinary, dkStreamUnmap } from './dk-stream-map.ts';
import { dkDebugStringPrint, dkInstructionCacheFlush, dkObjectClose, dkObjectReference, dkRandomBitsRead, dkSystemTimeQuery } from './dk-misc.ts';
import { dkFrameBufferExport, dkFrameBufferNotifyUpdate, dkInputEventRead } from './dk-devices.ts';

export class DkProcess extends ProcessState implements Dk {
  get dk(): Dk {
    return this;
  }

  // ---- memory ----

  virtualMemoryAlloc(addr: number, size: number, prot: number): DkResult<number> {
    return dkVirtualMemoryAlloc(this, addr, size, prot);
  }
  virtualMemoryFree(addr: number, size: number): DkResult<0> {
    return dkVirtualMemoryFree(this, addr, size);
  }
  virtualMemoryProtect(addr: number, size: number, prot: number): DkResult<0> {
    return dkVirtualMemoryProtect(this, addr, size, prot);
  }

  // ---- threads and synchronisation ----

  threadCreate(param: number): DkResult<Handle> {
    return dkThreadCreate(this, param);
  }
  threadDelayExecution(ns: bigint): Promise<DkResult<0>> {
    return dkThreadDelayExecution(this, ns);
  }
  threadYieldExecution(): Promise<DkResult<0>> {
    return dkThreadYieldExecution(this);
  }
  threadExit(code: number): DkResult<0> {
    return dkThreadExit(this, code);
  }
  threadGetParameter(): DkResult<number> {
    return dkThreadGetParameter(this);
  }
  threadRaiseException(thread: Handle, code: number): DkResult<0> {
    return dkThreadRaiseException(this, thread, code);
  }
  notificationEventCreate(initiallySet: boolean): DkResult<Handle> {
    return dkNotificationEventCreate(this, initiallySet);
  }
  synchronizationEventCreate(initiallySet: boolean): DkResult<Handle> {
    return dkSynchronizationEventCreate(this, initiallySet);
  }
  semaphoreCreate(initialCount: number, maxCount: number): DkResult<Handle> {
    return dkSemaphoreCreate(this, initialCount, maxCount);
  }
  semaphoreRelease(semaphore: Handle, count: number): DkResult<number> {
    return dkSemaphoreRelease(this, semaphore, count);
  }
  semaphorePeek(semaphore: Handle): DkResult<number> {
    return dkSemaphorePeek(this, semaphore);
  }
  eventSet(event: Handle): DkResult<0> {
    return dkEventSet(this, event);
  }
  eventClear(event: Handle): DkResult<0> {
    return dkEventClear(this, event);
  }
  eventPeek(event: Handle): DkResult<0 | 1> {
    return dkEventPeek(this, event);
  }
  objectsWaitAny(handles: readonly Handle[], timeoutNs: bigint | null): Promise<DkResult<number>> {
    return dkObjectsWaitAny(this, handles, timeoutNs);
  }
  abortEventRegister(event: Handle): DkResult<0> {
    return dkAbortEventRegister(this, event);
  }

  // ---- child processes ----

  processCreate(uri: string, args: readonly string[], stdio: readonly Handle[]): DkResult<Handle> {
    return dkProcessCreate(this, uri, args, stdio);
  }
  processGetExitCode(process: Handle): DkResult<number> {
    return dkProcessGetExitCode(this, process);
  }
  processExit(code: number): DkResult<0> {
    return dkProcessExit(this, code);
  }

  // ---- streams ----

  streamOpen(uri: string, access: number, create: number, options: number): DkResult<Handle> {
    return dkStreamOpen(this, uri, access, create, options);
  }
  streamRead(stream: Handle, offset: number, buffer: Uint8Array): DkResult<number> {
    return dkStreamRead(this, stream, offset, buffer);
  }
  streamWrite(stream: Handle, offset: number, data: Uint8Array): DkResult<number> {
    return dkStreamWrite(this, stream, offset, data);
  }
  streamMap(stream: Handle, addr: number, prot: number, offset: number, size: number): DkResult<number> {
    return dkStreamMap(this, stream, addr, prot, offset, size);
  }
  streamMapPeBinary(stream: Handle): DkResult<Uint8Array> {
    return dkStreamMapPeBinary(this, stream);
  }
  streamUnmap(addr: number, size: number): DkResult<0> {
    return dkStreamUnmap(this, addr, size);
  }
  streamSetLength(stream: Handle, length: number): DkResult<0> {
    return dkStreamSetLength(this, stream, length);
  }
  streamFlush(stream: Handle): DkResult<0> {
    return dkStreamFlush(this, stream);
  }
  streamDelete(stream: Handle, side: number): DkResult<0> {
    return dkStreamDelete(this, stream, side);
  }
  streamGetEvent(stream: Handle, side: number): DkResult<Handle> {
    return dkStreamGetEvent(this, stream, side);
  }
  streamRename(stream: Handle, newUri: string): DkResult<0> {
    return dkStreamRename(this, stream, newUri);
  }
  streamEnumerateChildren(stream: Handle): DkResult<DirEntry[]> {
    return dkStreamEnumerateChildren(this, stream);
  }
  streamAttributesQuery(uri: string, options: number): DkResult<StreamAttributes> {
    return dkStreamAttributesQuery(this, uri, options);
  }
  streamAttributesQueryByHandle(stream: Handle): DkResult<StreamAttributes> {
    return dkStreamAttributesQueryByHandle(this, stream);
  }
  streamAttributesSetByHandle(stream: Handle, update: AttributesUpdate): DkResult<0> {
    return dkStreamAttributesSetByHandle(this, stream, update);
  }
  streamLinkCreate(linkUri: string, target: string, symbolic: boolean): DkResult<0> {
    return dkStreamLinkCreate(this, linkUri, target, symbolic);
  }

  // ---- other ----

  systemTimeQuery(clock: number): DkResult<bigint> {
    return dkSystemTimeQuery(this, clock);
  }
  randomBitsRead(buffer: Uint8Array): DkResult<number> {
    return dkRandomBitsRead(this, buffer);
  }
  instructionCacheFlush(): DkResult<0> {
    return dkInstructionCacheFlush(this);
  }
  objectReference(handle: Handle): DkResult<0> {
    return dkObjectReference(this, handle);
  }
  objectClose(handle: Handle): DkResult<0> {
    return dkObjectClose(this, handle);
  }
  inputEventRead(buffer: Uint8Array): DkResult<number> {
    return dkInputEventRead(this, buffer);
  }
  frameBufferExport(width: number, height: number, format: number): DkResult<Handle> {
    return dkFrameBufferExport(this, width, height, format);
  }
  frameBufferNotifyUpdate(frameBuffer: Handle, x: number, y: number, width: number, height: number): DkResult<0> {
    return dkFrameBufferNotifyUpdate(this, frameBuffer, x, y, width, height);
  }
  debugStringPrint(text: string): DkResult<0> {
    return dkDebugStringPrint(this, text);
  }
}
