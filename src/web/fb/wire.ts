// The frame-buffer view's wire format, one definition for both ends: the host's encoder and
// input decoder (src/server/fb/) and the page's decoder and input encoder (src/web/fb-canvas.ts).
// Pure bytes: no DOM, no Node.
//
// Frames, host to browser: a stream of messages, each a dirty rectangle:
//   u32 x, u32 y, u32 w, u32 h, u32 frameWidth, u32 frameHeight   (little-endian, 24 bytes)
//   then h rows of w RGBA pixels (w*h*4 bytes)
// The first message of a stream is the whole frame, and so is the first after the frame
// buffer changed size. A message never lies outside its frame.
//
// Input, browser to host: a batch of events, each 12 bytes: u32 type, u32 code, i32 value, as
// DkInputEventRead gives them to the guest (which adds the time). The types and codes are
// include/drawbridge/fb.h's.

export const RECT_HEADER_BYTES = 24;
/** The kernel's largest frame buffer (FRAME_BUFFER_MAX_PIXELS). */
export const MAX_FRAME_SIDE = 8192;
export const MAX_FRAME_PIXELS = 8192 * 8192;

export const INPUT_RECORD_BYTES = 12;
/** Most events in one input batch. */
export const MAX_INPUT_BATCH = 64;

export const EventType = { KEY: 1, MOTION: 2, BUTTON: 3 } as const;
export const Button = { LEFT: 1, MIDDLE: 2, RIGHT: 3 } as const;
/** Keys that type no character (fb.h's DRAWBRIDGE_KEY_*); a character is its code point. */
export const Key = {
  BACKSPACE: 8,
  TAB: 9,
  ENTER: 13,
  ESCAPE: 27,
  DELETE: 127,
  UP: 0xe000,
  DOWN: 0xe001,
  LEFT: 0xe002,
  RIGHT: 0xe003,
  HOME: 0xe004,
  END: 0xe005,
  PAGE_UP: 0xe006,
  PAGE_DOWN: 0xe007,
  INSERT: 0xe008,
  SHIFT: 0xe010,
  CONTROL: 0xe011,
  ALT: 0xe012,
  META: 0xe013,
  F1: 0xe021,
  F12: 0xe02c,
} as const;

/** Whether code names a key: one of Key's, or a character (no control character, surrogate or private use). */
export function isKeyCode(code: number): boolean {
  if (code === Key.BACKSPACE || code === Key.TAB || code === Key.ENTER || code === Key.ESCAPE || code === Key.DELETE) return true;
  if ((code >= Key.UP && code <= Key.INSERT) || (code >= Key.SHIFT && code <= Key.META) || (code >= Key.F1 && code <= Key.F12)) return true;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return false;
  if (code >= 0xd800 && code <= 0xf8ff) return false; // surrogates, and the private use area Key lives in
  return code <= 0x10ffff;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One decoded frame message: a rectangle of a frame and its pixels (w*h*4 bytes). */
export interface RectMessage extends Rect {
  frameWidth: number;
  frameHeight: number;
  pixels: Uint8Array;
}

export interface WireInputEvent {
  type: number;
  code: number;
  value: number;
}

/** Whether a frame of this size may be sent at all. */
export function validFrameSize(width: number, height: number): boolean {
  return (
    Number.isInteger(width) &&
    Number.isInteger(height) &&
    width >= 1 &&
    height >= 1 &&
    width <= MAX_FRAME_SIDE &&
    height <= MAX_FRAME_SIDE &&
    width * height <= MAX_FRAME_PIXELS
  );
}

/** Whether r is a non-empty rectangle inside a frame of width x height. */
export function rectInside(r: Rect, width: number, height: number): boolean {
  return (
    Number.isInteger(r.x) &&
    Number.isInteger(r.y) &&
    Number.isInteger(r.w) &&
    Number.isInteger(r.h) &&
    r.x >= 0 &&
    r.y >= 0 &&
    r.w >= 1 &&
    r.h >= 1 &&
    r.x + r.w <= width &&
    r.y + r.h <= height
  );
}

/** The message for rectangle r of a frame whose RGBA pixels are `frame` (width*height*4 bytes). */
export function encodeRect(frame: Uint8Array, width: number, height: number, r: Rect): Uint8Array {
  if (!validFrameSize(width, height) || frame.length !== width * height * 4 || !rectInside(r, width, height))
    throw new RangeError('rectangle outside its frame');
  const out = new Uint8Array(RECT_HEADER_BYTES + r.w * r.h * 4);
  const v = new DataView(out.buffer);
  [r.x, r.y, r.w, r.h, width, height].forEach((n, i) => v.setUint32(i * 4, n, true));
  const row = r.w * 4;
  if (r.x === 0 && r.w === width) out.set(frame.subarray(r.y * width * 4, (r.y + r.h) * width * 4), RECT_HEADER_BYTES);
  else for (let i = 0; i < r.h; i++) out.set(frame.subarray(((r.y + i) * width + r.x) * 4, ((r.y + i) * width + r.x) * 4 + row), RECT_HEADER_BYTES + i * row);
  return out;
}

/**
 * Splits a byte stream into rectangle messages, whatever the chunking. A header that does not
 * describe a rectangle inside a frame the kernel could have made is an error (thrown), and
 * nothing after it is read: the stream is not what this page speaks.
 */
export class RectStreamDecoder {
  private buffered: Uint8Array[] = [];
  private size = 0;
  private header: Omit<RectMessage, 'pixels'> | null = null;

  /** The messages completed by this chunk, in order. */
  push(chunk: Uint8Array): RectMessage[] {
    this.buffered.push(chunk);
    this.size += chunk.length;
    const out: RectMessage[] = [];
    for (;;) {
      if (this.header === null) {
        if (this.size < RECT_HEADER_BYTES) return out;
        const v = new DataView(this.take(RECT_HEADER_BYTES).buffer);
        const [x, y, w, h, frameWidth, frameHeight] = [0, 1, 2, 3, 4, 5].map((i) => v.getUint32(i * 4, true)) as [
          number,
          number,
          number,
          number,
          number,
          number,
        ];
        if (!validFrameSize(frameWidth, frameHeight) || !rectInside({ x, y, w, h }, frameWidth, frameHeight))
          throw new RangeError(`bad rectangle ${x},${y} ${w}x${h} of a ${frameWidth}x${frameHeight} frame`);
        this.header = { x, y, w, h, frameWidth, frameHeight };
      }
      const need = this.header.w * this.header.h * 4;
      if (this.size < need) return out;
      out.push({ ...this.header, pixels: this.take(need) });
      this.header = null;
    }
  }

  /** The first n buffered bytes, as one array. */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const head = this.buffered[0]!;
      const k = Math.min(head.length, n - done);
      out.set(head.subarray(0, k), done);
      done += k;
      if (k === head.length) this.buffered.shift();
      else this.buffered[0] = head.subarray(k);
    }
    this.size -= n;
    return out;
  }
}

/** A batch of input events as the page sends it. */
export function encodeInputEvents(events: readonly WireInputEvent[]): Uint8Array {
  const out = new Uint8Array(events.length * INPUT_RECORD_BYTES);
  const v = new DataView(out.buffer);
  events.forEach((e, i) => {
    v.setUint32(i * INPUT_RECORD_BYTES, e.type >>> 0, true);
    v.setUint32(i * INPUT_RECORD_BYTES + 4, e.code >>> 0, true);
    v.setInt32(i * INPUT_RECORD_BYTES + 8, e.value | 0, true);
  });
  return out;
}

/**
 * A batch of input events as the host takes it, or why not: strictly, since any page could
 * send it. At most MAX_INPUT_BATCH whole records; known types only; keys and buttons pressed
 * (1) or released (0); motion inside the frame of width x height (none yet: no motion).
 */
export function decodeInputEvents(body: Uint8Array, width: number, height: number): WireInputEvent[] | string {
  if (body.length === 0 || body.length % INPUT_RECORD_BYTES !== 0) return `expected whole ${INPUT_RECORD_BYTES}-byte events`;
  if (body.length > MAX_INPUT_BATCH * INPUT_RECORD_BYTES) return `at most ${MAX_INPUT_BATCH} events a batch`;
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: WireInputEvent[] = [];
  for (let at = 0; at < body.length; at += INPUT_RECORD_BYTES) {
    const type = v.getUint32(at, true);
    const code = v.getUint32(at + 4, true);
    const value = v.getInt32(at + 8, true);
    if (type === EventType.KEY) {
      if (!isKeyCode(code) || (value !== 0 && value !== 1)) return `event ${at / INPUT_RECORD_BYTES}: not a key press or release`;
    } else if (type === EventType.BUTTON) {
      if (code < Button.LEFT || code > Button.RIGHT || (value !== 0 && value !== 1)) return `event ${at / INPUT_RECORD_BYTES}: not a button press or release`;
    } else if (type === EventType.MOTION) {
      if (code >= width || value < 0 || value >= height) return `event ${at / INPUT_RECORD_BYTES}: motion outside the ${width}x${height} frame`;
    } else return `event ${at / INPUT_RECORD_BYTES}: unknown type ${type}`;
    out.push({ type, code, value });
  }
  return out;
}
