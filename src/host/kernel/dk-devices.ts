// The device primitives: input events (DkInputEventRead) and the frame buffer
// (DkFrameBufferExport, DkFrameBufferNotifyUpdate), on the device objects of devices.ts.
// The ABI lists them among the other primitives. The rules of every primitive are in process.ts.

import { DkError } from '../../abi/errors.ts';
import { PixelFormat, type DkResult, type Handle } from '../../abi/dk.ts';
import { drop, retain } from './kobject.ts';
import type { ProcessState } from './process-state.ts';
import { FRAME_BUFFER_MAX_PIXELS, FrameBuffer } from './devices.ts';
import { isInt } from './arg-checks.ts';

export function dkInputEventRead(p: ProcessState, buffer: Uint8Array): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  if (!(buffer instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
  return p.input.read(buffer);
}
export function dkFrameBufferExport(p: ProcessState, width: number, height: number, format: number): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  if (!isInt(width) || !isInt(height) || width <= 0 || height <= 0) return DkError.INVALID_ARGUMENT;
  if (width * height > FRAME_BUFFER_MAX_PIXELS) return DkError.NO_MEMORY;
  if (format !== PixelFormat.RGBA8888) return DkError.NOT_SUPPORTED;
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  const fb = new FrameBuffer(width, height, format);
  // The latest export is the display: dev:fb opens it.
  retain(fb);
  if (p.frameBuffer) drop(p.frameBuffer);
  p.frameBuffer = fb;
  return p.insert(fb);
}
export function dkFrameBufferNotifyUpdate(p: ProcessState, frameBuffer: Handle, x: number, y: number, width: number, height: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const fb = p.handles.get(frameBuffer);
  if (fb === undefined) return DkError.BAD_HANDLE;
  if (!(fb instanceof FrameBuffer)) return DkError.WRONG_HANDLE_TYPE;
  if (!isInt(x) || !isInt(y) || !isInt(width) || !isInt(height)) return DkError.INVALID_ARGUMENT;
  if (x < 0 || y < 0 || width < 0 || height < 0 || x + width > fb.width || y + height > fb.height) return DkError.INVALID_ARGUMENT;
  p.kernel.frameBufferUpdated({
    processId: p.id,
    width: fb.width,
    height: fb.height,
    format: fb.format,
    pixels: fb.pixels,
    x,
    y,
    w: width,
    h: height,
  });
  return 0;
}
