// Touches argv[1] MiB of memory with a non-zero pattern, says "ready", then waits (sleeps)
// so that a checkpoint catches it in a call; after a restore it checks the pattern.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 1;
  size_t n = (size_t)mib << 20;
  unsigned char *p = malloc(n);
  if (!p) return 2;
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 131 + 7) | 1;
  printf("ready\n");
  fflush(stdout);
  struct timespec ts = { 0, 20 * 1000000L };
  for (int i = 0; i < 3000; i++) nanosleep(&ts, NULL);
  for (size_t i = 0; i < n; i++) if (p[i] != ((unsigned char)(i * 131 + 7) | 1)) return 3;
  printf("intact\n");
  return 0;
}
