// Compute kernel: a xorshift64 loop (integer ALU, one long-running hot loop in main).
// Prints a checksum so that the wasm and native runs can be checked equal.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 400000000ull;
  uint64_t x = 88172645463325252ull, sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += x >> 32;
  }
  printf("xorshift %llu %016llx\n", (unsigned long long)n, (unsigned long long)sum);
  return 0;
}
