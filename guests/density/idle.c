// The density guest: a small interactive program that spends its life blocked reading stdin.
// Each line it reads is answered at once on stdout ("echo: LINE"); end of input ends it.
// bench/density.ts starts thousands of these and leaves them waiting; the preemption test
// (test/runtime/preempt.test.ts) talks to one while a spinning guest computes next to it.
#include <stdio.h>
#include <string.h>

int main(void) {
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    printf("echo: %s", line);
    fflush(stdout);
  }
  return 0;
}
