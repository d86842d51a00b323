// Calls that wait in the shapes drawbridge's own Asyncify must unwind from and rewind into
// (src/wasm/asyncify.ts): deep recursion, a wait whose result feeds an expression with values
// already on the stack, waits inside a switch in a loop, through function pointers, in both
// arms of a conditional, with 64-bit and floating-point locals live across them. Each wait is
// a 0 ms sleep (poll_oneoff, a capture point); every line printed carries the state so far.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int waits;

__attribute__((noinline)) static int pause_(int v) {
  struct timespec ts = {0, 0};
  nanosleep(&ts, NULL);
  waits++;
  return v + 1;
}

__attribute__((noinline)) static uint64_t deep(int n, uint64_t acc, double f) {
  if (n == 0) return acc + (uint64_t)pause_((int)(acc & 0xff));
  uint64_t here = acc * 6364136223846793005ULL + (uint64_t)n;
  double g = f * 1.5 + n;
  // Values below the call on the stack: here, and the product's left side.
  uint64_t r = here ^ (deep(n - 1, here, g) * (uint64_t)pause_(n));
  return r + (uint64_t)g;
}

static int twice(int x) { return pause_(x) * 2; }
static int thrice(int x) { return pause_(x) * 3; }
static int (*const table[])(int) = {twice, thrice};

__attribute__((noinline)) static long shapes(int rounds) {
  long total = 0;
  float fl = 0.25f;
  for (int i = 0; i < rounds; i++) {
    switch (i % 4) {
      case 0:
        total += pause_(i) + pause_(i * 2) * 3;
        break;
      case 1:
        total -= table[i & 1](i);
        break;
      case 2:
        total += (i & 2) ? pause_(i) : -pause_(-i);
        break;
      default:
        for (int j = 0; j < 3; j++) total ^= (long)pause_(j + i) << j;
    }
    fl = fl * 1.25f + (float)total;
    printf("round %d total %ld fl %.3f waits %d\n", i, total, (double)fl, waits);
    fflush(stdout);
  }
  return total;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 12;
  long t = shapes(rounds);
  uint64_t d = deep(6, (uint64_t)t, 0.5);
  printf("deep %llu waits %d\n", (unsigned long long)d, waits);
  return (int)(d % 100);
}
