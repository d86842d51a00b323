// Compute kernel: a generic qsort with a comparator function (an indirect call per
// comparison), over several rounds of pseudo-random 32-bit keys. Prints a checksum of the
// sorted arrays. The sort is in this file, not libc's, so that native (glibc: merge sort) and
// wasm (wasi-libc: smoothsort) run the same algorithm; the comparator goes through a volatile
// pointer so that neither build inlines it away.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*cmp_fn)(const void *, const void *);

static void swap(char *a, char *b, size_t size) {
  while (size--) { char t = *a; *a++ = *b; *b++ = t; }
}

// Quicksort, median of three, insertion sort below 16 elements; recurses on the smaller part.
__attribute__((noinline)) static void sort(char *base, size_t n, size_t size, cmp_fn cmp) {
  while (n > 16) {
    char *lo = base, *mid = base + (n / 2) * size, *hi = base + (n - 1) * size;
    if (cmp(mid, lo) < 0) swap(mid, lo, size);
    if (cmp(hi, mid) < 0) { swap(hi, mid, size); if (cmp(mid, lo) < 0) swap(mid, lo, size); }
    swap(mid, base, size); // pivot to the front
    char *i = base + size, *j = hi;
    for (;;) {
      while (cmp(i, base) < 0) i += size;
      while (cmp(base, j) < 0) j -= size;
      if (i >= j) break;
      swap(i, j, size); i += size; j -= size;
    }
    swap(base, j, size);
    size_t left = (size_t)(j - base) / size, right = n - left - 1;
    if (left < right) { sort(base, left, size, cmp); base = j + size; n = right; }
    else { sort(j + size, right, size, cmp); n = left; }
  }
  for (size_t k = 1; k < n; k++)
    for (char *p = base + k * size; p > base && cmp(p, p - size) < 0; p -= size) swap(p, p - size, size);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}
static cmp_fn volatile comparator = cmp_u32;

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10;
  size_t n = 1 << 20;
  uint32_t *a = malloc(n * sizeof *a);
  uint32_t x = 123456789u;
  uint64_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    for (size_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; a[i] = x; }
    sort((char *)a, n, sizeof *a, comparator);
    for (size_t i = 0; i < n; i += 1024) sum = sum * 31 + a[i];
    for (size_t i = 1; i < n; i++) if (a[i - 1] > a[i]) { printf("not sorted\n"); return 1; }
  }
  printf("qsort %d %016llx\n", rounds, (unsigned long long)sum);
  return 0;
}
