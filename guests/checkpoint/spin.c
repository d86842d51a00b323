// Computes without any system call for a long stretch (a tight xorshift loop), printing a
// checksum only between rounds: capture must come from the tick counter, not from a wait.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 4;
  long per = argc > 2 ? atol(argv[2]) : 50000000L;
  uint64_t x = 88172645463325252ULL;
  for (int r = 0; r < rounds; r++) {
    for (long i = 0; i < per; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    printf("round %d %016llx\n", r, (unsigned long long)x);
    fflush(stdout);
  }
  return (int)(x & 0x3f);
}
