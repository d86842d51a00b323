// Pipes across a checkpoint (test/checkpoint/checkpoint-pipe.test.ts). Roles (argv[1]):
//   self MS   write into two pipes of its own (one keeps both ends; the other's writer is
//             closed after 30 000 bytes, so its reader must find them, then end of file),
//             sleep MS ms four times (a checkpoint catches it there), then read everything
//             back: the output is the same whether or not it was checkpointed and restored.
//   child MS  give a child the read end of a pipe (drawbridge_spawn, "block" role of
//             guests/process/child.c), sleep MS ms four times (a checkpoint is refused: the
//             child is not in it), then close the write end and reap the child.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

static void nap(long ms, int i) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
  printf("slept %d\n", i);
  fflush(stdout);
}

static unsigned char pattern(int i) { return (unsigned char)(i * 31 + 7); }

static int self(long ms) {
  int p[2], q[2];
  if (drawbridge_pipe(p) != 0 || drawbridge_pipe(q) != 0) return 2;
  const char *line = "kept in a pipe across a checkpoint\n";
  write(p[1], line, strlen(line));
  enum { BIG = 30000 };
  static unsigned char big[BIG];
  for (int i = 0; i < BIG; i++) big[i] = pattern(i);
  for (int done = 0; done < BIG;) done += (int)write(q[1], big + done, (size_t)(BIG - done));
  close(q[1]);
  printf("wrote into p (fds %d %d) and q (fd %d, writer closed)\n", p[0], p[1], q[0]);
  fflush(stdout);

  for (int i = 0; i < 4; i++) nap(ms, i);

  char buf[128];
  ssize_t n = read(p[0], buf, sizeof buf);
  printf("p: %.*s", (int)n, buf);
  write(p[1], "and more after\n", 15);
  n = read(p[0], buf, sizeof buf);
  printf("p: %.*s", (int)n, buf);
  long got = 0, bad = 0;
  static unsigned char back[BIG];
  while ((n = read(q[0], back, sizeof back)) > 0) {
    for (ssize_t i = 0; i < n; i++) bad += back[i] != pattern((int)(got + i));
    got += n;
  }
  printf("q: %ld bytes, %ld wrong, then %s\n", got, bad, n == 0 ? "end of file" : strerror(errno));
  close(p[0]);
  n = write(p[1], "x", 1);
  printf("p after its reader closed: %s\n", n < 0 && errno == EPIPE ? "EPIPE" : "a write went through");
  return 0;
}

static int child(long ms) {
  int modes[3] = {DRAWBRIDGE_STDIO_PIPE, DRAWBRIDGE_STDIO_NULL, DRAWBRIDGE_STDIO_NULL};
  int fds[3] = {-1, -1, -1};
  char *argv[] = {"child", "block", NULL};
  int pid, status = -1;
  int e = drawbridge_spawn("/bin/child.wasm", argv, NULL, modes, fds, &pid);
  if (e != 0) {
    printf("spawn: %s\n", strerror(e));
    return 2;
  }
  printf("child's stdin is our fd %d\n", fds[0]);
  fflush(stdout);
  for (int i = 0; i < 4; i++) nap(ms, i);
  close(fds[0]);
  drawbridge_wait(pid, &status);
  printf("child exited %d\n", status);
  return 0;
}

int main(int argc, char **argv) {
  long ms = argc > 2 ? atol(argv[2]) : 50;
  if (argc > 1 && !strcmp(argv[1], "child")) return child(ms);
  return self(ms);
}
