// Counts and prints: "1", "2", ... one line every few milliseconds (argv[1]: the interval in
// ms, default 5), for ever. test/server/serve-pool.test.ts moves it between worker threads while it
// counts: the lines must go on from where they were, none lost and none repeated.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 5;
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  for (unsigned long n = 1;; n++) {
    printf("%lu\n", n);
    fflush(stdout);
    nanosleep(&pause, NULL);
  }
}
