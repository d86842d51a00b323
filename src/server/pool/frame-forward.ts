// Worker side of the frame buffers of `drawbridge serve`: the kernel's frame-buffer updates
// (DkFrameBufferNotifyUpdate) of this scheduler's picoprocesses, coalesced per picoprocess into
// one dirty rectangle and sent to the pool at most every FRAME_INTERVAL_MS, as a copy of that
// rectangle's pixels: the pixels live in the guest's linear memory, which only this thread
// sees. The pool keeps a copy of each frame (frame-mirror.ts) for the console's viewers.
//
// The first rectangle sent for a frame buffer (the first, or one of another place or size) is
// the whole of it, so the pool's copy never shows pixels it was not sent. Updates of a kernel
// process that is none of this scheduler's picoprocesses (a child) are dropped.

import type { FrameBufferUpdate, KernelHost } from '../../host/kernel/kernel.ts';

/** At most this often per picoprocess: a guest drawing faster only makes the rectangle bigger. */
export const FRAME_INTERVAL_MS = 33;

/** A rectangle of picoprocess `id`'s frame buffer (width x height, RGBA): `bytes` are its rows, w*4 bytes each. */
export interface FrameMessage {
  op: 'fb';
  id: number;
  width: number;
  height: number;
  x: number;
  y: number;
  w: number;
  h: number;
  bytes: Uint8Array;
}

interface Pending {
  update: FrameBufferUpdate;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Where a frame buffer is: a new place or size needs a whole frame. */
const placeOf = (u: FrameBufferUpdate): string => `${u.pixels.byteOffset}:${u.width}x${u.height}`;

export class FrameForwarder {
  private readonly pending = new Map<number, Pending>();
  /** The place of the frame buffer last sent whole, by kernel process id. */
  private readonly sent = new Map<number, string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly idOf: (kernelPid: number) => number | undefined;
  private readonly post: (m: FrameMessage, transfer: ArrayBuffer[]) => void;

  constructor(host: KernelHost, idOf: (kernelPid: number) => number | undefined, post: (m: FrameMessage, transfer: ArrayBuffer[]) => void) {
    this.idOf = idOf;
    this.post = post;
    host.onFrameBufferUpdate((u) => this.update(u));
  }

  private update(u: FrameBufferUpdate): void {
    const whole = this.sent.get(u.processId) !== placeOf(u);
    const r = whole ? { x: 0, y: 0, w: u.width, h: u.height } : { x: u.x, y: u.y, w: u.w, h: u.h };
    const p = this.pending.get(u.processId);
    if (p && !whole) {
      p.update = u;
      p.x0 = Math.min(p.x0, r.x);
      p.y0 = Math.min(p.y0, r.y);
      p.x1 = Math.max(p.x1, r.x + r.w);
      p.y1 = Math.max(p.y1, r.y + r.h);
    } else this.pending.set(u.processId, { update: u, x0: r.x, y0: r.y, x1: r.x + r.w, y1: r.y + r.h });
    this.timer ??= setTimeout(() => this.flush(), FRAME_INTERVAL_MS);
  }

  /** A kernel process ended: what was pending for it goes. */
  forget(kernelPid: number): void {
    this.pending.delete(kernelPid);
    this.sent.delete(kernelPid);
  }

  private flush(): void {
    this.timer = null;
    for (const [pid, p] of this.pending) {
      this.pending.delete(pid);
      const id = this.idOf(pid);
      const u = p.update;
      // A child, or memory that grew since (the view was let go): the next update is sent whole.
      if (id === undefined || u.pixels.length < u.width * u.height * 4) {
        this.sent.delete(pid);
        continue;
      }
      const x = Math.max(0, p.x0);
      const y = Math.max(0, p.y0);
      const w = Math.min(u.width, p.x1) - x;
      const h = Math.min(u.height, p.y1) - y;
      if (w <= 0 || h <= 0) continue;
      const bytes = new Uint8Array(w * h * 4);
      for (let row = 0; row < h; row++) {
        const from = ((y + row) * u.width + x) * 4;
        bytes.set(u.pixels.subarray(from, from + w * 4), row * w * 4);
      }
      if (x === 0 && y === 0 && w === u.width && h === u.height) this.sent.set(pid, placeOf(u));
      this.post({ op: 'fb', id, width: u.width, height: u.height, x, y, w, h, bytes }, [bytes.buffer]);
    }
  }
}
