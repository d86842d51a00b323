// Reads every nondeterministic input a program has: the clocks, random bits, a short sleep
// (a wait whose outcome is timing) and stdin (a pipe), and prints values derived from them.
// Record/replay tests run it recorded, then replayed twice without stdin: same output, same
// exit status (1 + bytes of stdin mod 50, so that a non-zero status is reproduced too).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t ns(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(void) {
  uint64_t wall = ns(CLOCK_REALTIME);
  uint64_t start = ns(CLOCK_MONOTONIC);
  unsigned char rnd[16];
  if (getentropy(rnd, sizeof rnd) != 0) return 99;
  usleep(2000);
  uint64_t slept = ns(CLOCK_MONOTONIC) - start;

  unsigned char buf[4096];
  size_t total = 0;
  uint32_t sum = 0;
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) sum = sum * 31 + buf[i];
    if (total == 0) printf("first: %.*s", (int)(n < 40 ? n : 40), buf);
    total += (size_t)n;
  }
  printf("\nwall=%llu slept=%llu\n", (unsigned long long)wall, (unsigned long long)slept);
  printf("random=");
  for (int i = 0; i < 16; i++) printf("%02x", rnd[i]);
  printf("\nstdin=%zu sum=%08x\n", total, sum);
  fprintf(stderr, "done\n");
  return 1 + (int)(total % 50);
}
