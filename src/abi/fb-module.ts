// The frame buffer and input events as a guest sees them: the functions of the `drawbridge`
// import module that reach DkFrameBufferExport, DkFrameBufferNotifyUpdate and DkInputEventRead
// (src/libos/drawbridge/fb.ts), and what an input event's type, code and value mean. docs/abi.md
// lists them from here (doc.ts); include/drawbridge/fb.h declares them for C, and the browser
// view speaks the same codes (src/web/fb/wire.ts; test/libos/fb-constants.test.ts checks all
// three agree).

export interface FbModuleCall {
  name: string;
  args: string;
  /** Whether the import may wait (a JSPI Suspending import). */
  blocking: boolean;
  doc: string;
}

export const FB_MODULE_CALLS: readonly FbModuleCall[] = [
  {
    name: 'fb_export',
    args: 'pixels: ptr, width: i32, height: i32',
    blocking: false,
    doc: "The guest's array of width*height RGBA pixels (4 bytes each, row after row) becomes its display: a frame buffer of that size is exported (DkFrameBufferExport) and the whole array copied into it and notified. EINVAL for a size <= 0, ENOMEM past 8192*8192 pixels.",
  },
  {
    name: 'fb_update',
    args: 'pixels: ptr, width: i32, height: i32, x: i32, y: i32, w: i32, h: i32',
    blocking: false,
    doc: "The rectangle x, y, w, h of the array changed: exactly its pixels are written to the frame buffer (DkStreamWrite) and notified (DkFrameBufferNotifyUpdate). EINVAL for a rectangle not inside width x height. The frame buffer is an array of fixed size: what is drawn does not count against the manifest's limits.bytes_written. An array or size other than the one exported (or none yet in this library OS: after a restore, in a fork child) is exported first, whole: the library OS keeps nothing a checkpoint would have to carry.",
  },
  {
    name: 'input_read',
    args: 'events: ptr, max: i32, count_out: ptr',
    blocking: true,
    doc: 'Up to max waiting 16-byte events (DkInputEventRead; at most 256 a call), oldest first, and their number; 0 when none. Never waits, but a guest that asks again and again gives the event loop a turn now and then, so events can arrive. EINVAL for max < 0.',
  },
  {
    name: 'input_wait',
    args: 'events: ptr, max: i32, timeout_ms: i32, count_out: ptr',
    blocking: true,
    doc: "As input_read, after waiting until an event comes or timeout_ms passes (negative: no timeout; 0: no wait); 0 events after a timeout. Waits on a dev:input stream's READ event with the library OS's other waits, so a checkpoint can end it and issue it again. EINVAL for max 0.",
  },
];

/** DkInputEventRead's event types (its record: type u32, code u32, value i32, time ms u32). */
export const InputEventType = { KEY: 1, MOTION: 2, BUTTON: 3 } as const;

export const INPUT_EVENT_TYPES: readonly { type: number; name: string; code: string; value: string }[] = [
  { type: InputEventType.KEY, name: 'KEY', code: 'the key: a character as its Unicode code point, other keys as below', value: '1 pressed, 0 released' },
  { type: InputEventType.MOTION, name: 'MOTION', code: 'x: the pointer is at pixel (x, y) of the frame buffer', value: 'y' },
  { type: InputEventType.BUTTON, name: 'BUTTON', code: '1 left, 2 middle, 3 right (where the last MOTION put the pointer)', value: '1 pressed, 0 released' },
];

/** Keys that type no character (fb.h's DRAWBRIDGE_KEY_*; F1 to F12 are F1 + 0 to 11). */
export const InputKey = {
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
} as const;
