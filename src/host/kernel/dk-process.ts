// One picoprocess of a host: the Dk ABI it calls (every primitive, for every host) and the
// Picoprocess controls the runtime uses. Host differences live in the Platform (clocks,
// randomness, timers, file system, inherited stdio); host-wide state (pipe names, process
// ids, display listeners) lives in the kernel (kernel.ts).
//
// Rules kept everywhere here:
// - Guest input is hostile: every argument is checked and answered with a DkError code;
//   nothing throws out of a primitive.
// - A primitive that makes a handle checks the handle quota first, so that a refused call
//   has no side effect (calls must be restartable, DESIGN.md).
// - streamRead/streamWrite/systemTimeQuery are hot paths: no allocation, closures or
//   exceptions on them.

import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import {
  Access,
  Clock,
  Create,
  NO_OFFSET,
  OpenOption,
  PixelFormat,
  Prot,
  StatusFlag,
  StreamSide,
  type AttributesUpdate,
  type DirEntry,
  type Dk,
  type DkResult,
  type Handle,
  type LibOsUpcalls,
  type StreamAttributes,
} from '../../abi/dk.ts';
import type { Picoprocess, ProcessOptions, StdinSource, OutputSink } from './host.ts';
import { HandleTable, StreamObject, drop, retain, type KObject } from './kobject.ts';
import type { Platform } from './platform.ts';
import type { KernelServices } from './kernel.ts';
import { EventObject, NotificationEvent, Semaphore, SynchronizationEvent } from './sync.ts';
import { ThreadObject, threadContext } from './threads.ts';
import { PendingWait, pollObjects } from './wait.ts';
import { ChildProcess } from './child-process.ts';
import { AddressSpace, WASM_PAGE } from './address-space.ts';
import { AlwaysReady } from './readiness.ts';
import { BytesSource, CallbackSink, NullStream, ResetStream, charDeviceAttributes } from './stdio.ts';
import { FRAME_BUFFER_MAX_PIXELS, FrameBuffer, InputDevice, InputQueue, type InputEvent } from './devices.ts';
import { createFileLink, openFileStream, queryFileAttributes } from './files/files.ts';
import { NETWORK_SCHEMES, openNetworkStream } from './net/driver.ts';

const ACCESS_BITS = Access.READ | Access.WRITE | Access.APPEND;
const CREATE_BITS = Create.CREATE | Create.EXCLUSIVE | Create.TRUNCATE;
const OPTION_BITS = OpenOption.NO_FOLLOW | OpenOption.DIRECTORY | OpenOption.PATH_ONLY | OpenOption.ACCEPT;
const PROT_BITS = Prot.READ | Prot.WRITE | Prot.EXEC;
const STATUS_BITS = StatusFlag.APPEND | StatusFlag.NONBLOCK;
const INT32_MAX = 0x7fffffff;
/** Most objects one DkObjectsWaitAny takes (like MAXIMUM_WAIT_OBJECTS, but roomier). */
export const MAX_WAIT_OBJECTS = 1024;
/** Most handles DkProcessCreate passes on: stdin, stdout, stderr, then streams the child opens with inherit:N. */
export const MAX_PASSED_HANDLES = 4096;
/** Largest image DkStreamMapPeBinary reads (the biggest Wasm modules are tens of MB). */
export const MAX_IMAGE_BYTES = 1 << 30;
/** Network schemes (net-driver.ts): opened through the kernel's network driver. */
const RESERVED_SCHEMES = NETWORK_SCHEMES;
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

function isFlags(value: unknown, allowed: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= allowed && (value & ~allowed) === 0;
}
function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}
function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= NO_OFFSET;
}

/** A DkStreamMap region: a private copy of a stream's bytes, written back at unmap. */
interface Mapping {
  addr: number;
  size: number;
  stream: StreamObject;
  offset: number;
  prot: number;
}


export class DkProcess implements Dk, Picoprocess {
  readonly id: number;
  readonly exited: Promise<number>;
  exitCode: number | null = null;

  private readonly kernel: KernelServices;
  private readonly platform: Platform;
  private readonly options: ProcessOptions;
  private readonly handles: HandleTable;
  private readonly space = new AddressSpace();
  private upcalls: LibOsUpcalls | null = null;
  private resolveExited!: (code: number) => void;

  private readonly mainThread: ThreadObject;
  // Made on first use, as the other tables below: most picoprocesses start no thread, register
  // no abort event and inherit nothing past stdio (a host starts thousands: bench/density.ts).
  /** Threads started by DkThreadCreate that have not returned yet. */
  private threads: Set<ThreadObject> | null = null;
  /** How many threads called DkThreadExit: until one has, no call pays for a context lookup. */
  private exitedThreads = 0;
  /** Waits in progress (objectsWaitAny, delays), ended with EXITED when the process exits. */
  private readonly waits = new Set<PendingWait>();
  private abortEvents: Set<EventObject> | null = null;
  /** stdin, stdout, stderr objects; each holds a reference until the process exits. */
  private readonly stdio: StreamObject[];
  private readonly input = new InputQueue();
  private frameBuffer: FrameBuffer | null = null;
  private readonly mappings: Mapping[] = [];
  /** Streams the parent passed on past stdio (DkProcessCreate), by index, until opened with inherit:N. */
  private inherited: Map<number, StreamObject> | null = null;

  constructor(kernel: KernelServices, id: number, options: ProcessOptions = {}) {
    this.kernel = kernel;
    this.platform = kernel.platform;
    this.id = id;
    this.options = options;
    const limit = options.maxHandles;
    this.handles = new HandleTable(typeof limit === 'number' && limit >= 0 ? limit : Infinity);
    this.mainThread = new ThreadObject(this, 0);
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.stdio = [this.stdinObject(options.stdin), this.outputObject(options.stdout, 1), this.outputObject(options.stderr, 2)];
    const given = options.stdioStreams;
    if (Array.isArray(given)) {
      for (let i = 0; i < 3 && i < given.length; i++) {
        const s: unknown = given[i];
        if (s === null) this.stdio[i] = new NullStream();
        else if (s instanceof StreamObject) this.stdio[i] = s;
      }
    }
    for (const s of this.stdio) retain(s);
    // Entries past the three stdio streams: handles the parent passed on (a fork child's
    // descriptors), each held here until the child opens it with inherit:N.
    if (Array.isArray(given)) {
      for (let i = 3; i < given.length; i++) {
        const s: unknown = given[i];
        if (s instanceof StreamObject) {
          retain(s);
          (this.inherited ??= new Map()).set(i, s);
        }
      }
    }
  }

  private stdinObject(source: StdinSource | undefined): StreamObject {
    if (source instanceof Uint8Array) return new BytesSource(source);
    if (source === 'inherit') return this.platform.inheritStdin();
    return new NullStream('stdin:');
  }
  private outputObject(sink: OutputSink | undefined, fd: 1 | 2): StreamObject {
    const uri = fd === 1 ? 'stdout:' : 'stderr:';
    if (typeof sink === 'function') return new CallbackSink(uri, sink);
    if (sink === 'inherit') return this.platform.inheritOutput(fd);
    return new NullStream(uri);
  }

  // ---- Picoprocess ----

  get dk(): Dk {
    return this;
  }
  attachMemory(memory: WebAssembly.Memory): void {
    this.space.attach(memory);
  }
  setUpcalls(upcalls: LibOsUpcalls): void {
    this.upcalls = upcalls;
  }
  /** Bytes committed through DkVirtualMemoryAlloc (for the monitor's memory quota). */
  get allocatedBytes(): number {
    return this.space.allocatedBytes;
  }
  /** Handles open now. */
  get handleCount(): number {
    return this.handles.size;
  }
  abort(): void {
    if (this.exitCode !== null) return;
    if (this.abortEvents) for (const ev of this.abortEvents) ev.set();
  }
  kill(code: number): void {
    this.terminate(isInt(code) ? code : -1);
  }
  /** Queue an input event for DkInputEventRead (the host's injectInput). */
  pushInput(ev: InputEvent): void {
    if (this.exitCode !== null) return;
    this.input.push(ev, Number(this.platform.monotonicNs() / 1_000_000n));
  }

  /** Ends the picoprocess: waits end with EXITED, threads are signalled, handles closed. */
  private terminate(code: number): void {
    if (this.exitCode !== null) return;
    this.exitCode = code;
    for (const w of [...this.waits]) w.finish(DkError.EXITED);
    this.mainThread.finish(code);
    if (this.threads) for (const t of this.threads) t.finish(code);
    this.threads = null;
    // Mappings: write back what the guest wrote, as an exiting process's shared maps are.
    for (const m of this.mappings.splice(0)) {
      this.writeBack(m);
      drop(m.stream);
    }
    this.handles.closeAll();
    if (this.abortEvents) for (const ev of this.abortEvents) drop(ev);
    this.abortEvents = null;
    for (const s of this.stdio) drop(s);
    if (this.inherited) for (const s of this.inherited.values()) drop(s);
    this.inherited = null;
    if (this.frameBuffer) drop(this.frameBuffer);
    this.frameBuffer = null;
    this.kernel.processExited(this);
    this.resolveExited(code);
  }

  // ---- helpers ----

  private currentThread(): ThreadObject {
    const t = threadContext.getStore();
    return t !== undefined && t.owner === this ? t : this.mainThread;
  }
  /** The picoprocess has exited, or the calling thread has (DkThreadExit). Cheap until a thread exits. */
  private gone(): boolean {
    return this.exitCode !== null || (this.exitedThreads !== 0 && this.currentThread().exited);
  }
  private full(): boolean {
    return this.handles.size >= this.handles.limit;
  }
  private stream(h: Handle): StreamObject | DkErrorCode {
    const obj = this.handles.get(h);
    if (obj === undefined) return DkError.BAD_HANDLE;
    return obj instanceof StreamObject ? obj : DkError.WRONG_HANDLE_TYPE;
  }
  private insert(obj: KObject): DkResult<Handle> {
    const h = this.handles.insert(obj);
    // Callers check full() first; should insert still fail, do not leak the object.
    if (h < 0 && obj.refs === 0) obj.release();
    return h;
  }
  private debug(text: string): void {
    try {
      this.options.debugLog?.(text);
    } catch {
      // a throwing log sink is not the guest's problem
    }
  }

  // ---- memory ----

  virtualMemoryAlloc(addr: number, size: number, prot: number): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(addr) || !isInt(size) || !isFlags(prot, PROT_BITS)) return DkError.INVALID_ARGUMENT;
    if (this.overlapsMapping(addr, size)) return DkError.INVALID_ARGUMENT;
    return this.space.alloc(addr, size, prot);
  }
  virtualMemoryFree(addr: number, size: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(addr) || !isInt(size)) return DkError.INVALID_ARGUMENT;
    if (this.overlapsMapping(addr, size)) return DkError.INVALID_ARGUMENT; // DkStreamUnmap those
    return this.space.free(addr, size);
  }
  virtualMemoryProtect(addr: number, size: number, prot: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(addr) || !isInt(size) || !isFlags(prot, PROT_BITS)) return DkError.INVALID_ARGUMENT;
    return this.space.protect(addr, size, prot);
  }
  /** The recorded protection at addr (-1: not committed), for tests and the monitor. */
  protectionAt(addr: number): number {
    return this.space.protectionAt(addr);
  }

  // ---- threads ----

  threadCreate(param: number): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(param)) return DkError.INVALID_ARGUMENT;
    if (this.upcalls === null) return DkError.NOT_SUPPORTED;
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    const t = new ThreadObject(this, param);
    (this.threads ??= new Set()).add(t);
    const h = this.insert(t);
    // Start after the creator has its handle, as a new green thread with its own context.
    queueMicrotask(() => this.runThread(t));
    return h;
  }

  private runThread(t: ThreadObject): void {
    const upcalls = this.upcalls;
    if (t.exited || this.exitCode !== null || upcalls === null) return;
    let run: Promise<void>;
    try {
      run = threadContext.run(t, () => upcalls.libOsThreadStart(t.param));
    } catch (e) {
      this.threadEnded(t, -1, e);
      return;
    }
    Promise.resolve(run).then(
      () => this.threadEnded(t, 0, null),
      (e: unknown) => this.threadEnded(t, -1, e),
    );
  }
  private threadEnded(t: ThreadObject, code: number, error: unknown): void {
    if (error !== null) this.debug(`thread ${t.param}: LibOsThreadStart failed: ${String(error)}`);
    t.finish(code); // no effect if it called DkThreadExit: that code stands
    this.threads?.delete(t);
  }

  async threadDelayExecution(ns: bigint): Promise<DkResult<0>> {
    if (this.gone()) return DkError.EXITED;
    if (typeof ns !== 'bigint' || ns < 0n) return DkError.INVALID_ARGUMENT;
    const r = await new PendingWait([], ns, this.platform, this.currentThread(), this.waits).promise;
    return r === DkError.TIMED_OUT ? 0 : (r as DkErrorCode);
  }
  async threadYieldExecution(): Promise<DkResult<0>> {
    if (this.gone()) return DkError.EXITED;
    await this.platform.yieldNow();
    return this.exitCode !== null ? DkError.EXITED : 0;
  }
  threadExit(code: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(code)) return DkError.INVALID_ARGUMENT;
    const t = this.currentThread();
    t.finish(code);
    this.exitedThreads++;
    return 0;
  }
  threadGetParameter(): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    return this.currentThread().param;
  }
  threadRaiseException(thread: Handle, code: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const t = this.handles.get(thread);
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
    const upcalls = this.upcalls;
    if (upcalls !== null) {
      try {
        // In the target's context: the library OS sees the exception on that thread.
        threadContext.run(t, () => upcalls.libOsExceptionDispatch({ thread, code }));
      } catch (e) {
        this.debug(`LibOsExceptionDispatch failed: ${String(e)}`);
      }
    }
    t.interrupt(DkError.INTERRUPTED);
    return 0;
  }

  notificationEventCreate(initiallySet: boolean): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    if (typeof initiallySet !== 'boolean') return DkError.INVALID_ARGUMENT;
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    return this.insert(new NotificationEvent(initiallySet));
  }
  synchronizationEventCreate(initiallySet: boolean): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    if (typeof initiallySet !== 'boolean') return DkError.INVALID_ARGUMENT;
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    return this.insert(new SynchronizationEvent(initiallySet));
  }
  semaphoreCreate(initialCount: number, maxCount: number): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(initialCount) || !isInt(maxCount)) return DkError.INVALID_ARGUMENT;
    if (maxCount < 1 || maxCount > INT32_MAX || initialCount < 0 || initialCount > maxCount) return DkError.INVALID_ARGUMENT;
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    return this.insert(new Semaphore(initialCount, maxCount));
  }
  semaphoreRelease(semaphore: Handle, count: number): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    const s = this.handles.get(semaphore);
    if (s === undefined) return DkError.BAD_HANDLE;
    if (!(s instanceof Semaphore)) return DkError.WRONG_HANDLE_TYPE;
    if (!isInt(count) || count < 0) return DkError.INVALID_ARGUMENT;
    return s.add(count);
  }
  semaphorePeek(semaphore: Handle): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    const s = this.handles.get(semaphore);
    if (s === undefined) return DkError.BAD_HANDLE;
    return s instanceof Semaphore ? s.peek() : DkError.WRONG_HANDLE_TYPE;
  }
  eventSet(event: Handle): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const e = this.handles.get(event);
    if (e === undefined) return DkError.BAD_HANDLE;
    if (!(e instanceof EventObject)) return DkError.WRONG_HANDLE_TYPE;
    e.set();
    return 0;
  }
  eventClear(event: Handle): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const e = this.handles.get(event);
    if (e === undefined) return DkError.BAD_HANDLE;
    if (!(e instanceof EventObject)) return DkError.WRONG_HANDLE_TYPE;
    e.clear();
    return 0;
  }
  /** Works on every event, stream readiness events included (their state, not consumed). */
  eventPeek(event: Handle): DkResult<0 | 1> {
    if (this.gone()) return DkError.EXITED;
    const e = this.handles.get(event);
    if (e === undefined) return DkError.BAD_HANDLE;
    if (e.kind !== 'event') return DkError.WRONG_HANDLE_TYPE;
    return e.isSignalled() ? 1 : 0;
  }

  async objectsWaitAny(handles: readonly Handle[], timeoutNs: bigint | null): Promise<DkResult<number>> {
    if (this.gone()) return DkError.EXITED;
    if (!Array.isArray(handles) || handles.length > MAX_WAIT_OBJECTS) return DkError.INVALID_ARGUMENT;
    if (timeoutNs !== null && (typeof timeoutNs !== 'bigint' || timeoutNs < 0n)) return DkError.INVALID_ARGUMENT;
    if (handles.length === 0 && timeoutNs === null) return DkError.INVALID_ARGUMENT; // would never return
    const objects: KObject[] = [];
    for (const h of handles) {
      const obj = this.handles.get(h);
      if (obj === undefined) return DkError.BAD_HANDLE;
      objects.push(obj);
    }
    const ready = pollObjects(objects);
    if (ready >= 0) return ready;
    // A poll (timeout 0) answers without waiting for the event loop.
    if (timeoutNs === 0n) return DkError.TIMED_OUT;
    return new PendingWait(objects, timeoutNs, this.platform, this.currentThread(), this.waits).promise;
  }

  abortEventRegister(event: Handle): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const e = this.handles.get(event);
    if (e === undefined) return DkError.BAD_HANDLE;
    if (!(e instanceof EventObject)) return DkError.WRONG_HANDLE_TYPE;
    this.abortEvents ??= new Set();
    if (!this.abortEvents.has(e)) {
      retain(e); // it stays registered after the guest closes its handle
      this.abortEvents.add(e);
    }
    return 0;
  }

  // ---- child processes ----

  processCreate(uri: string, args: readonly string[], stdio: readonly Handle[]): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    if (typeof uri !== 'string' || uri.length === 0) return DkError.INVALID_ARGUMENT;
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return DkError.INVALID_ARGUMENT;
    if (!Array.isArray(stdio) || stdio.length > MAX_PASSED_HANDLES) return DkError.INVALID_ARGUMENT;
    const launcher = this.options.launcher;
    if (launcher === undefined) return DkError.NOT_SUPPORTED;
    const streams: (StreamObject | null)[] = [];
    for (const h of stdio) {
      if (h === 0) {
        streams.push(null);
        continue;
      }
      const s = this.stream(h);
      if (typeof s === 'number') return s;
      streams.push(s);
    }
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    let launched: ReturnType<typeof launcher>;
    try {
      launched = launcher({ parent: this, uri, args: [...args], stdio: streams });
    } catch (e) {
      this.debug(`process launcher failed: ${String(e)}`);
      return DkError.IO_ERROR;
    }
    if (typeof launched === 'number') return launched < 0 ? (launched as DkErrorCode) : DkError.IO_ERROR;
    return this.insert(new ChildProcess(launched));
  }
  processGetExitCode(process: Handle): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    const p = this.handles.get(process);
    if (p === undefined) return DkError.BAD_HANDLE;
    if (!(p instanceof ChildProcess)) return DkError.WRONG_HANDLE_TYPE;
    return p.exitCode ?? DkError.WOULD_BLOCK;
  }
  processExit(code: number): DkResult<0> {
    if (this.exitCode !== null) return DkError.EXITED;
    this.terminate(isInt(code) ? code : -1);
    return 0;
  }

  // ---- streams ----

  streamOpen(uri: string, access: number, create: number, options: number): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    if (typeof uri !== 'string') return DkError.INVALID_ARGUMENT;
    if (!isFlags(access, ACCESS_BITS) || !isFlags(create, CREATE_BITS) || !isFlags(options, OPTION_BITS)) return DkError.INVALID_ARGUMENT;
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    if (uri.startsWith('inherit:')) return this.openInherited(uri.slice('inherit:'.length));
    const obj = this.openObject(uri, access, create, options);
    if (typeof obj === 'number') return obj;
    return this.insert(obj);
  }

  /**
   * inherit:N: a handle on the stream the parent passed as entry N (N >= 3) of DkProcessCreate's
   * stdio, once; the hold this process kept on it moves into the handle, so that closing the
   * handle really lets go of it (a pipe's reader sees end of file once every writer closed).
   */
  private openInherited(rest: string): DkResult<Handle> {
    if (!/^[1-9][0-9]{0,8}$/.test(rest)) return DkError.INVALID_ARGUMENT;
    const i = Number(rest);
    const obj = this.inherited?.get(i);
    if (obj === undefined) return DkError.NOT_FOUND;
    const h = this.handles.insert(obj);
    if (h < 0) return h;
    this.inherited!.delete(i);
    drop(obj);
    return h;
  }

  /**
   * Whether someone besides this picoprocess holds `obj`: every reference beyond its own
   * handle-table slots and host-side holds is another picoprocess's (or a child's stdio).
   * Scans the table: asked only for pipe attributes, which a checkpoint reads.
   */
  private heldOutside(obj: KObject): boolean {
    let own = 0;
    for (const [, o] of this.handles.entries()) if (o === obj) own++;
    for (const s of this.stdio) if (s === obj) own++;
    if (this.inherited) for (const s of this.inherited.values()) if (s === obj) own++;
    for (const m of this.mappings) if (m.stream === obj) own++;
    return obj.refs > own;
  }

  private openObject(uri: string, access: number, create: number, options: number): DkResult<StreamObject> {
    const colon = uri.indexOf(':');
    if (colon <= 0) return DkError.INVALID_ARGUMENT;
    const scheme = uri.slice(0, colon);
    const rest = uri.slice(colon + 1);
    switch (scheme) {
      case 'file':
      case 'dir':
        return openFileStream(this.platform.fs, rest, scheme === 'dir', access, create, options);
      case 'null':
        return rest === '' ? new NullStream() : DkError.INVALID_ARGUMENT;
      case 'reset':
        return rest === '' ? new ResetStream() : DkError.INVALID_ARGUMENT;
      case 'stdin':
        return rest === '' ? this.stdio[0]! : DkError.INVALID_ARGUMENT;
      case 'stdout':
        return rest === '' ? this.stdio[1]! : DkError.INVALID_ARGUMENT;
      case 'stderr':
        return rest === '' ? this.stdio[2]! : DkError.INVALID_ARGUMENT;
      case 'pipe':
        if (rest === '') return this.kernel.pipes.anonymous();
        if (rest.startsWith('peer/')) return this.kernel.pipes.claim(rest);
        return DkError.INVALID_ARGUMENT;
      case 'pipe.server': {
        if ((options & OpenOption.ACCEPT) !== 0) {
          const server = this.kernel.pipes.server(rest);
          if (server === undefined) return DkError.NOT_FOUND;
          return server.accept();
        }
        if ((create & Create.CREATE) !== 0) return this.kernel.pipes.listen(rest);
        return DkError.INVALID_ARGUMENT; // neither listen (CREATE) nor accept (ACCEPT)
      }
      case 'pipe.client':
        return this.kernel.pipes.connect(rest);
      case 'dev':
        if (rest === 'fb') return this.frameBuffer ?? DkError.NOT_FOUND;
        if (rest === 'input') return new InputDevice(this.input);
        return DkError.NOT_FOUND;
      default:
        if (RESERVED_SCHEMES.has(scheme)) return openNetworkStream(this.kernel.network, this.id, scheme, rest, create, options);
        return DkError.INVALID_ARGUMENT;
    }
  }

  streamRead(stream: Handle, offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.exitCode !== null || (this.exitedThreads !== 0 && this.currentThread().exited)) return DkError.EXITED;
    const obj = this.handles.get(stream);
    if (obj === undefined) return DkError.BAD_HANDLE;
    const s = obj as StreamObject;
    if (s.read === undefined) return DkError.WRONG_HANDLE_TYPE;
    if (!isOffset(offset) || !(buffer instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
    return s.read(offset, buffer);
  }
  streamWrite(stream: Handle, offset: number, data: Uint8Array): DkResult<number> {
    if (this.exitCode !== null || (this.exitedThreads !== 0 && this.currentThread().exited)) return DkError.EXITED;
    const obj = this.handles.get(stream);
    if (obj === undefined) return DkError.BAD_HANDLE;
    const s = obj as StreamObject;
    if (s.write === undefined) return DkError.WRONG_HANDLE_TYPE;
    if (!isOffset(offset) || !(data instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
    return s.write(offset, data);
  }

  streamMap(stream: Handle, addr: number, prot: number, offset: number, size: number): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (s.read === undefined) return DkError.WRONG_HANDLE_TYPE;
    if (!isInt(addr) || !isFlags(prot, PROT_BITS) || !isInt(offset) || offset < 0 || !isInt(size) || size <= 0) {
      return DkError.INVALID_ARGUMENT;
    }
    if (!this.space.attached) return DkError.NO_MEMORY;
    if (addr !== 0 && this.overlapsMapping(addr, size)) return DkError.INVALID_ARGUMENT;
    const base = this.space.alloc(addr, size, prot);
    if (base < 0) return base;
    const bytes = this.space.bytes()!;
    let done = 0;
    while (done < size) {
      const n = s.read(offset + done, bytes.subarray(base + done, base + size));
      if (n < 0) {
        this.space.free(base, size);
        return n;
      }
      if (n === 0) break; // past the end: the rest stays zero
      done += n;
    }
    retain(s);
    this.mappings.push({ addr: base, size, stream: s, offset, prot });
    return base;
  }

  private overlapsMapping(addr: number, size: number): boolean {
    const end = addr + Math.ceil(size / WASM_PAGE) * WASM_PAGE;
    for (const m of this.mappings) {
      const mEnd = m.addr + Math.ceil(m.size / WASM_PAGE) * WASM_PAGE;
      if (addr < mEnd && m.addr < end) return true;
    }
    return false;
  }

  /**
   * Writes a writable mapping back to its stream. A stream that refuses writes (opened
   * read-only, or not writable at all) makes it a private mapping: nothing to write back.
   */
  private writeBack(m: Mapping): DkResult<0> {
    if ((m.prot & Prot.WRITE) === 0 || m.stream.write === undefined) return 0;
    const bytes = this.space.bytes();
    if (bytes === null) return 0;
    let done = 0;
    while (done < m.size) {
      const n = m.stream.write(m.offset + done, bytes.subarray(m.addr + done, m.addr + m.size));
      if (n === DkError.ACCESS_DENIED || n === DkError.READ_ONLY || n === DkError.BAD_HANDLE) return 0;
      if (n < 0) return n as DkErrorCode;
      if (n === 0) return DkError.IO_ERROR;
      done += n;
    }
    return 0;
  }

  streamMapPeBinary(stream: Handle): DkResult<Uint8Array> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (s.read === undefined) return DkError.WRONG_HANDLE_TYPE;
    // Files are read from their start; streams without a position from where they are.
    const positional = s.kind === 'file';
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(total === 0 ? 64 * 1024 : Math.min(total, 16 << 20));
      const n = s.read(positional ? total : NO_OFFSET, chunk);
      if (n < 0) return n as DkErrorCode;
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > MAX_IMAGE_BYTES) return DkError.FILE_TOO_LARGE;
    }
    const image = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      image.set(c, at);
      at += c.length;
    }
    if (total < 8 || WASM_MAGIC.some((b, i) => image[i] !== b)) return DkError.INVALID_ARGUMENT;
    return image;
  }

  streamUnmap(addr: number, size: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(addr) || !isInt(size)) return DkError.INVALID_ARGUMENT;
    const i = this.mappings.findIndex((m) => m.addr === addr);
    if (i < 0) return DkError.INVALID_ARGUMENT;
    const m = this.mappings[i]!;
    // The exact size, or the size rounded to whole pages as the memory holds it.
    if (size !== m.size && Math.ceil(size / WASM_PAGE) !== Math.ceil(m.size / WASM_PAGE)) return DkError.INVALID_ARGUMENT;
    const r = this.writeBack(m);
    if (r < 0) return r; // the mapping stays: nothing acknowledged is lost
    this.mappings.splice(i, 1);
    this.space.free(m.addr, m.size);
    drop(m.stream);
    return 0;
  }

  streamSetLength(stream: Handle, length: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (s.setLength === undefined) return DkError.WRONG_HANDLE_TYPE;
    if (!isInt(length) || length < 0) return DkError.INVALID_ARGUMENT;
    return s.setLength(length);
  }
  streamFlush(stream: Handle): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    return s.flush === undefined ? DkError.WRONG_HANDLE_TYPE : s.flush();
  }
  streamDelete(stream: Handle, side: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (s.delete === undefined) return DkError.WRONG_HANDLE_TYPE;
    if (side !== StreamSide.BOTH && side !== StreamSide.READ && side !== StreamSide.WRITE) return DkError.INVALID_ARGUMENT;
    return s.delete(side);
  }
  /** Streams without readiness tracking (files) are always ready: their event is always set. */
  streamGetEvent(stream: Handle, side: number): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (side !== StreamSide.BOTH && side !== StreamSide.READ && side !== StreamSide.WRITE) return DkError.INVALID_ARGUMENT;
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    const ev = s.readiness === undefined ? new AlwaysReady() : s.readiness(side);
    if (typeof ev === 'number') return ev;
    return this.insert(ev);
  }
  streamRename(stream: Handle, newUri: string): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (s.rename === undefined) return DkError.WRONG_HANDLE_TYPE;
    if (typeof newUri !== 'string') return DkError.INVALID_ARGUMENT;
    return s.rename(newUri);
  }
  streamEnumerateChildren(stream: Handle): DkResult<DirEntry[]> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    return s.enumerate === undefined ? DkError.WRONG_HANDLE_TYPE : s.enumerate();
  }
  streamAttributesQuery(uri: string, options: number): DkResult<StreamAttributes> {
    if (this.gone()) return DkError.EXITED;
    if (typeof uri !== 'string') return DkError.INVALID_ARGUMENT;
    const colon = uri.indexOf(':');
    if (colon <= 0) return DkError.INVALID_ARGUMENT;
    const scheme = uri.slice(0, colon);
    const rest = uri.slice(colon + 1);
    switch (scheme) {
      case 'file':
      case 'dir':
        return queryFileAttributes(this.platform.fs, rest, options);
      case 'null':
      case 'stdin':
      case 'stdout':
      case 'stderr':
      case 'dev': {
        if (scheme === 'dev' && rest === 'input') return charDeviceAttributes(true, false);
        const obj = scheme === 'dev' ? (rest === 'fb' ? this.frameBuffer : null) : this.openObject(uri, 0, 0, 0);
        if (obj === null) return DkError.NOT_FOUND;
        if (typeof obj === 'number') return obj;
        return obj.attributes?.() ?? DkError.NOT_SUPPORTED;
      }
      case 'pipe.server': {
        const server = this.kernel.pipes.server(rest);
        return server === undefined ? DkError.NOT_FOUND : server.attributes();
      }
      case 'pipe':
      case 'pipe.client':
        return DkError.NOT_SUPPORTED; // only by handle: opening would claim or connect
      default:
        // Network endpoints: only by handle (opening would connect, listen or look up).
        return RESERVED_SCHEMES.has(scheme) ? DkError.NOT_SUPPORTED : DkError.INVALID_ARGUMENT;
    }
  }
  streamAttributesQueryByHandle(stream: Handle): DkResult<StreamAttributes> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (s.attributes === undefined) return DkError.WRONG_HANDLE_TYPE;
    const a = s.attributes();
    if (typeof a === 'number') return a;
    if (s.kind === 'pipe') a.shared = this.heldOutside(s);
    if (s.statusFlags !== 0) a.statusFlags = s.statusFlags;
    return a;
  }
  streamAttributesSetByHandle(stream: Handle, update: AttributesUpdate): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const s = this.stream(stream);
    if (typeof s === 'number') return s;
    if (typeof update !== 'object' || update === null) return DkError.INVALID_ARGUMENT;
    // The status flags are every stream's (the object keeps them); the rest is the stream's own.
    const { statusFlags, ...rest } = update;
    if (statusFlags !== undefined && !isFlags(statusFlags, STATUS_BITS)) return DkError.INVALID_ARGUMENT;
    if (statusFlags === undefined || Object.keys(rest).length > 0) {
      if (s.setAttributes === undefined) return DkError.WRONG_HANDLE_TYPE;
      const r = s.setAttributes(rest);
      if (r !== 0) return r;
    }
    if (statusFlags !== undefined) s.statusFlags = statusFlags;
    return 0;
  }
  streamLinkCreate(linkUri: string, target: string, symbolic: boolean): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    if (typeof linkUri !== 'string') return DkError.INVALID_ARGUMENT;
    // Links live in the file system only; the target is free text (symbolic) or a file: URI (hard).
    if (linkUri.startsWith('file:')) return createFileLink(this.platform.fs, linkUri.slice(5), target, symbolic);
    const colon = linkUri.indexOf(':');
    if (colon <= 0) return DkError.INVALID_ARGUMENT;
    return DkError.NOT_SUPPORTED;
  }

  // ---- other ----

  systemTimeQuery(clock: number): DkResult<bigint> {
    if (this.exitCode !== null || (this.exitedThreads !== 0 && this.currentThread().exited)) return DkError.EXITED;
    switch (clock) {
      case Clock.REALTIME:
        return this.platform.realtimeNs();
      case Clock.MONOTONIC:
        return this.platform.monotonicNs();
      case Clock.PROCESS_CPUTIME:
      case Clock.THREAD_CPUTIME:
        return this.platform.cpuTimeNs();
      default:
        return DkError.INVALID_ARGUMENT;
    }
  }
  randomBitsRead(buffer: Uint8Array): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    if (!(buffer instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
    this.platform.randomFill(buffer);
    return buffer.length;
  }
  instructionCacheFlush(): DkResult<0> {
    return this.gone() ? DkError.EXITED : 0;
  }
  objectReference(handle: Handle): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    return this.handles.reference(handle);
  }
  objectClose(handle: Handle): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    return this.handles.close(handle);
  }
  inputEventRead(buffer: Uint8Array): DkResult<number> {
    if (this.gone()) return DkError.EXITED;
    if (!(buffer instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
    return this.input.read(buffer);
  }
  frameBufferExport(width: number, height: number, format: number): DkResult<Handle> {
    if (this.gone()) return DkError.EXITED;
    if (!isInt(width) || !isInt(height) || width <= 0 || height <= 0) return DkError.INVALID_ARGUMENT;
    if (width * height > FRAME_BUFFER_MAX_PIXELS) return DkError.NO_MEMORY;
    if (format !== PixelFormat.RGBA8888) return DkError.NOT_SUPPORTED;
    if (this.full()) return DkError.QUOTA_EXCEEDED;
    const fb = new FrameBuffer(width, height, format);
    // The latest export is the display: dev:fb opens it.
    retain(fb);
    if (this.frameBuffer) drop(this.frameBuffer);
    this.frameBuffer = fb;
    return this.insert(fb);
  }
  frameBufferNotifyUpdate(frameBuffer: Handle, x: number, y: number, width: number, height: number): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    const fb = this.handles.get(frameBuffer);
    if (fb === undefined) return DkError.BAD_HANDLE;
    if (!(fb instanceof FrameBuffer)) return DkError.WRONG_HANDLE_TYPE;
    if (!isInt(x) || !isInt(y) || !isInt(width) || !isInt(height)) return DkError.INVALID_ARGUMENT;
    if (x < 0 || y < 0 || width < 0 || height < 0 || x + width > fb.width || y + height > fb.height) return DkError.INVALID_ARGUMENT;
    this.kernel.frameBufferUpdated({
      processId: this.id,
      width: fb.width,
      height: fb.height,
      format: fb.format,
      pixels: fb.pixels,
      x,
      y,
      w: width,
      h: height,
    });
    return 0;
  }
  debugStringPrint(text: string): DkResult<0> {
    if (this.gone()) return DkError.EXITED;
    if (typeof text !== 'string') return DkError.INVALID_ARGUMENT;
    this.debug(text);
    return 0;
  }
}
