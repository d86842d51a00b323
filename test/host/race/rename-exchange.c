// A host-side attacker for the path race tests (test/host/files-race.test.ts): swaps two
// directory entries (a directory and a symbolic link to a folder outside the mount) with
// renameat2(RENAME_EXCHANGE), as fast as it can, for the given number of milliseconds.
// Built natively with clang by the test. Usage: rename-exchange A B MILLISECONDS
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: rename-exchange A B MILLISECONDS\n");
    return 2;
  }
  long long end = now_ms() + atoll(argv[3]);
  long long swaps = 0;
  while (now_ms() < end) {
    if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
      perror("renameat2");
      return 1;
    }
    swaps++;
  }
  printf("%lld\n", swaps);
  return 0;
}
