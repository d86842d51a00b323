// The guest of the limits tests (test/cli/limits.test.ts, test/runtime/limits.test.ts,
// test/server/serve-limits.test.ts): each role pushes one limit of the manifest.
//   spin                 computes for ever without a system call (cpu_time must end it: 152)
//   grow MIB             allocates and touches MIB MiB, one MiB at a time; prints how far it
//                        got: "grew N MiB" (exit 0) or "out of memory after N MiB" (exit 3)
//   wait-grow MIB        prints "waiting", reads a line from stdin (a checkpoint can take it
//                        there), then grows as grow does
//   parent CHILD ROLE..  spawns CHILD with ROLE... (stdout handed over), waits for it and
//                        prints "child status N"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../include/drawbridge.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "spin") == 0) {
    volatile unsigned long x = 1;
    for (;;) x = x * 6364136223846793005UL + 1442695040888963407UL;
  }
  if (argc > 2 && strcmp(argv[1], "wait-grow") == 0) {
    char line[64];
    printf("waiting\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 5;
    argv[1] = "grow";
  }
  if (argc > 2 && strcmp(argv[1], "grow") == 0) {
    long want = atol(argv[2]);
    long got = 0;
    static char *volatile kept[8192];
    for (; got < want && got < 8192; got++) {
      char *p = malloc(1 << 20);
      if (!p) break;
      memset(p, 1, 1 << 20);
      kept[got] = p;  // kept, so the allocation is not optimised away
    }
    if (got < want) {
      printf("out of memory after %ld MiB\n", got);
      return 3;
    }
    printf("grew %ld MiB\n", got);
    return 0;
  }
  if (argc > 3 && strcmp(argv[1], "parent") == 0) {
    int modes[3] = {DRAWBRIDGE_STDIO_NULL, DRAWBRIDGE_STDIO_INHERIT, DRAWBRIDGE_STDIO_INHERIT};
    int fds[3] = {-1, -1, -1};
    int pid, status;
    char **child_argv = &argv[2];
    int r = drawbridge_spawn(argv[2], child_argv, NULL, modes, fds, &pid);
    if (r != 0) {
      printf("spawn failed: %d\n", r);
      return 4;
    }
    r = drawbridge_wait(pid, &status);
    printf("child status %d\n", r == 0 ? status : -r);
    return 0;
  }
  fprintf(stderr, "usage: limits spin | grow MIB | wait-grow MIB | parent CHILD ROLE...\n");
  return 2;
}
