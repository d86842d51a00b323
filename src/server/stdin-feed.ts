// The stdin of a picoprocess started by the daemon: bytes the control API hands over
// (POST .../stdin), read in order; reads would block while nothing is there and the feed is
// open, and end of stream once it is closed and drained.
//
// It is a host stream object given to the picoprocess as its stdin (ProcessOptions
// .stdioStreams), so a guest blocked reading it waits like on any pipe: suspended, costing
// the event loop nothing. Chunks are queued as given (no ring buffer allocated up front),
// which keeps an idle picoprocess small; `limit` bounds what may wait unread.

import { StreamSide, type DkResult, type StreamAttributes } from '../abi/dk.ts';
import { DkError } from '../abi/errors.ts';
import { StreamObject, type KObject } from '../host/kernel/kobject.ts';
import { ReadinessHub, type ReadySource } from '../host/kernel/readiness.ts';
import { charDeviceAttributes } from '../host/kernel/stdio.ts';

export const STDIN_FEED_LIMIT = 1024 * 1024;

export class StdinFeed extends StreamObject implements ReadySource {
  readonly kind = 'pipe';
  readonly uri = 'stdin:';
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private closed = false;
  private readonly hub = new ReadinessHub(this);
  readonly limit: number;

  constructor(limit = STDIN_FEED_LIMIT) {
    super();
    this.limit = limit;
  }

  /** Hand bytes to the guest; false (nothing taken) when more than `limit` would wait unread or it is closed. */
  feed(bytes: Uint8Array): boolean {
    if (this.closed || this.queued + bytes.length > this.limit) return false;
    if (bytes.length === 0) return true;
    this.queue.push(bytes.slice());
    this.queued += bytes.length;
    this.changed();
    return true;
  }

  /** End of input: the guest reads what is left, then end of stream. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.changed();
  }

  /** Take what the guest has not read yet (a picoprocess moving to another worker). */
  takeUnread(): Uint8Array[] {
    const out = this.queue.splice(0);
    this.queued = 0;
    return out;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.queued === 0) return this.closed ? 0 : DkError.WOULD_BLOCK;
    let n = 0;
    while (n < buffer.length && this.queue.length > 0) {
      const head = this.queue[0]!;
      const take = Math.min(head.length, buffer.length - n);
      buffer.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
    }
    this.queued -= n;
    return n;
  }

  isReady(side: number): boolean {
    return side === StreamSide.WRITE ? false : this.queued > 0 || this.closed;
  }
  override isSignalled(): boolean {
    return this.isReady(StreamSide.READ);
  }
  override readiness(side: number): DkResult<KObject> {
    return this.hub.event(side);
  }
  override attributes(): DkResult<StreamAttributes> {
    return charDeviceAttributes(true, false, this.queued, 'pipe');
  }

  private changed(): void {
    this.hub.changed();
    this.notify();
  }
}
