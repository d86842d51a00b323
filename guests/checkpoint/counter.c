// Counts to argv[1], sleeping argv[2] ms between steps (a wait a checkpoint can catch),
// keeping its state on the heap and on the stack, and appending each step to /data/log.txt
// through one descriptor opened at the start (its offset must survive a restore). Half a
// megabyte of constant ballast gives a migration pages the target may already hold.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long mix(unsigned long h, int i) { return (h ^ (unsigned long)i) * 1099511628211UL; }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10;
  long ms = argc > 2 ? atol(argv[2]) : 20;
  int *squares = malloc(sizeof(int) * (size_t)n);
  // Half a megabyte that is the same in every run: pages a migration target already holds.
  enum { BALLAST = 512 * 1024 };
  unsigned char *ballast = malloc(BALLAST);
  for (int i = 0; i < BALLAST; i++) ballast[i] = (unsigned char)(i * 7 + 3);
  unsigned long hash = 14695981039346656037UL; // lives on the stack (a local of main)
  int log = open("/data/log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  for (int i = 0; i < n; i++) {
    squares[i] = i * i;
    hash = mix(hash, squares[i] + ballast[(i * 4099) % BALLAST]);
    printf("step %d hash %016lx\n", i, hash);
    fflush(stdout);
    if (log >= 0) {
      char line[64];
      int len = snprintf(line, sizeof line, "step %d\n", i);
      write(log, line, (size_t)len);
    }
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
  }
  long sum = 0;
  for (int i = 0; i < n; i++) sum += squares[i];
  printf("done sum %ld\n", sum);
  return (int)(sum % 7);
}
