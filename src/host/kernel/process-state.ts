// One picoprocess's kernel state: its handle table, address space, threads and waits, stdio,
// devices and stream mappings, with the Picoprocess controls the runtime uses and the checks
// every Dk primitive starts with. The primitive families (dk-*.ts) take it as their first
// argument, which is why its fields are public; DkProcess (process.ts) is this state plus the
// Dk ABI. Outside src/host/kernel a picoprocess is only a Picoprocess (host.ts) and its Dk.

import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import type { Dk, DkResult, Handle, LibOsUpcalls } from '../../abi/dk.ts';
import type { Picoprocess, ProcessOptions, StdinSource, OutputSink } from './host.ts';
import { HandleTable, StreamObject, drop, retain, type KObject } from './kobject.ts';
import type { Platform } from './platform.ts';
import type { KernelServices } from './kernel-services.ts';
import type { EventObject } from './sync.ts';
import { ThreadObject, threadContext } from './threads.ts';
import type { PendingWait } from './wait.ts';
import { AddressSpace } from './address-space.ts';
import { BytesSource, CallbackSink, NullStream } from './stdio.ts';
import { InputQueue, type FrameBuffer, type InputEvent } from './devices.ts';
import { writeBack, type Mapping } from './stream-mappings.ts';
import { isInt } from './arg-checks.ts';

export abstract class ProcessState implements Picoprocess {
  readonly id: number;
  readonly exited: Promise<number>;
  exitCode: number | null = null;
  abstract readonly dk: Dk;

  readonly kernel: KernelServices;
  readonly platform: Platform;
  readonly options: ProcessOptions;
  readonly handles: HandleTable;
  readonly space = new AddressSpace();
  upcalls: LibOsUpcalls | null = null;
  private resolveExited!: (code: number) => void;

  readonly mainThread: ThreadObject;
  // Made on first use, as the other tables below: most picoprocesses start no thread, register
  // no abort event and inherit nothing past stdio (a host starts thousands: bench/density.ts).
  /** Threads started by DkThreadCreate that have not returned yet. */
  threads: Set<ThreadObject> | null = null;
  /** How many threads called DkThreadExit: until one has, no call pays for a context lookup. */
  exitedThreads = 0;
  /** Waits in progress (objectsWaitAny, delays), ended with EXITED when the process exits. */
  readonly waits = new Set<PendingWait>();
  abortEvents: Set<EventObject> | null = null;
  /** stdin, stdout, stderr objects; each holds a reference until the process exits. */
  readonly stdio: StreamObject[];
  readonly input = new InputQueue();
  frameBuffer: FrameBuffer | null = null;
  readonly mappings: Mapping[] = [];
  /** Streams the parent passed on past stdio (DkProcessCreate), by index, until opened with inherit:N. */
  inherited: Map<number, StreamObject> | null = null;

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
  /** The recorded protection at addr (-1: not committed), for tests and the monitor. */
  protectionAt(addr: number): number {
    return this.space.protectionAt(addr);
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
  terminate(code: number): void {
    if (this.exitCode !== null) return;
    this.exitCode = code;
    for (const w of [...this.waits]) w.finish(DkError.EXITED);
    this.mainThread.finish(code);
    if (this.threads) for (const t of this.threads) t.finish(code);
    this.threads = null;
    // Mappings: write back what the guest wrote, as an exiting process's shared maps are.
    for (const m of this.mappings.splice(0)) {
      writeBack(this.space, m);
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

  // ---- what every primitive starts with ----

  currentThread(): ThreadObject {
    const t = threadContext.getStore();
    return t !== undefined && t.owner === this ? t : this.mainThread;
  }
  /** The picoprocess has exited, or the calling thread has (DkThreadExit). Cheap until a thread exits. */
  gone(): boolean {
    return this.exitCode !== null || (this.exitedThreads !== 0 && this.currentThread().exited);
  }
  full(): boolean {
    return this.handles.size >= this.handles.limit;
  }
  stream(h: Handle): StreamObject | DkErrorCode {
    const obj = this.handles.get(h);
    if (obj === undefined) return DkError.BAD_HANDLE;
    return obj instanceof StreamObject ? obj : DkError.WRONG_HANDLE_TYPE;
  }
  insert(obj: KObject): DkResult<Handle> {
    const h = this.handles.insert(obj);
    // Callers check full() first; should insert still fail, do not leak the object.
    if (h < 0 && obj.refs === 0) obj.release();
    return h;
  }
  debug(text: string): void {
    try {
      this.options.debugLog?.(text);
    } catch {
      // a throwing log sink is not the guest's problem
    }
  }

  /**
   * Whether someone besides this picoprocess holds `obj`: every reference beyond its own
   * handle-table slots and host-side holds is another picoprocess's (or a child's stdio).
   * Scans the table: asked only for pipe attributes, which a checkpoint reads.
   */
  heldOutside(obj: KObject): boolean {
    let own = 0;
    for (const [, o] of this.handles.entries()) if (o === obj) own++;
    for (const s of this.stdio) if (s === obj) own++;
    if (this.inherited) for (const s of this.inherited.values()) if (s === obj) own++;
    for (const m of this.mappings) if (m.stream === obj) own++;
    return obj.refs > own;
  }
}
