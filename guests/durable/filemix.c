// A file-heavy program for the durable-log measurements (bench/durable.ts): writes a file of
// argv[1] MiB under /data in 64 KiB blocks, reads it back twice, and prints a checksum. In
// log mode the bytes it writes are kept as a digest only; the bytes it reads are kept whole.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 16;
  static unsigned char block[65536];
  FILE *f = fopen("/data/mix.bin", "w");
  if (!f) return 2;
  for (long b = 0; b < mib * 16; b++) {
    for (int i = 0; i < (int)sizeof block; i++) block[i] = (unsigned char)(b * 31 + i);
    if (fwrite(block, 1, sizeof block, f) != sizeof block) return 3;
  }
  fclose(f);
  unsigned long long sum = 0;
  for (int pass = 0; pass < 2; pass++) {
    f = fopen("/data/mix.bin", "r");
    if (!f) return 4;
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0)
      for (size_t i = 0; i < n; i++) sum = sum * 1099511628211ULL + block[i];
    fclose(f);
  }
  printf("%ld MiB written, read twice: sum=%016llx\n", mib, sum);
  return 0;
}
