// The `fb` family of the drawbridge import module: a frame buffer the guest draws into and the
// input events of its display, on the Dk ABI only (DkFrameBufferExport, DkStreamWrite on the
// frame buffer, DkFrameBufferNotifyUpdate, DkInputEventRead and a dev:input stream's READ
// event). Declared for C in include/drawbridge/fb.h; the embedder's side is src/server/fb/.
//
//   fb_export(pixels, width, height) -> errno
//       the guest's RGBA array (width*height*4 bytes in its own memory) becomes its display:
//       a kernel frame buffer of that size is exported and the whole array copied into it
//   fb_update(pixels, width, height, x, y, w, h) -> errno
//       the rectangle (x, y, w, h) of the array changed: exactly those pixels are copied into
//       the kernel's frame buffer and the host is told (DkFrameBufferNotifyUpdate)
//   input_read(events, max, count_out) -> errno                        (never waits)
//   input_wait(events, max, timeout_ms, count_out) -> errno            (waits; -1: no timeout)
//       up to max 16-byte events (type u32, code u32, value i32, time ms u32), oldest first
//
// The guest names its frame buffer at every call (pointer and size), so the library OS keeps
// nothing a checkpoint would have to carry: after a restore or in a fork child, whose kernel
// has no frame buffer yet, fb_update exports it again (the whole frame) and then copies. A
// call naming another array or size than the one exported exports that one instead.
//
// Pointers and sizes are checked against memory before anything is done; one outside memory
// is a guest fault (a trap, as for every other call). A size past the kernel's largest frame
// buffer is ENOMEM, a rectangle outside the frame buffer EINVAL.
//
// input_read answers count 0 when there is nothing: a guest that asks again and again gets the
// event loop a turn now and then (core/wait.ts, wouldBlock), so the host can deliver events.
// input_wait waits on the dev:input stream's READ event and the capture interrupt (core/wait.ts):
// a capture may end the wait, and the call is issued again after it, from the start.

import { Access, INPUT_EVENT_SIZE, PixelFormat, StreamSide, type Handle } from '../../abi/dk.ts';
import { DkError, isDkError } from '../../abi/errors.ts';
import { Errno } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import { GuestFault } from '../core/memory.ts';
import type { WasiState } from '../core/state.ts';
import { INTERRUPTED_CALL, RETRY } from '../core/wait.ts';
import type { SyscallFn } from '../syscall.ts';

/** Largest frame buffer in pixels (the kernel's FRAME_BUFFER_MAX_PIXELS: 8192 x 8192). */
export const FB_MAX_PIXELS = 8192 * 8192;
/** Most events one call reads (the kernel keeps at most 4096 waiting). */
export const INPUT_READ_MAX = 256;

interface Exported {
  handle: Handle;
  pixels: number;
  width: number;
  height: number;
}

/** Whether width and height make a frame buffer the kernel may export (ENOMEM past its largest). */
function sizeErrno(width: number, height: number): number {
  if (width <= 0 || height <= 0) return Errno.INVAL;
  return width * height > FB_MAX_PIXELS ? Errno.NOMEM : Errno.SUCCESS;
}

/** Check that [ptr, ptr + len) lies in memory; len may pass 2^32 (the u32 wrap of mem.bytes would hide it). */
function checkRange(os: WasiState, ptr: number, len: number, what: string): void {
  os.mem.refresh();
  if ((ptr >>> 0) + len > os.mem.u8.length) throw new GuestFault(`${len} bytes of ${what} at ${ptr >>> 0}`);
}

export function fbCalls(os: WasiState): Record<string, SyscallFn> {
  const dk = os.dk;
  const mem = os.mem;
  let fb: Exported | null = null;
  let input: Handle = 0;

  /** Copy the rectangle of the guest's array into the kernel's frame buffer, then tell the host. */
  function copy(e: Exported, x: number, y: number, w: number, h: number): number {
    if (w === 0 || h === 0) return Errno.SUCCESS;
    mem.refresh();
    const rowBytes = e.width * 4;
    // Whole rows lie end to end in both: one write.
    const rows = x === 0 && w === e.width ? [[y, h]] : Array.from({ length: h }, (_, i) => [y + i, 1]);
    for (const [row, count] of rows) {
      const at = row! * rowBytes + x * 4;
      const len = count! === 1 ? w * 4 : count! * rowBytes;
      const n = dk.streamWrite(e.handle, at, mem.bytes(e.pixels + at, len));
      if (isDkError(n)) return errnoOf(n);
      if (n !== len) return Errno.IO;
    }
    const r = dk.frameBufferNotifyUpdate(e.handle, x, y, w, h);
    return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
  }

  /** Export the array as the display (replacing an earlier export) and copy all of it. */
  function exportArray(pixels: number, width: number, height: number): number {
    const h = dk.frameBufferExport(width, height, PixelFormat.RGBA8888);
    if (isDkError(h)) return errnoOf(h);
    if (fb !== null) dk.objectClose(fb.handle);
    fb = { handle: h, pixels: pixels >>> 0, width, height };
    return copy(fb, 0, 0, width, height);
  }

  function inputHandle(): Handle | number {
    if (input === 0) {
      const h = dk.streamOpen('dev:input', Access.READ, 0, 0);
      if (isDkError(h)) return h;
      input = h;
    }
    return input;
  }

  /** Read what is waiting into the guest's array; RETRY when nothing is. */
  function readEvents(eventsPtr: number, max: number, countPtr: number): number {
    if (max === 0) {
      mem.refresh();
      mem.setU32(countPtr, 0);
      return Errno.SUCCESS;
    }
    mem.refresh();
    const n = dk.inputEventRead(mem.bytes(eventsPtr, max * INPUT_EVENT_SIZE));
    if (n === DkError.WOULD_BLOCK) return RETRY;
    if (isDkError(n)) return errnoOf(n);
    mem.refresh();
    mem.setU32(countPtr, n / INPUT_EVENT_SIZE);
    return Errno.SUCCESS;
  }

  /** Check an input call's pointers; the number of events to read, or an errno. */
  function checkInput(eventsPtr: number, max: number, countPtr: number): number {
    if (max < 0) return -Errno.INVAL;
    checkRange(os, eventsPtr, max * INPUT_EVENT_SIZE, 'input events');
    checkRange(os, countPtr, 4, 'the event count');
    return Math.min(max, INPUT_READ_MAX);
  }

  /** Nothing to read: count 0 (a would-block answer; a spinning guest gives the loop a turn). */
  function none(eventsPtr: number, max: number, countPtr: number): number | Promise<number> {
    mem.refresh();
    mem.setU32(countPtr, 0);
    return os.wouldBlock(Errno.SUCCESS, () => readEvents(eventsPtr, max, countPtr));
  }

  async function waitForEvents(eventsPtr: number, max: number, timeoutMs: number, countPtr: number): Promise<number> {
    const h = inputHandle();
    if (isDkError(h)) return errnoOf(h);
    const ev = os.readinessEvent(h, StreamSide.READ);
    if (isDkError(ev)) return errnoOf(ev);
    const deadline = timeoutMs < 0 ? null : os.monotonicNow() + BigInt(timeoutMs) * 1_000_000n;
    for (;;) {
      if (os.interrupted) return INTERRUPTED_CALL;
      const left = deadline === null ? null : deadline - os.monotonicNow();
      const r = await dk.objectsWaitAny([ev, os.interruptHandle()], left === null ? null : left < 0n ? 0n : left);
      os.loopTurned();
      if (r === 1 || os.interrupted) return INTERRUPTED_CALL;
      if (r === DkError.TIMED_OUT) {
        const got = readEvents(eventsPtr, max, countPtr);
        if (got !== RETRY) return got;
        mem.refresh();
        mem.setU32(countPtr, 0);
        return Errno.SUCCESS;
      }
      if (isDkError(r)) return errnoOf(r);
      const got = readEvents(eventsPtr, max, countPtr);
      if (got !== RETRY) return got;
    }
  }

  return {
    fb_export(pixels: number, width: number, height: number): number {
      const bad = sizeErrno(width, height);
      if (bad !== Errno.SUCCESS) return bad;
      checkRange(os, pixels, width * height * 4, 'frame buffer pixels');
      return exportArray(pixels, width, height);
    },

    fb_update(pixels: number, width: number, height: number, x: number, y: number, w: number, h: number): number {
      const bad = sizeErrno(width, height);
      if (bad !== Errno.SUCCESS) return bad;
      checkRange(os, pixels, width * height * 4, 'frame buffer pixels');
      if (x < 0 || y < 0 || w < 0 || h < 0 || x + w > width || y + h > height) return Errno.INVAL;
      // Another array or size than the one exported (or none in this library OS: a restore, a
      // fork child): export it, which copies the whole frame.
      if (fb === null || fb.pixels !== pixels >>> 0 || fb.width !== width || fb.height !== height) return exportArray(pixels, width, height);
      return copy(fb, x, y, w, h);
    },

    input_read(eventsPtr: number, max: number, countPtr: number): number | Promise<number> {
      const n = checkInput(eventsPtr, max, countPtr);
      if (n < 0) return -n;
      const got = readEvents(eventsPtr, n, countPtr);
      return got !== RETRY ? got : none(eventsPtr, n, countPtr);
    },

    input_wait(eventsPtr: number, max: number, timeoutMs: number, countPtr: number): number | Promise<number> {
      const n = checkInput(eventsPtr, max, countPtr);
      if (n < 0) return -n;
      if (n === 0) return Errno.INVAL; // nothing could end the wait but its timeout
      const got = readEvents(eventsPtr, n, countPtr);
      if (got !== RETRY) return got;
      if (timeoutMs === 0) return none(eventsPtr, n, countPtr);
      return waitForEvents(eventsPtr, n, timeoutMs, countPtr);
    },
  };
}
