// Conway's Game of Life on drawbridge's frame buffer (include/drawbridge/fb.h): an animation
// to watch in a browser.
//   ./drawbridge run --fb 127.0.0.1:8080 examples/life.wasm
// then open the URL it prints. Click a cell to bring it to life; space pauses, r starts again
// from a new random field, q quits. Each generation sends only the cells that changed.
// Built with: clang --target=wasm32-wasi -O2 examples/life.c -o examples/life.wasm
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../include/drawbridge/fb.h"

#define W 320
#define H 240
#define CELL 4
#define COLS (W / CELL)
#define ROWS (H / CELL)
#define GENERATION_MS 80

static uint32_t px[H][W];

/* Send a changed rectangle; a refusal ends the program with a line that says why. */
static void send(int x, int y, int w, int h) {
  int r = drawbridge_fb_update(&px[0][0], W, H, x, y, w, h);
  if (r != 0) {
    fprintf(stderr, "life: cannot update the frame buffer: %s\n", strerror(r));
    exit(1);
  }
}
static uint8_t cells[ROWS][COLS], next[ROWS][COLS];
static const uint32_t DEAD = DRAWBRIDGE_RGB(16, 18, 32);
static const uint32_t ALIVE = DRAWBRIDGE_RGB(90, 220, 120);

static uint32_t seed = 2011;
static uint32_t random32(void) {
  seed = seed * 1664525u + 1013904223u;
  return seed >> 8;
}

static void paint_cell(int c, int r) {
  uint32_t color = cells[r][c] ? ALIVE : DEAD;
  for (int y = 0; y < CELL - 1; y++)
    for (int x = 0; x < CELL - 1; x++) px[r * CELL + y][c * CELL + x] = color;
}

static void fill_random(void) {
  for (int r = 0; r < ROWS; r++)
    for (int c = 0; c < COLS; c++) cells[r][c] = random32() % 100 < 30;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) px[y][x] = DRAWBRIDGE_RGB(0, 0, 0); // the grid lines
  for (int r = 0; r < ROWS; r++)
    for (int c = 0; c < COLS; c++) paint_cell(c, r);
  send(0, 0, W, H);
}

/* One generation; sends each cell that changed (the host merges them as its viewers need). */
static void step(void) {
  for (int r = 0; r < ROWS; r++) {
    for (int c = 0; c < COLS; c++) {
      int n = 0;
      for (int dr = -1; dr <= 1; dr++)
        for (int dc = -1; dc <= 1; dc++)
          if (dr || dc) n += cells[(r + dr + ROWS) % ROWS][(c + dc + COLS) % COLS];
      next[r][c] = n == 3 || (n == 2 && cells[r][c]);
    }
  }
  for (int r = 0; r < ROWS; r++) {
    for (int c = 0; c < COLS; c++) {
      if (next[r][c] == cells[r][c]) continue;
      cells[r][c] = next[r][c];
      paint_cell(c, r);
      send(c * CELL, r * CELL, CELL - 1, CELL - 1);
    }
  }
}

int main(void) {
  int r = drawbridge_fb_export(&px[0][0], W, H);
  if (r != 0) {
    fprintf(stderr, "life: cannot export a frame buffer: %s\n", strerror(r));
    return 1;
  }
  fill_random();
  int paused = 0, px_x = 0, px_y = 0;
  for (;;) {
    drawbridge_input_event ev[32];
    int n = 0;
    if (drawbridge_input_wait(ev, 32, GENERATION_MS, &n) != 0) return 1;
    for (int i = 0; i < n; i++) {
      if (ev[i].type == DRAWBRIDGE_EV_MOTION) {
        px_x = (int)ev[i].code;
        px_y = ev[i].value;
      } else if (ev[i].type == DRAWBRIDGE_EV_BUTTON && ev[i].value == 1) {
        int c = px_x / CELL, r = px_y / CELL;
        if (c >= 0 && c < COLS && r >= 0 && r < ROWS) {
          cells[r][c] = 1;
          paint_cell(c, r);
          send(c * CELL, r * CELL, CELL, CELL);
        }
      } else if (ev[i].type == DRAWBRIDGE_EV_KEY && ev[i].value == 1) {
        if (ev[i].code == ' ') paused = !paused;
        if (ev[i].code == 'r') fill_random();
        if (ev[i].code == 'q') return 0;
      }
    }
    // A generation when the time is up (no events came), not on every event.
    if (n == 0 && !paused) step();
  }
}
