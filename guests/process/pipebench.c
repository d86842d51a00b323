// Pipe throughput between two picoprocesses: spawns `CHILD zeros SIZE CHUNK` with its stdout a
// pipe (STDIO_PIPE) and reads it to end of file in reads of CHUNK bytes. Reports
// bytes=N elapsed_ns=T (first byte to end of file) startup_ns=S (spawn to first byte).
// The native peer (the same loop over fork and pipe(2)) is in bench/pipe-throughput.ts.
//   pipebench CHILD.wasm SIZE CHUNK
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

static uint64_t now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: pipebench CHILD.wasm SIZE CHUNK\n"); return 2; }
  size_t chunk = (size_t)atol(argv[3]);
  char *buf = malloc(chunk);
  if (buf == NULL) return 2;
  char *child_argv[] = {"child", "zeros", argv[2], argv[3], NULL};
  int modes[3] = {DRAWBRIDGE_STDIO_NULL, DRAWBRIDGE_STDIO_PIPE, DRAWBRIDGE_STDIO_INHERIT};
  int fds[3] = {-1, -1, -1};
  int pid, status;
  uint64_t t0 = now();
  int r = drawbridge_spawn(argv[1], child_argv, NULL, modes, fds, &pid);
  if (r) { fprintf(stderr, "spawn: %d\n", r); return 1; }
  uint64_t total = 0, first = 0;
  for (;;) {
    ssize_t n = read(fds[1], buf, chunk);
    if (n < 0) { perror("read"); return 1; }
    if (n == 0) break;
    if (total == 0) first = now();
    total += (uint64_t)n;
  }
  uint64_t end = now();
  if ((r = drawbridge_wait(pid, &status)) || status != 0) { fprintf(stderr, "wait: %d, status %d\n", r, status); return 1; }
  printf("bytes=%llu elapsed_ns=%llu startup_ns=%llu\n", (unsigned long long)total, (unsigned long long)(end - first),
         (unsigned long long)(first - t0));
  return 0;
}
