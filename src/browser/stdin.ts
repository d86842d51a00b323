// The stdin of a browser picoprocess: bytes the page hands over, read in order
// (host/kernel/fed-stream.ts: a guest that reads while nothing is there waits as on any pipe,
// suspended by JSPI, and the page goes on). The page feeds it (a terminal's lines: feed, end),
// gives it all at once (a string), or answers when the guest wants more (a callback, asked once
// per wait; null: end of input).

import { FedStream } from '../host/kernel/fed-stream.ts';

/** Most bytes that may wait unread (what feed refuses past it). */
export const STDIN_LIMIT = 1024 * 1024;

/** Asked when the guest reads and nothing is queued: more input, or null for its end. */
export type StdinCallback = () => Promise<string | Uint8Array | null> | string | Uint8Array | null;

const encoder = new TextEncoder();
const bytesOf = (x: string | Uint8Array): Uint8Array => (typeof x === 'string' ? encoder.encode(x) : x);

export class PageStdin extends FedStream {
  private readonly pull: StdinCallback | null;
  private pulling = false;

  /** A string or bytes: that, then end of input; a callback: asked; nothing: fed by the page. */
  constructor(source?: string | Uint8Array | StdinCallback) {
    const given = typeof source === 'string' || source instanceof Uint8Array ? bytesOf(source) : null;
    super(Math.max(STDIN_LIMIT, given?.length ?? 0)); // what the page gives at once is taken whole
    this.pull = typeof source === 'function' ? source : null;
    if (given) {
      this.feed(given);
      this.close();
    }
    if (this.pull) this.hub.onDemand = () => this.wantMore();
  }

  /** Hand bytes to the guest; false (nothing taken) when it is closed or more than STDIN_LIMIT would wait. */
  override feed(input: string | Uint8Array): boolean {
    return super.feed(bytesOf(input));
  }

  /** End of input: the guest reads what is left, then end of stream. */
  end(): void {
    this.close();
  }

  protected override wantMore(): void {
    if (!this.pull || this.pulling || this.isClosed || this.unread > 0) return;
    this.pulling = true;
    const settle = (answer: string | Uint8Array | null) => {
      this.pulling = false;
      if (answer === null || !this.feed(answer)) this.end();
    };
    try {
      const answer = this.pull();
      if (answer instanceof Promise) answer.then(settle, () => settle(null));
      else settle(answer);
    } catch {
      settle(null); // the page's callback failed: the guest sees the end of its input
    }
  }
}
