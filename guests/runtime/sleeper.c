// Sleeps argv[1] milliseconds (poll_oneoff on a clock), then prints argv[2].
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 10;
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
  printf("%s\n", argc > 2 ? argv[2] : "awake");
  return 0;
}
