// Devices: the frame buffer (dev:fb, DkFrameBufferExport) and input events (dev:input,
// DkInputEventRead). Both belong to one picoprocess: its display and its keyboard/mouse.

import { DkError } from '../../abi/errors.ts';
import { INPUT_EVENT_SIZE, StreamSide, type DkResult, type StreamAttributes } from '../../abi/dk.ts';
import { StreamObject, type KObject } from './kobject.ts';
import { ReadinessHub, AlwaysReady, type ReadySource } from './readiness.ts';
import { charDeviceAttributes } from './stdio.ts';
import { copyBytes } from './bytes.ts';

/** Largest frame buffer: 8192 x 8192 RGBA. */
export const FRAME_BUFFER_MAX_PIXELS = 8192 * 8192;

/** A rectangle of a frame buffer changed (DkFrameBufferNotifyUpdate). */
export interface FrameBufferUpdate {
  processId: number;
  width: number;
  height: number;
  format: number;
  /** The whole frame buffer, live (read it now; it keeps changing). */
  pixels: Uint8Array;
  x: number;
  y: number;
  w: number;
  h: number;
}
export type FrameBufferListener = (update: FrameBufferUpdate) => void;

export class FrameBuffer extends StreamObject {
  readonly kind = 'frame-buffer';
  readonly uri = 'dev:fb';
  readonly width: number;
  readonly height: number;
  readonly format: number;
  readonly pixels: Uint8Array;

  constructor(width: number, height: number, format: number) {
    super();
    this.width = width;
    this.height = height;
    this.format = format;
    this.pixels = new Uint8Array(width * height * 4);
  }
  /** Positional: offset is the byte offset in the pixel array (-1 means 0). */
  override read(offset: number, buffer: Uint8Array): DkResult<number> {
    const at = offset < 0 ? 0 : offset;
    if (at >= this.pixels.length) return 0;
    const left = this.pixels.length - at;
    const n = buffer.length < left ? buffer.length : left;
    copyBytes(buffer, 0, this.pixels, at, n);
    return n;
  }
  override write(offset: number, data: Uint8Array): DkResult<number> {
    const at = offset < 0 ? 0 : offset;
    if (at >= this.pixels.length) return data.length === 0 ? 0 : DkError.NO_SPACE;
    const left = this.pixels.length - at;
    const n = data.length < left ? data.length : left;
    copyBytes(this.pixels, at, data, 0, n);
    return n;
  }
  override flush(): DkResult<0> {
    return 0;
  }
  override readiness(_side: number): DkResult<KObject> {
    return new AlwaysReady();
  }
  override attributes(): DkResult<StreamAttributes> {
    return charDeviceAttributes(true, true, this.pixels.length);
  }
}

/** One input event as injected by the host's embedder. */
export interface InputEvent {
  type: number;
  code: number;
  value: number;
  /** Milliseconds (u32, wraps); default: the host's monotonic clock. */
  timeMs?: number;
}

/** Events wait here until the picoprocess reads them; older ones drop past the limit. */
export const INPUT_QUEUE_MAX = 4096;

/** The input queue of one picoprocess; dev:input streams are views of it. */
export class InputQueue implements ReadySource {
  private readonly queue: Uint8Array[] = [];
  readonly hub = new ReadinessHub(this);
  private readonly devices = new Set<InputDevice>();

  push(ev: InputEvent, nowMs: number): void {
    const rec = new Uint8Array(INPUT_EVENT_SIZE);
    const v = new DataView(rec.buffer);
    v.setUint32(0, ev.type >>> 0, true);
    v.setUint32(4, ev.code >>> 0, true);
    v.setInt32(8, ev.value | 0, true);
    v.setUint32(12, (ev.timeMs ?? nowMs) >>> 0, true);
    if (this.queue.length >= INPUT_QUEUE_MAX) this.queue.shift();
    const wasEmpty = this.queue.length === 0;
    this.queue.push(rec);
    if (wasEmpty) this.changed();
  }
  /** Whole events into buffer: the bytes read, WOULD_BLOCK if none, INVALID_ARGUMENT if buffer < 16. */
  read(buffer: Uint8Array): DkResult<number> {
    if (buffer.length < INPUT_EVENT_SIZE) return DkError.INVALID_ARGUMENT;
    if (this.queue.length === 0) return DkError.WOULD_BLOCK;
    let n = 0;
    while (this.queue.length > 0 && buffer.length - n >= INPUT_EVENT_SIZE) {
      buffer.set(this.queue.shift()!, n);
      n += INPUT_EVENT_SIZE;
    }
    if (this.queue.length === 0) this.changed();
    return n;
  }
  isReady(side: number): boolean {
    return side !== StreamSide.WRITE && this.queue.length > 0;
  }
  attach(dev: InputDevice): void {
    this.devices.add(dev);
  }
  detach(dev: InputDevice): void {
    this.devices.delete(dev);
  }
  private changed(): void {
    this.hub.changed();
    for (const d of this.devices) d.changed();
  }
}

/** dev:input: reads whole events; its READ event (and the handle itself) signals availability. */
export class InputDevice extends StreamObject {
  readonly kind = 'char-device';
  readonly uri = 'dev:input';
  private readonly queue: InputQueue;
  constructor(queue: InputQueue) {
    super();
    this.queue = queue;
    queue.attach(this);
  }
  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    return this.queue.read(buffer);
  }
  override readiness(side: number): DkResult<KObject> {
    return this.queue.hub.event(side);
  }
  override isSignalled(): boolean {
    return this.queue.isReady(StreamSide.READ);
  }
  override attributes(): DkResult<StreamAttributes> {
    return charDeviceAttributes(true, false);
  }
  changed(): void {
    this.notify();
  }
  override release(): void {
    this.queue.detach(this);
  }
}
