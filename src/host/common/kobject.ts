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
  /** References from handle tables (DkObjectReference adds one, DkObjectClose drops one). */
  refs = 0;
  private waiters: Set<Waker> | null = null;

  /** Whether a wait on this object would be satisfied now. */
  isSignalled(): boolean {
    return false;
  }
  /** A wait was satisfied by this object: take what it consumes (auto-reset, semaphore count). */
  consume(): void {}

  addWaiter(w: Waker): void {
    (this.waiters ??= new Set()).add(w);
  }
  removeWaiter(w: Waker): void {
    this.waiters?.delete(w);
  }
  /** Wake every waiter; each re-checks isSignalled(). Call after any change of state. */
  protected notify(): void {
    if (!this.waiters || this.waiters.size === 0) return;
    for (const w of [...this.waiters]) w();
  }
  /** The last reference is gone. */
  release(): void {}
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
}

/** The handle table of one picoprocess. Handles are never shared between tables. */
export class HandleTable {
  private readonly slots: (KObject | undefined)[] = [undefined]; // handle 0 is never valid
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
    const h = this.free.pop() ?? this.slots.length;
    this.slots[h] = obj;
    obj.refs++;
    this.count++;
    return h;
  }

  get(h: Handle): KObject | undefined {
    return Number.isInteger(h) && h > 0 ? this.slots[h] : undefined;
  }

  /** Remove a handle; releases the object when it was its last reference. */
  remove(h: Handle): DkErrorCode | 0 {
    const obj = this.get(h);
    if (!obj) return DkError.BAD_HANDLE;
    this.slots[h] = undefined;
    this.free.push(h);
    this.count--;
    if (--obj.refs === 0) obj.release();
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
