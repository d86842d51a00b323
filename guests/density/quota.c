// Exceeds one quota on purpose, then reports what the guest saw (argv[1] says which):
//   spin           compute forever (the CPU time quota must stop it from outside)
//   memory         malloc 1 MiB blocks until malloc fails: "memory: got N MiB, then NULL"
//   handles DIR    open DIR (a pre-opened mount) again and again until open fails:
//                  "handles: opened N, then errno E"
//   write          write 4 KiB blocks to stdout until a write fails: "write: ... errno E" on stderr
//   children PATH  spawn PATH until spawning fails: "children: spawned N, then errno E"
// Each case exits 0 after its report: the guest saw a clean error and carried on.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "spin")) {
    volatile uint64_t x = 88172645463325252ULL;
    for (;;) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
  }
  if (!strcmp(what, "memory")) {
    // The blocks are chained into a list the program keeps, or the compiler would drop them.
    long mib = 0;
    void **head = NULL;
    for (;;) {
      void **p = malloc(1 << 20);
      if (!p) break;
      memset(p, 1, 1 << 20);
      *p = head;
      head = p;
      mib++;
    }
    __asm__ volatile("" : : "r"(head) : "memory");
    printf("memory: got %ld MiB, then NULL\n", mib);
    return 0;
  }
  if (!strcmp(what, "handles") && argc > 2) {
    long n = 0;
    for (;;) {
      int fd = open(argv[2], O_RDONLY | O_DIRECTORY);
      if (fd < 0) break;
      n++;
    }
    printf("handles: opened %ld, then errno %d\n", n, errno);
    return 0;
  }
  if (!strcmp(what, "write")) {
    static char block[4096];
    memset(block, 'x', sizeof block);
    long long total = 0;
    for (;;) {
      ssize_t w = write(1, block, sizeof block);
      if (w < 0) break;
      total += w;
    }
    fprintf(stderr, "write: wrote %lld bytes, then errno %d\n", total, errno);
    return 0;
  }
  if (!strcmp(what, "children") && argc > 2) {
    long n = 0;
    int err;
    for (;;) {
      int pid;
      err = drawbridge_spawn(argv[2], NULL, NULL, NULL, NULL, &pid);
      if (err != 0) break;
      n++;
    }
    printf("children: spawned %ld, then errno %d\n", n, err);
    return 0;
  }
  fprintf(stderr, "usage: quota spin|memory|handles DIR|write|children PATH\n");
  return 2;
}
