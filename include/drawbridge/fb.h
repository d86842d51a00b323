/*
 * drawbridge/fb.h: a frame buffer and the input events of its display, for WebAssembly guests
 * of drawbridge (the Drawbridge ABI's DkFrameBufferExport, DkFrameBufferNotifyUpdate and
 * DkInputEventRead, through the "drawbridge" import module).
 *
 * The pixels live in the program's own memory: an array of width*height uint32_t, one per
 * pixel, row after row, each R, G, B, A bytes in memory order (DRAWBRIDGE_RGB builds one; A is
 * alpha, 255 opaque). Draw into it as you like, then say which rectangle changed:
 * drawbridge_fb_update copies exactly that rectangle to the host, which shows it (for example
 * `drawbridge run --fb 127.0.0.1:8080 prog.wasm`, a page with the frame on a canvas). Header
 * only: include it and build as usual
 *   clang --target=wasm32-wasi -O2 -I/path/to/drawbridge/include prog.c -o prog.wasm
 *
 *   static uint32_t px[240][320];
 *   drawbridge_fb_export(&px[0][0], 320, 240);
 *   px[10][20] = DRAWBRIDGE_RGB(255, 0, 0);
 *   drawbridge_fb_update(&px[0][0], 320, 240, 20, 10, 1, 1);
 *
 * Input: key presses and releases, pointer motion and button presses and releases on the
 * displayed frame, oldest first. drawbridge_input_read never waits; drawbridge_input_wait waits
 * until one comes or the timeout passes (the way to pace an animation: it is also how the
 * program gives the host a turn). The host keeps at most 4096 events waiting, dropping the
 * oldest.
 *
 * Every function returns 0 or an errno value (EINVAL, ENOMEM, ... of wasi-libc, WASI's own
 * numbers); none sets errno. A pointer outside the program's memory is a fault: the program
 * traps, as with any other call. A frame buffer is at most 8192*8192 pixels (ENOMEM past it).
 * The frame buffer is an array of fixed size: drawing into it does not count against the
 * manifest's limits.bytes_written. Send the rectangles that changed: less to copy and to show.
 * The program names its array at every call; a call with another array or size exports that
 * one (the whole frame is sent again), and a program restored from a checkpoint carries on
 * with no call of its own.
 */
#ifndef DRAWBRIDGE_FB_H
#define DRAWBRIDGE_FB_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One pixel: R, G, B, A in memory order (wasm32 is little-endian). */
#define DRAWBRIDGE_RGBA(r, g, b, a) \
  ((uint32_t)(uint8_t)(r) | (uint32_t)(uint8_t)(g) << 8 | (uint32_t)(uint8_t)(b) << 16 | (uint32_t)(uint8_t)(a) << 24)
#define DRAWBRIDGE_RGB(r, g, b) DRAWBRIDGE_RGBA(r, g, b, 255)

/* One input event, 16 bytes, as the host delivers it. */
typedef struct drawbridge_input_event {
  uint32_t type;    /* DRAWBRIDGE_EV_* */
  uint32_t code;    /* KEY: the key; MOTION: x; BUTTON: the button */
  int32_t value;    /* KEY, BUTTON: 1 pressed, 0 released; MOTION: y */
  uint32_t time_ms; /* the host's monotonic clock in milliseconds (wraps) */
} drawbridge_input_event;

/* Event types. */
#define DRAWBRIDGE_EV_KEY    1 /* code: DRAWBRIDGE_KEY_* or the character typed (Unicode) */
#define DRAWBRIDGE_EV_MOTION 2 /* the pointer is at pixel (code, value) of the frame buffer */
#define DRAWBRIDGE_EV_BUTTON 3 /* code: DRAWBRIDGE_BUTTON_*, where the last MOTION put the pointer */

/* Buttons. */
#define DRAWBRIDGE_BUTTON_LEFT   1
#define DRAWBRIDGE_BUTTON_MIDDLE 2
#define DRAWBRIDGE_BUTTON_RIGHT  3

/* Keys that type a character come as that character's code point ('a', 'A', '1', ' ', ...);
 * these as their own codes (the others are in Unicode's private use area). */
#define DRAWBRIDGE_KEY_BACKSPACE 8
#define DRAWBRIDGE_KEY_TAB       9
#define DRAWBRIDGE_KEY_ENTER     13
#define DRAWBRIDGE_KEY_ESCAPE    27
#define DRAWBRIDGE_KEY_DELETE    127
#define DRAWBRIDGE_KEY_UP        0xE000
#define DRAWBRIDGE_KEY_DOWN      0xE001
#define DRAWBRIDGE_KEY_LEFT      0xE002
#define DRAWBRIDGE_KEY_RIGHT     0xE003
#define DRAWBRIDGE_KEY_HOME      0xE004
#define DRAWBRIDGE_KEY_END       0xE005
#define DRAWBRIDGE_KEY_PAGE_UP   0xE006
#define DRAWBRIDGE_KEY_PAGE_DOWN 0xE007
#define DRAWBRIDGE_KEY_INSERT    0xE008
#define DRAWBRIDGE_KEY_SHIFT     0xE010
#define DRAWBRIDGE_KEY_CONTROL   0xE011
#define DRAWBRIDGE_KEY_ALT       0xE012
#define DRAWBRIDGE_KEY_META      0xE013
#define DRAWBRIDGE_KEY_F1        0xE021 /* F1 to F12: 0xE021 to 0xE02C */

/* The raw imports. */
#define DRAWBRIDGE_IMPORT(name) __attribute__((__import_module__("drawbridge"), __import_name__(#name)))
DRAWBRIDGE_IMPORT(fb_export)
int32_t __drawbridge_fb_export(const uint32_t *pixels, int32_t width, int32_t height);
DRAWBRIDGE_IMPORT(fb_update)
int32_t __drawbridge_fb_update(const uint32_t *pixels, int32_t width, int32_t height, int32_t x, int32_t y, int32_t w,
                               int32_t h);
DRAWBRIDGE_IMPORT(input_read)
int32_t __drawbridge_input_read(drawbridge_input_event *events, int32_t max, int32_t *count);
DRAWBRIDGE_IMPORT(input_wait)
int32_t __drawbridge_input_wait(drawbridge_input_event *events, int32_t max, int32_t timeout_ms, int32_t *count);
#undef DRAWBRIDGE_IMPORT

/* Make pixels[0 .. width*height) the display and send all of it. EINVAL for a size <= 0,
 * ENOMEM past 8192*8192 pixels, EDQUOT past the manifest's handle limit. */
static inline int drawbridge_fb_export(const uint32_t *pixels, int width, int height) {
  return __drawbridge_fb_export(pixels, width, height);
}

/* The rectangle x, y, w, h of pixels changed: send it. EINVAL when it does not lie inside
 * width x height. Exports pixels first when they are not the display yet. */
static inline int drawbridge_fb_update(const uint32_t *pixels, int width, int height, int x, int y, int w, int h) {
  return __drawbridge_fb_update(pixels, width, height, x, y, w, h);
}

/* Up to max waiting events into events[], their number into *count (0 when none); never waits. */
static inline int drawbridge_input_read(drawbridge_input_event *events, int max, int *count) {
  int32_t n = 0;
  int r = __drawbridge_input_read(events, max, &n);
  *count = r == 0 ? n : 0;
  return r;
}

/* As drawbridge_input_read, but first waits until an event comes or timeout_ms passes (-1: no
 * timeout, 0: no wait); *count is 0 after a timeout. EINVAL when max is 0. */
static inline int drawbridge_input_wait(drawbridge_input_event *events, int max, int timeout_ms, int *count) {
  int32_t n = 0;
  int r = __drawbridge_input_wait(events, max, timeout_ms, &n);
  *count = r == 0 ? n : 0;
  return r;
}

#ifdef __cplusplus
}
#endif

#endif /* DRAWBRIDGE_FB_H */
