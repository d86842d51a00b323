// Kernel objects of a host (PAL) and the per-picoprocess handle table.
//
// Every Dk handle names a KObject. A KObject can be waited on (DkObjectsWaitAny): it says
// whether it is signalled now, what a satisfied wait consumes (auto-reset events,
// semaphores), and it wakes its waiters when its state may have changed. Streams are
// KObjects too, with the stream operations they support; an operation a stream lacks
// answers WRONG_HANDLE_TYPE.

import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import type { AttributesUpdate, DirEntry, DkResult, Handle, StreamAttributes, StreamKind } from '../../abi/dk.ts';

export type Waker = () => void;

export abstract class KObject {
  abstract readonly kind: StreamKind | 'event' | 'semaphore' | 'thread' | 'process' | 'frame-buffer';
  /**
   * References held on the object: one per handle-table slot naming it, plus one per
   * host-side holder (a child's stdio, an abort registration, a mapping) taken with retain().
   */
  refs = 0;
  // The waiters, first come first woken: the oldest in `waiter` when it came while no other
  // waited (the common case, one wait on the object: no set, no copy to wake it), the rest in
  // `more`, in order. `waiter` is only ever set while `more` is empty, so it is the oldest.
  private waiter: Waker | null = null;
  private more: Set<Waker> | null = null;

  /** Whether a wait on this object would be satisfied now. */
  isSignalled(): boolean {
    return false;
  }
  /** A wait was satisfied by this object: take what it consumes (auto-reset, semaphore count). */
  consume(): void {}

  addWaiter(w: Waker): void {
    if (this.waiter === w) return;
    if (this.waiter === null && (this.more === null || this.more.size === 0)) this.waiter = w;
    else (this.more ??= new Set()).add(w);
  }
  removeWaiter(w: Waker): void {
    if (this.waiter === w) this.waiter = null;
    else this.more?.delete(w);
  }
  /** Wake every waiter; each re-checks isSignalled(). Call after any change of state. */
  protected notify(): void {
    const first = this.waiter;
    if (this.more === null || this.more.size === 0) {
      first?.();
      return;
    }
    // Copy: a woken waiter removes itself from the set while we iterate, and one that comes
    // meanwhile waits for the next change.
    const rest = [...this.more];
    first?.();
    for (const w of rest) w();
  }
  /** The last reference is gone. */
  release(): void {}
}

/** Take a host-side reference (the object outlives every handle until drop()). */
export function retain(obj: KObject): void {
  obj.refs++;
}

/** Drop a reference taken with retain(); the last one releases the object. */
export function drop(obj: KObject): void {
  if (--obj.refs === 0) obj.release();
}

/**
 * Stream operations. A stream object implements those it supports; the host answers
 * WRONG_HANDLE_TYPE for the rest. Offsets are -1 (NO_OFFSET) for streams without a position.
 */
export interface StreamOps {
  read?(offset: number, buffer: Uint8Array): DkResult<number>;
  write?(offset: number, data: Uint8Array): DkResult<number>;
  setLength?(length: number): DkResult<0>;
  flush?(): DkResult<0>;
  /** side 0: delete the object; 1/2: shut down reading/writing. */
  delete?(side: number): DkResult<0>;
  /** An object signalled while the stream is ready on that side. */
  readiness?(side: number): DkResult<KObject>;
  rename?(newUri: string): DkResult<0>;
  enumerate?(): DkResult<DirEntry[]>;
  attributes?(): DkResult<StreamAttributes>;
  setAttributes?(update: AttributesUpdate): DkResult<0>;
  /** Server streams: take one pending connection (DkStreamOpen with ACCEPT). */
  accept?(): DkResult<StreamObject>;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface StreamObject extends StreamOps {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class StreamObject extends KObject {
  /** The URI it was opened with, for attributes, tracing and checkpoints. */
  abstract readonly uri: string;
  /**
   * File status flags (StatusFlag bits: the statusFlags attribute), set and reported for every
   * stream by the process (dk-streams.ts); they live here, on the object, so that every handle on
   * it shares them (POSIX's open file description). A file acts on APPEND (host/kernel/files/stream.ts).
   */
  statusFlags = 0;
}

/** Most DkObjectReference calls one handle may accumulate (OVERFLOW past it). */
const MAX_HANDLE_REFS = 0x7fffffff;

/**
 * The handle table of one picoprocess. Handles are never shared between tables.
 * Each handle has its own reference count: DkObjectReference adds one, DkObjectClose drops
 * one, and the handle goes away (dropping its reference on the object) at zero.
 */
export class HandleTable {
  private readonly slots: (KObject | undefined)[] = [undefined]; // handle 0 is never valid
  private readonly handleRefs: number[] = [0];
  private free: number[] = [];
  private count = 0;

  limit: number;

  constructor(limit: number = Infinity) {
    this.limit = limit;
  }

  get size(): number {
    return this.count;
  }

  insert(obj: KObject): DkResult<Handle> {
    if (this.count >= this.limit) return DkError.QUOTA_EXCEEDED;
    // Reuse the most recently freed number first: handle numbers stay small.
    const h = this.free.pop() ?? this.slots.length;
    this.slots[h] = obj;
    this.handleRefs[h] = 1;
    obj.refs++;
    this.count++;
    return h;
  }

  get(h: Handle): KObject | undefined {
    // Typed as number, but guest-derived: anything not a positive integer misses.
    return typeof h === 'number' && h > 0 && (h | 0) === h ? this.slots[h] : undefined;
  }

  /** DkObjectReference: one more DkObjectClose is needed before the handle goes away. */
  reference(h: Handle): DkErrorCode | 0 {
    if (!this.get(h)) return DkError.BAD_HANDLE;
    if (this.handleRefs[h]! >= MAX_HANDLE_REFS) return DkError.OVERFLOW;
    this.handleRefs[h]!++;
    return 0;
  }

  /** DkObjectClose: drop one reference of the handle; the last one removes it. */
  close(h: Handle): DkErrorCode | 0 {
    if (!this.get(h)) return DkError.BAD_HANDLE;
    if (--this.handleRefs[h]! > 0) return 0;
    return this.remove(h);
  }

  /** Remove a handle whatever its reference count; releases the object on its last reference. */
  remove(h: Handle): DkErrorCode | 0 {
    const obj = this.get(h);
    if (!obj) return DkError.BAD_HANDLE;
    this.slots[h] = undefined;
    this.handleRefs[h] = 0;
    this.free.push(h);
    this.count--;
    drop(obj);
    return 0;
  }

  /** Every handle and object, for closing a picoprocess and for checkpoints. */
  *entries(): IterableIterator<[Handle, KObject]> {
    for (let h = 1; h < this.slots.length; h++) {
      const obj = this.slots[h];
      if (obj) yield [h, obj];
    }
  }

  closeAll(): void {
    for (const [h] of [...this.entries()]) this.remove(h);
  }
}
