// A stdin the embedder feeds: bytes handed over (an API request, a page's terminal), read in
// order; a read waits while nothing is there and the feed is open (suspended, costing the event
// loop nothing, like any pipe), and gets end of stream once it is closed and drained. Chunks are
// queued as given (no ring buffer allocated up front), which keeps an idle picoprocess small;
// `limit` bounds what may wait unread. Given to a picoprocess as its stdin
// (ProcessOptions.stdioStreams) by serve's supervisor and by the browser host.

import { StreamSide, type DkResult, type StreamAttributes } from '../../abi/dk.ts';
import { DkError } from '../../abi/errors.ts';
import { StreamObject, type KObject } from './kobject.ts';
import { ReadinessHub, type ReadySource } from './readiness.ts';
import { charDeviceAttributes } from './stdio.ts';

export class FedStream extends StreamObject implements ReadySource {
  readonly kind = 'pipe';
  readonly uri = 'stdin:';
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private closed = false;
  protected readonly hub = new ReadinessHub(this);
  readonly limit: number;

  constructor(limit: number) {
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

  get isClosed(): boolean {
    return this.closed;
  }

  /** How many bytes wait unread. */
  get unread(): number {
    return this.queued;
  }

  /** Take what the guest has not read yet (a picoprocess moving to another worker). */
  takeUnread(): Uint8Array[] {
    const out = this.queue.splice(0);
    this.queued = 0;
    return out;
  }

  /** Called when the guest reads and nothing is queued: a source that is asked for input asks now. */
  protected wantMore(): void {}

  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.queued === 0) {
      if (this.closed) return 0;
      this.wantMore();
      if (this.queued === 0) return this.closed ? 0 : DkError.WOULD_BLOCK;
    }
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
