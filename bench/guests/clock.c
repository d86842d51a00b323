// Per-call cost: N calls of clock_gettime (WASI clock_time_get). Prints the calls' elapsed
// nanoseconds as measured by the guest itself, so start-up is not counted.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  uint64_t start = now(), acc = 0;
  for (long i = 0; i < n; i++) acc += now() & 1;
  uint64_t elapsed = now() - start;
  printf("calls=%ld elapsed_ns=%llu acc=%llu\n", n, (unsigned long long)elapsed, (unsigned long long)acc);
  return 0;
}
