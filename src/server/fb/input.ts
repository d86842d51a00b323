// Input events from a viewer to a picoprocess (DkInputEventRead), with no HTTP in sight: a batch
// is decoded strictly (src/web/fb/wire.ts: size, known types, pointer inside the frame), paced by
// a token bucket per viewer, and only then injected. What a viewer sends is a peer's bytes: it
// never grants anything, and a refused batch injects nothing.

import { decodeInputEvents, MAX_INPUT_BATCH, type WireInputEvent } from '../../web/fb/wire.ts';
import type { InputEvent } from '../../host/kernel/kernel.ts';

/** Events per second a viewer may send, and how many at once. */
export const INPUT_RATE_PER_SECOND = 500;
export const INPUT_BURST = 4 * MAX_INPUT_BATCH;

/** A token bucket: take(n) says whether n more events fit the rate now. */
export class InputRate {
  private tokens: number;
  private last: number;
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(perSecond = INPUT_RATE_PER_SECOND, burst = INPUT_BURST, now: () => number = () => performance.now()) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  take(n: number): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }
}

export type InputVerdict = { ok: true; events: WireInputEvent[] } | { ok: false; status: 400 | 409 | 429; reason: string };

/**
 * Whether a batch may go to the picoprocess shown at `size` (null: no frame yet): 400 for bytes
 * that are not events of this frame, 409 before the first frame, 429 past the rate.
 */
export function checkInput(body: Uint8Array, size: { width: number; height: number } | null, rate: InputRate): InputVerdict {
  if (size === null) return { ok: false, status: 409, reason: 'the program has no frame buffer yet' };
  const events = decodeInputEvents(body, size.width, size.height);
  if (typeof events === 'string') return { ok: false, status: 400, reason: events };
  if (!rate.take(events.length)) return { ok: false, status: 429, reason: `more than ${INPUT_RATE_PER_SECOND} events a second` };
  return { ok: true, events };
}

/** Queue checked events for picoprocess pid (KernelHost.injectInput); the kernel adds the time. */
export function injectAll(inject: (pid: number, e: InputEvent) => number, pid: number, events: readonly WireInputEvent[]): boolean {
  for (const e of events) if (inject(pid, { type: e.type, code: e.code, value: e.value }) !== 0) return false;
  return true;
}
