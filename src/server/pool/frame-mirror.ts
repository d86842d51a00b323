// Main-thread side of the frame buffers of `drawbridge serve`: a copy of each picoprocess's
// frame, kept from the rectangles its worker sends (frame-forward.ts), and the viewers of the
// console (src/server/fb/frames.ts's FrameHub: each viewer gets the whole frame, then dirty
// rectangles, never a backlog). A picoprocess's copy goes when it ends.

import { FRAME_BUFFER_MAX_PIXELS } from '../../host/kernel/devices.ts';
import { FrameHub, type FrameViewer } from '../fb/frames.ts';
import type { FrameMessage } from './frame-forward.ts';

export class FrameMirror {
  private readonly hub = new FrameHub();
  private readonly frames = new Map<number, Uint8Array>();

  /** A rectangle came from a worker: into the copy, then to the viewers. */
  apply(m: FrameMessage): void {
    const { width, height, x, y, w, h } = m;
    const fits = width > 0 && height > 0 && width * height <= FRAME_BUFFER_MAX_PIXELS && x >= 0 && y >= 0 && x + w <= width && y + h <= height;
    if (!fits || m.bytes.length !== w * h * 4) return;
    let frame = this.frames.get(m.id);
    const whole = x === 0 && y === 0 && w === width && h === height;
    if (frame === undefined || frame.length !== width * height * 4) {
      // A new frame buffer starts with its whole frame (frame-forward.ts): nothing to keep.
      if (!whole) return;
      frame = new Uint8Array(width * height * 4);
      this.frames.set(m.id, frame);
    }
    for (let row = 0; row < h; row++) frame.set(m.bytes.subarray(row * w * 4, (row + 1) * w * 4), ((y + row) * width + x) * 4);
    this.hub.update({ processId: m.id, width, height, format: 0, pixels: frame, x, y, w, h });
  }

  /** A viewer of picoprocess `id`: the whole frame once there is one, then what changes. */
  viewer(id: number): FrameViewer {
    return this.hub.viewer(id);
  }

  /** The size of picoprocess `id`'s frame, or null before its first. */
  size(id: number): { width: number; height: number } | null {
    const d = this.hub.display(id);
    return d ? { width: d.width, height: d.height } : null;
  }

  has(id: number): boolean {
    return this.frames.has(id);
  }

  /** Picoprocess `id` ended: its viewers' streams end, its copy goes. */
  forget(id: number): void {
    this.frames.delete(id);
    this.hub.forget(id);
  }
}
