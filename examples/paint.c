// A small paint program on drawbridge's frame buffer (include/drawbridge/fb.h): draw with the
// mouse in a browser.
//   ./drawbridge run --fb 127.0.0.1:8080 examples/paint.wasm
// then open the URL it prints. Hold the left button to draw; click a colour in the palette at
// the top, or press 1 to 8, to change colour; c clears the page; q quits.
// Built with: clang --target=wasm32-wasi -O2 examples/paint.c -o examples/paint.wasm
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../include/drawbridge/fb.h"

#define W 320
#define H 240
#define PALETTE_H 20
#define BRUSH 2 /* pixels on each side of the pointer */

static uint32_t px[H][W];

/* Send a changed rectangle; a refusal ends the program with a line that says why. */
static void send(int x, int y, int w, int h) {
  int r = drawbridge_fb_update(&px[0][0], W, H, x, y, w, h);
  if (r != 0) {
    fprintf(stderr, "paint: cannot update the frame buffer: %s\n", strerror(r));
    exit(1);
  }
}
static const uint32_t PAPER = DRAWBRIDGE_RGB(255, 255, 255);
static const uint32_t COLOURS[8] = {
    DRAWBRIDGE_RGB(0, 0, 0),     DRAWBRIDGE_RGB(220, 30, 30), DRAWBRIDGE_RGB(30, 160, 40),  DRAWBRIDGE_RGB(30, 60, 220),
    DRAWBRIDGE_RGB(240, 200, 0), DRAWBRIDGE_RGB(160, 40, 200), DRAWBRIDGE_RGB(0, 190, 200), DRAWBRIDGE_RGB(140, 90, 40),
};
static int colour = 0;

static void update(int x0, int y0, int x1, int y1) {
  if (x0 < 0) x0 = 0;
  if (y0 < 0) y0 = 0;
  if (x1 > W) x1 = W;
  if (y1 > H) y1 = H;
  if (x0 < x1 && y0 < y1) send(x0, y0, x1 - x0, y1 - y0);
}

static void draw_palette(void) {
  int sw = W / 8;
  for (int i = 0; i < 8; i++)
    for (int y = 0; y < PALETTE_H; y++)
      for (int x = 0; x < sw; x++) {
        int edge = y < 2 || y >= PALETTE_H - 2 || x < 2 || x >= sw - 2;
        px[y][i * sw + x] = edge && i == colour ? DRAWBRIDGE_RGB(255, 255, 255) : COLOURS[i];
      }
  update(0, 0, W, PALETTE_H);
}

static void clear(void) {
  for (int y = PALETTE_H; y < H; y++)
    for (int x = 0; x < W; x++) px[y][x] = PAPER;
  update(0, PALETTE_H, W, H);
}

static void dab(int cx, int cy) {
  for (int y = cy - BRUSH; y <= cy + BRUSH; y++)
    for (int x = cx - BRUSH; x <= cx + BRUSH; x++)
      if (x >= 0 && x < W && y >= PALETTE_H && y < H) px[y][x] = COLOURS[colour];
}

/* A line of dabs from (x0, y0) to (x1, y1) (Bresenham), sent as one rectangle. */
static void stroke(int x0, int y0, int x1, int y1) {
  int ux0 = (x0 < x1 ? x0 : x1) - BRUSH, uy0 = (y0 < y1 ? y0 : y1) - BRUSH;
  int ux1 = (x0 > x1 ? x0 : x1) + BRUSH + 1, uy1 = (y0 > y1 ? y0 : y1) + BRUSH + 1;
  int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
  for (;;) {
    dab(x0, y0);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
  update(ux0, uy0, ux1, uy1);
}

static void choose(int i) {
  colour = i;
  draw_palette();
}

int main(void) {
  int r = drawbridge_fb_export(&px[0][0], W, H);
  if (r != 0) {
    fprintf(stderr, "paint: cannot export a frame buffer: %s\n", strerror(r));
    return 1;
  }
  draw_palette();
  clear();
  int x = 0, y = 0, down = 0;
  for (;;) {
    drawbridge_input_event ev[64];
    int n = 0;
    if (drawbridge_input_wait(ev, 64, -1, &n) != 0) return 1;
    for (int i = 0; i < n; i++) {
      const drawbridge_input_event *e = &ev[i];
      if (e->type == DRAWBRIDGE_EV_MOTION) {
        int nx = (int)e->code, ny = e->value;
        if (down) stroke(x, y, nx, ny);
        x = nx;
        y = ny;
      } else if (e->type == DRAWBRIDGE_EV_BUTTON && e->code == DRAWBRIDGE_BUTTON_LEFT) {
        down = e->value == 1 && y >= PALETTE_H;
        if (e->value == 1 && y < PALETTE_H) choose(x / (W / 8));
        if (down) stroke(x, y, x, y);
      } else if (e->type == DRAWBRIDGE_EV_KEY && e->value == 1) {
        if (e->code >= '1' && e->code <= '8') choose((int)e->code - '1');
        if (e->code == 'c') clear();
        if (e->code == 'q') return 0;
      }
    }
  }
}
