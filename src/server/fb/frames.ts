// What a viewer of a picoprocess's frame buffer is sent: the kernel's frame-buffer updates
// (KernelHost.onFrameBufferUpdate) turned into rectangle messages (src/web/fb/wire.ts), with no
// HTTP in sight, so that any server can carry them (`run --fb`: run-view.ts; the serve console).
//
// A viewer never queues pixels. It keeps which rectangles are dirty (at most MAX_PENDING_RECTS;
// a rectangle inside another is dropped, and past the bound they merge into their bounding box)
// and encodes one only when its connection can take it, from the frame buffer as it is then.
// A guest that draws faster than a viewer reads only makes the dirty region bigger: the viewer
// gets the latest pixels, never a backlog, and its memory is bounded by one frame.

import type { FrameBufferListener, FrameBufferUpdate } from '../../host/kernel/kernel.ts';
import { encodeRect, type Rect } from '../../web/fb/wire.ts';

export const MAX_PENDING_RECTS = 16;

/** A picoprocess's frame buffer: its live pixels (width*height*4 bytes, RGBA) and size. */
export interface Display {
  width: number;
  height: number;
  pixels: Uint8Array;
}

const contains = (a: Rect, b: Rect) => a.x <= b.x && a.y <= b.y && a.x + a.w >= b.x + b.w && a.y + a.h >= b.y + b.h;

/** Add r to a dirty region: superseded rectangles dropped, past the bound one bounding box. */
export function addDirty(region: Rect[], r: Rect, max = MAX_PENDING_RECTS): void {
  if (r.w <= 0 || r.h <= 0 || region.some((d) => contains(d, r))) return;
  for (let i = region.length - 1; i >= 0; i--) if (contains(r, region[i]!)) region.splice(i, 1);
  region.push(r);
  if (region.length <= max) return;
  const x = Math.min(...region.map((d) => d.x));
  const y = Math.min(...region.map((d) => d.y));
  const w = Math.max(...region.map((d) => d.x + d.w)) - x;
  const h = Math.max(...region.map((d) => d.y + d.h)) - y;
  region.splice(0, region.length, { x, y, w, h });
}

/** One viewer's stream: next() gives its next message, ready() waits until there is one. */
export class FrameViewer {
  private display: Display | null = null;
  private readonly region: Rect[] = [];
  /** The next message is the whole frame (the first one, or the frame buffer changed). */
  private whole = true;
  private waiter: (() => void) | null = null;
  private closed = false;
  private readonly onClose: () => void;

  constructor(display: Display | null, onClose: () => void = () => {}) {
    this.display = display;
    this.onClose = onClose;
  }

  /** A rectangle of the picoprocess's frame buffer changed (the hub calls it). */
  update(display: Display, r: Rect): void {
    const d = this.display;
    if (d === null || d.pixels !== display.pixels || d.width !== display.width || d.height !== display.height) {
      // Another frame buffer (a new export, or the first): the viewer needs all of it.
      this.display = display;
      this.whole = true;
      this.region.length = 0;
    } else if (!this.whole) addDirty(this.region, r);
    this.wake();
  }

  /** The next message, encoded from the pixels as they are now; null when nothing is due. */
  next(): Uint8Array | null {
    const d = this.display;
    if (d === null || this.closed) return null;
    if (this.whole) {
      this.whole = false;
      this.region.length = 0;
      return encodeRect(d.pixels, d.width, d.height, { x: 0, y: 0, w: d.width, h: d.height });
    }
    const r = this.region.shift();
    return r === undefined ? null : encodeRect(d.pixels, d.width, d.height, r);
  }

  /** The rectangles waiting (a copy), for tests and for a server that wants to know. */
  pending(): Rect[] {
    return this.region.map((r) => ({ ...r }));
  }

  /** The size of what the viewer shows (to check pointer positions against), or null before any frame. */
  size(): { width: number; height: number } | null {
    return this.display === null ? null : { width: this.display.width, height: this.display.height };
  }

  /** Resolves once next() may have a message, or the viewer is closed. */
  ready(): Promise<void> {
    if (this.closed || (this.display !== null && (this.whole || this.region.length > 0))) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.waiter;
      this.waiter = () => {
        before?.();
        resolve();
      };
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.onClose();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

/**
 * The frame buffers of one kernel's picoprocesses and their viewers. Give `listener` to
 * KernelHost.onFrameBufferUpdate; viewer(pid) for each connection that shows a picoprocess.
 */
export class FrameHub {
  private readonly displays = new Map<number, Display>();
  private readonly viewers = new Map<number, Set<FrameViewer>>();
  readonly listener: FrameBufferListener = (u) => this.update(u);

  update(u: FrameBufferUpdate): void {
    let d = this.displays.get(u.processId);
    if (d === undefined || d.pixels !== u.pixels) this.displays.set(u.processId, (d = { width: u.width, height: u.height, pixels: u.pixels }));
    for (const v of this.viewers.get(u.processId) ?? []) v.update(d, { x: u.x, y: u.y, w: u.w, h: u.h });
  }

  /** A new viewer of picoprocess pid: its first message is the whole frame (once there is one). */
  viewer(pid: number): FrameViewer {
    let set = this.viewers.get(pid);
    if (set === undefined) this.viewers.set(pid, (set = new Set()));
    const v: FrameViewer = new FrameViewer(this.displays.get(pid) ?? null, () => {
      set.delete(v);
      if (set.size === 0 && this.viewers.get(pid) === set) this.viewers.delete(pid);
    });
    set.add(v);
    return v;
  }

  /** The frame buffer picoprocess pid shows, if it exported one. */
  display(pid: number): Display | undefined {
    return this.displays.get(pid);
  }

  /** Picoprocess pid is gone: its viewers end and its frame is let go. */
  forget(pid: number): void {
    this.displays.delete(pid);
    for (const v of [...(this.viewers.get(pid) ?? [])]) v.close();
  }
}
