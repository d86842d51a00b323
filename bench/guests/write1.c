// Per-call cost: N one-byte write(1, ...) calls (WASI fd_write). Run it with stdout on
// /dev/null. Reports on stderr the elapsed nanoseconds measured by the guest itself.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 500000;
  long ok = 0;
  uint64_t start = now();
  for (long i = 0; i < n; i++) ok += write(1, "x", 1) == 1;
  uint64_t elapsed = now() - start;
  fprintf(stderr, "calls=%ld elapsed_ns=%llu ok=%ld\n", n, (unsigned long long)elapsed, ok);
  return ok == n ? 0 : 1;
}
