// Throughput: copy a file through read/write with a 64 KiB buffer (WASI fd_read/fd_write).
// Reports the bytes copied and the elapsed nanoseconds (open to close) measured by the guest.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static char buf[64 * 1024];

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: copy FROM TO\n"); return 2; }
  uint64_t start = now();
  int in = open(argv[1], O_RDONLY);
  int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0) { perror("open"); return 1; }
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0) { perror("read"); return 1; }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w <= 0) { perror("write"); return 1; }
      off += w;
    }
    total += (uint64_t)n;
  }
  close(in);
  close(out);
  uint64_t elapsed = now() - start;
  printf("bytes=%llu elapsed_ns=%llu\n", (unsigned long long)total, (unsigned long long)elapsed);
  return 0;
}
