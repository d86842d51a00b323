// A loop of simple integer work, N rounds (argv[1]): docs/wasmtime.md measures with it how
// much of wasmtime's fuel a millisecond of drawbridge's CPU time stands for.
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  unsigned long n = argc > 1 ? strtoul(argv[1], 0, 10) : 0;
  volatile unsigned long long x = 1;
  for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  printf("%llu\n", (unsigned long long)x);
  return 0;
}
