// The stdin of a browser picoprocess: bytes the page hands over, read in order. It is a kernel
// stream given to the picoprocess as its stdin (ProcessOptions.stdioStreams), so a guest that
// reads while nothing is there waits as on any pipe: suspended by JSPI, the page goes on.
// The page feeds it (a terminal's lines: feed, end), gives it all at once (a string), or
// answers when the guest wants more (a callback, asked once per wait; null: end of input).

import { StreamSide, type DkResult, type StreamAttributes } from '../abi/dk.ts';
import { DkError } from '../abi/errors.ts';
import { StreamObject, type KObject } from '../host/kernel/kobject.ts';
import { ReadinessHub, type ReadySource } from '../host/kernel/readiness.ts';
import { charDeviceAttributes } from '../host/kernel/stdio.ts';

/** Most bytes that may wait unread (what feed refuses past it). */
export const STDIN_LIMIT = 1024 * 1024;

/** Asked when the guest reads and nothing is queued: more input, or null for its end. */
export type StdinCallback = () => Promise<string | Uint8Array | null> | string | Uint8Array | null;

const encoder = new TextEncoder();
const bytesOf = (x: string | Uint8Array): Uint8Array => (typeof x === 'string' ? encoder.encode(x) : x);

export class PageStdin extends StreamObject implements ReadySource {
  readonly kind = 'pipe';
  readonly uri = 'stdin:';
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private closed = false;
  private readonly hub = new ReadinessHub(this);
  private readonly pull: StdinCallback | null;
  private pulling = false;

  /** A string or bytes: that, then end of input; a callback: asked; nothing: fed by the page. */
  constructor(source?: string | Uint8Array | StdinCallback) {
    super();
    this.pull = typeof source === 'function' ? source : null;
    if (typeof source === 'string' || source instanceof Uint8Array) {
      const bytes = bytesOf(source);
      if (bytes.length > 0) this.queue.push(bytes.slice());
      this.queued = bytes.length;
      this.closed = true;
    }
    if (this.pull) this.hub.onDemand = () => this.ask();
  }

  /** Hand bytes to the guest; false (nothing taken) when it is closed or more than STDIN_LIMIT would wait. */
  feed(input: string | Uint8Array): boolean {
    const bytes = bytesOf(input);
    if (this.closed || this.queued + bytes.length > STDIN_LIMIT) return false;
    if (bytes.length === 0) return true;
    this.queue.push(bytes.slice());
    this.queued += bytes.length;
    this.changed();
    return true;
  }

  /** End of input: the guest reads what is left, then end of stream. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.changed();
  }

  private ask(): void {
    if (!this.pull || this.pulling || this.closed || this.queued > 0) return;
    this.pulling = true;
    const settle = (answer: string | Uint8Array | null) => {
      this.pulling = false;
      if (answer === null) this.end();
      else if (!this.feed(answer)) this.end();
    };
    try {
      const answer = this.pull();
      if (answer instanceof Promise) answer.then(settle, () => settle(null));
      else settle(answer);
    } catch {
      settle(null); // the page's callback failed: the guest sees the end of its input
    }
  }

  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    if (this.queued === 0) {
      if (this.closed) return 0;
      this.ask();
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
