// fork + exit + wait, argv[1] times; prints the mean latency in ns (timed by the guest).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../../include/drawbridge.h"

static long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20;
  long long t0 = now();
  for (int i = 0; i < n; i++) {
    int pid = drawbridge_fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) return 0;
    int status = -1;
    if (drawbridge_wait(pid, &status) != 0 || status != 0) return 3;
  }
  printf("forks=%d ns_per_fork=%lld\n", n, (now() - t0) / n);
  return 0;
}
