// Compute kernel: libc qsort with a comparator function (an indirect call per comparison),
// over several rounds of pseudo-random 32-bit keys. Prints a checksum of the sorted arrays.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10;
  size_t n = 1 << 20;
  uint32_t *a = malloc(n * sizeof *a);
  uint32_t x = 123456789u;
  uint64_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    for (size_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; a[i] = x; }
    qsort(a, n, sizeof *a, cmp);
    for (size_t i = 0; i < n; i += 1024) sum = sum * 31 + a[i];
    for (size_t i = 1; i < n; i++) if (a[i - 1] > a[i]) { printf("not sorted\n"); return 1; }
  }
  printf("qsort %d %016llx\n", rounds, (unsigned long long)sum);
  return 0;
}
