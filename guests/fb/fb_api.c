// The frame buffer and input calls of the drawbridge import module (test/libos/fb-guest.test.ts).
// One program, several roles (argv[1]); each prints one line per fact, errno values by name.
//   rect      export an 8x6 frame, then change every pixel and send only the rectangle 2,1 3x2
//   bounds    sizes and rectangles the calls refuse
//   fault     a frame buffer whose pixels run past the end of memory (the program traps)
//   events    export (the test's signal), then wait for input with no timeout until 5 events
//             came; print each one in the order read
//   spin      export, then call input_read in a loop until an event comes
//   timeout   input_wait with 30 ms and nothing coming: 0 events, after at least 30 ms
//   resume    export a frame, wait for one event (a checkpoint is taken there), then change a
//             rectangle: a restored program's update sends its whole frame
//   quota     under a small limits.bytes_written (the test's manifest): 2000 whole-frame updates
//             (the frame buffer is a fixed array: not counted), then a write to stdout past the
//             limit (counted: refused)
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "../../include/drawbridge/fb.h"
#include "../include/check.h"

static uint32_t px[6][8];

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_events(const drawbridge_input_event *ev, int n) {
  for (int i = 0; i < n; i++) printf("event type=%u code=%u value=%d\n", ev[i].type, ev[i].code, ev[i].value);
}

int main(int argc, char **argv) {
  const char *role = argc > 1 ? argv[1] : "";
  if (!strcmp(role, "rect")) {
    for (int y = 0; y < 6; y++)
      for (int x = 0; x < 8; x++) px[y][x] = DRAWBRIDGE_RGB(x * 10, y * 10, 1);
    printf("export: %s\n", errname(drawbridge_fb_export(&px[0][0], 8, 6)));
    for (int y = 0; y < 6; y++)
      for (int x = 0; x < 8; x++) px[y][x] = DRAWBRIDGE_RGB(200 + x, 200 + y, 2);
    printf("update: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, 2, 1, 3, 2)));
    printf("whole rows: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, 0, 4, 8, 2)));
    return 0;
  }
  if (!strcmp(role, "quota")) {
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
      px[i % 6][i % 8] = DRAWBRIDGE_RGB(i, i, i);
      if (drawbridge_fb_update(&px[0][0], 8, 6, 0, 0, 8, 6) != 0) bad++;
    }
    printf("updates refused: %d\n", bad);
    fflush(stdout);
    static char big[100000];
    memset(big, 'x', sizeof big);
    printf("big write: %s\n", fwrite(big, 1, sizeof big, stderr) == sizeof big ? "OK" : "refused");
    return 0;
  }
  if (!strcmp(role, "bounds")) {
    printf("export 0x6: %s\n", errname(drawbridge_fb_export(&px[0][0], 0, 6)));
    printf("export -8x6: %s\n", errname(drawbridge_fb_export(&px[0][0], -8, 6)));
    printf("export 8193x8193: %s\n", errname(drawbridge_fb_export(&px[0][0], 8193, 8193)));
    printf("export 8x6: %s\n", errname(drawbridge_fb_export(&px[0][0], 8, 6)));
    printf("update past the right edge: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, 6, 0, 3, 1)));
    printf("update past the bottom: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, 0, 5, 1, 2)));
    printf("update at -1: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, -1, 0, 1, 1)));
    printf("update of width -1: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, 0, 0, -1, 1)));
    printf("update 0x0: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, 3, 3, 0, 0)));
    drawbridge_input_event ev[2];
    int n = -1;
    printf("read max -1: %s\n", errname(drawbridge_input_read(ev, -1, &n)));
    printf("read with none waiting: %s, %d events\n", errname(drawbridge_input_read(ev, 2, &n)), n);
    printf("wait max 0: %s\n", errname(drawbridge_input_wait(ev, 0, 10, &n)));
    return 0;
  }
  if (!strcmp(role, "fault")) {
    // A 64x64 frame starting 4 KiB before the end of memory: its pixels run past it.
    uint32_t *end = (uint32_t *)(__builtin_wasm_memory_size(0) * 65536 - 4096);
    printf("before\n");
    fflush(stdout);
    int r = drawbridge_fb_export(end, 64, 64);
    printf("after: %s\n", errname(r));
    return 0;
  }
  if (!strcmp(role, "events")) {
    px[0][0] = DRAWBRIDGE_RGB(1, 2, 3);
    drawbridge_fb_export(&px[0][0], 8, 6);
    drawbridge_input_event ev[3];
    int total = 0;
    while (total < 5) {
      int n = 0;
      int r = drawbridge_input_wait(ev, 3, -1, &n);
      if (r != 0) {
        printf("wait: %s\n", errname(r));
        return 1;
      }
      print_events(ev, n);
      total += n;
    }
    return 0;
  }
  if (!strcmp(role, "spin")) {
    drawbridge_fb_export(&px[0][0], 8, 6);
    drawbridge_input_event ev[4];
    int n = 0;
    long long calls = 0;
    while (n == 0) {
      int r = drawbridge_input_read(ev, 4, &n);
      if (r != 0) {
        printf("read: %s\n", errname(r));
        return 1;
      }
      calls++;
    }
    printf("read after more than one call: %s\n", calls > 1 ? "yes" : "no");
    print_events(ev, n);
    return 0;
  }
  if (!strcmp(role, "timeout")) {
    drawbridge_input_event ev[1];
    int n = -1;
    long long t0 = now_ms();
    int r = drawbridge_input_wait(ev, 1, 30, &n);
    long long waited = now_ms() - t0;
    printf("timeout: %s, %d events, waited at least 30 ms: %s\n", errname(r), n, waited >= 30 ? "yes" : "no");
    return 0;
  }
  if (!strcmp(role, "resume")) {
    for (int y = 0; y < 6; y++)
      for (int x = 0; x < 8; x++) px[y][x] = DRAWBRIDGE_RGB(x, y, 3);
    printf("export: %s\n", errname(drawbridge_fb_export(&px[0][0], 8, 6)));
    drawbridge_input_event ev[1];
    int n = 0;
    int r = drawbridge_input_wait(ev, 1, -1, &n);
    printf("after the wait: %s, %d event of type %u\n", errname(r), n, n > 0 ? ev[0].type : 0);
    for (int y = 2; y < 4; y++)
      for (int x = 1; x < 4; x++) px[y][x] = DRAWBRIDGE_RGB(250, 250, 4);
    printf("update: %s\n", errname(drawbridge_fb_update(&px[0][0], 8, 6, 1, 2, 3, 2)));
    return 0;
  }
  printf("unknown role %s\n", role);
  return 2;
}
